/* prof.h: RDTSC cycle profiling. A sampled call is timed between two fenced TSC reads
 * and the cost of the reads themselves (measured at start) is taken off, so the figures
 * are the operation's own cycles. Which calls are timed is decided in tcache.h. */
#ifndef HK_PROF_H
#define HK_PROF_H

#include "internal.h"

#ifdef HAKMEM_PROF
#include <x86intrin.h>

HK_INLINE uint64_t hk_tsc_begin(void)
{
    _mm_lfence(); /* earlier work retires before the read */
    return __rdtsc();
}

HK_INLINE uint64_t hk_tsc_end(void)
{
    unsigned aux;
    uint64_t t = __rdtscp(&aux); /* waits for the timed work */
    _mm_lfence();
    return t;
}
#else
HK_INLINE uint64_t hk_tsc_begin(void)
{
    return 0;
}

HK_INLINE uint64_t hk_tsc_end(void)
{
    return 0;
}
#endif

/* prof_mask when profiling is off: only a count of exactly 2^64 would match. */
#define HK_PROF_OFF (~(uint64_t)0)

/* Whether the call that brings a per-class count to `count_after` is timed. */
HK_INLINE bool hk_prof_sampled(const hk_heap_t *h, uint64_t count_after)
{
    return (count_after & h->prof_mask) == h->prof_match;
}

/* Add one timed sample of `kind` (the _n counter; _cyc follows it) to h. */
HK_INLINE void hk_prof_record(hk_heap_t *h, enum hk_stat_id kind_n, uint64_t t0, uint64_t t1)
{
    extern uint64_t hk_prof_overhead;
    uint64_t cyc = t1 - t0;
    cyc = cyc > hk_prof_overhead ? cyc - hk_prof_overhead : 0;
    h->ctr->c[kind_n]++;
    h->ctr->c[kind_n + 1] += cyc;
}

/* A timed section, the one form for every slow path that times itself:
 *     hk_timer_t t = hk_timer_start(timed);  ...work...  hk_timer_stop(h, &t, kind_n);
 * Not `timed`, it costs a test. hk_timer_stop returns the end TSC for a second record. */
typedef struct hk_timer_s {
    bool on;
    uint64_t t0;
} hk_timer_t;

HK_INLINE hk_timer_t hk_timer_start(bool timed)
{
    return (hk_timer_t){.on = timed, .t0 = timed ? hk_tsc_begin() : 0};
}

HK_INLINE uint64_t hk_timer_stop(hk_heap_t *h, const hk_timer_t *t, enum hk_stat_id kind_n)
{
    if (!t->on) return 0;
    uint64_t t1 = hk_tsc_end();
    hk_prof_record(h, kind_n, t->t0, t1);
    return t1;
}

#endif /* HK_PROF_H */
