/* workload-helper.c: a process with known allocation counts for hakstat's tests to
 * watch. Linked with libhakmem, so it has a statistics segment.
 *
 * Usage: workload-helper [THREADS [SECONDS]]     (defaults: 4 threads, 60 seconds)
 *
 * - Starts THREADS worker threads (1 to 64). Worker i names itself "hk-worker-i"
 *   (pthread_setname_np), then does exactly 1000 * (i + 1) calls of malloc(64), each
 *   followed by free() of that block, so 1000 * (i + 1) mallocs and as many frees of
 *   64 bytes. It makes no other allocation of its own (the C library may add a few of
 *   other sizes, e.g. for thread start-up).
 * - When every worker has done its work, prints "ready" and a newline on stdout (and
 *   flushes). The workers then block, alive and idle, so their counts stay fixed.
 * - Exits with status 0, after the workers return, when any of these happens:
 *   SECONDS pass; SIGTERM, SIGINT or SIGHUP arrives; standard input, if it is a pipe or
 *   a FIFO, reaches end of file (a line on it is ignored). Standard input that is a
 *   file, /dev/null or a terminal is not watched.
 * - Exits with status 1 on a usage error or when a thread cannot be started.
 *
 * A normal exit removes the statistics segment (as any hakmem process's does); SIGKILL
 * leaves it behind, stale. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define HELPER_MAX_THREADS 64
#define HELPER_BLOCK_SIZE  64
#define HELPER_OPS_UNIT    1000

static pthread_barrier_t work_done;
static int release_pipe[2]; /* workers wait for EOF on [0]; main closes [1] */
static int signal_pipe[2];  /* the signal handler writes a byte to [1] */

static void on_signal(int sig)
{
    (void)sig;
    int saved = errno;
    char c = 1;
    if (write(signal_pipe[1], &c, 1) < 0) {
        /* nothing to do: the pipe is full, so main wakes anyway */
    }
    errno = saved;
}

static void *worker(void *arg)
{
    int i = (int)(long)arg;
    char name[16];
    snprintf(name, sizeof(name), "hk-worker-%d", i);
    pthread_setname_np(pthread_self(), name);

    long n = (long)HELPER_OPS_UNIT * (i + 1);
    for (long k = 0; k < n; k++) {
        char *p = malloc(HELPER_BLOCK_SIZE);
        if (p == NULL) abort();
        p[0] = (char)k;
        /* keep the compiler from pairing malloc with free and dropping both */
        __asm__ __volatile__("" : : "r"(p) : "memory");
        free(p);
    }
    pthread_barrier_wait(&work_done);

    char c;
    while (read(release_pipe[0], &c, 1) != 0 && errno == EINTR) {
    }
    return NULL;
}

static int parse_int(const char *s, int min, int max, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max) return -1;
    *out = (int)v;
    return 0;
}

int main(int argc, char **argv)
{
    int nthreads = 4, seconds = 60;
    if (argc > 3 || (argc > 1 && parse_int(argv[1], 1, HELPER_MAX_THREADS, &nthreads) != 0) ||
        (argc > 2 && parse_int(argv[2], 1, 86400, &seconds) != 0)) {
        fprintf(stderr, "usage: workload-helper [THREADS (1-%d) [SECONDS]]\n", HELPER_MAX_THREADS);
        return 1;
    }
    if (pipe(release_pipe) != 0 || pipe(signal_pipe) != 0) {
        perror("workload-helper: pipe");
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);

    pthread_barrier_init(&work_done, NULL, (unsigned)nthreads + 1);
    pthread_t tids[HELPER_MAX_THREADS];
    for (int i = 0; i < nthreads; i++) {
        int err = pthread_create(&tids[i], NULL, worker, (void *)(long)i);
        if (err != 0) {
            fprintf(stderr, "workload-helper: pthread_create: %s\n", strerror(err));
            return 1;
        }
    }
    pthread_barrier_wait(&work_done);
    printf("ready\n");
    fflush(stdout);

    struct stat st;
    int watch_stdin = fstat(STDIN_FILENO, &st) == 0 && S_ISFIFO(st.st_mode);
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        long left_ms = (long)seconds * 1000 - ((now.tv_sec - start.tv_sec) * 1000 +
                                               (now.tv_nsec - start.tv_nsec) / 1000000);
        if (left_ms <= 0) break;
        struct pollfd fds[2] = {{signal_pipe[0], POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
        int r = poll(fds, watch_stdin ? 2 : 1, left_ms > 1000 ? 1000 : (int)left_ms);
        if (r < 0 && errno != EINTR) break;
        if (r <= 0) continue;
        if (fds[0].revents) break;
        if (watch_stdin && fds[1].revents) {
            char buf[256];
            ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
            if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) break;
        }
    }

    close(release_pipe[1]);
    for (int i = 0; i < nthreads; i++)
        pthread_join(tids[i], NULL);
    return 0;
}
