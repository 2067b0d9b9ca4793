/* fork.c: a fork child publishes a segment of its own, at its own pid's name, counting
 * from zero, and never writes into its parent's. The parent has two threads with slots
 * (main, and T holding blocks); the child checks its new segment (one live slot, its
 * own, all zero), counts its own mallocs and frees exactly, frees T's inherited blocks
 * (remote frees, counted in the child), starts a thread that gets a slot in the child's
 * segment, and finds the parent's slots and totals exactly as they were before the fork.
 * The child prints its own TAP lines, continuing the parent's numbering. After the child
 * exits, its segment is gone and the parent's is intact and unchanged. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdatomic.h>

#include "../tap.h"
#include "../testutil.h"
#include "stats-util.h"

#define N_T     500
#define T_SIZE  40
#define K_CHILD 777
#define M_CHILD 300

static st_seg_t seg;
static void *t_blocks[N_T];
static int t_pipe[2];
static pid_t tid_t;
static atomic_int t_ready;

static void *t_main(void *arg)
{
    tid_t = st_gettid();
    for (int i = 0; i < N_T; i++) {
        t_blocks[i] = malloc(T_SIZE);
        if (t_blocks[i]) tu_fill(t_blocks[i], T_SIZE, (uint64_t)i);
    }
    atomic_store(&t_ready, 1);
    char c;
    while (read(t_pipe[0], &c, 1) < 0 && errno == EINTR) {
    }
    for (int i = 0; i < N_T; i++)
        free(t_blocks[i]);
    return arg;
}

/* Results of the child's TAP lines, shared with the parent. */
struct shared {
    atomic_int run, failed;
};

static bool same_counters(const hk_stat_counters_t *a, const hk_stat_counters_t *b)
{
    return memcmp(a, b, sizeof *a) == 0;
}

/* ---------------------------------------------------------------------------------------
 * The child
 * ------------------------------------------------------------------------------------- */
static pthread_barrier_t c2_bar;
static pid_t tid_c2;

static void *c2_main(void *arg)
{
    tid_c2 = st_gettid();
    void *p[M_CHILD];
    for (int i = 0; i < M_CHILD; i++)
        p[i] = tu_launder(malloc(T_SIZE));
    for (int i = 0; i < M_CHILD; i++)
        free(p[i]);
    pthread_barrier_wait(&c2_bar);
    pthread_barrier_wait(&c2_bar);
    return arg;
}

#define N_CHILD_CHECKS 18

static void child(const char *parent_path, const hk_stat_slot_t *p_main, const hk_stat_slot_t *p_t,
                  const hk_stat_counters_t *p_retired)
{
    /* Nothing allocates before these first checks. */
    char path[256];
    st_path_of(path, sizeof path, NULL, getpid());
    struct stat st;
    tap_ok(lstat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0600,
           "child: its own segment exists at its own pid's name");
    tap_ok(lstat(parent_path, &st) == 0, "child: the parent's segment is still there");
    st_seg_t cs;
    bool have = st_map(&cs, path, false);
    if (!tap_ok(have, "child: its segment's header validates")) tap_diag("  %s", cs.why);
    tap_ok(have && cs.hd->pid == getpid() && cs.hd->start_time == st_start_time(getpid()),
           "child: header pid and start time are the child's");
    int live = 0;
    for (uint32_t i = 0; have && i < cs.hd->nslots; i++) {
        hk_stat_slot_t sl;
        if (st_copy_slot(&cs, i, &sl) && sl.state == HK_SLOT_LIVE) live++;
    }
    TAP_EQ_I64(live, 1, "child: one live slot, the forking thread's");
    hk_stat_slot_t sl;
    int idx = have ? st_find_tid(&cs, (uint64_t)getpid(), &sl) : -1;
    tap_ok(idx >= 0 && sl.ctr.c[HK_STAT_malloc] == 0 && sl.ctr.c[HK_STAT_free] == 0,
           "child: its slot (tid == child pid) starts from zero");
    hk_stat_counters_t ret;
    tap_ok(have && st_copy_retired(&cs, &ret) && ret.c[HK_STAT_malloc] == 0 &&
               ret.c[HK_STAT_free] == 0,
           "child: its retired totals start from zero");

    /* Its own work, counted exactly. */
    void *p[K_CHILD];
    for (int i = 0; i < K_CHILD; i++) {
        p[i] = malloc(T_SIZE);
        if (p[i]) tu_fill(p[i], T_SIZE, 1000u + (uint64_t)i);
    }
    unsigned bad = 0;
    for (int i = 0; i < K_CHILD; i++) {
        if (p[i] == NULL || tu_check(p[i], T_SIZE, 1000u + (uint64_t)i) != SIZE_MAX) bad++;
        free(p[i]);
    }
    uint32_t cls = have ? st_class_of(cs.hd, T_SIZE) : 0;
    idx = have ? st_find_tid(&cs, (uint64_t)getpid(), &sl) : -1;
    TAP_EQ_U64(idx >= 0 ? sl.ctr.c[HK_STAT_malloc] : 0, K_CHILD, "child: malloc counts its own");
    TAP_EQ_U64(idx >= 0 ? sl.ctr.c[HK_STAT_free] : 0, K_CHILD, "child: free counts its own");
    TAP_EQ_U64(idx >= 0 ? sl.ctr.class_alloc[cls] : 0, K_CHILD, "child: class_alloc of its class");

    /* T's blocks came along; T did not. Freeing them is a remote free in the child. */
    for (int i = 0; i < N_T; i++) {
        if (t_blocks[i] == NULL || tu_check(t_blocks[i], T_SIZE, (uint64_t)i) != SIZE_MAX) bad++;
        free(t_blocks[i]);
    }
    TAP_EQ_U64(bad, 0, "child: its blocks and the inherited ones are intact");
    idx = have ? st_find_tid(&cs, (uint64_t)getpid(), &sl) : -1;
    TAP_EQ_U64(idx >= 0 ? sl.ctr.c[HK_STAT_remote_free] : 0, N_T,
               "child: freeing the parent thread's blocks counts as remote frees");
    TAP_EQ_U64(idx >= 0 ? sl.ctr.c[HK_STAT_free] : 0, K_CHILD + N_T, "child: and as frees");

    /* A new thread in the child gets a slot in the child's segment. */
    pthread_t c2;
    pthread_barrier_init(&c2_bar, NULL, 2);
    pthread_create(&c2, NULL, c2_main, NULL);
    pthread_barrier_wait(&c2_bar);
    idx = have ? st_find_tid(&cs, (uint64_t)tid_c2, &sl) : -1;
    tap_ok(idx >= 0 && sl.ctr.c[HK_STAT_malloc] == M_CHILD && sl.ctr.c[HK_STAT_free] == M_CHILD,
           "child: a thread it starts counts in the child's segment from zero");
    pthread_barrier_wait(&c2_bar);
    pthread_join(c2, NULL);

    /* The parent's segment, as the child sees it: untouched. */
    st_seg_t ps;
    bool pm = st_map(&ps, parent_path, false);
    hk_stat_slot_t now_main, now_t;
    tap_ok(pm && st_find_tid(&ps, (uint64_t)getppid(), &now_main) >= 0 &&
               same_counters(&now_main.ctr, &p_main->ctr),
           "child: the parent's main slot is exactly as before the fork");
    tap_ok(pm && st_find_tid(&ps, (uint64_t)tid_t, &now_t) >= 0 &&
               same_counters(&now_t.ctr, &p_t->ctr),
           "child: the parent's thread T's slot is exactly as before the fork");
    hk_stat_counters_t pret;
    tap_ok(pm && st_copy_retired(&ps, &pret) && same_counters(&pret, p_retired),
           "child: the parent's retired totals are exactly as before the fork");
    if (pm) st_unmap(&ps);
    tap_ok(have && cs.hd->pid == getpid(), "child: its header still names it");
    if (have) st_unmap(&cs);
}

int main(int argc, char **argv)
{
    (void)argc;
    /* Followed samples' frees are no remote frees (hakmem(3)): exact counts, no sites. */
    static const char *const no_sites[] = {"HAKMEM_SITE_SAMPLE=0", NULL};
    st_reexec_clean(argv, no_sites);
    free(tu_launder(malloc(1)));
    if (!st_map_self(&seg, false)) tap_bail("cannot map our own segment: %s", seg.why);
    tap_plan(N_CHILD_CHECKS + 8);
    struct shared *sh =
        mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED || pipe(t_pipe) != 0) tap_bail("mmap/pipe");
    pthread_t t;
    pthread_create(&t, NULL, t_main, NULL);
    while (!atomic_load(&t_ready))
        sched_yield();

    hk_stat_slot_t before_main, before_t;
    hk_stat_counters_t before_ret;
    if (st_find_tid(&seg, (uint64_t)getpid(), &before_main) < 0 ||
        st_find_tid(&seg, (uint64_t)tid_t, &before_t) < 0 || !st_copy_retired(&seg, &before_ret))
        tap_bail("no slots for main and T before the fork");
    char parent_path[256];
    snprintf(parent_path, sizeof parent_path, "%s", seg.path);

    pid_t pid = fork();
    if (pid == 0) {
        child(parent_path, &before_main, &before_t, &before_ret);
        sh->run = tap_run;
        sh->failed = tap_failed;
        exit(0); /* a normal exit: the child's atexit handler removes its segment */
    }
    uint64_t child_start = pid > 0 ? st_start_time(pid) : 0;
    int status = pid > 0 ? st_wait(pid, 30) : -3;
    /* Adopt the child's results; a child that died early leaves its checks failed. */
    int from_child = sh->run - tap_run;
    if (from_child > 0) {
        atomic_fetch_add(&tap_run, from_child);
        atomic_fetch_add(&tap_failed, sh->failed - tap_failed);
    }
    for (int i = from_child > 0 ? from_child : 0; i < N_CHILD_CHECKS; i++)
        tap_ok(0, "child check that never ran");

    TAP_EQ_I64(status, 0, "child exited normally");
    char child_path[256];
    st_path(child_path, sizeof child_path, NULL, pid, child_start);
    struct stat st;
    tap_ok(child_start != 0 && lstat(child_path, &st) != 0,
           "the child's segment was removed at its exit");
    tap_ok(lstat(parent_path, &st) == 0 && S_ISREG(st.st_mode),
           "the parent's segment is still there");
    st_seg_t again;
    bool ok = st_map(&again, parent_path, false);
    tap_ok(ok && again.hd->pid == getpid(), "and still validates, naming the parent");
    if (ok) st_unmap(&again);
    hk_stat_slot_t after_main, after_t;
    hk_stat_counters_t after_ret;
    tap_ok(st_find_tid(&seg, (uint64_t)getpid(), &after_main) >= 0 &&
               same_counters(&after_main.ctr, &before_main.ctr) &&
               after_main.gen == before_main.gen,
           "the parent's main slot is unchanged by the child's work");
    tap_ok(st_find_tid(&seg, (uint64_t)tid_t, &after_t) >= 0 &&
               same_counters(&after_t.ctr, &before_t.ctr),
           "T's slot is unchanged by the child freeing T's blocks");
    tap_ok(st_copy_retired(&seg, &after_ret) && same_counters(&after_ret, &before_ret),
           "the parent's retired totals are unchanged by the child's thread exiting");

    /* Now T frees its blocks in the parent: they were never freed here. */
    if (write(t_pipe[1], "x", 1) != 1) tap_bail("write");
    pthread_join(t, NULL);
    hk_stat_counters_t fin;
    st_copy_retired(&seg, &fin);
    TAP_EQ_U64(fin.c[HK_STAT_free] - before_ret.c[HK_STAT_free], N_T,
               "T's own frees, at its exit, reach the parent's retired totals");
    st_unmap(&seg);
    return tap_done();
}
