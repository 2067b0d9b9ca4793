/* large.c: blocks bigger than the largest size class, each in a mapping of its own. The
 * mapping is aligned so that hk_segment_of finds its header, whose zeroed page table
 * sends every free of it past the fast path. realloc grows in place when the kernel
 * can, and otherwise moves the pages instead of copying them. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "internal.h"

#define HEADER_SIZE hk_align_up(sizeof(hk_segment_t), HK_OS_PAGE)

/* Offset of the block from the start of its mapping for a given alignment. */
static size_t block_offset(size_t align)
{
    if (align >= HK_SEGMENT_SIZE) return align; /* header in the 4 MiB below the block */
    return hk_align_up(HEADER_SIZE, align > HK_OS_PAGE ? align : HK_OS_PAGE);
}

void *hk_large_alloc(hk_heap_t *h, size_t size, size_t align)
{
    size_t off = block_offset(align);
    size_t map_align = align > HK_SEGMENT_SIZE ? align : HK_SEGMENT_SIZE;
    if (size > PTRDIFF_MAX - off - map_align) {
        errno = ENOMEM;
        return NULL;
    }
    size_t total = hk_align_up(off + size, HK_OS_PAGE);
    char *base = hk_os_map_aligned(total, map_align);
    if (base == NULL) return NULL;
    char *p = base + off;
    hk_segment_t *seg = hk_segment_of(p);
    seg->kind = HK_SEG_LARGE;
    seg->map_base = base;
    seg->map_size = total;
    seg->usable = total - off;
    h->ctr->c[HK_STAT_large_alloc]++;
    h->ctr->c[HK_STAT_mapped] += total;
    return p;
}

void hk_large_free(hk_heap_t *h, hk_segment_t *seg)
{
    h->ctr->c[HK_STAT_large_free]++;
    h->ctr->c[HK_STAT_free]++;
    h->ctr->c[HK_STAT_free_slow]++;
    h->ctr->c[HK_STAT_mapped] -= seg->map_size;
    hk_os_unmap(seg->map_base, seg->map_size);
}

size_t hk_large_usable(const void *p)
{
    return hk_segment_of(p)->usable;
}

/* Resize a large block to `size` (> HK_SMALL_MAX). Returns the block, maybe moved, or
 * NULL with the old block untouched. */
void *hk_large_realloc(hk_heap_t *h, void *p, size_t size)
{
    hk_segment_t *seg = hk_segment_of(p);
    char *base = seg->map_base;
    size_t off = (size_t)((char *)p - base);
    if (size > PTRDIFF_MAX - off - HK_SEGMENT_SIZE) {
        errno = ENOMEM;
        return NULL;
    }
    size_t old_total = seg->map_size, total = hk_align_up(off + size, HK_OS_PAGE);
    if (total == old_total) return p;
    if (total < old_total) {
        hk_os_unmap(base + total, old_total - total);
    } else if (!hk_os_grow_in_place(base, old_total, total)) {
        /* Reserve an aligned range, then move the old pages onto it. The header moves
         * with them, so it only needs its sizes updated. */
        size_t map_align = off >= HK_SEGMENT_SIZE ? off : HK_SEGMENT_SIZE;
        char *dest = hk_os_map_aligned(total, map_align);
        if (dest == NULL) return NULL;
        if (!hk_os_remap(base, old_total, total, dest)) {
            hk_os_unmap(dest, total);
            errno = ENOMEM;
            return NULL;
        }
        base = dest;
        p = base + off;
        seg = hk_segment_of(p);
        seg->map_base = base;
    }
    h->ctr->c[HK_STAT_mapped] += total - old_total;
    seg->map_size = total;
    seg->usable = total - off;
    return p;
}
