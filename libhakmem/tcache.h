/* tcache.h: the malloc and free fast paths. A hit is a pop from or a push onto the
 * calling thread's per-class list plus plain counter increments: `bytes` and the
 * class's on malloc, the class's on free (the totals are the classes' sums, so they cost
 * no store here); one event test on malloc. Everything else
 * (empty or full cache, another thread's block, a large block, a thread not yet set up)
 * is one mispredicted branch away in tcache.c. */
#ifndef HK_TCACHE_H
#define HK_TCACHE_H

#include "internal.h"
#include "prof.h"

/* The allocation site is the return address of the entry point. malloc() passes
 * HK_RA_CALLER, and the return address is read only on the cold branches that need it:
 * this code is always inlined, so __builtin_return_address(0) there is the entry
 * point's own, whatever the optimisation level and whether or not the cold call is a
 * tail call. Entry points that do more after allocating pass it themselves. */
#define HK_RA_CALLER NULL
#define HK_RA(ra)    ((ra) ? (ra) : __builtin_return_address(0))

/* One event test on the malloc path: the running `bytes` count reaching the heap's
 * event_next sends the call to hk_malloc_event, which samples its site (site.c) or times
 * it (prof.c), both chosen by bytes. Frees are timed by the per-class counts the fast
 * path keeps anyway: a free whose count has the heap's prof_mask bits equal to its
 * prof_match is handed to prof.c, which times the same path (with `sampling` false).
 * Off, the mask is all ones and the match 0, which no count reaches. */
/* What the inline path calls when it cannot serve the request itself. */
typedef void *(*hk_malloc_slow_fn)(hk_heap_t *h, size_t size, void *ra);

/* `sampling` false is the path hk_malloc_event takes: the event's own test is skipped
 * and a site sample, when due, is taken after the pop. */
HK_INLINE void *hk_malloc_inline(size_t size, bool sampling, void *ra, hk_malloc_slow_fn slow)
{
    hk_heap_t *h = hk_tls;
    if (hk_likely(size <= HK_TINY_MAX)) {
        uint32_t cls = hk_tiny_class[(size + 15) >> 4];
        hk_bin_t *bin = &h->bins[cls];
        hk_block_t *b = bin->head;
        if (hk_likely(b != NULL)) {
            hk_assert(bin->count > 0 && hk_check_block(h, cls, b));
            hk_stat_counters_t *ctr = h->ctr;
            uint64_t bytes = ctr->c[HK_STAT_bytes] + size;
            if (sampling && hk_unlikely(bytes >= h->event_next))
                return hk_malloc_event(h, size, HK_RA(ra));
            hk_block_t *next = b->next;
            __builtin_prefetch(next); /* the next pop reads next->next */
            bin->head = next;
            bin->count--;
            ctr->c[HK_STAT_bytes] = bytes;
            ctr->class_alloc[cls]++;
            if (!sampling && hk_unlikely(bytes >= h->site_next))
                return hk_site_sample_ret(h, size, b, HK_RA(ra));
            return b;
        }
    }
    return slow(h, size, HK_RA(ra));
}

HK_INLINE void hk_free_inline(void *p, bool sampling)
{
    if (hk_unlikely(p == NULL)) return;
    hk_segment_t *seg = hk_segment_of(p);
    hk_page_t *pg = hk_page_of(seg, p);
    hk_heap_t *h = hk_tls;
    if (hk_likely(pg->heap == h)) {
        hk_assert(hk_check_block(h, pg->cls, p));
        uint32_t cls = pg->cls;
        hk_bin_t *bin = &h->bins[cls];
        if (hk_likely(bin->count < bin->max)) {
            hk_stat_counters_t *ctr = h->ctr;
            uint64_t n = ctr->class_free[cls] + 1;
            if (sampling && hk_unlikely(hk_prof_sampled(h, n))) {
                hk_prof_free(p);
                return;
            }
            hk_bin_push(bin, p);
            ctr->class_free[cls] = n;
            return;
        }
    }
    hk_tcache_free_slow(p);
}

HK_INLINE void *hk_malloc_fast(size_t size, void *ra)
{
    return hk_malloc_inline(size, true, ra, hk_tcache_malloc_slow);
}

HK_INLINE void hk_free_fast(void *p)
{
    hk_free_inline(p, true);
}

#endif /* HK_TCACHE_H */
