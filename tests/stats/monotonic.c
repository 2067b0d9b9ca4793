/* monotonic.c: a reader never sees a counter go backwards. The program re-executes
 * itself with HAKMEM_STATS_SLOTS=9 so that slots change hands all the time and some
 * threads count without one. For about a second, 3 writer threads allocate and free (some
 * blocks freed by another writer), and a spawner keeps starting short-lived threads two
 * at a time (two spawners) that allocate, free and exit. Two reader threads sample the
 * segment, each through a read-only mapping of its own (the second looks at slots only):
 *  - the totals (retired plus every live slot, read while retired_gen stayed the same
 *    even value) of every counter but the `mapped` and `large_bytes` gauges never decrease between
 * samples;
 *  - within one slot, while its gen is the same even value and it is live, no counter
 *    (but `mapped`) ever decreases: a consistent copy is one thread's counts. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdatomic.h>

#include "../tap.h"
#include "../testutil.h"
#include "stats-util.h"

#define NSLOTS    9
#define NWRITERS  3
#define SECONDS   1.0
#define NEXCHANGE 1024

static atomic_bool stop;
static atomic_ulong bad_blocks, spawned, writer_ops;
static _Atomic(uint64_t *) exchange[NEXCHANGE]; /* blocks waiting for another thread */

/* A block carries its size and a check word in its first 16 bytes. */
static uint64_t *make_block(uint64_t *rng)
{
    uint64_t r = tu_rand(rng);
    size_t size = r % 500 == 0 ? 200000 : 16 + (r >> 16) % 2000;
    uint64_t *b = (r >> 40) % 8 == 0 ? calloc(1, size) : malloc(size);
    if (b == NULL) {
        atomic_fetch_add(&bad_blocks, 1);
        return NULL;
    }
    b[0] = size;
    b[1] = tu_mix(size, (uintptr_t)b);
    return b;
}

static void drop_block(uint64_t *b)
{
    if (b == NULL) return;
    if (b[1] != tu_mix(b[0], (uintptr_t)b)) atomic_fetch_add(&bad_blocks, 1);
    free(b);
}

/* Allocate `n` blocks, pass some to other threads, take some from them, free the rest. */
static void churn(uint64_t *rng, int n)
{
    uint64_t *keep[64];
    int k = 0;
    for (int i = 0; i < n; i++) {
        uint64_t *b = make_block(rng);
        uint64_t r = tu_rand(rng);
        if (r % 4 == 0) {
            b = atomic_exchange(&exchange[(r >> 8) % NEXCHANGE], b);
            drop_block(b);
        } else if (k < 64) {
            keep[k++] = b;
        } else {
            drop_block(b);
        }
        if (r % 16 == 1 && k > 0) {
            uint64_t *q = realloc(keep[k - 1], 3000);
            if (q == NULL)
                atomic_fetch_add(&bad_blocks, 1);
            else {
                q[0] = 3000;
                q[1] = tu_mix(3000, (uintptr_t)q);
                keep[k - 1] = q;
            }
        }
    }
    while (k > 0)
        drop_block(keep[--k]);
}

static void *writer(void *arg)
{
    uint64_t rng = tu_mix((uintptr_t)arg, 77) | 1;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        churn(&rng, 256);
        atomic_fetch_add_explicit(&writer_ops, 256, memory_order_relaxed);
    }
    return NULL;
}

static void *short_lived(void *arg)
{
    uint64_t rng = tu_mix((uintptr_t)arg, 99) | 1;
    churn(&rng, 20 + (int)(tu_rand(&rng) % 60));
    return NULL;
}

/* Two spawners; each starts two threads at a time, so with one slot left over some
 * threads take it in turn and others count without one. */
static void *spawner(void *arg)
{
    uintptr_t n = 0;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        pthread_t a, b;
        int ra = pthread_create(&a, NULL, short_lived, (void *)++n);
        int rb = pthread_create(&b, NULL, short_lived, (void *)++n);
        if (ra == 0) pthread_join(a, NULL);
        if (rb == 0) pthread_join(b, NULL);
        atomic_fetch_add(&spawned, (ra == 0) + (rb == 0));
    }
    return arg;
}

/* ---------------------------------------------------------------------------------------
 * The reader
 * ------------------------------------------------------------------------------------- */
struct reader_result {
    unsigned long samples, slot_reads, total_backwards, slot_backwards;
    char first_total[200], first_slot[200];
    uint64_t first_malloc, last_malloc;
    uint64_t gen_first, gen_last;
};

/* The first counter (index into the flattened counters, the gauges skipped) where b < a,
 * or -1. */
static int backwards(const hk_stat_counters_t *a, const hk_stat_counters_t *b)
{
    const uint64_t *x = (const uint64_t *)a, *y = (const uint64_t *)b;
    for (size_t i = 0; i < sizeof *a / 8; i++) {
        if (i == HK_STAT_mapped || i == HK_STAT_large_bytes) continue; /* gauges */
        if (y[i] < x[i]) return (int)i;
    }
    return -1;
}

static const char *counter_name(int i, char *buf, size_t len)
{
    static const char *names[] = {
#define NAME(n, u, d) #n,
        HK_STAT_COUNTERS(NAME)
#undef NAME
    };
    if (i < HK_STAT_NCOUNTERS)
        snprintf(buf, len, "%s", names[i]);
    else if (i < HK_STAT_NCOUNTERS + HK_STATS_NCLASSES)
        snprintf(buf, len, "class_alloc[%d]", i - HK_STAT_NCOUNTERS);
    else
        snprintf(buf, len, "class_free[%d]", i - HK_STAT_NCOUNTERS - HK_STATS_NCLASSES);
    return buf;
}

/* `totals`: sample the totals too, else only slots (a second reader, so that slots are
 * looked at often enough to catch a short window). */
static void read_loop(struct reader_result *res, bool totals)
{
    st_seg_t s;
    if (!st_map_self(&s, false)) {
        snprintf(res->first_total, sizeof res->first_total, "cannot map: %s", s.why);
        return;
    }
    uint32_t n = s.hd->nslots < 64 ? s.hd->nslots : 64;
    hk_stat_slot_t *last = calloc(n, sizeof *last);
    bool have_last[64] = {false};
    hk_stat_counters_t prev, cur;
    bool have_prev = false;
    res->gen_first = __atomic_load_n(&s.hd->retired_gen, __ATOMIC_ACQUIRE);
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        /* Slots one by one: a live slot under one gen only ever counts up. */
        for (uint32_t k = 0; k < 4 * n; k++) {
            uint32_t i = k % n;
            hk_stat_slot_t sl;
            if (!st_copy_slot(&s, i, &sl)) continue;
            res->slot_reads++;
            if (sl.state != HK_SLOT_LIVE) {
                have_last[i] = false;
                continue;
            }
            if (have_last[i] && last[i].gen == sl.gen) {
                int b = backwards(&last[i].ctr, &sl.ctr);
                if (b >= 0 && res->slot_backwards++ == 0) {
                    char nm[32];
                    const uint64_t *x = (const uint64_t *)&last[i].ctr,
                                   *y = (const uint64_t *)&sl.ctr;
                    snprintf(res->first_slot, sizeof res->first_slot,
                             "slot %u gen %" PRIu64 " tid %" PRIu64 ": %s went %" PRIu64
                             " -> %" PRIu64,
                             i, sl.gen, sl.tid, counter_name(b, nm, sizeof nm), x[b], y[b]);
                }
            }
            last[i] = sl;
            have_last[i] = true;
        }
        /* The totals: nothing is counted twice or lost while counts move to retired. */
        if (!totals || !st_totals(&s, &cur)) continue;
        if (res->samples++ == 0) res->first_malloc = cur.c[HK_STAT_malloc];
        res->last_malloc = cur.c[HK_STAT_malloc];
        if (have_prev) {
            int b = backwards(&prev, &cur);
            if (b >= 0 && res->total_backwards++ == 0) {
                char nm[32];
                const uint64_t *x = (const uint64_t *)&prev, *y = (const uint64_t *)&cur;
                snprintf(res->first_total, sizeof res->first_total,
                         "total %s went %" PRIu64 " -> %" PRIu64, counter_name(b, nm, sizeof nm),
                         x[b], y[b]);
            }
        }
        prev = cur;
        have_prev = true;
    }
    res->gen_last = __atomic_load_n(&s.hd->retired_gen, __ATOMIC_ACQUIRE);
    free(last);
    st_unmap(&s);
}

static void *reader(void *arg)
{
    read_loop(arg, true);
    return NULL;
}

static void *slot_reader(void *arg)
{
    read_loop(arg, false);
    return NULL;
}

int main(int argc, char **argv)
{
    static const char *const env[] = {"HAKMEM_STATS_SLOTS=9", NULL};
    st_reexec_clean(argv, env);
    (void)argc;
    free(tu_launder(malloc(1)));
    tap_plan(8);
    static struct reader_result res, res2;
    pthread_t r, r2, w[NWRITERS], sp[2];
    pthread_create(&r, NULL, reader, &res);
    pthread_create(&r2, NULL, slot_reader, &res2);
    for (uintptr_t i = 0; i < NWRITERS; i++)
        pthread_create(&w[i], NULL, writer, (void *)(i + 1));
    for (int i = 0; i < 2; i++)
        pthread_create(&sp[i], NULL, spawner, NULL);
    st_sleep_ms((long)(SECONDS * 1000));
    atomic_store(&stop, true);
    for (int i = 0; i < 2; i++)
        pthread_join(sp[i], NULL);
    for (int i = 0; i < NWRITERS; i++)
        pthread_join(w[i], NULL);
    pthread_join(r, NULL);
    pthread_join(r2, NULL);
    res.slot_reads += res2.slot_reads;
    if (res.slot_backwards == 0) memcpy(res.first_slot, res2.first_slot, sizeof res.first_slot);
    res.slot_backwards += res2.slot_backwards;
    for (int i = 0; i < NEXCHANGE; i++)
        drop_block(atomic_exchange(&exchange[i], NULL));

    tap_diag("%lu samples, %lu slot reads, %lu threads started, retired_gen %" PRIu64
             " -> %" PRIu64,
             res.samples, res.slot_reads, atomic_load(&spawned), res.gen_first, res.gen_last);
    if (!TAP_LE_U64(100, res.samples, "the reader made consistent samples of the totals"))
        tap_diag("  %s", res.first_total);
    TAP_LE_U64(1000, res.slot_reads, "the reader made consistent copies of slots");
    TAP_LE_U64(100, atomic_load(&spawned), "threads came and went while it read");
    TAP_LE_U64(res.gen_first + 200, res.gen_last, "counts moved into retired many times meanwhile");
    tap_ok(res.last_malloc > res.first_malloc, "the total malloc grew during the run");
    if (!TAP_EQ_U64(res.total_backwards, 0, "no total ever went backwards"))
        tap_diag("  first: %s", res.first_total);
    if (!TAP_EQ_U64(res.slot_backwards, 0,
                    "no counter of a live slot went backwards under one gen"))
        tap_diag("  first: %s", res.first_slot);
    TAP_EQ_U64(atomic_load(&bad_blocks), 0, "every block was sound");
    return tap_done();
}
