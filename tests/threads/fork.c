/* fork.c: fork while other threads allocate and free continuously and while a thread
 * loops in fflush(NULL) (holding stdio's locks). Each child must find the allocator usable:
 * it verifies and frees blocks inherited from the parent, allocates in its main thread and
 * in a new thread, then _exit(0)s. A child that hangs (a lock left held across fork) is
 * killed and reported; alarm(30) turns a hang of the parent into a failure too. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hakmem.h"

#include "../tap.h"
#include "../testutil.h"

#define NFORKS        50
#define CHILD_TIMEOUT 5.0 /* seconds */
#define MAX_HUNG      3   /* stop forking after this many hung children */
#define NINHERITED    64

static atomic_bool stop;
static atomic_ulong churn_ops, churn_bad, flush_ops;
static void *inherited[NINHERITED];
static size_t inherited_size[NINHERITED];

static volatile pid_t current_child; /* killed if the whole test times out */

static void on_alarm(int sig)
{
    static const char msg[] = "Bail out! fork test timed out\n";
    (void)sig;
    if (current_child > 0) kill(current_child, SIGKILL);
    ssize_t n = write(STDOUT_FILENO, msg, sizeof msg - 1);
    (void)n;
    _exit(1);
}

/* Background allocation traffic: a window of live blocks replaced at random. */
static void *churn_main(void *arg)
{
    enum { WINDOW = 512 };
    void *live[WINDOW] = {0};
    size_t sizes[WINDOW] = {0};
    uint64_t rng = 0xF0F0F0F0ULL;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        uint64_t r = tu_rand(&rng);
        unsigned i = (unsigned)(r % WINDOW);
        if (live[i]) {
            if (tu_check(live[i], sizes[i], sizes[i]) != SIZE_MAX) atomic_fetch_add(&churn_bad, 1);
            free(live[i]);
        }
        sizes[i] = (r >> 16) % 1000 == 0 ? 300000 : 1 + (r >> 16) % 4000;
        live[i] = (r >> 40) % 4 == 0 ? calloc(1, sizes[i]) : malloc(sizes[i]);
        if (live[i]) tu_fill(live[i], sizes[i], sizes[i]);
        atomic_fetch_add_explicit(&churn_ops, 1, memory_order_relaxed);
    }
    for (unsigned i = 0; i < WINDOW; i++)
        free(live[i]);
    return arg;
}

/* Stdio traffic: formatted output to /dev/null and fflush(NULL), which takes the lock of
 * every open stream. */
static void *flush_main(void *arg)
{
    FILE *f = fopen("/dev/null", "w");
    unsigned long i = 0;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        if (f) fprintf(f, "line %lu of stdio traffic\n", i++);
        fflush(NULL);
        atomic_fetch_add_explicit(&flush_ops, 1, memory_order_relaxed);
    }
    if (f) fclose(f);
    return arg;
}

static void *child_thread_main(void *arg)
{
    unsigned long bad = 0;
    for (int i = 0; i < 2000; i++) {
        size_t n = 1 + (size_t)(i * 37) % 5000;
        void *p = malloc(n);
        if (!p) {
            bad++;
            continue;
        }
        tu_fill(p, n, (uint64_t)i);
        bad += tu_check(p, n, (uint64_t)i) != SIZE_MAX;
        free(p);
    }
    return (void *)(uintptr_t)bad;
}

/* The child's work; the return value becomes its exit status (0 = all good). No stdio. */
static int child_main(int round)
{
    for (int i = 0; i < NINHERITED; i++) {
        if (tu_check(inherited[i], inherited_size[i], (uint64_t)i) != SIZE_MAX) return 10;
        if (i % 2 == round % 2) {
            free(inherited[i]);
            inherited[i] = NULL;
        }
    }
    enum { N = 200 };
    void *blocks[N];
    for (int i = 0; i < N; i++) {
        size_t n = (i % 50 == 0) ? 400000 : 1 + (size_t)i * 13;
        blocks[i] = malloc(n);
        if (!blocks[i]) return 11;
        tu_fill(blocks[i], n, (uint64_t)i + 1000);
    }
    for (int i = 0; i < N; i++) {
        size_t n = (i % 50 == 0) ? 400000 : 1 + (size_t)i * 13;
        if (tu_check(blocks[i], n, (uint64_t)i + 1000) != SIZE_MAX) return 12;
        free(blocks[i]);
    }
    pthread_t t;
    void *res = NULL;
    if (pthread_create(&t, NULL, child_thread_main, NULL) != 0) return 13;
    pthread_join(t, &res);
    if (res != NULL) return 14;
    unsigned char *z = calloc(5, 1 << 20);
    if (!z || tu_check_bytes(z, 5u << 20, 0) != SIZE_MAX) return 15;
    free(z);
    for (int i = 0; i < NINHERITED; i++)
        free(inherited[i]);
    return 0;
}

int main(void)
{
    tap_plan(7);
    signal(SIGALRM, on_alarm);
    alarm(30);
    for (int i = 0; i < NINHERITED; i++) {
        inherited_size[i] = (i % 16 == 0) ? 500000 : 8 + (size_t)i * 61;
        inherited[i] = malloc(inherited_size[i]);
        if (!inherited[i]) tap_bail("malloc failed before any fork");
        tu_fill(inherited[i], inherited_size[i], (uint64_t)i);
    }
    pthread_t churn, flusher;
    if (pthread_create(&churn, NULL, churn_main, NULL) != 0 ||
        pthread_create(&flusher, NULL, flush_main, NULL) != 0)
        tap_bail("pthread_create failed");

    int exited_ok = 0, hung = 0, failed = 0;
    for (int round = 0; round < NFORKS && hung < MAX_HUNG; round++) {
        /* Let the background threads get into their loops at varied points. */
        struct timespec pause = {0, 200000 + (round % 7) * 150000};
        nanosleep(&pause, NULL);
        pid_t pid = fork();
        if (pid == 0) _exit(child_main(round));
        current_child = pid;
        if (pid < 0) {
            failed++;
            tap_diag("fork %d failed: %s", round, strerror(errno));
            continue;
        }
        int status = 0;
        double deadline = tu_now() + CHILD_TIMEOUT;
        pid_t w;
        while ((w = waitpid(pid, &status, WNOHANG)) == 0 && tu_now() < deadline) {
            struct timespec tick = {0, 1000000};
            nanosleep(&tick, NULL);
        }
        current_child = 0;
        if (w == 0) {
            hung++;
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            tap_diag("child %d hung for %.0f s and was killed", round, CHILD_TIMEOUT);
        } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
            exited_ok++;
        } else {
            failed++;
            if (WIFSIGNALED(status))
                tap_diag("child %d killed by signal %d", round, WTERMSIG(status));
            else
                tap_diag("child %d exited with status %d", round, WEXITSTATUS(status));
        }
    }
    atomic_store(&stop, true);
    pthread_join(churn, NULL);
    pthread_join(flusher, NULL);

    int intact = 1;
    for (int i = 0; i < NINHERITED; i++) {
        intact &= tu_check(inherited[i], inherited_size[i], (uint64_t)i) == SIZE_MAX;
        free(inherited[i]);
    }
    TAP_EQ_U64(hung, 0, "no child hung after fork");
    TAP_EQ_U64(exited_ok, NFORKS, "all %d children allocated, freed and exited 0", NFORKS);
    TAP_EQ_U64(failed, 0, "no fork failed and no child crashed or found bad memory");
    tap_ok(intact, "the parent's blocks are intact after the forks");
    TAP_EQ_U64(churn_bad, 0, "background allocations intact (%lu operations)",
               (unsigned long)churn_ops);
    tap_ok(churn_ops > 0 && flush_ops > 0, "the background threads ran (%lu fflush calls)",
           (unsigned long)flush_ops);
    TAP_EQ_I64(hak_check(), 0, "hak_check finds this thread's heap consistent at the end");
    return tap_done();
}
