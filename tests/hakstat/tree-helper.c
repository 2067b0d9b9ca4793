/* tree-helper.c: a process tree of short-lived processes with known allocation counts,
 * for hakstat --tree. Linked with libhakmem, so every process has a segment.
 *
 * Usage:
 *   tree-helper run N M   print "ready", wait for a line (or end of file) on stdin, then
 *                         start N children one after another, each `tree-helper leaf M`
 *                         (fork and exec), wait for each, and exit 0.
 *   tree-helper leaf M    fork a grandchild that does M pairs of malloc(64) and free and
 *                         exits; do the same M pairs; wait for it; exit 0. Both last a few
 *                         milliseconds, so a watcher polling /proc rarely sees them run.
 *   tree-helper offsets   print the byte offsets in a segment header of pid, start_time,
 *                         ppid, the retired class_alloc counters, flags, the retired
 *                         large_alloc counter and the class count (the mallocs are the
 *                         class counters' sum plus large_alloc), for tests that read or
 *                         forge records.
 * Every exit is a normal one (exit(3)), so each process leaves a retired record. */
#include "config.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hakmem_stats.h"

static void pairs(long m)
{
    for (long i = 0; i < m; i++) {
        void *volatile p = malloc(64);
        free(p);
    }
}

static int leaf(long m)
{
    pid_t g = fork();
    if (g < 0) return 1;
    if (g == 0) {
        pairs(m);
        exit(0);
    }
    pairs(m);
    int st;
    return waitpid(g, &st, 0) == g && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}

static int run(long n, const char *m)
{
    /* By its own name, so that every process of the tree has the same command. */
    char self[4096];
    ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (len <= 0) return 1;
    self[len] = '\0';
    printf("ready\n");
    fflush(stdout);
    char line[16];
    if (fgets(line, sizeof(line), stdin) == NULL && ferror(stdin)) return 1;
    for (long i = 0; i < n; i++) {
        pid_t c = fork();
        if (c < 0) return 1;
        if (c == 0) {
            execl(self, "tree-helper", "leaf", m, (char *)NULL);
            _exit(127);
        }
        int st;
        if (waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st) != 0) return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "offsets") == 0) {
        size_t retired = offsetof(hk_stats_header_t, retired);
        printf(
            "%zu %zu %zu %zu %zu %zu %d\n", offsetof(hk_stats_header_t, pid),
            offsetof(hk_stats_header_t, start_time), offsetof(hk_stats_header_t, ppid),
            retired + offsetof(hk_stat_counters_t, class_alloc), offsetof(hk_stats_header_t, flags),
            retired + offsetof(hk_stat_counters_t, c) + 8 * HK_STAT_large_alloc, HK_STATS_NCLASSES);
        return 0;
    }
    if (argc == 4 && strcmp(argv[1], "run") == 0) return run(atol(argv[2]), argv[3]);
    if (argc == 3 && strcmp(argv[1], "leaf") == 0) return leaf(atol(argv[2]));
    fprintf(stderr, "usage: tree-helper run N M | leaf M | offsets\n");
    return 1;
}
