/* rlimit.c: running out of address space. A child process lowers RLIMIT_AS to its
 * current size plus 64 MiB, then four threads (started before the limit, with small
 * stacks) allocate 1 MiB, 64 KiB and small blocks until malloc returns NULL. Every failure
 * must be NULL with errno ENOMEM — no crash, no abort — and after freeing everything the
 * child can allocate again. The child reports through a pipe; the parent checks it. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../tap.h"
#include "../testutil.h"

#define NTHREADS 4
#define HEADROOM ((size_t)64 << 20)

/* What the child sends back. */
struct report {
    int limit_set;           /* setrlimit succeeded */
    unsigned long failures;  /* malloc returned NULL */
    unsigned long bad_errno; /* ... with errno other than ENOMEM */
    int first_bad_errno;
    unsigned long allocated;  /* successful allocations */
    unsigned long long bytes; /* bytes obtained before running out */
    unsigned long corrupt;    /* blocks whose pattern changed */
    int recovered;            /* malloc(1 MiB) and malloc(64) work after freeing all */
};

static struct report rep;
static pthread_barrier_t start_line;

/* A singly linked list threaded through the blocks themselves (all are >= 16 bytes). */
struct node {
    struct node *next;
    size_t size;
};

static void *hog_main(void *arg)
{
    uintptr_t id = (uintptr_t)arg;
    static const size_t sizes[3] = {1 << 20, 64 << 10, 48};
    struct node *head = NULL;
    unsigned long failures = 0, bad_errno = 0, allocated = 0, corrupt = 0;
    unsigned long long bytes = 0;
    int first_bad = 0;
    int exhausted[3] = {0, 0, 0};
    free(malloc(64)); /* this thread's allocator state exists before the limit */
    pthread_barrier_wait(&start_line);
    for (unsigned long i = 0; !(exhausted[0] && exhausted[1] && exhausted[2]); i++) {
        int k = (int)(i % 3);
        if (exhausted[k]) continue;
        errno = 0;
        struct node *n = malloc(sizes[k]);
        if (!n) {
            int e = errno;
            failures++;
            if (e != ENOMEM && bad_errno++ == 0) first_bad = e;
            exhausted[k] = 1;
            continue;
        }
        allocated++;
        bytes += sizes[k];
        n->next = head;
        n->size = sizes[k];
        /* Touch the block: its start, its end and one byte in every page. */
        unsigned char *b = (unsigned char *)n;
        for (size_t off = sizeof *n; off < sizes[k]; off += 4096)
            b[off] = (unsigned char)(id + off);
        b[sizes[k] - 1] = (unsigned char)id;
        head = n;
    }
    while (head) {
        struct node *next = head->next;
        unsigned char *b = (unsigned char *)head;
        for (size_t off = sizeof *head; off < head->size; off += 4096)
            corrupt += b[off] != (unsigned char)(id + off);
        corrupt += b[head->size - 1] != (unsigned char)id;
        free(head);
        head = next;
    }
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&lock);
    rep.failures += failures;
    rep.bad_errno += bad_errno;
    if (bad_errno && !rep.first_bad_errno) rep.first_bad_errno = first_bad;
    rep.allocated += allocated;
    rep.bytes += bytes;
    rep.corrupt += corrupt;
    pthread_mutex_unlock(&lock);
    return NULL;
}

static void child_main(int fd)
{
    alarm(30); /* a hung child must not outlive the test */
    pthread_t t[NTHREADS];
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 << 10);
    pthread_barrier_init(&start_line, NULL, NTHREADS + 1);
    for (uintptr_t i = 0; i < NTHREADS; i++)
        if (pthread_create(&t[i], &attr, hog_main, (void *)i) != 0) _exit(2);
    long vm = tu_status_kib("VmSize");
    struct rlimit rl;
    rl.rlim_cur = rl.rlim_max = (rlim_t)vm * 1024 + HEADROOM;
    rep.limit_set = vm > 0 && setrlimit(RLIMIT_AS, &rl) == 0;
    pthread_barrier_wait(&start_line);
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(t[i], NULL);
    void *big = malloc(1 << 20), *small = malloc(64);
    rep.recovered = big && small;
    free(big);
    free(small);
    if (write(fd, &rep, sizeof rep) != (ssize_t)sizeof rep) _exit(3);
    _exit(0);
}

int main(void)
{
    tap_plan(8);
    alarm(60);
    int fds[2];
    if (pipe(fds) != 0) tap_bail("pipe failed");
    pid_t pid = fork();
    if (pid < 0) tap_bail("fork failed");
    if (pid == 0) {
        close(fds[0]);
        child_main(fds[1]);
    }
    close(fds[1]);
    struct report r;
    ssize_t n = read(fds[0], &r, sizeof r);
    int status = -1;
    waitpid(pid, &status, 0);
    if (WIFSIGNALED(status)) tap_diag("child killed by signal %d", WTERMSIG(status));
    tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child exited 0 (status %#x)", status);
    if (!tap_ok(n == (ssize_t)sizeof r, "child sent its report")) {
        for (int i = 0; i < 6; i++)
            tap_ok(0, "no report to check");
        return tap_done();
    }
    tap_diag("%lu blocks, %llu MiB before running out; %lu failed calls", r.allocated,
             r.bytes >> 20, r.failures);
    tap_ok(r.limit_set, "RLIMIT_AS lowered to VmSize + %zu MiB", HEADROOM >> 20);
    TAP_GE_U64(r.failures, NTHREADS * 3, "every thread ran out for every size");
    if (!TAP_EQ_U64(r.bad_errno, 0, "every failed malloc set errno to ENOMEM"))
        tap_diag("  first wrong errno %d (%s)", r.first_bad_errno, strerror(r.first_bad_errno));
    TAP_GE_U64(r.bytes, (uint64_t)8 << 20, "at least 8 MiB was allocated under the limit");
    TAP_EQ_U64(r.corrupt, 0, "blocks allocated near the limit kept their contents");
    tap_ok(r.recovered, "after freeing, 1 MiB and 64-byte blocks can be allocated again");
    return tap_done();
}
