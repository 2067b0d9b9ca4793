/* tls-dtor.c: allocation at thread and process teardown, after the allocator's own
 * thread-exit hook may already have run. Thread-specific-data destructors that allocate
 * and free (one re-registers itself so it also runs in the later destructor rounds),
 * __thread state they use, C++-style thread_local destructors (__cxa_thread_atexit_impl);
 * then, in child processes: an atexit handler, an ELF destructor and the main thread's
 * thread_local destructor allocating during exit() while another thread still allocates,
 * and key destructors of a main thread that leaves with pthread_exit. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hakmem.h"

#include "../tap.h"
#include "../testutil.h"

/* glibc's registration function behind C++ thread_local destructors. */
extern int __cxa_thread_atexit_impl(void (*func)(void *), void *obj, void *dso_symbol);
extern void *__dso_handle;

#define NTHREADS 16
#define NBLOCKS  8
#define REARM    3 /* extra destructor rounds requested by re-registering */

/* Per-thread blocks, used by the thread and then by its destructors. */
static __thread struct {
    void *blocks[NBLOCKS];
    size_t sizes[NBLOCKS];
    uint32_t id;
    int rounds;
} tls;

static pthread_key_t key_rearm, key_value;
static atomic_ulong n_rearm_calls, n_value_calls, n_cxa_calls, n_bad, n_null;
static int report_fd = -1; /* in the exit-time children: where stages report success */

static void report(char stage)
{
    if (report_fd >= 0 && write(report_fd, &stage, 1) != 1) _exit(90);
}

/* Allocate, fill, verify and free a few blocks of various sizes; count any trouble. */
static void churn(uint64_t seed)
{
    static const size_t sizes[] = {8, 100, 1000, 5000, 40000, 300000};
    void *p[6];
    for (int i = 0; i < 6; i++) {
        p[i] = malloc(sizes[i]);
        if (!p[i]) {
            atomic_fetch_add(&n_null, 1);
            continue;
        }
        tu_fill(p[i], sizes[i], seed + (uint64_t)i);
    }
    for (int i = 0; i < 6; i++) {
        if (p[i] && tu_check(p[i], sizes[i], seed + (uint64_t)i) != SIZE_MAX)
            atomic_fetch_add(&n_bad, 1);
        free(p[i]);
    }
}

static void tls_refill(int from)
{
    for (int i = from; i < NBLOCKS; i++) {
        tls.sizes[i] =
            16 + (size_t)(tls.id * 131 + (uint32_t)i * 977 + (uint32_t)tls.rounds) % 20000;
        tls.blocks[i] = malloc(tls.sizes[i]);
        if (!tls.blocks[i]) {
            atomic_fetch_add(&n_null, 1);
            continue;
        }
        tu_fill(tls.blocks[i], tls.sizes[i], tu_mix(tls.id, (uint64_t)i));
    }
}

/* Verify and free __thread blocks [from, NBLOCKS). */
static void tls_release(int from)
{
    for (int i = from; i < NBLOCKS; i++) {
        if (!tls.blocks[i]) continue;
        if (tu_check(tls.blocks[i], tls.sizes[i], tu_mix(tls.id, (uint64_t)i)) != SIZE_MAX)
            atomic_fetch_add(&n_bad, 1);
        free(tls.blocks[i]);
        tls.blocks[i] = NULL;
    }
}

/* Runs in destructor round 1 and, by re-registering, in the next REARM rounds. */
static void rearm_dtor(void *value)
{
    atomic_fetch_add(&n_rearm_calls, 1);
    tls.rounds++;
    tls_release(NBLOCKS / 2);
    churn(tls.id * 100u + (uint64_t)tls.rounds);
    if (tls.rounds <= REARM) {
        tls_refill(NBLOCKS / 2);
        pthread_setspecific(key_rearm, value);
    } else {
        tls_release(0);
    }
}

/* The key's value is a block allocated by the thread; the destructor checks and frees it. */
static void value_dtor(void *value)
{
    atomic_fetch_add(&n_value_calls, 1);
    if (tu_check(value, 256, tls.id) != SIZE_MAX) atomic_fetch_add(&n_bad, 1);
    free(value);
    churn(tls.id * 7u);
    report('K');
}

/* A C++-style thread_local destructor: runs before the key destructors. */
static void cxa_dtor(void *obj)
{
    atomic_fetch_add(&n_cxa_calls, 1);
    churn((uintptr_t)obj);
    report('T');
}

static void *thread_main(void *arg)
{
    tls.id = (uint32_t)(uintptr_t)arg;
    /* Registered before this thread's first allocation, and again after it. */
    __cxa_thread_atexit_impl(cxa_dtor, arg, &__dso_handle);
    tls_refill(0);
    __cxa_thread_atexit_impl(cxa_dtor, arg, &__dso_handle);
    void *v = malloc(256);
    if (v) tu_fill(v, 256, tls.id);
    pthread_setspecific(key_value, v);
    pthread_setspecific(key_rearm, (void *)1);
    churn(tls.id);
    if (tls.id % 2) pthread_exit(NULL);
    return NULL;
}

/* ---- exit-time children -------------------------------------------------------- */

static atomic_bool exiting;

static void *exit_racer_main(void *arg)
{
    for (uint64_t i = 0;; i++) {
        void *p = malloc(1 + i % 3000);
        free(p);
        if (i > 1000 && atomic_load(&exiting))
            churn(i); /* keep going while the main thread runs exit() */
    }
    return arg;
}

static void atexit_handler(void)
{
    atomic_store(&exiting, true);
    churn(4242);
    if (n_bad || n_null) _exit(3);
    report('A');
}

__attribute__((destructor)) static void elf_dtor(void)
{
    if (report_fd < 0) return;
    churn(777);
    if (n_bad || n_null) _exit(4);
    report('D');
}

/* Child 1: exit() with an atexit handler, an ELF destructor, a main-thread thread_local
 * destructor and a thread still allocating. */
static void child_exit(void)
{
    tls.id = 1000;
    __cxa_thread_atexit_impl(cxa_dtor, (void *)1000, &__dso_handle);
    atexit(atexit_handler);
    pthread_t t;
    if (pthread_create(&t, NULL, exit_racer_main, NULL) != 0) _exit(5);
    churn(1);
    exit(0);
}

static void *late_main(void *arg)
{
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
    churn(99);
    return arg;
}

/* Child 2: the main thread leaves with pthread_exit, so its key destructors run; the
 * process ends (status 0) when the last thread returns. */
static void child_pthread_exit(void)
{
    tls.id = 2000;
    void *v = malloc(256);
    if (!v) _exit(6);
    tu_fill(v, 256, tls.id);
    pthread_setspecific(key_value, v);
    pthread_t t;
    if (pthread_create(&t, NULL, late_main, NULL) != 0) _exit(7);
    pthread_exit(NULL);
}

/* Fork, run `fn` in the child with a pipe for stage reports; return the stages
 * reported (a NUL-terminated string in `stages`) and the wait status. */
static int run_child(void (*fn)(void), char *stages, size_t cap)
{
    int fds[2];
    if (pipe(fds) != 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        alarm(30); /* a hung child must not outlive the test */
        close(fds[0]);
        report_fd = fds[1];
        fn();
        _exit(8);
    }
    close(fds[1]);
    size_t len = 0;
    ssize_t n;
    while (len < cap - 1 && (n = read(fds[0], stages + len, cap - 1 - len)) > 0)
        len += (size_t)n;
    stages[len] = '\0';
    close(fds[0]);
    int status = -1;
    if (pid > 0) waitpid(pid, &status, 0);
    return status;
}

int main(void)
{
    tap_plan(11);
    alarm(60);
    free(malloc(1)); /* let the allocator set up its own thread hooks first */
    if (pthread_key_create(&key_value, value_dtor) || pthread_key_create(&key_rearm, rearm_dtor))
        tap_bail("pthread_key_create failed");

    pthread_t t[NTHREADS];
    for (uintptr_t i = 0; i < NTHREADS; i++)
        if (pthread_create(&t[i], NULL, thread_main, (void *)(i + 1)) != 0)
            tap_bail("pthread_create failed");
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(t[i], NULL);

    TAP_EQ_U64(n_rearm_calls, NTHREADS * (REARM + 1),
               "the re-registering key destructor ran %d times per thread", REARM + 1);
    TAP_EQ_U64(n_value_calls, NTHREADS, "the value-freeing key destructor ran once per thread");
    TAP_EQ_U64(n_cxa_calls, 2 * NTHREADS, "both thread_local destructors ran in every thread");
    TAP_EQ_U64(n_null, 0, "allocations in destructors succeeded");
    TAP_EQ_U64(n_bad, 0, "blocks used in destructors kept their contents");

    char stages[16];
    int st = run_child(child_exit, stages, sizeof stages);
    tap_ok(WIFEXITED(st) && WEXITSTATUS(st) == 0,
           "exit() with allocating atexit handler, "
           "ELF destructor and thread_local destructor, while a thread allocates (status %#x)",
           st);
    tap_ok(strchr(stages, 'A') && strchr(stages, 'D') && strchr(stages, 'T'),
           "all three exit-time stages ran and allocated (reported \"%s\", want A, D, T)", stages);

    st = run_child(child_pthread_exit, stages, sizeof stages);
    tap_ok(WIFEXITED(st) && WEXITSTATUS(st) == 0,
           "main thread leaving with pthread_exit: key destructor allocates (status %#x)", st);
    tap_ok(strchr(stages, 'K') != NULL, "the main thread's key destructor ran (reported \"%s\")",
           stages);
    TAP_EQ_U64(n_bad + n_null, 0, "the parent's allocator is still consistent");
    TAP_EQ_I64(hak_check(), 0, "hak_check finds this thread's heap consistent at the end");
    return tap_done();
}
