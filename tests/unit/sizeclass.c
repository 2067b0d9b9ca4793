/* sizeclass.c (unit): the size-class tables. Every size from 1 to the largest class maps
 * to the smallest class that holds it (checked against a linear search), class sizes are
 * increasing multiples of 16, a class wastes at most 25% of a request above 128 bytes and
 * 12.5% between 1 and 8 KiB, every slab's blocks fit its bitmap, and the reciprocal
 * turns every block offset of every slab back into its index exactly. */
#include "config.h"

#include "internal.h"

#include "../tap.h"

/* The smallest class whose size is at least `size`, by looking at every class. */
static uint32_t class_by_search(size_t size)
{
    uint32_t c = 0;
    while (c < HK_NCLASSES && hk_class_size[c] < size)
        c++;
    return c;
}

int main(void)
{
    tap_plan(10);
    hk_ensure_init();

    uint32_t bad_mult = 0, bad_order = 0;
    for (uint32_t c = 0; c < HK_NCLASSES; c++) {
        if (hk_class_size[c] == 0 || hk_class_size[c] % HK_MIN_ALIGN) bad_mult++;
        if (c > 0 && hk_class_size[c] <= hk_class_size[c - 1]) bad_order++;
    }
    TAP_EQ_U64(bad_mult, 0, "every class size is a positive multiple of %d", HK_MIN_ALIGN);
    TAP_EQ_U64(bad_order, 0, "class sizes increase");
    TAP_EQ_U64(hk_class_size[HK_NCLASSES - 1], HK_SMALL_MAX, "the last class is HK_SMALL_MAX");

    uint64_t too_small = 0, not_smallest = 0, disagree = 0, wasteful = 0;
    for (size_t size = 1; size <= HK_SMALL_MAX; size++) {
        uint32_t c = hk_size_class(size);
        if (c >= HK_NCLASSES || hk_class_size[c] < size) {
            if (too_small++ < 3) tap_diag("size %zu: class %u is too small", size, c);
            continue;
        }
        /* waste / size above 1/4 (1/8 for 1-8 KiB: a page or 1 KiB plus a header) */
        size_t waste = hk_class_size[c] - size, shift = size > 1024 && size <= 8192 ? 3 : 2;
        if (size > 128 && waste > size >> shift && wasteful++ < 3)
            tap_diag("size %zu: class %u of %u bytes wastes %zu", size, c, hk_class_size[c], waste);
        if (c > 0 && hk_class_size[c - 1] >= size && not_smallest++ < 3)
            tap_diag("size %zu: class %u, but class %u (%u bytes) holds it", size, c, c - 1,
                     hk_class_size[c - 1]);
        if (c != class_by_search(size) && disagree++ < 3)
            tap_diag("size %zu: class %u, search says %u", size, c, class_by_search(size));
    }
    TAP_EQ_U64(too_small, 0, "every size 1..%d maps to a class that holds it", HK_SMALL_MAX);
    TAP_EQ_U64(not_smallest, 0, "... the smallest such class");
    TAP_EQ_U64(disagree, 0, "... the one a linear search finds");
    TAP_EQ_U64(hk_size_class(0), hk_size_class(1), "size 0 maps like size 1");
    TAP_EQ_U64(wasteful, 0,
               "a class wastes at most 1/4 of a request above 128 bytes, 1/8 in 1-8 KiB");

    /* A slab holds at least HK_SLAB_MIN_BLOCKS blocks and at most what its bitmap has bits
     * for, in at most the 63 pages a segment has after its header. */
    uint32_t bad_geometry = 0;
    uint64_t bad_index = 0, checked = 0;
    for (uint32_t c = 0; c < HK_NCLASSES; c++) {
        uint64_t size = hk_class_size[c], pages = hk_class_pages[c];
        uint64_t capacity = pages * HK_PAGE_SIZE / size;
        if (pages < 1 || pages >= HK_PAGES || capacity < HK_SLAB_MIN_BLOCKS ||
            capacity > HK_SLAB_MAX_BLOCKS) {
            tap_diag("class %u (%" PRIu64 " bytes): %" PRIu64 " pages, %" PRIu64 " blocks", c, size,
                     pages, capacity);
            bad_geometry++;
        }
        for (uint64_t i = 0; i <= capacity; i++, checked++) {
            uint64_t idx = (i * size * hk_class_recip[c]) >> 32;
            if (idx != i && bad_index++ < 3)
                tap_diag("class %u: offset %" PRIu64 " gives index %" PRIu64 ", not %" PRIu64, c,
                         i * size, idx, i);
        }
    }
    TAP_EQ_U64(bad_geometry, 0, "every slab holds %d..%d blocks in 1..%d pages", HK_SLAB_MIN_BLOCKS,
               (int)HK_SLAB_MAX_BLOCKS, (int)HK_PAGES - 1);
    TAP_EQ_U64(bad_index, 0, "(i * size * recip) >> 32 == i for all %" PRIu64 " block starts",
               checked);
    return tap_done();
}
