/* site.c: when to sample an allocation site. About once every HAKMEM_SITE_SAMPLE bytes a
 * thread records the return address of the allocating call in its slot's site table (see
 * hakmem_stats.h for what the figures estimate and how the table makes room), and hands
 * the call's stack to the process-wide table (sitetab.c), which may serve the block from
 * memory of its own so that its free is seen. The fast path pays one compare against the
 * heap's event threshold, which it shares with profiling; this file runs only on a sample
 * and allocates nothing. */
#include "config.h"

#include <string.h>

#include "internal.h"
#include "prof.h"

/* -ln(u) for u uniform in (0, 1]: an exponentially distributed gap of mean 1. From u's
 * binary exponent and a short series for the logarithm of the rest, within 1e-6. */
double hk_exp_gap(uint64_t *rng)
{
    double u = ((double)(hk_rand(rng) >> 11) + 1.0) * 0x1p-53;
    int e = 0;
    for (; u < 0.5; e++)
        u *= 2;
    double t = (u - 1) / (u + 1), t2 = t * t; /* ln u = 2 atanh t, |t| <= 1/3 */
    double ln_u = 2 * t * (1 + t2 * (1.0 / 3 + t2 * (1.0 / 5 + t2 * (1.0 / 7 + t2 / 9))));
    return (double)e * 0.6931471805599453 - ln_u;
}

/* Next threshold: an exponentially distributed number of bytes from now, of mean the
 * period (the gaps of a Poisson process along the bytes allocated). So every byte has the
 * same chance of being sampled, however long the thread lives: one that allocates a
 * tenth of the period is sampled about one time in ten, not never, and no allocation
 * pattern can line up with the samples. */
static void schedule(hk_heap_t *h)
{
    uint64_t period = hk_opt.site_sample;
    if (period == 0) {
        h->site_next = UINT64_MAX;
        hk_heap_rearm_events(h);
        return;
    }
    if (h->rng == 0) h->rng = 0x9e3779b97f4a7c15ull;
    h->site_next = h->ctr->c[HK_STAT_bytes] + (uint64_t)(hk_exp_gap(&h->rng) * (double)period) + 1;
    hk_heap_rearm_events(h);
}

/* A heap that another thread used before keeps the rest of its countdown (stats.c rebases
 * it when the counts go back to 0): short-lived threads that reuse it add up. */
void hk_site_heap_start(hk_heap_t *h, hk_stat_site_t *sites, uint64_t *sites_gen)
{
    h->sites = sites;
    h->sites_gen = sites_gen;
    memset(sites, 0, sizeof(hk_stat_site_t) * HK_STATS_NSITES);
    if (h->rng == 0) h->rng = (uint64_t)(uintptr_t)h * 0x2545f4914f6cdd1dull;
    if (h->site_next == 0 || h->site_next == UINT64_MAX) schedule(h);
    hk_heap_rearm_events(h);
}

/* Called from the fast path with `ret`, the block it just popped: returns the block to
 * hand out. When the sample is followed in a stand-in, ret goes back to its bin, which
 * has room for it since it came from there. */
HK_NOINLINE void *hk_site_sample_ret(hk_heap_t *h, size_t size, void *ret, void *ra)
{
    uint32_t cls = hk_page_of(hk_segment_of(ret), ret)->cls;
    HK_ENTER();
    void *p = hk_site_sample(h, ra, size, ret, cls);
    if (p != ret) hk_bin_push(&h->bins[cls], ret);
    HK_LEAVE();
    return p;
}

static void thread_site(hk_heap_t *h, void *ra, size_t size);

/* p was allocated (class cls, HK_NCLASSES when large) and the heap's threshold reached:
 * returns p, or the block that stands in for it (the caller gives p back). */
void *hk_site_sample(hk_heap_t *h, void *ra, size_t size, void *p, uint32_t cls)
{
    hk_unwind_ctx_t here; /* the walk starts in this frame, which outlives it */
    HK_UNWIND_HERE(&here);
    schedule(h);
    if (hk_opt.site_sample == 0) return p;
    if (h->sites) thread_site(h, ra, size);
    return hk_site_record(h, &here, ra, size, p, cls);
}

static void thread_site(hk_heap_t *h, void *ra, size_t size)
{
    uint64_t period = hk_opt.site_sample;
    uint64_t addr = (uint64_t)(uintptr_t)ra;
    uint64_t weight = size && size < period ? period / size : 1;
    hk_stat_site_t *s = h->sites, *slot = NULL, *least = &s[0];
    for (int i = 0; i < HK_STATS_NSITES; i++) {
        if (s[i].addr == addr) {
            slot = &s[i];
            break;
        }
        if (s[i].samples < least->samples) least = &s[i];
    }
    uint64_t *gen = h->sites_gen;
    __atomic_store_n(gen, *gen + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    if (slot) {
        slot->samples++;
        slot->est_allocs += weight;
        slot->bytes += size;
    } else {
        /* An empty entry has 0 samples, so it is the least one while any is left. */
        least->samples = least->samples + 1;
        least->addr = addr;
        least->est_allocs = weight;
        least->bytes = size;
        least->first_tsc = hk_tsc_begin();
    }
    __atomic_store_n(gen, *gen + 1, __ATOMIC_RELEASE);
}
