/* tcache.h: the malloc and free fast paths. A hit is a pop from or a push onto the
 * calling thread's per-class list plus three plain counter increments; everything else
 * (empty or full cache, another thread's block, a large block, a thread not yet set up)
 * is one mispredicted branch away in tcache.c. */
#ifndef HK_TCACHE_H
#define HK_TCACHE_H

#include "internal.h"

HK_INLINE void *hk_malloc_fast(size_t size)
{
    hk_heap_t *h = hk_tls;
    if (hk_likely(size <= HK_SMALL_MAX)) {
        uint32_t cls = hk_size_class(size);
        hk_bin_t *bin = &h->bins[cls];
        hk_block_t *b = bin->head;
        if (hk_likely(b != NULL)) {
            bin->head = b->next;
            bin->count--;
            hk_stat_counters_t *ctr = h->ctr;
            ctr->c[HK_STAT_malloc]++;
            ctr->c[HK_STAT_bytes] += size;
            ctr->class_alloc[cls]++;
            return b;
        }
    }
    return hk_malloc_slow(h, size);
}

HK_INLINE void hk_free_fast(void *p)
{
    if (hk_unlikely(p == NULL)) return;
    hk_segment_t *seg = hk_segment_of(p);
    hk_page_t *pg = hk_page_of(seg, p);
    hk_heap_t *h = hk_tls;
    if (hk_likely(pg->heap == h)) {
        uint32_t cls = pg->cls;
        hk_bin_t *bin = &h->bins[cls];
        if (hk_likely(bin->count < bin->max)) {
            hk_block_t *b = p;
            b->next = bin->head;
            bin->head = b;
            bin->count++;
            hk_stat_counters_t *ctr = h->ctr;
            ctr->c[HK_STAT_free]++;
            ctr->class_free[cls]++;
            return;
        }
    }
    hk_free_slow(p);
}

#endif /* HK_TCACHE_H */
