/* counts.c: the per-thread counters are exact. Four threads each run a known mix (small,
 * medium and large mallocs, callocs, reallocs that move, aligned allocations), free all
 * of it and wait while the test reads their slots through its own mapping of the segment:
 * every counter the mix determines must equal the expected value. Then a remote-free
 * scenario: A allocates, B frees (B counts remote_free, A's free stays 0), and A collects
 * them (remote_collect), once through hak_collect and once at its next cache refill after
 * B has exited. Finally the totals rule: once the threads have exited, `retired` has grown
 * by exactly what their slots showed. Last, frees of blocks whose owner has exited: they
 * are remote frees, and their collection on the abandoned heap's behalf is counted too. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdatomic.h>

#include "../tap.h"
#include "../testutil.h"
#include "hakmem.h"
#include "stats-util.h"

#define NWORKERS    4
#define SMALL_SIZE  24
#define MID_SIZE    700
#define N_MID       3000
#define LARGE_SIZE  (300 * 1024)
#define N_LARGE     5
#define N_CALLOC    200
#define CALLOC_N    10
#define CALLOC_SIZE 10
#define N_REALLOC   100
#define REALLOC_TO  2000
#define N_ALIGNED   50
#define ALIGN       64
#define ALIGN_SIZE  100
#define N_REMOTE    1000
#define REMOTE_SIZE 48
#define PROBE_SIZE  5000 /* a class the owner has never used: its first malloc refills */

static st_seg_t seg;
static pthread_barrier_t bar_done, bar_exit;

struct worker {
    int idx;
    pid_t tid;
    size_t n_small;
    unsigned long bad; /* pattern or zero-fill mismatches */
    unsigned long null;
};

static size_t n_small_of(int i)
{
    return 10000 + (size_t)i * 1000;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    w->tid = st_gettid();
    size_t ns = w->n_small;
    /* Arrays for the pointers come from mmap, so they are not counted. */
    size_t bytes = (ns + N_MID + N_LARGE + N_CALLOC + N_ALIGNED) * sizeof(void *);
    void **p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) abort();
    void **sm = p, **mid = sm + ns, **lg = mid + N_MID, **cz = lg + N_LARGE, **al = cz + N_CALLOC;
    uint64_t base = (uint64_t)w->idx << 32;

    for (size_t j = 0; j < ns; j++) {
        sm[j] = malloc(SMALL_SIZE);
        if (sm[j] == NULL)
            w->null++;
        else
            tu_fill(sm[j], SMALL_SIZE, base + j);
    }
    for (size_t j = 0; j < N_MID; j++) {
        mid[j] = malloc(MID_SIZE);
        if (mid[j] == NULL)
            w->null++;
        else
            tu_fill(mid[j], MID_SIZE, base + 100000 + j);
    }
    for (size_t j = 0; j < N_LARGE; j++) {
        lg[j] = malloc(LARGE_SIZE);
        if (lg[j] == NULL)
            w->null++;
        else
            tu_fill(lg[j], LARGE_SIZE, base + 200000 + j);
    }
    for (size_t j = 0; j < N_CALLOC; j++) {
        cz[j] = calloc(CALLOC_N, CALLOC_SIZE);
        if (cz[j] == NULL)
            w->null++;
        else if (tu_check_bytes(cz[j], CALLOC_N * CALLOC_SIZE, 0) != SIZE_MAX)
            w->bad++;
    }
    /* Reallocs that must move: 24 -> 2000 bytes. The first bytes travel along. */
    for (size_t j = 0; j < N_REALLOC; j++) {
        void *q = realloc(sm[j], REALLOC_TO);
        if (q == NULL) {
            w->null++;
            continue;
        }
        if (q == sm[j] || tu_check(q, SMALL_SIZE, base + j) != SIZE_MAX) w->bad++;
        sm[j] = q;
    }
    for (size_t j = 0; j < N_ALIGNED; j++) {
        if (posix_memalign(&al[j], ALIGN, ALIGN_SIZE) != 0) {
            al[j] = NULL;
            w->null++;
        } else if ((uintptr_t)al[j] % ALIGN) {
            w->bad++;
        }
    }

    /* Verify everything, then free everything. */
    for (size_t j = N_REALLOC; j < ns; j++)
        if (sm[j] && tu_check(sm[j], SMALL_SIZE, base + j) != SIZE_MAX) w->bad++;
    for (size_t j = 0; j < N_MID; j++)
        if (mid[j] && tu_check(mid[j], MID_SIZE, base + 100000 + j) != SIZE_MAX) w->bad++;
    for (size_t j = 0; j < N_LARGE; j++)
        if (lg[j] && tu_check(lg[j], LARGE_SIZE, base + 200000 + j) != SIZE_MAX) w->bad++;
    for (size_t j = 0; j < ns; j++)
        free(sm[j]);
    for (size_t j = 0; j < N_MID; j++)
        free(mid[j]);
    for (size_t j = 0; j < N_LARGE; j++)
        free(lg[j]);
    for (size_t j = 0; j < N_CALLOC; j++)
        free(cz[j]);
    for (size_t j = 0; j < N_ALIGNED; j++)
        free(al[j]);
    munmap(p, bytes);

    pthread_barrier_wait(&bar_done); /* the test reads our slot now */
    pthread_barrier_wait(&bar_exit);
    return NULL;
}

/* Expected counters of one worker. */
static void expected_of(const struct worker *w, hk_stat_counters_t *e)
{
    const hk_stats_header_t *hd = seg.hd;
    memset(e, 0, sizeof *e);
    uint64_t ns = w->n_small;
    e->c[HK_STAT_malloc] = ns + N_MID + N_LARGE + N_CALLOC + N_REALLOC + N_ALIGNED;
    e->c[HK_STAT_free] = e->c[HK_STAT_malloc];
    e->c[HK_STAT_bytes] = ns * SMALL_SIZE + (uint64_t)N_MID * MID_SIZE +
                          (uint64_t)N_LARGE * LARGE_SIZE +
                          (uint64_t)N_CALLOC * CALLOC_N * CALLOC_SIZE +
                          (uint64_t)N_REALLOC * REALLOC_TO + (uint64_t)N_ALIGNED * ALIGN_SIZE;
    e->c[HK_STAT_calloc] = N_CALLOC;
    e->c[HK_STAT_realloc] = N_REALLOC;
    e->c[HK_STAT_aligned] = N_ALIGNED;
    e->c[HK_STAT_large_alloc] = N_LARGE;
    e->c[HK_STAT_large_free] = N_LARGE;
    uint32_t c_al = st_class_of(hd, ALIGN_SIZE > ALIGN ? ALIGN_SIZE : ALIGN);
    while (hd->class_size[c_al] % ALIGN)
        c_al++;
    struct {
        size_t size;
        uint64_t n;
    } mix[] = {{SMALL_SIZE, ns},
               {MID_SIZE, N_MID},
               {CALLOC_N * CALLOC_SIZE, N_CALLOC},
               {REALLOC_TO, N_REALLOC}};
    for (size_t i = 0; i < sizeof mix / sizeof mix[0]; i++) {
        e->class_alloc[st_class_of(hd, mix[i].size)] += mix[i].n;
        e->class_free[st_class_of(hd, mix[i].size)] += mix[i].n;
    }
    e->class_alloc[c_al] += N_ALIGNED;
    e->class_free[c_al] += N_ALIGNED;
}

/* The first class whose count differs, or -1. */
static int class_mismatch(const uint64_t *got, const uint64_t *want)
{
    for (int c = 0; c < HK_STATS_NCLASSES; c++)
        if (got[c] != want[c]) return c;
    return -1;
}

#define N_WORKER_CHECKS 20

static void check_worker(const struct worker *w, hk_stat_counters_t *final)
{
    hk_stat_slot_t sl;
    int idx = st_find_tid(&seg, (uint64_t)w->tid, &sl);
    if (!tap_ok(idx >= 0, "worker %d (tid %d) has a live slot", w->idx, (int)w->tid)) {
        for (int i = 1; i < N_WORKER_CHECKS; i++)
            tap_ok(0, "worker %d: no slot to check", w->idx);
        return;
    }
    *final = sl.ctr;
    hk_stat_counters_t e;
    expected_of(w, &e);
    const uint64_t *c = sl.ctr.c;
    TAP_EQ_U64(w->null + w->bad, 0, "worker %d: every block valid (no NULL, patterns intact)",
               w->idx);
    TAP_EQ_U64(sl.gen % 2, 0, "worker %d: slot gen %" PRIu64 " is even", w->idx, sl.gen);
    TAP_EQ_U64(c[HK_STAT_malloc], e.c[HK_STAT_malloc], "worker %d: malloc", w->idx);
    TAP_EQ_U64(c[HK_STAT_free], e.c[HK_STAT_free], "worker %d: free", w->idx);
    TAP_EQ_U64(c[HK_STAT_bytes], e.c[HK_STAT_bytes], "worker %d: bytes", w->idx);
    TAP_EQ_U64(c[HK_STAT_calloc], e.c[HK_STAT_calloc], "worker %d: calloc", w->idx);
    TAP_EQ_U64(c[HK_STAT_realloc], e.c[HK_STAT_realloc], "worker %d: realloc", w->idx);
    TAP_EQ_U64(c[HK_STAT_aligned], e.c[HK_STAT_aligned], "worker %d: aligned", w->idx);
    TAP_EQ_U64(c[HK_STAT_large_alloc], e.c[HK_STAT_large_alloc], "worker %d: large_alloc", w->idx);
    TAP_EQ_U64(c[HK_STAT_large_free], e.c[HK_STAT_large_free], "worker %d: large_free", w->idx);
    int bad = class_mismatch(sl.ctr.class_alloc, e.class_alloc);
    if (!tap_ok(bad < 0, "worker %d: class_alloc of every class", w->idx))
        tap_diag("  class %d (%u bytes): got %" PRIu64 ", expected %" PRIu64, bad,
                 seg.hd->class_size[bad], sl.ctr.class_alloc[bad], e.class_alloc[bad]);
    bad = class_mismatch(sl.ctr.class_free, e.class_free);
    if (!tap_ok(bad < 0, "worker %d: class_free of every class", w->idx))
        tap_diag("  class %d (%u bytes): got %" PRIu64 ", expected %" PRIu64, bad,
                 seg.hd->class_size[bad], sl.ctr.class_free[bad], e.class_free[bad]);
    /* The totals above are the classes' sums (stats-util.h); the slot stores neither. */
    const uint64_t *raw = st_slots(&seg)[idx].ctr.c;
    TAP_EQ_U64(__atomic_load_n(&raw[HK_STAT_malloc], __ATOMIC_RELAXED) |
                   __atomic_load_n(&raw[HK_STAT_free], __ATOMIC_RELAXED),
               0, "worker %d: the slot's malloc and free words stay 0 (ABI 2)", w->idx);
    TAP_EQ_U64(c[HK_STAT_remote_free] + c[HK_STAT_remote_collect], 0,
               "worker %d: no remote frees or collects", w->idx);
    /* Every small allocation that finds its cache empty refills it once, and no other
     * allocation may count as a miss (aligned ones that hit the cache included). */
    TAP_EQ_U64(c[HK_STAT_fast_miss], c[HK_STAT_refills],
               "worker %d: fast_miss equals refill (a miss is an empty cache)", w->idx);
    TAP_LE_U64(1, c[HK_STAT_refills], "worker %d: refilled", w->idx);
    TAP_LE_U64(c[HK_STAT_refills], c[HK_STAT_refill_blocks], "worker %d: refill_blocks >= refill",
               w->idx);
    TAP_LE_U64(1, c[HK_STAT_drains], "worker %d: freeing %zu small blocks drained the cache",
               w->idx, w->n_small);
    TAP_LE_U64(N_LARGE, c[HK_STAT_free_slow], "worker %d: free_slow counts the large frees",
               w->idx);
}

/* ---------------------------------------------------------------------------------------
 * Remote frees: A owns, B frees
 * ------------------------------------------------------------------------------------- */
static atomic_int step;       /* set by the test */
static atomic_int a_at, b_at; /* last step each thread finished */
static void *blocks[N_REMOTE];
static pid_t tid_a, tid_b;
static atomic_ulong remote_bad;

static void wait_step(int k)
{
    while (atomic_load(&step) < k)
        sched_yield();
}

static void wait_at(atomic_int *at, int k)
{
    while (atomic_load(at) < k)
        sched_yield();
}

static void alloc_batch(uint64_t round)
{
    for (int i = 0; i < N_REMOTE; i++) {
        blocks[i] = malloc(REMOTE_SIZE);
        if (blocks[i] == NULL)
            atomic_fetch_add(&remote_bad, 1);
        else
            tu_fill(blocks[i], REMOTE_SIZE, round * N_REMOTE + (uint64_t)i);
    }
}

static void free_batch(uint64_t round)
{
    for (int i = 0; i < N_REMOTE; i++) {
        if (blocks[i] &&
            tu_check(blocks[i], REMOTE_SIZE, round * N_REMOTE + (uint64_t)i) != SIZE_MAX)
            atomic_fetch_add(&remote_bad, 1);
        free(blocks[i]);
    }
}

static void *thread_a(void *arg)
{
    tid_a = st_gettid();
    alloc_batch(1);
    atomic_store(&a_at, 1);
    wait_step(3);
    hak_collect(); /* takes what B has sent */
    atomic_store(&a_at, 3);
    wait_step(4);
    alloc_batch(2);
    atomic_store(&a_at, 4);
    wait_step(7);                                 /* B has exited */
    void *probe = tu_launder(malloc(PROBE_SIZE)); /* an empty cache: the refill collects */
    atomic_store(&a_at, 7);
    wait_step(8);
    free(probe);
    atomic_store(&a_at, 8);
    wait_step(9);
    return arg;
}

static void *thread_b(void *arg)
{
    wait_step(1);
    tid_b = st_gettid();
    free_batch(1); /* B's first call: its slot is claimed by a free */
    atomic_store(&b_at, 1);
    wait_step(2);
    hak_collect(); /* sends the last, partial batch */
    atomic_store(&b_at, 2);
    wait_step(5);
    free_batch(2);
    atomic_store(&b_at, 5);
    wait_step(6); /* the test has read our slot: exit, which sends the partial batch */
    return arg;
}

static uint64_t slot_ctr(pid_t tid, enum hk_stat_id id)
{
    hk_stat_slot_t sl;
    return st_find_tid(&seg, (uint64_t)tid, &sl) >= 0 ? sl.ctr.c[id] : UINT64_MAX;
}

static uint64_t slot_class_free(pid_t tid, uint32_t cls)
{
    hk_stat_slot_t sl;
    return st_find_tid(&seg, (uint64_t)tid, &sl) >= 0 ? sl.ctr.class_free[cls] : UINT64_MAX;
}

#define N_REMOTE_CHECKS 16

static void remote_scenario(hk_stat_counters_t *fin_a, hk_stat_counters_t *fin_b)
{
    pthread_t a, b;
    uint32_t cls = st_class_of(seg.hd, REMOTE_SIZE);
    pthread_create(&a, NULL, thread_a, NULL);
    pthread_create(&b, NULL, thread_b, NULL);
    wait_at(&a_at, 1);
    atomic_store(&step, 1);
    wait_at(&b_at, 1);
    TAP_EQ_U64(slot_ctr(tid_b, HK_STAT_remote_free), N_REMOTE, "remote: B counted remote_free");
    TAP_EQ_U64(slot_ctr(tid_b, HK_STAT_free), N_REMOTE, "remote: B counted the frees as frees");
    TAP_EQ_U64(slot_class_free(tid_b, cls), N_REMOTE, "remote: B counted them in class_free");
    TAP_EQ_U64(slot_ctr(tid_b, HK_STAT_malloc), 0, "remote: B allocated nothing");
    TAP_EQ_U64(slot_ctr(tid_a, HK_STAT_free), 0, "remote: A's free stays 0");
    TAP_EQ_U64(slot_ctr(tid_a, HK_STAT_malloc), N_REMOTE, "remote: A's malloc");
    atomic_store(&step, 2);
    wait_at(&b_at, 2);
    atomic_store(&step, 3);
    wait_at(&a_at, 3);
    TAP_EQ_U64(slot_ctr(tid_a, HK_STAT_remote_collect), N_REMOTE,
               "remote: hak_collect in A collected every block B freed");
    TAP_EQ_U64(slot_ctr(tid_a, HK_STAT_free), 0, "remote: collecting is not freeing (A's free 0)");
    TAP_EQ_U64(slot_ctr(tid_b, HK_STAT_remote_collect), 0, "remote: B collected nothing");

    atomic_store(&step, 4);
    wait_at(&a_at, 4);
    atomic_store(&step, 5);
    wait_at(&b_at, 5);
    hk_stat_slot_t sb;
    bool have_b = st_find_tid(&seg, (uint64_t)tid_b, &sb) >= 0;
    if (have_b) *fin_b = sb.ctr;
    TAP_EQ_U64(have_b ? sb.ctr.c[HK_STAT_remote_free] : 0, 2 * N_REMOTE,
               "remote: B's remote_free after the second batch");
    atomic_store(&step, 6);
    pthread_join(b, NULL);
    atomic_store(&step, 7);
    wait_at(&a_at, 7);
    TAP_EQ_U64(slot_ctr(tid_a, HK_STAT_remote_collect), 2 * N_REMOTE,
               "remote: A collected the second batch at its next refill after B exited");
    TAP_EQ_U64(slot_ctr(tid_a, HK_STAT_malloc), 2 * N_REMOTE + 1, "remote: A's malloc");
    atomic_store(&step, 8);
    wait_at(&a_at, 8);
    hk_stat_slot_t sa;
    bool have_a = st_find_tid(&seg, (uint64_t)tid_a, &sa) >= 0;
    if (have_a) *fin_a = sa.ctr;
    TAP_EQ_U64(have_a ? sa.ctr.c[HK_STAT_free] : 0, 1, "remote: A freed only its probe");
    TAP_EQ_U64(have_a ? sa.ctr.c[HK_STAT_remote_free] : 1, 0, "remote: A made no remote free");
    TAP_EQ_U64(st_find_tid(&seg, (uint64_t)tid_b, NULL), (uint64_t)-1,
               "remote: B's slot was released at exit");
    TAP_EQ_U64(atomic_load(&remote_bad), 0, "remote: every block arrived intact");
    atomic_store(&step, 9);
    pthread_join(a, NULL);
}

/* ---------------------------------------------------------------------------------------
 * Remote frees to a heap whose thread has exited: B2 (which has a heap of its own) frees
 * the blocks A2 left behind. They are collected on the abandoned heap's behalf, and that
 * collection must be counted somewhere a reader sees, like every other count.
 * ------------------------------------------------------------------------------------- */
static atomic_int orphan_step;

static void *thread_a2(void *arg)
{
    alloc_batch(3);
    return arg;
}

static void *thread_b2(void *arg)
{
    free(tu_launder(malloc(REMOTE_SIZE))); /* a heap of our own before A2 starts */
    atomic_store(&orphan_step, 1);
    while (atomic_load(&orphan_step) < 2)
        sched_yield();
    free_batch(3);
    return arg;
}

#define N_ORPHAN_CHECKS 3

static void orphan_scenario(void)
{
    hk_stat_counters_t before, after;
    if (!st_totals(&seg, &before)) tap_bail("no consistent totals");
    pthread_t a2, b2;
    pthread_create(&b2, NULL, thread_b2, NULL);
    while (atomic_load(&orphan_step) < 1)
        sched_yield();
    pthread_create(&a2, NULL, thread_a2, NULL);
    pthread_join(a2, NULL);
    atomic_store(&orphan_step, 2);
    pthread_join(b2, NULL);
    if (!st_totals(&seg, &after)) tap_bail("no consistent totals");
    TAP_EQ_U64(atomic_load(&remote_bad), 0, "orphan: every block arrived intact");
    TAP_EQ_U64(after.c[HK_STAT_remote_free] - before.c[HK_STAT_remote_free], N_REMOTE,
               "orphan: B2's frees of the exited A2's blocks are remote frees");
    TAP_EQ_U64(after.c[HK_STAT_remote_collect] - before.c[HK_STAT_remote_collect], N_REMOTE,
               "orphan: collecting them for the abandoned heap is counted (retired + slots)");
}

int main(int argc, char **argv)
{
    (void)argc;
    /* A sampled block that is followed has a mapping of its own, whose free by another
     * thread is no remote free (hakmem(3)): the exact counts here are of the plain paths. */
    static const char *const no_sites[] = {"HAKMEM_SITE_SAMPLE=0", NULL};
    st_reexec_clean(argv, no_sites);
    free(tu_launder(malloc(1))); /* the main thread takes its slot first */
    if (!st_map_self(&seg, false)) tap_bail("cannot map our own segment: %s", seg.why);
    tap_plan(1 + NWORKERS * N_WORKER_CHECKS + N_REMOTE_CHECKS + 10 + N_ORPHAN_CHECKS);

    hk_stat_slot_t main_slot;
    tap_ok(st_find_tid(&seg, (uint64_t)getpid(), &main_slot) >= 0,
           "the main thread has a live slot with tid == pid");

    hk_stat_counters_t before, after;
    if (!st_copy_retired(&seg, &before)) tap_bail("no consistent read of retired");

    struct worker w[NWORKERS];
    pthread_t th[NWORKERS];
    pthread_barrier_init(&bar_done, NULL, NWORKERS + 1);
    pthread_barrier_init(&bar_exit, NULL, NWORKERS + 1);
    for (int i = 0; i < NWORKERS; i++) {
        w[i] = (struct worker){.idx = i, .n_small = n_small_of(i)};
        if (pthread_create(&th[i], NULL, worker_main, &w[i]) != 0) tap_bail("pthread_create");
    }
    pthread_barrier_wait(&bar_done);
    hk_stat_counters_t fin[NWORKERS + 2];
    memset(fin, 0, sizeof fin);
    for (int i = 0; i < NWORKERS; i++)
        check_worker(&w[i], &fin[i]);
    pthread_barrier_wait(&bar_exit);
    for (int i = 0; i < NWORKERS; i++)
        pthread_join(th[i], NULL);

    remote_scenario(&fin[NWORKERS], &fin[NWORKERS + 1]);

    /* The totals rule: what the threads' slots last showed went into retired, exactly. */
    if (!st_copy_retired(&seg, &after)) tap_bail("no consistent read of retired");
    hk_stat_counters_t sum;
    memset(&sum, 0, sizeof sum);
    for (int i = 0; i < NWORKERS + 2; i++)
        st_add(&sum, &fin[i]);
    static const enum hk_stat_id exact[] = {
        HK_STAT_malloc,  HK_STAT_free,    HK_STAT_bytes,       HK_STAT_calloc,
        HK_STAT_realloc, HK_STAT_aligned, HK_STAT_remote_free, HK_STAT_remote_collect,
    };
    for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++)
        TAP_EQ_U64(after.c[exact[i]] - before.c[exact[i]], sum.c[exact[i]],
                   "retired grew by the exited threads' counter %d", (int)exact[i]);
    uint64_t d_alloc[HK_STATS_NCLASSES];
    for (int c = 0; c < HK_STATS_NCLASSES; c++)
        d_alloc[c] = after.class_alloc[c] - before.class_alloc[c];
    int bad = class_mismatch(d_alloc, sum.class_alloc);
    if (!tap_ok(bad < 0, "retired class_alloc grew by the exited threads' class_alloc"))
        tap_diag("  class %d: grew %" PRIu64 ", threads had %" PRIu64, bad, d_alloc[bad],
                 sum.class_alloc[bad]);
    TAP_EQ_U64(after.c[HK_STAT_large_alloc] - before.c[HK_STAT_large_alloc],
               sum.c[HK_STAT_large_alloc], "retired large_alloc grew by the threads' large_alloc");
    orphan_scenario();
    st_unmap(&seg);
    return tap_done();
}
