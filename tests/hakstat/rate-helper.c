/* rate-helper.c: a process that allocates at a known rate, for the exporter's tests.
 * Linked with libhakmem, so it has a statistics segment.
 *
 * Usage: rate-helper RATE [churn]      (RATE: mallocs per second, 100 to 1000000)
 *
 * - Every 10 ms, on an absolute schedule (CLOCK_MONOTONIC, so a late wake-up catches
 *   up and the average stays RATE), does RATE/100 calls of malloc(64), each followed by
 *   free(). A thread named "rate-worker" does them; with "churn", a thread named
 *   "churner" does 10 batches (100 ms) and exits, and a new one takes over, so threads
 *   keep exiting.
 * - Prints "ready" and a newline on stdout (flushed) once the first batch is done.
 * - Exits with status 0 when standard input reaches end of file (a pipe or a FIFO; a
 *   line on it is ignored); 1 on a usage error or when a thread cannot be started. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BATCHES_PER_S 100
#define CHURN_BATCHES 10 /* a churner lives 100 ms */

static long batch;
static atomic_int done;

static void run_batch(void)
{
    for (long k = 0; k < batch; k++) {
        char *p = malloc(64);
        if (p == NULL) abort();
        p[0] = (char)k;
        /* keep the compiler from pairing malloc with free and dropping both */
        __asm__ __volatile__("" : : "r"(p) : "memory");
        free(p);
    }
}

static void next_tick(struct timespec *t)
{
    t->tv_nsec += 1000000000L / BATCHES_PER_S;
    if (t->tv_nsec >= 1000000000L) {
        t->tv_nsec -= 1000000000L;
        t->tv_sec++;
    }
}

static struct timespec schedule; /* the next batch's time; one thread at a time uses it */

/* n batches (n < 0: until done), each on its tick. */
static void batches(long n)
{
    static bool announced;
    for (long i = 0; i != n && !atomic_load(&done); i++) {
        run_batch();
        if (!announced) {
            announced = true;
            printf("ready\n");
            fflush(stdout);
        }
        next_tick(&schedule);
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &schedule, NULL) == EINTR) {
        }
    }
}

static void *churner(void *arg)
{
    pthread_setname_np(pthread_self(), "churner");
    batches(CHURN_BATCHES);
    return arg;
}

static void *worker(void *arg)
{
    clock_gettime(CLOCK_MONOTONIC, &schedule);
    if (arg == NULL) {
        pthread_setname_np(pthread_self(), "rate-worker");
        batches(-1);
        return NULL;
    }
    while (!atomic_load(&done)) {
        pthread_t th;
        if (pthread_create(&th, NULL, churner, NULL) != 0) exit(1);
        pthread_join(th, NULL);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    char *end = NULL;
    long rate = argc > 1 ? strtol(argv[1], &end, 10) : 0;
    bool churn = argc == 3 && strcmp(argv[2], "churn") == 0;
    if (argc < 2 || argc > 3 || *end || rate < 100 || rate > 1000000 || (argc == 3 && !churn)) {
        fprintf(stderr, "usage: rate-helper RATE (100-1000000) [churn]\n");
        return 1;
    }
    batch = rate / BATCHES_PER_S;
    pthread_t th;
    if (pthread_create(&th, NULL, worker, churn ? (void *)1 : NULL) != 0) {
        fprintf(stderr, "rate-helper: cannot start a thread\n");
        return 1;
    }
    char buf[256];
    for (;;) {
        ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
        if (n == 0 || (n < 0 && errno != EINTR)) break;
    }
    atomic_store(&done, 1);
    pthread_join(th, NULL);
    return 0;
}
