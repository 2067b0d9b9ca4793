/* site.c: sampled allocation sites. About once every HAKMEM_SITE_SAMPLE bytes a thread
 * records the return address of the allocating call in its slot's site table (see
 * hakmem_stats.h for what the figures estimate and how the table makes room). The fast
 * path pays one compare against the heap's threshold; this file runs only on a sample
 * and neither allocates nor locks. */
#include "config.h"

#include <string.h>

#include "internal.h"
#include "prof.h"

/* Next threshold: uniformly within [period/2, 3*period/2), so the mean interval is the
 * period and no allocation pattern can line up with it. */
static void schedule(hk_heap_t *h)
{
    uint64_t period = hk_opt.site_sample;
    if (period == 0) {
        h->site_next = UINT64_MAX;
        return;
    }
    uint64_t x = h->site_rng ? h->site_rng : 0x9e3779b97f4a7c15ull;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    h->site_rng = x;
    h->site_next = h->ctr->c[HK_STAT_bytes] + period / 2 + x % (period ? period : 1);
}

void hk_site_heap_start(hk_heap_t *h, hk_stat_site_t *sites, uint64_t *sites_gen)
{
    h->sites = sites;
    h->sites_gen = sites_gen;
    memset(sites, 0, sizeof(hk_stat_site_t) * HK_STATS_NSITES);
    h->site_rng ^= (uint64_t)(uintptr_t)h * 0x2545f4914f6cdd1dull;
    schedule(h);
}

/* Called from the fast path: returns `ret`, the block just allocated. */
HK_NOINLINE void *hk_site_sample_ret(hk_heap_t *h, size_t size, void *ret, void *ra)
{
    hk_site_sample(h, ra, size);
    return ret;
}

void hk_site_sample(hk_heap_t *h, void *ra, size_t size)
{
    schedule(h);
    uint64_t period = hk_opt.site_sample;
    if (period == 0 || h->sites == NULL) return;
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
