/* large-limits.c: freed large blocks never stand between a program and its memory.
 * Under an address-space limit (RLIMIT_AS, as under a commit limit), what the cache
 * holds goes back before a malloc or realloc would fail; blocks freed after the
 * allocator's own teardown of a thread (from a pthread key's destructor) are not kept
 * where no later call would give them back; and a thread that frees a burst and then
 * waits forever has the burst's pages given back by the other threads' calls within a
 * couple of decay periods (1 s each; the test allows 10 s on a loaded machine). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../tap.h"
#include "../testutil.h"

#define MIB ((size_t)1 << 20)

/* In a child, under RLIMIT_AS of the present size plus 300 MiB: free 200 MiB of large
 * blocks (cached where they fit the cache's bound), then ask for more than the limit
 * leaves unless the cache gives its share back. Exit status 0 when the request
 * succeeded with the contents it must keep. */
static int under_as_limit(int shape)
{
    long size = tu_status_kib("VmSize");
    struct rlimit r = {(rlim_t)size * 1024 + 300 * MIB, (rlim_t)size * 1024 + 300 * MIB};
    if (size < 0 || setrlimit(RLIMIT_AS, &r) != 0) return 2;
    char *a = malloc(100 * MIB), *b = malloc(100 * MIB);
    if (a == NULL || b == NULL) return 3;
    memset(a, 1, 100 * MIB);
    memset(b, 2, 100 * MIB);
    char *c = NULL;
    if (shape == 0) { /* malloc */
        free(a);
        free(b);
        c = malloc(150 * MIB);
    } else if (shape == 1) { /* realloc past what is left */
        free(a);
        c = realloc(b, 180 * MIB);
        if (c && tu_check_bytes(c, 100 * MIB, 2) != SIZE_MAX) return 4;
    } else { /* many runs, then one block bigger than any */
        free(a);
        free(b);
        char *p[40];
        for (int i = 0; i < 40; i++) {
            if ((p[i] = malloc(5 * MIB)) == NULL) return 5;
            memset(p[i], 3, 5 * MIB);
        }
        for (int i = 0; i < 40; i++)
            free(p[i]);
        c = malloc(250 * MIB);
    }
    if (c == NULL) return 1;
    memset(c, 4, 150 * MIB);
    free(c);
    return 0;
}

static int child_status(int shape)
{
    pid_t pid = fork();
    if (pid < 0) tap_bail("fork failed");
    if (pid == 0) _exit(under_as_limit(shape));
    int st = 0;
    if (waitpid(pid, &st, 0) != pid) tap_bail("waitpid failed");
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Blocks freed by a key destructor that runs after the allocator's thread teardown
 * (libhakmem's key is made in its constructor, before this one, so glibc runs its
 * destructor first). */
static pthread_key_t key;

static void free_blocks(void *v)
{
    char **b = v;
    for (int i = 0; i < 3; i++)
        free(b[i]);
    free(b);
}

static void *late_freer(void *arg)
{
    char **b = malloc(3 * sizeof *b);
    if (b == NULL) tap_bail("malloc failed");
    for (int i = 0; i < 3; i++) {
        if ((b[i] = malloc(20 * MIB)) == NULL) tap_bail("malloc of 20 MiB failed");
        memset(b[i], 1, 20 * MIB);
    }
    pthread_setspecific(key, b);
    return arg;
}

/* A thread that frees a burst (within the smallest cache bound, 64 MiB) and then waits
 * until told to end. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int state; /* 1: burst freed; 2: may end */

static void *idle_after_burst(void *arg)
{
    char *b[6];
    for (int i = 0; i < 6; i++) {
        if ((b[i] = malloc(8 * MIB)) == NULL) tap_bail("malloc of 8 MiB failed");
        memset(b[i], 1, 8 * MIB);
    }
    for (int i = 0; i < 6; i++)
        free(b[i]);
    pthread_mutex_lock(&mu);
    state = 1;
    pthread_cond_broadcast(&cv);
    while (state != 2)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    return arg;
}

/* Small calls from this thread, more blocks at once than its cache holds: refills,
 * whose ticks let caches decay and sweeps run. */
static void small_calls(double seconds)
{
    static void *v[8192];
    double end = tu_now() + seconds;
    while (tu_now() < end) {
        for (int j = 0; j < 8192; j++)
            v[j] = tu_launder(malloc(16 + (size_t)(j % 64) * 48));
        for (int j = 0; j < 8192; j++)
            free(v[j]);
    }
}

int main(void)
{
    tap_plan(6);
    static const char *const shapes[] = {"malloc of 150 MiB after freeing 200 MiB",
                                         "realloc of 100 to 180 MiB after freeing 100 MiB",
                                         "malloc of 250 MiB after freeing 40 blocks of 5 MiB"};
    for (int shape = 0; shape < 3; shape++)
        TAP_EQ_U64(child_status(shape), 0, "under an address-space limit: %s", shapes[shape]);

    pthread_key_create(&key, free_blocks);
    long before = tu_rss_kib();
    for (int i = 0; i < 3; i++) {
        pthread_t t;
        pthread_create(&t, NULL, late_freer, NULL);
        pthread_join(t, NULL);
    }
    long after = tu_rss_kib();
    tap_diag("VmRSS before %ld KiB, after 3 threads freed 60 MiB each past teardown %ld KiB",
             before, after);
    TAP_LE_U64((uint64_t)(after > before ? after - before : 0), 16 * 1024,
               "blocks freed past a thread's teardown go back to the OS");

    pthread_t t;
    small_calls(0.25); /* the small blocks' own pages, in the baseline */
    before = tu_rss_kib();
    pthread_create(&t, NULL, idle_after_burst, NULL);
    pthread_mutex_lock(&mu);
    while (state != 1)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    long burst = tu_rss_kib(), swept = burst;
    double start = tu_now();
    while (burst - swept < 40 * 1024 && tu_now() - start < 10) { /* two periods, or so */
        small_calls(0.25);
        swept = tu_rss_kib();
    }
    tap_diag("VmRSS before %ld KiB, after an idle thread's 48 MiB burst %ld KiB, %.1f s of "
             "small calls later %ld KiB",
             before, burst, tu_now() - start, swept);
    TAP_GE_U64((uint64_t)(burst > before ? burst - before : 0), 40 * 1024,
               "the idle thread's freed burst was kept at first");
    TAP_GE_U64((uint64_t)(burst > swept ? burst - swept : 0), 40 * 1024,
               "another thread's calls give its pages back while it waits");
    pthread_mutex_lock(&mu);
    state = 2;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    pthread_join(t, NULL);
    return tap_done();
}
