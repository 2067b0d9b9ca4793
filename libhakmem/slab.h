/* slab.h: where a slab's bitmap of returned blocks lives, and the bit-run helpers that
 * place slabs in a segment's page mask. Shared by slab.c, the heap checker (check.c)
 * and the unit tests. */
#ifndef HK_SLAB_H
#define HK_SLAB_H

#include "internal.h"

/* Each slab's bitmap sits in the header page after the segment header, 512 bytes per
 * page, indexed by the slab's first page. */
#define HK_BITMAP_OFFSET ((sizeof(hk_segment_t) + 63) & ~(size_t)63)
_Static_assert(HK_BITMAP_OFFSET + HK_PAGES * HK_BITMAP_WORDS * 8 <= HK_PAGE_SIZE,
               "bitmaps fit in the header page");

HK_INLINE uint64_t *hk_slab_bitmap(hk_segment_t *seg, const hk_page_t *s)
{
    return (uint64_t *)((char *)seg + HK_BITMAP_OFFSET) +
           (size_t)(s - seg->pages) * HK_BITMAP_WORDS;
}

/* First index of a run of n (1..64) set bits in mask, or -1. */
HK_INLINE int hk_slab_find_run(uint64_t mask, uint32_t n)
{
    uint64_t m = mask;
    for (uint32_t i = 1; i < n && m; i++)
        m &= mask >> i;
    return m ? __builtin_ctzll(m) : -1;
}

/* Bits first .. first + n - 1 (n in 1..64, first + n <= 64). */
HK_INLINE uint64_t hk_slab_run_bits(uint32_t first, uint32_t n)
{
    return (n == 64 ? ~(uint64_t)0 : (((uint64_t)1 << n) - 1)) << first;
}

#endif /* HK_SLAB_H */
