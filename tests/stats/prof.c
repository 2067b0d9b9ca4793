/* prof.c: cycle profiling switched live through the segment's control word. Three
 * threads allocate and free in a loop (checking their blocks) while the test, through a
 * writable mapping of its own segment, stores a period in `control`:
 *   1  -> after each thread's next refill, header.prof_period is 1 and every malloc and
 *         free of theirs is timed, with a sane average cycle count;
 *   64 -> about one call in 64 is timed;
 *   0  -> timing stops: their prof_* counts no longer move, while they keep allocating.
 * Skipped when the library was built without profiling (HK_STATS_F_PROF_BUILT). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdatomic.h>

#include "../tap.h"
#include "../testutil.h"
#include "hakmem.h"
#include "stats-util.h"

#define NWRITERS 3
#define BATCH    1000 /* more than a cache holds, so rounds refill */
#define SIZE     64

static st_seg_t seg;
static atomic_bool stop;
static atomic_ulong bad;
static pid_t tids[NWRITERS];
static atomic_int started;

static void *writer(void *arg)
{
    int idx = (int)(intptr_t)arg;
    tids[idx] = st_gettid();
    static _Thread_local void *p[BATCH];
    uint64_t round = 0;
    free(tu_launder(malloc(SIZE))); /* take a slot before saying we started */
    atomic_fetch_add(&started, 1);
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        for (int i = 0; i < BATCH; i++) {
            p[i] = malloc(SIZE);
            if (p[i] == NULL)
                atomic_fetch_add(&bad, 1);
            else
                tu_fill(p[i], SIZE, round * BATCH + (uint64_t)i);
        }
        for (int i = 0; i < BATCH; i++) {
            if (p[i] && tu_check(p[i], SIZE, round * BATCH + (uint64_t)i) != SIZE_MAX)
                atomic_fetch_add(&bad, 1);
            free(p[i]);
        }
        /* Empty the cache now and then, so that refills keep coming whatever its size. */
        if (++round % 4 == 0) hak_collect();
    }
    return NULL;
}

/* The writers' counters added up. */
static bool writers_sum(hk_stat_counters_t *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < NWRITERS; i++) {
        hk_stat_slot_t sl;
        if (st_find_tid(&seg, (uint64_t)tids[i], &sl) < 0) return false;
        st_add(out, &sl.ctr);
    }
    return true;
}

static uint64_t refills_of(int i)
{
    hk_stat_slot_t sl;
    return st_find_tid(&seg, (uint64_t)tids[i], &sl) >= 0 ? sl.ctr.c[HK_STAT_refills] : 0;
}

/* Store a period and wait until every writer has begun a refill since (each takes the
 * new value then) and the header reports it. False on a 5 s timeout. */
static bool set_period(uint64_t period)
{
    __atomic_store_n(&seg.hd->control, period, __ATOMIC_RELEASE);
    uint64_t r0[NWRITERS];
    for (int i = 0; i < NWRITERS; i++)
        r0[i] = refills_of(i);
    double end = st_now() + 5;
    for (;;) {
        bool all = __atomic_load_n(&seg.hd->prof_period, __ATOMIC_ACQUIRE) == period;
        for (int i = 0; i < NWRITERS; i++)
            all = all && refills_of(i) >= r0[i] + 2;
        if (all) return true;
        if (st_now() > end) return false;
        st_sleep_ms(1);
    }
}

struct delta {
    uint64_t malloc, free, pm_n, pm_cyc, pf_n, pf_cyc, pr_n;
};

/* What the writers did over at least `ms` milliseconds: longer, up to 10 s, until they
 * made 10,000 mallocs, so that a loaded machine that leaves them no CPU for a while does
 * not make an interval without calls. */
static struct delta measure(long ms)
{
    hk_stat_counters_t a, b;
    writers_sum(&a);
    st_sleep_ms(ms);
    writers_sum(&b);
    for (long waited = ms; b.c[HK_STAT_malloc] - a.c[HK_STAT_malloc] < 10000 && waited < 10000;
         waited += 10) {
        st_sleep_ms(10);
        writers_sum(&b);
    }
    struct delta d = {
        .malloc = b.c[HK_STAT_malloc] - a.c[HK_STAT_malloc],
        .free = b.c[HK_STAT_free] - a.c[HK_STAT_free],
        .pm_n = b.c[HK_STAT_prof_malloc_n] - a.c[HK_STAT_prof_malloc_n],
        .pm_cyc = b.c[HK_STAT_prof_malloc_cyc] - a.c[HK_STAT_prof_malloc_cyc],
        .pf_n = b.c[HK_STAT_prof_free_n] - a.c[HK_STAT_prof_free_n],
        .pf_cyc = b.c[HK_STAT_prof_free_cyc] - a.c[HK_STAT_prof_free_cyc],
        .pr_n = b.c[HK_STAT_prof_refill_n] - a.c[HK_STAT_prof_refill_n],
    };
    tap_diag("  over at least %ld ms: %" PRIu64 " mallocs (%" PRIu64 " timed, %" PRIu64
             " cycles), %" PRIu64 " frees (%" PRIu64 " timed), %" PRIu64 " timed refills",
             ms, d.malloc, d.pm_n, d.pm_cyc, d.free, d.pf_n, d.pr_n);
    return d;
}

#define NCHECKS 20

int main(int argc, char **argv)
{
    st_reexec_clean(argv, NULL); /* profiling must start off */
    (void)argc;
    free(tu_launder(malloc(1)));
    if (!st_map_self(&seg, true)) tap_bail("cannot map our own segment read-write: %s", seg.why);
    tap_plan(NCHECKS);
    if (!(seg.hd->flags & HK_STATS_F_PROF_BUILT)) {
        for (int i = 0; i < NCHECKS; i++)
            tap_skip("live profiling", "the library was built without RDTSC profiling");
        return tap_done();
    }

    pthread_t th[NWRITERS];
    for (intptr_t i = 0; i < NWRITERS; i++)
        pthread_create(&th[i], NULL, writer, (void *)i);
    while (atomic_load(&started) < NWRITERS)
        sched_yield();

    /* Off. */
    TAP_EQ_U64(seg.hd->control, 0, "control starts at 0");
    TAP_EQ_U64(seg.hd->prof_period, 0, "no period is in force");
    struct delta d = measure(50);
    tap_ok(d.malloc > 0 && d.pm_n == 0 && d.pf_n == 0 && d.pr_n == 0,
           "off: the writers allocate and nothing is timed");

    /* Every call. */
    tap_ok(set_period(1), "control = 1: every writer refilled since, prof_period == 1");
    d = measure(100);
    tap_ok(d.pm_n > 0 && d.pf_n > 0 && d.pr_n > 0,
           "period 1: mallocs, frees and refills are timed");
    tap_ok(d.pm_n >= d.malloc * 98 / 100 && d.pm_n <= d.malloc * 102 / 100,
           "period 1: every malloc is timed (%" PRIu64 " of %" PRIu64 ")", d.pm_n, d.malloc);
    tap_ok(d.pf_n >= d.free * 98 / 100 && d.pf_n <= d.free * 102 / 100,
           "period 1: every free is timed (%" PRIu64 " of %" PRIu64 ")", d.pf_n, d.free);
    uint64_t avg_m = d.pm_n ? d.pm_cyc / d.pm_n : 0, avg_f = d.pf_n ? d.pf_cyc / d.pf_n : 0;
    tap_ok(avg_m > 0 && avg_m < 100000, "period 1: average malloc cycles %" PRIu64 " is sane",
           avg_m);
    tap_ok(avg_f > 0 && avg_f < 100000, "period 1: average free cycles %" PRIu64 " is sane", avg_f);
    uint64_t hz = seg.hd->tsc_hz;
    tap_ok(hz >= 100000000ull && hz <= 20000000000ull,
           "the TSC frequency is published (%" PRIu64 " Hz)", hz);

    /* One call in 64. */
    tap_ok(set_period(64), "control = 64: every writer refilled since, prof_period == 64");
    d = measure(150);
    tap_ok(d.pm_n > 0, "period 64: mallocs are still timed");
    tap_ok(d.pm_n * 128 >= d.malloc && d.pm_n * 32 <= d.malloc,
           "period 64: about 1 malloc in 64 is timed (%" PRIu64 " of %" PRIu64 ")", d.pm_n,
           d.malloc);
    tap_ok(d.pf_n * 128 >= d.free && d.pf_n * 32 <= d.free,
           "period 64: about 1 free in 64 is timed (%" PRIu64 " of %" PRIu64 ")", d.pf_n, d.free);
    avg_m = d.pm_n ? d.pm_cyc / d.pm_n : 0;
    tap_ok(avg_m > 0 && avg_m < 100000, "period 64: average malloc cycles %" PRIu64 " is sane",
           avg_m);

    /* Off again. */
    tap_ok(set_period(0), "control = 0: every writer refilled since, prof_period == 0");
    d = measure(100);
    TAP_EQ_U64(d.pm_n + d.pf_n + d.pr_n, 0, "off again: no call is timed any more");
    tap_ok(d.malloc > 0 && d.free > 0, "off again: while the writers keep allocating");
    TAP_EQ_U64(seg.hd->control, 0, "control reads back as written");

    atomic_store(&stop, true);
    for (int i = 0; i < NWRITERS; i++)
        pthread_join(th[i], NULL);
    TAP_EQ_U64(atomic_load(&bad), 0, "every block kept its contents throughout");
    st_unmap(&seg);
    return tap_done();
}
