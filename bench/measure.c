/* measure: run one command and say how long it took and how much memory it peaked at.
 *
 *     measure [-p LIBRARY] [-o FILE] [--] COMMAND [ARG]...
 *
 * COMMAND runs as a child with LD_PRELOAD=LIBRARY (with -p; otherwise with LD_PRELOAD
 * removed), so that measure itself never runs under the allocator being measured. When
 * it ends, one line
 *
 *     RESULT name=measure wall_s=W peak_rss_kib=K status=S
 *
 * goes to FILE (-o; default stderr), leaving COMMAND's own output alone. W is wall time
 * from fork to reaping, K the largest resident set of the child and every descendant it
 * waited for (wait4's rusage: for `g++` that is cc1plus, for `git gc` pack-objects), S the
 * child's exit status, or 128 + the signal that ended it. measure exits with S too, or 2
 * for bad usage, 127 when COMMAND cannot be run. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int usage(void)
{
    fputs("usage: measure [-p LIBRARY] [-o FILE] [--] COMMAND [ARG]...\n", stderr);
    return 2;
}

/* In the child: set the preload, then become COMMAND. */
static void start(const char *preload, char **argv)
{
    if (preload != NULL ? setenv("LD_PRELOAD", preload, 1) : unsetenv("LD_PRELOAD")) _exit(127);
    execvp(argv[0], argv);
    fprintf(stderr, "measure: cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

int main(int argc, char **argv)
{
    const char *preload = NULL, *outfile = NULL;
    int opt;
    while ((opt = getopt(argc, argv, "+p:o:")) != -1) {
        if (opt == 'p')
            preload = optarg;
        else if (opt == 'o')
            outfile = optarg;
        else
            return usage();
    }
    if (optind >= argc) return usage();

    FILE *out = stderr;
    if (outfile != NULL && (out = fopen(outfile, "w")) == NULL) {
        fprintf(stderr, "measure: %s: %s\n", outfile, strerror(errno));
        return 2;
    }
    double t0 = now();
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "measure: fork: %s\n", strerror(errno));
        return 2;
    }
    if (pid == 0) start(preload, argv + optind);

    int wstatus;
    struct rusage ru;
    while (wait4(pid, &wstatus, 0, &ru) < 0)
        if (errno != EINTR) {
            fprintf(stderr, "measure: wait4: %s\n", strerror(errno));
            return 2;
        }
    double wall = now() - t0;
    int status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
    fprintf(out, "RESULT name=measure wall_s=%.4f peak_rss_kib=%ld status=%d\n", wall, ru.ru_maxrss,
            status);
    if (fclose(out) != 0) return 2;
    return status;
}
