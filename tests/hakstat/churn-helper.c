/* churn-helper.c: a process with known thread churn and known live memory, for hakstat's
 * thread and memory tests (tests/hakstat/threads.sh). Linked with libhakmem.
 *
 * Usage: churn-helper THREADS SECONDS [keep]
 *
 * - The main thread holds 10,000 blocks of 64 bytes and one block of 1 MiB, all written,
 *   until it exits.
 * - It then runs THREADS short-lived threads (1 to 100,000) one after another, each joined
 *   before the next starts: thread k names itself "hk-short-K" (PR_SET_NAME) before its
 *   first allocation, makes 100 malloc(64)/free pairs and exits. Every thread after the
 *   first finds the heap the one before it left, so at least THREADS - 1 heaps are
 *   adopted.
 * - Prints "ready" and a newline on stdout when they have all been joined.
 * - With "keep", goes on running such threads, one at a time, until it ends.
 * - Ends with status 0 when SECONDS pass or standard input (a pipe or FIFO) reaches end
 *   of file; 1 on a usage error or when a thread cannot be started. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LIVE_BLOCKS 10000
#define BLOCK_SIZE  64
#define LARGE_SIZE  (1u << 20)
#define PAIRS       100

static void *short_thread(void *arg)
{
    char name[16];
    snprintf(name, sizeof(name), "hk-short-%ld", (long)arg % 100000);
    prctl(PR_SET_NAME, name);
    for (int i = 0; i < PAIRS; i++) {
        char *p = malloc(BLOCK_SIZE);
        if (p == NULL) abort();
        p[0] = (char)i;
        __asm__ __volatile__("" : : "r"(p) : "memory"); /* keep the pair */
        free(p);
    }
    return NULL;
}

static int run_one(long k)
{
    pthread_t t;
    int err = pthread_create(&t, NULL, short_thread, (void *)k);
    if (err != 0) {
        fprintf(stderr, "churn-helper: pthread_create: %s\n", strerror(err));
        return -1;
    }
    pthread_join(t, NULL);
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Whether standard input, when a pipe or FIFO, has reached end of file. */
static int stdin_closed(int watch)
{
    if (!watch) return 0;
    struct pollfd pfd = {STDIN_FILENO, POLLIN, 0};
    if (poll(&pfd, 1, 0) <= 0) return 0;
    char buf[256];
    ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
    return n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN);
}

int main(int argc, char **argv)
{
    long nthreads = argc > 1 ? strtol(argv[1], NULL, 10) : 0;
    long seconds = argc > 2 ? strtol(argv[2], NULL, 10) : 0;
    int keep = argc > 3 && strcmp(argv[3], "keep") == 0;
    if (argc < 3 || argc > 4 || nthreads < 1 || nthreads > 100000 || seconds < 1 ||
        (argc == 4 && !keep)) {
        fprintf(stderr, "usage: churn-helper THREADS SECONDS [keep]\n");
        return 1;
    }
    static char *live[LIVE_BLOCKS];
    for (int i = 0; i < LIVE_BLOCKS; i++) {
        if ((live[i] = malloc(BLOCK_SIZE)) == NULL) abort();
        memset(live[i], 1, BLOCK_SIZE);
    }
    char *large = malloc(LARGE_SIZE);
    if (large == NULL) abort();
    memset(large, 1, LARGE_SIZE);

    long k = 0;
    for (; k < nthreads; k++)
        if (run_one(k) != 0) return 1;
    printf("ready\n");
    fflush(stdout);

    struct stat st;
    int watch = fstat(STDIN_FILENO, &st) == 0 && S_ISFIFO(st.st_mode);
    double end = now_s() + (double)seconds;
    while (now_s() < end && !stdin_closed(watch)) {
        if (keep) {
            if (run_one(k++) != 0) return 1;
        } else {
            poll(NULL, 0, 50);
        }
    }
    for (int i = 0; i < LIVE_BLOCKS; i++)
        free(live[i]);
    free(large);
    return 0;
}
