/* fork-signal.c: fork() from a signal handler, thousands of times, at whatever point a
 * timer interrupts: inside malloc, free, realloc or the aligned paths (slow paths too:
 * refills, large blocks, remote frees to exited threads' heaps, which take the heap lock),
 * and inside fork() itself, whose prepare handler has taken the allocator's locks. The
 * handler's fork must not wait for a lock its own thread holds, and each child must be
 * able to allocate: it allocates, checks and frees blocks of every kind, then _exit()s
 * from the handler. The parent's own blocks must be intact at the end.
 *
 * Two rounds: single-threaded, where the main loop also forks (glibc takes no lock of
 * its own in a single-threaded fork, so a fork interrupting a fork is legal there), and
 * with short-lived threads whose blocks the main thread frees (remote frees to
 * abandoned heaps, collected under the heap lock). The timer is a POSIX timer on
 * SIGUSR1, so alarm() stays the test's watchdog. A child that has not ended 20 s after
 * its round is hung: counted as such, and killed. Sites are sampled at the densest rate,
 * so that the timer often interrupts a stack walk, which a fork waits for unless it is
 * its own thread's (a walk counted in one counter but not yet in the other hung it).
 *
 * A third round forks while this thread holds the loader's lock (inside dl_iterate_phdr's
 * callback, as a handler that interrupted a dl_iterate_phdr would) and another thread's
 * walk waits for that lock: the fork must not wait for that walk for good, and both the
 * child and the walker must go on. Then the other way round: another thread holds the
 * loader's lock while this one forks, and the child, which inherits it held, must still
 * walk (sampled allocations, past a recheck of the loaded objects) and end. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <link.h>
#include <stdio.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../tap.h"
#include "../testutil.h"

#define HANDLER_FORKS 1000 /* per round */
#define ROUND_SECONDS 40.0
#define WINDOW        256

#define MAX_KIDS (2 * HANDLER_FORKS + 1000)

static volatile sig_atomic_t handler_forks, fork_errors;
static pid_t kids[MAX_KIDS]; /* every child of the round, from the handler or the loop */
static volatile sig_atomic_t nkids;
static long children_ok, children_bad, children_hung, reaped;

static void add_kid(pid_t pid)
{
    if (nkids < MAX_KIDS) kids[nkids++] = pid;
}

/* The child's whole life, inside the signal handler. */
static void child_work(void)
{
    static const size_t sizes[] = {16, 232, 1000, 4096, 20000, 131072, 300000, 5 << 20};
    void *p[8];
    int bad = 0;
    for (int i = 0; i < 8; i++) {
        p[i] = malloc(sizes[i]);
        if (p[i] == NULL || malloc_usable_size(p[i]) < sizes[i]) bad = 1;
        if (p[i]) tu_fill(p[i], sizes[i], (uint64_t)i);
    }
    void *a = NULL;
    if (posix_memalign(&a, 4096, 5000) != 0 || ((uintptr_t)a & 4095)) bad = 1;
    for (int i = 0; i < 8; i++) {
        if (p[i] && tu_check(p[i], sizes[i], (uint64_t)i) != SIZE_MAX) bad = 1;
        free(p[i]);
    }
    free(a);
    void *q = realloc(malloc(100), 200000);
    if (q == NULL) bad = 1;
    free(q);
    _exit(bad ? 3 : 0);
}

static void on_timer(int sig)
{
    (void)sig;
    int saved = errno;
    pid_t pid = fork();
    if (pid == 0) child_work();
    if (pid > 0) {
        handler_forks++;
        add_kid(pid);
    } else {
        fork_errors++;
    }
    errno = saved;
}

static void count_exit(int st)
{
    reaped++;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        children_ok++;
    else
        children_bad++;
}

static void reap(void)
{
    int st;
    while (waitpid(-1, &st, WNOHANG) > 0)
        count_exit(st);
}

/* Wait up to 20 s for every child of the round; the ones still running then are hung on
 * a lock: counted, killed and reaped. */
static void reap_round(void)
{
    double end = tu_now() + 20.0;
    while (reaped < nkids && tu_now() < end) {
        reap();
        usleep(5000);
    }
    for (int i = 0; i < nkids && reaped < nkids; i++) {
        int st;
        if (waitpid(kids[i], &st, WNOHANG) != 0) continue; /* reaped already, or now */
        children_hung++;
        kill(kids[i], SIGKILL);
        if (waitpid(kids[i], &st, 0) == kids[i]) reaped++;
    }
}

/* Children leave their segments behind (_exit runs no exit handlers): they go to a
 * private directory, emptied after each round. */
static char stats_dir[64];

static void empty_dir(const char *path, int depth)
{
    DIR *d = opendir(path);
    if (d == NULL) return;
    struct dirent *e;
    char sub[512];
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        if (unlink(sub) != 0 && depth > 0) {
            empty_dir(sub, depth - 1);
            rmdir(sub);
        }
    }
    closedir(d);
}

typedef struct window_s {
    void *p[WINDOW];
    size_t size[WINDOW];
    uint64_t seed[WINDOW];
} window_t;

static size_t pick_size(uint64_t *rng)
{
    uint64_t r = tu_rand(rng);
    switch (r % 16) {
    case 0:
        return 131073 + r % 400000; /* large */
    case 1:
        return 8193 + r % 120000;
    default:
        return 1 + (r >> 8) % 1024;
    }
}

/* Replace one block of the window by a new one of a random kind. */
static void churn(window_t *w, uint64_t *rng, uint64_t seq)
{
    unsigned i = (unsigned)(tu_rand(rng) % WINDOW);
    free(w->p[i]);
    size_t s = pick_size(rng);
    void *p;
    switch (tu_rand(rng) % 8) {
    case 0:
        p = aligned_alloc(256, s);
        break;
    case 1:
        p = realloc(malloc(s / 2 + 1), s);
        break;
    case 2:
        p = calloc(1, s);
        break;
    default:
        p = malloc(s);
        break;
    }
    if (p) tu_fill(p, s, seq);
    w->p[i] = p;
    w->size[i] = s;
    w->seed[i] = seq;
}

static long window_damage(window_t *w)
{
    long bad = 0;
    for (int i = 0; i < WINDOW; i++) {
        if (w->p[i] && tu_check(w->p[i], w->size[i], w->seed[i]) != SIZE_MAX) bad++;
        free(w->p[i]);
        w->p[i] = NULL;
    }
    return bad;
}

static void *short_thread(void *arg)
{
    void **out = arg;
    for (int i = 0; i < 64; i++)
        out[i] = malloc(16 + (size_t)i * 24);
    return NULL;
}

static timer_t start_timer(long interval_ns)
{
    timer_t t;
    struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1};
    if (timer_create(CLOCK_MONOTONIC, &ev, &t) != 0) tap_bail("timer_create: %s", strerror(errno));
    struct itimerspec its = {.it_interval = {0, interval_ns}, .it_value = {0, interval_ns}};
    timer_settime(t, 0, &its, NULL);
    return t;
}

static void round_(const char *name, int threaded)
{
    window_t *w = calloc(1, sizeof *w);
    uint64_t rng = threaded ? 0x51 : 0x17, seq = 0;
    handler_forks = fork_errors = nkids = 0;
    children_ok = children_bad = children_hung = reaped = 0;
    timer_t t = start_timer(1000000); /* 1 ms: a fork takes a good part of it */
    double end = tu_now() + ROUND_SECONDS;
    while (handler_forks < HANDLER_FORKS && tu_now() < end) {
        for (int k = 0; k < 64; k++)
            churn(w, &rng, ++seq);
        if (!threaded && seq % 512 == 0) {
            pid_t pid = fork(); /* for the timer to interrupt */
            if (pid == 0) _exit(0);
            if (pid > 0) add_kid(pid);
        }
        if (threaded && seq % 256 == 0) {
            void *blocks[64];
            pthread_t th;
            if (pthread_create(&th, NULL, short_thread, blocks) == 0) {
                pthread_join(th, NULL);
                for (int i = 0; i < 64; i++)
                    free(blocks[i]); /* remote frees to an abandoned heap */
            }
        }
        reap();
    }
    timer_delete(t);
    long damaged = window_damage(w);
    free(w);
    reap_round();
    empty_dir(stats_dir, 1);
    TAP_GE_U64((uint64_t)handler_forks, HANDLER_FORKS, "%s: %d forks from the timer's handler",
               name, (int)handler_forks);
    TAP_EQ_U64((uint64_t)children_hung, 0, "%s: no child hangs", name);
    TAP_EQ_U64((uint64_t)children_bad, 0, "%s: every child allocates, checks and frees (%ld did)",
               name, children_ok);
    TAP_EQ_U64((uint64_t)damaged, 0, "%s: the parent's blocks are intact", name);
}

static _Atomic long walker_calls;
static _Atomic int walker_stop;
static void *volatile walker_block; /* so that the compiler keeps each malloc */

/* One small malloc and its free: sampled every 256 bytes, so a walk every call or two. */
static void small_pair(uint64_t *rng)
{
    walker_block = malloc(1 + tu_rand(rng) % 512);
    free(walker_block);
}

static void *walker(void *arg)
{
    (void)arg;
    uint64_t rng = 0x33;
    while (!atomic_load(&walker_stop)) {
        small_pair(&rng);
        atomic_fetch_add(&walker_calls, 1);
    }
    return NULL;
}

typedef struct loader_fork_s {
    int walker_blocked;
    double fork_seconds;
    pid_t pid;
} loader_fork_t;

static int fork_holding_loader(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)info;
    (void)size;
    loader_fork_t *r = arg;
    usleep(100000); /* the walker reaches dl_iterate_phdr within HK_UNWIND_RECHECK walks */
    long before = atomic_load(&walker_calls);
    usleep(200000);
    r->walker_blocked = atomic_load(&walker_calls) == before;
    double start = tu_now();
    r->pid = fork();
    if (r->pid == 0) {
        alarm(20); /* a hung child fails its check rather than the whole test's alarm */
        child_work();
    }
    r->fork_seconds = tu_now() - start;
    return 1;
}

static void loader_round(void)
{
    pthread_t th;
    loader_fork_t r = {0};
    if (pthread_create(&th, NULL, walker, NULL) != 0) tap_bail("pthread_create failed");
    while (atomic_load(&walker_calls) < 1000)
        usleep(1000);
    dl_iterate_phdr(fork_holding_loader, &r);
    int st = -1;
    if (r.pid > 0) waitpid(r.pid, &st, 0);
    long after = atomic_load(&walker_calls);
    for (int i = 0; i < 5000 && atomic_load(&walker_calls) < after + 1000; i++)
        usleep(1000);
    int walker_went_on = atomic_load(&walker_calls) >= after + 1000;
    atomic_store(&walker_stop, 1);
    pthread_join(th, NULL);
    empty_dir(stats_dir, 1);
    tap_ok(r.walker_blocked, "holding the loader's lock: the other thread's walk waits for it");
    tap_ok(r.pid > 0 && r.fork_seconds < 5.0,
           "holding the loader's lock: fork does not wait for that walk (%.3f s)", r.fork_seconds);
    tap_ok(WIFEXITED(st) && WEXITSTATUS(st) == 0,
           "holding the loader's lock: the child allocates, checks and frees (status %d)", st);
    tap_ok(walker_went_on, "holding the loader's lock: the walker goes on once it is released");
}

static _Atomic int holder_in, holder_release;

static int hold_loader(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)info, (void)size, (void)arg;
    atomic_store(&holder_in, 1);
    while (!atomic_load(&holder_release))
        usleep(1000);
    return 1;
}

static void *holder(void *arg)
{
    (void)arg;
    dl_iterate_phdr(hold_loader, NULL);
    return NULL;
}

static void held_elsewhere_round(void)
{
    pthread_t th;
    if (pthread_create(&th, NULL, holder, NULL) != 0) tap_bail("pthread_create failed");
    while (!atomic_load(&holder_in))
        usleep(1000);
    pid_t pid = fork();
    if (pid == 0) {
        alarm(20); /* a walk waiting for the lock ends the child with SIGALRM */
        uint64_t rng = 0x44;
        for (int i = 0; i < 4096; i++) /* about 1,000 sampled walks */
            small_pair(&rng);
        child_work();
    }
    int st = -1;
    if (pid > 0) waitpid(pid, &st, 0);
    atomic_store(&holder_release, 1);
    pthread_join(th, NULL);
    empty_dir(stats_dir, 1);
    tap_ok(WIFEXITED(st) && WEXITSTATUS(st) == 0,
           "another thread holding the loader's lock at the fork: the child samples, walks and "
           "ends (status %#x)",
           (unsigned)st);
}

int main(int argc, char **argv)
{
    (void)argc;
    if (getenv("FORK_SIGNAL_DIR") == NULL) {
        snprintf(stats_dir, sizeof stats_dir, "/tmp/hakmem-fork-signal.XXXXXX");
        if (mkdtemp(stats_dir) == NULL) tap_bail("mkdtemp: %s", strerror(errno));
        setenv("FORK_SIGNAL_DIR", stats_dir, 1);
        setenv("HAKMEM_STATS_DIR", stats_dir, 1);
        setenv("HAKMEM_SITE_SAMPLE", "256", 0); /* the densest: the timer lands in walks */
        execv("/proc/self/exe", argv);          /* options are read once, at the first call */
        tap_bail("execv: %s", strerror(errno));
    }
    snprintf(stats_dir, sizeof stats_dir, "%s", getenv("FORK_SIGNAL_DIR"));
    tap_plan(13);
    alarm(150); /* each round ends its loop by 40 s and waits at most 20 s for children */
    struct sigaction sa = {.sa_handler = on_timer, .sa_flags = SA_RESTART};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    round_("single-threaded", 0);
    round_("with short-lived threads", 1);
    loader_round();
    held_elsewhere_round();
    empty_dir(stats_dir, 1);
    rmdir(stats_dir);
    return tap_done();
}
