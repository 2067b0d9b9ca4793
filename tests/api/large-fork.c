/* large-fork.c: in a fork child, a new thread that adopts the heap a thread of the
 * parent left when it exited caches the large blocks it frees like any thread: a block
 * freed and another of the same size taken has its pages resident, so writing it faults
 * almost nothing in (it took a fault per page when the child kept such heaps held). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../tap.h"
#include "../testutil.h"

#define MIB ((size_t)1 << 20)

/* Takes a heap (on its first call) and exits, leaving it for the next thread. */
static void *one_call(void *arg)
{
    free(tu_launder(malloc(64)));
    return arg;
}

/* Frees an 8 MiB block and writes a new one; returns its faults + 1 (NULL: no memory).
 * The blocks are laundered, or the compiler drops the calls. */
static void *reuse_faults(void *arg)
{
    char *a = tu_launder(malloc(8 * MIB));
    if (a == NULL) return NULL;
    memset(a, 1, 8 * MIB);
    free(tu_launder(a));
    struct rusage r0, r1;
    getrusage(RUSAGE_THREAD, &r0);
    char *b = tu_launder(malloc(8 * MIB));
    if (b == NULL) return NULL;
    memset(b, 2, 8 * MIB);
    getrusage(RUSAGE_THREAD, &r1);
    free(tu_launder(b));
    return (void *)(uintptr_t)(r1.ru_minflt - r0.ru_minflt + 1);
}

int main(void)
{
    tap_plan(1);
    pthread_t t;
    pthread_create(&t, NULL, one_call, NULL);
    pthread_join(t, NULL);
    int fds[2];
    if (pipe(fds) != 0) tap_bail("pipe failed");
    pid_t pid = fork();
    if (pid < 0) tap_bail("fork failed");
    if (pid == 0) {
        void *faults = NULL;
        if (pthread_create(&t, NULL, reuse_faults, NULL) == 0) pthread_join(t, &faults);
        uintptr_t n = (uintptr_t)faults;
        _exit(write(fds[1], &n, sizeof n) == sizeof n ? 0 : 1);
    }
    uintptr_t n = 0;
    if (read(fds[0], &n, sizeof n) != sizeof n || n == 0) tap_bail("the child had no memory");
    waitpid(pid, NULL, 0);
    TAP_LE_U64((uint64_t)n - 1, 256, "a fork child's new thread reuses the large pages it frees");
    tap_diag("faults writing the second 8 MiB block: %lu", (unsigned long)n - 1);
    return tap_done();
}
