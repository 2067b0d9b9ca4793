/* sizeclass.h: the one place size classes are defined. Classes are 16 bytes apart up to
 * 128 bytes, then four per power of two up to HK_SMALL_MAX: at most 25% internal waste,
 * and every class size is a multiple of 16, so every block is 16-byte aligned. */
#ifndef HK_SIZECLASS_H
#define HK_SIZECLASS_H

#include "types.h"

/* Filled once by sizeclass.c:hk_sizeclass_init before the first allocation. */
extern uint8_t hk_tiny_class[HK_TINY_MAX / 16 + 1]; /* index (size + 15) / 16 */
extern uint32_t hk_class_size[HK_NCLASSES];
extern uint32_t hk_class_pages[HK_NCLASSES];   /* pages per slab */
extern uint32_t hk_class_bin_max[HK_NCLASSES]; /* thread-cache capacity */
extern uint64_t hk_class_recip[HK_NCLASSES];   /* ceil(2^32 / size): offset -> index */

/* Class of a size in 1..HK_SMALL_MAX (0 counts as 1). */
HK_INLINE uint32_t hk_size_class(size_t size)
{
    if (hk_likely(size <= HK_TINY_MAX)) return hk_tiny_class[(size + 15) >> 4];
    size_t s = size - 1;
    uint32_t log = 63 - (uint32_t)__builtin_clzl(s); /* >= 10 here */
    return 8 + (log - 7) * 4 + (uint32_t)((s >> (log - 2)) & 3);
}

void hk_sizeclass_init(void);

#endif /* HK_SIZECLASS_H */
