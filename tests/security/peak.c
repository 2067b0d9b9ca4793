/* peak: run a command and report its exit status, peak RSS and wall time:
 *     peak OUT ERR CMD [ARG...]   ->   "<status> <peak RSS KiB> <ms>" on stdout
 * The command's stdout and stderr go to OUT and ERR. A small C parent, because the
 * kernel counts a child's resident memory from before its exec too (a fork of python
 * would report python's size). Status 128+N when a signal N ended it. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: peak OUT ERR CMD [ARG...]\n");
        return 2;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid == 0) {
        int o = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int e = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0) _exit(126);
        execvp(argv[3], argv + 3);
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (pid < 0 || wait4(pid, &status, 0, &ru) != pid) return 2;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    int st = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    printf("%d %ld %ld\n", st, ru.ru_maxrss, ms);
    return 0;
}
