/* busy-helper.c: a process that keeps allocating, for hakstat's tests of things a
 * process only notices while it works (a profiling period asked through --profile is
 * taken up on the next thread-cache refill). Linked with libhakmem.
 *
 * Usage: busy-helper [SECONDS]     (default 60)
 *
 * The main thread repeats rounds of 512 malloc(64) then 512 free(), enough to empty and
 * overflow its thread cache each round (refills and drains), and sleeps 1 ms between
 * rounds so that it does not take a whole CPU. After the first round it prints "ready".
 * It exits with status 0 when SECONDS pass, on SIGTERM/SIGINT/SIGHUP, or when standard
 * input, if it is a pipe or FIFO, reaches end of file. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ROUND 512

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

int main(int argc, char **argv)
{
    long seconds = 60;
    if (argc > 2 || (argc == 2 && (seconds = strtol(argv[1], NULL, 10)) <= 0)) {
        fprintf(stderr, "usage: busy-helper [SECONDS]\n");
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);

    struct stat st;
    int watch_stdin = fstat(STDIN_FILENO, &st) == 0 && S_ISFIFO(st.st_mode);
    static void *blocks[ROUND];
    time_t end = time(NULL) + seconds;
    for (long round = 0; !stop && time(NULL) < end; round++) {
        for (int i = 0; i < ROUND; i++) {
            blocks[i] = malloc(64);
            if (blocks[i] == NULL) abort();
            __asm__ __volatile__("" : : "r"(blocks[i]) : "memory");
        }
        for (int i = 0; i < ROUND; i++)
            free(blocks[i]);
        if (round == 0) {
            printf("ready\n");
            fflush(stdout);
        }
        struct pollfd p = {STDIN_FILENO, POLLIN, 0};
        if (watch_stdin && poll(&p, 1, 0) > 0) {
            char buf[64];
            ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
            if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) break;
        }
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    return 0;
}
