/* prof.c: sampled timing of malloc and free, the profiling period (from the
 * environment or changed live through the stats segment's control word), and the TSC
 * frequency, measured against the monotonic clock so cycles can be shown as time. */
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
