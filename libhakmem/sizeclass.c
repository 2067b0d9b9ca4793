/* sizeclass.c: the class tables, all constant (sizeclass.h says why). */
#include "config.h"

#include "sizeclass.h"

#define SIZE(c)    HK_CLASS_SIZE(c),
#define PAGES(c)   HK_CLASS_PAGES(c),
#define BIN_MAX(c) HK_CLASS_BIN_MAX(c),
#define RECIP(c)   HK_CLASS_RECIP(c),

const uint32_t hk_class_size[HK_NCLASSES] = {HK_CLASSES(SIZE)};
const uint32_t hk_class_pages[HK_NCLASSES] = {HK_CLASSES(PAGES)};
const uint32_t hk_class_bin_max[HK_NCLASSES] = {HK_CLASSES(BIN_MAX)};
const uint64_t hk_class_recip[HK_NCLASSES] = {HK_CLASSES(RECIP)};

_Static_assert(HK_CLASS_SIZE(HK_G1_FIRST - 1) == 1u << HK_G1_LO &&
                   HK_CLASS_SIZE(HK_G2_FIRST - 1) == 1u << HK_G2_LO &&
                   HK_CLASS_SIZE(HK_G3_FIRST - 1) == 1u << HK_G3_LO,
               "each group of classes ends where the next one's doublings start");
_Static_assert(HK_CLASS_SIZE(HK_NCLASSES - 1) == HK_SMALL_MAX, "the last class is HK_SMALL_MAX");
_Static_assert(HK_CLASS_ABOVE_128(HK_SMALL_MAX) == HK_NCLASSES - 1, "and the formulas agree");
_Static_assert(HK_CLASS_ABOVE_128(HK_TINY_MAX) < 256, "tiny classes fit in a byte");

/* Entry i serves sizes 16 * (i - 1) + 1 .. 16 * i (entry 0: size 0, served as 1). */
#define TINY(i)    ((i) <= 8 ? ((i) ? (i)-1 : 0) : HK_CLASS_ABOVE_128(16 * (size_t)(i))),
#define TINY4(i)   TINY(i) TINY(i + 1) TINY(i + 2) TINY(i + 3)
#define TINY16(i)  TINY4(i) TINY4(i + 4) TINY4(i + 8) TINY4(i + 12)
#define TINY64(i)  TINY16(i) TINY16(i + 16) TINY16(i + 32) TINY16(i + 48)
#define TINY256(i) TINY64(i) TINY64(i + 64) TINY64(i + 128) TINY64(i + 192)

_Static_assert(HK_TINY_MAX / 16 + 1 == 513, "the table below has 513 entries");
const uint8_t hk_tiny_class[HK_TINY_MAX / 16 + 1] = {TINY256(0) TINY256(256) TINY(512)};
