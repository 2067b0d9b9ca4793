/* prof.c: sampled timing of malloc and free (fast-path mallocs chosen by bytes, through
 * the fast path's one event test; frees and slow paths by their class's count), the
 * profiling period (from the environment or changed live through the stats segment's
 * control word), and the TSC frequency, measured against the monotonic clock so cycles
 * can be shown as time. */
#include "config.h"

#include <time.h>

#include "prof.h"
#include "tcache.h"

uint64_t hk_prof_overhead; /* cycles two back-to-back fenced reads cost */
static uint64_t tsc0, ns0;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void hk_prof_init(void)
{
#ifdef HAKMEM_PROF
    uint64_t best = UINT64_MAX;
    for (int i = 0; i < 64; i++) {
        uint64_t t0 = hk_tsc_begin(), t1 = hk_tsc_end();
        if (t1 - t0 < best) best = t1 - t0;
    }
    hk_prof_overhead = best;
    tsc0 = __rdtsc();
    ns0 = now_ns();
#endif
}

/* TSC ticks per second from the time since start; 0 until 50 ms have passed. */
uint64_t hk_prof_tsc_hz(void)
{
#ifdef HAKMEM_PROF
    uint64_t dns = now_ns() - ns0, dt = __rdtsc() - tsc0;
    if (dns < 50000000u) return 0;
    return (uint64_t)((double)dt * 1e9 / (double)dns);
#else
    return 0;
#endif
}

/* The next fast-path malloc to time, by bytes as site samples are chosen (so one test
 * on the fast path serves both): an exponential gap of mean the period times this
 * thread's mean request so far, about one call in the period. */
static void schedule(hk_heap_t *h)
{
    const hk_stat_counters_t *ctr = h->ctr;
    uint64_t mallocs = hk_stats_mallocs(ctr);
    uint64_t mean = mallocs ? ctr->c[HK_STAT_bytes] / mallocs : 64;
    if (mean == 0) mean = 1;
    if (mean > HK_TINY_MAX) mean = HK_TINY_MAX;
    if (h->rng == 0) h->rng = 0x9e3779b97f4a7c15ull;
    double gap = hk_exp_gap(&h->rng) * (double)h->prof_period * (double)mean;
    h->prof_next = ctr->c[HK_STAT_bytes] + (uint64_t)gap + 1;
}

/* The fast path's event fired with profiling on (tcache.c:hk_malloc_event): whether this
 * call, which brings the thread's bytes to `bytes`, is timed. The call after the one
 * that reaches prof_next is timed, not that one, so that which calls are timed does not
 * depend on their size; with a period of 1 every call is. */
bool hk_prof_malloc_due(hk_heap_t *h, uint64_t bytes)
{
    if (h->prof_period == 0) return false;
    bool timed = h->prof_armed;
    if (h->prof_period == 1) return timed;
    if (timed) {
        h->prof_armed = false;
        schedule(h);
    } else if (bytes >= h->prof_next) {
        h->prof_armed = true;
    }
    return timed;
}

/* Pick up a period change a reader wrote into the segment. Called on refills. The
 * period is rounded up to a power of two so that sampling is a mask test. */
void hk_prof_sync(hk_heap_t *h)
{
    uint64_t want = __atomic_load_n(&hk_stats_header->control, __ATOMIC_RELAXED);
#ifndef HAKMEM_PROF
    want = 0;
#endif
    if (want > (1u << 30)) want = 1u << 30;
    uint64_t period = 1;
    while (period < want)
        period <<= 1;
    if (want == 0) period = 0;
    if (period != h->prof_period) {
        h->prof_period = (uint32_t)period;
        h->prof_mask = period ? period - 1 : HK_PROF_OFF;
        h->prof_match = period ? hk_rand(&h->rng) & h->prof_mask : 0;
        h->prof_armed = period == 1;
        schedule(h);
        hk_heap_rearm_events(h);
    }
    /* Apart from the test above: a heap that starts with profiling off changes nothing of
     * its own, but must still tell readers the period that is now in force. */
    if (__atomic_load_n(&hk_stats_header->prof_period, __ATOMIC_RELAXED) != period)
        __atomic_store_n(&hk_stats_header->prof_period, period, __ATOMIC_RELAXED);
    if (hk_stats_header->tsc_hz == 0) hk_stats_header->tsc_hz = hk_prof_tsc_hz();
}

void hk_prof_heap_start(hk_heap_t *h)
{
    h->prof_period = 0;
    h->prof_mask = HK_PROF_OFF;
    h->prof_match = 0;
    h->prof_armed = false;
    hk_heap_rearm_events(h);
    hk_prof_sync(h);
}

/* A sampled fast-path call, timed; the slow paths time themselves. */
HK_NOINLINE void *hk_prof_malloc(size_t size, void *ra)
{
    hk_timer_t t = hk_timer_start(true);
    void *p = hk_tcache_malloc_unsampled(size, ra);
    hk_timer_stop(hk_tls, &t, HK_STAT_prof_malloc_n);
    return p;
}

void hk_prof_free(void *p)
{
    hk_timer_t t = hk_timer_start(true);
    hk_free_inline(p, false);
    hk_timer_stop(hk_tls, &t, HK_STAT_prof_free_n);
}
