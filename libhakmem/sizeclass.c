/* sizeclass.c: builds the class tables: size of each class, slab geometry and thread
 * cache capacity. Runs once at process start; allocates nothing. */
#include "config.h"

#include "sizeclass.h"

uint8_t hk_tiny_class[HK_TINY_MAX / 16 + 1];
uint32_t hk_class_size[HK_NCLASSES];
uint32_t hk_class_pages[HK_NCLASSES];
uint32_t hk_class_bin_max[HK_NCLASSES];
uint64_t hk_class_recip[HK_NCLASSES];

/* Size of class c: 16 * (c + 1) for the first eight, then four steps per doubling. */
static uint32_t class_size(uint32_t c)
{
    if (c < 8) return 16 * (c + 1);
    uint32_t k = c - 8, log = 7 + k / 4;
    return (1u << log) + (k % 4 + 1) * (1u << (log - 2));
}

void hk_sizeclass_init(void)
{
    for (uint32_t c = 0; c < HK_NCLASSES; c++) {
        uint32_t size = class_size(c);
        hk_class_size[c] = size;
        uint32_t pages = (uint32_t)((size * HK_SLAB_MIN_BLOCKS + HK_PAGE_SIZE - 1) / HK_PAGE_SIZE);
        hk_class_pages[c] = pages;
        /* Exact for every block start: i * size * recip = i * 2^32 + i * size * e with
         * e < 1 and i * size < 2^32, so the shift drops only the error term. */
        hk_class_recip[c] = ((uint64_t)1 << 32) / size + 1;
        /* Cache about 64 KiB per class, within [8, 512] blocks, and only a few blocks of
         * the big classes so a cache cannot pin many slabs. */
        uint32_t max = 65536 / size;
        if (max > 512) max = 512;
        if (max < 8) max = 8;
        if (size > 16384) max = 4;
        hk_class_bin_max[c] = max;
    }
    uint32_t c = 0;
    for (uint32_t i = 0; i <= HK_TINY_MAX / 16; i++) {
        size_t size = i == 0 ? 1 : (size_t)i * 16;
        while (hk_class_size[c] < size)
            c++;
        hk_tiny_class[i] = (uint8_t)c;
    }
}
