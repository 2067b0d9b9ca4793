/* sizeclass.h: the one place size classes are defined. Classes are 16 bytes apart up to
 * 128 bytes, then four per power of two up to 1 KiB, eight up to 8 KiB and four again up
 * to HK_SMALL_MAX: at most 25% internal waste, 12.5% between 1 and 8 KiB, where requests
 * of a page or a kilobyte plus a small header (sqlite's 4,104 and 1,032 bytes) are
 * common. Every class size is a multiple of 16, so every block is 16-byte aligned.
 *
 * Every table is a compile-time constant: a malloc made by another library's constructor,
 * before libhakmem's own initialisation has run, sees the same classes as any later one. */
#ifndef HK_SIZECLASS_H
#define HK_SIZECLASS_H

#include "types.h"

/* The classes above 128 bytes come in three groups of doublings, each doubling split
 * into 2^lg steps: a group's first class, the log2 of the size its first doubling starts
 * from, and lg. */
#define HK_G1_FIRST 8 /* 129 B .. 1 KiB: 4 per doubling */
#define HK_G1_LO    7
#define HK_G1_LG    2
#define HK_G2_FIRST 20 /* 1 KiB .. 8 KiB: 8 per doubling */
#define HK_G2_LO    10
#define HK_G2_LG    3
#define HK_G3_FIRST 44 /* 8 KiB .. HK_SMALL_MAX: 4 per doubling */
#define HK_G3_LO    13
#define HK_G3_LG    2

/* In a group: the size of class c, and the class of a size s with 2^b < s <= 2^(b+1). */
#define HK_STEP_SIZE(c, first, lo, lg)                                                             \
    ((1u << ((lo) + (((c) - (first)) >> (lg)))) +                                                  \
     ((((c) - (first)) & ((1u << (lg)) - 1)) + 1u) *                                               \
         (1u << ((lo) - (lg) + (((c) - (first)) >> (lg)))))
#define HK_STEP_CLASS(s, b, first, lo, lg)                                                         \
    ((first) + (((b) - (lo)) << (lg)) + (((s)-1) >> ((b) - (lg)) & ((1u << (lg)) - 1)))

/* Size of class c: 16 * (c + 1) for the first eight, then the groups above. */
#define HK_CLASS_SIZE(c)                                                                           \
    ((c) < HK_G1_FIRST   ? 16u * ((c) + 1u)                                                        \
     : (c) < HK_G2_FIRST ? HK_STEP_SIZE(c, HK_G1_FIRST, HK_G1_LO, HK_G1_LG)                        \
     : (c) < HK_G3_FIRST ? HK_STEP_SIZE(c, HK_G2_FIRST, HK_G2_LO, HK_G2_LG)                        \
                         : HK_STEP_SIZE(c, HK_G3_FIRST, HK_G3_LO, HK_G3_LG))

/* Pages per slab: enough for HK_SLAB_MIN_BLOCKS blocks. */
#define HK_CLASS_PAGES(c)                                                                          \
    ((HK_CLASS_SIZE(c) * HK_SLAB_MIN_BLOCKS + HK_PAGE_SIZE - 1) / HK_PAGE_SIZE)

/* Thread-cache capacity: about HK_BIN_BYTES per class (a bin grows to it only as
 * refills show the need), within [8, 512] blocks, and only a few blocks of the big
 * classes so that a cache cannot pin many slabs. */
#define HK_BIN_BYTES 131072u
#define HK_CLASS_BIN_MAX(c)                                                                        \
    (HK_CLASS_SIZE(c) > 16384                ? 4u                                                  \
     : HK_BIN_BYTES / HK_CLASS_SIZE(c) > 512 ? 512u                                                \
     : HK_BIN_BYTES / HK_CLASS_SIZE(c) < 8   ? 8u                                                  \
                                             : HK_BIN_BYTES / HK_CLASS_SIZE(c))

/* ceil(2^32 / size), exact for every block start: i * size * recip = i * 2^32 +
 * i * size * e with e < 1 and i * size < 2^32, so the shift drops only the error term. */
#define HK_CLASS_RECIP(c) (((uint64_t)1 << 32) / HK_CLASS_SIZE(c) + 1)

/* X(c) for every class, for tables indexed by class. Left unformatted: clang-format 14
 * wraps this list differently on every run. */
/* clang-format off */
#define HK_CLASSES(X)                                                                              \
    X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15)          \
    X(16) X(17) X(18) X(19) X(20) X(21) X(22) X(23) X(24) X(25) X(26) X(27) X(28) X(29) X(30)      \
    X(31) X(32) X(33) X(34) X(35) X(36) X(37) X(38) X(39) X(40) X(41) X(42) X(43) X(44) X(45)      \
    X(46) X(47) X(48) X(49) X(50) X(51) X(52) X(53) X(54) X(55) X(56) X(57) X(58) X(59)
/* clang-format on */

extern const uint8_t hk_tiny_class[HK_TINY_MAX / 16 + 1]; /* index (size + 15) / 16 */
extern const uint32_t hk_class_size[HK_NCLASSES];
extern const uint32_t hk_class_pages[HK_NCLASSES];   /* pages per slab */
extern const uint32_t hk_class_bin_max[HK_NCLASSES]; /* thread-cache capacity */
extern const uint64_t hk_class_recip[HK_NCLASSES];   /* offset -> block index */

/* Class of a size from 129 to HK_SMALL_MAX, from the bits below the leading one of
 * size - 1. A constant expression for constant sizes. */
#define HK_LOG2_BELOW(s) (63 - __builtin_clzl((s)-1)) /* b with 2^b < s <= 2^(b+1) */
#define HK_CLASS_ABOVE_128(s)                                                                      \
    (HK_LOG2_BELOW(s) < HK_G2_LO                                                                   \
         ? HK_STEP_CLASS(s, HK_LOG2_BELOW(s), HK_G1_FIRST, HK_G1_LO, HK_G1_LG)                     \
     : HK_LOG2_BELOW(s) < HK_G3_LO                                                                 \
         ? HK_STEP_CLASS(s, HK_LOG2_BELOW(s), HK_G2_FIRST, HK_G2_LO, HK_G2_LG)                     \
         : HK_STEP_CLASS(s, HK_LOG2_BELOW(s), HK_G3_FIRST, HK_G3_LO, HK_G3_LG))

/* Blocks in one slab of class c: what a slab's capacity is, and what the segment's header
 * tells readers, from the same expression. */
HK_INLINE uint32_t hk_class_slab_blocks(uint32_t c)
{
    return (uint32_t)((hk_class_pages[c] * HK_PAGE_SIZE) / hk_class_size[c]);
}

/* Class of a size in 1..HK_SMALL_MAX (0 counts as 1). */
HK_INLINE uint32_t hk_size_class(size_t size)
{
    if (hk_likely(size <= HK_TINY_MAX)) return hk_tiny_class[(size + 15) >> 4];
    return (uint32_t)HK_CLASS_ABOVE_128(size);
}

#endif /* HK_SIZECLASS_H */
