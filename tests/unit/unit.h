/* unit.h: helpers shared by the white-box tests: the calling thread's heap, blocks of a
 * chosen class from it, and where a block sits now (a list, or free in its slab). */
#ifndef HAKMEM_TESTS_UNIT_H
#define HAKMEM_TESTS_UNIT_H

#include "slab.h"
#include "tcache.h"

#include "../tap.h"

/* The calling thread's heap, made on first use. */
static inline hk_heap_t *unit_heap(void)
{
    hk_ensure_init();
    hk_heap_t *h = hk_thread_heap();
    if (h == NULL) tap_bail("no heap for this thread");
    /* No site samples: a followed sample is served from a mapping of its own, outside the
     * bins and slabs whose exact counts these tests check. */
    hk_opt.site_sample = 0;
    h->site_next = UINT64_MAX;
    return h;
}

/* n blocks of class cls from the calling thread's heap, through the fast path. */
static inline void unit_alloc(uint32_t cls, void **out, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if ((out[i] = hk_malloc_fast(hk_class_size[cls], NULL)) == NULL)
            tap_bail("no memory for block %u of class %u", i, cls);
}

/* Length of a NULL-terminated list, walking at most `limit` nodes. */
static inline uint32_t unit_len(const hk_block_t *b, uint32_t limit)
{
    uint32_t n = 0;
    for (; b && n < limit; b = b->next)
        n++;
    return n;
}

static inline bool unit_in_list(const hk_block_t *b, const void *p)
{
    for (; b; b = b->next)
        if (b == p) return true;
    return false;
}

/* The slab's bitmap bit for block p: set when p was given back to its slab. */
static inline bool unit_free_in_slab(const void *p)
{
    hk_segment_t *seg = hk_segment_of(p);
    hk_page_t *pg = hk_page_of(seg, p), *s = pg - pg->offset;
    uint64_t idx = (uint64_t)((const char *)p - hk_page_start(seg, s)) / hk_class_size[s->cls];
    return hk_slab_bitmap(seg, s)[idx / 64] >> (idx % 64) & 1;
}

/* Where block p of class cls is held in h: 1 the bin, 2 + i stash chain i, -1 free in its
 * slab, 0 nowhere (out with the program). */
static inline int unit_where(const hk_heap_t *h, uint32_t cls, const void *p)
{
    if (unit_in_list(h->bins[cls].head, p)) return 1;
    for (int i = 0; i < HK_STASH_CHAINS; i++)
        if (unit_in_list(h->stash[cls][i].head, p)) return 2 + i;
    return unit_free_in_slab(p) ? -1 : 0;
}

#endif /* HAKMEM_TESTS_UNIT_H */
