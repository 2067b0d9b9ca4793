/* slab.c: segments and slabs of one heap. Carves slabs out of 4 MiB segments, hands
 * their blocks to the thread cache in batches, takes blocks back, and returns empty
 * slabs and segments to the OS. Only the heap's owner (or whoever holds an abandoned
 * heap under hk_heaps_lock) calls in here, so nothing is atomic. */
#include "config.h"

#include <string.h>

#include "internal.h"
#include "slab.h"

#define ALL_PAGES (~(uint64_t)0 << 1) /* page 0 is the header */

/* ---------------------------------------------------------------------------------------
 * Partial lists: slabs that have a block to hand out
 * ------------------------------------------------------------------------------------- */
static void partial_push(hk_heap_t *h, hk_page_t *s)
{
    hk_page_t *head = h->partial[s->cls];
    s->prev = NULL;
    s->next = head;
    if (head) head->prev = s;
    h->partial[s->cls] = s;
}

static void partial_remove(hk_heap_t *h, hk_page_t *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        h->partial[s->cls] = s->next;
    if (s->next) s->next->prev = s->prev;
    s->next = s->prev = NULL;
}

static bool slab_has_blocks(const hk_page_t *s)
{
    return s->nfree != 0 || s->bump < s->end;
}

static inline bool slab_on_partial(const hk_heap_t *h, const hk_page_t *s)
{
    return s->prev != NULL || h->partial[s->cls] == s;
}

/* ---------------------------------------------------------------------------------------
 * Segments
 * ------------------------------------------------------------------------------------- */
static hk_segment_t *segment_new(hk_heap_t *h)
{
    hk_segment_t *seg = hk_os_map_aligned(HK_SEGMENT_SIZE, HK_SEGMENT_SIZE);
    if (seg == NULL) return NULL;
    seg->kind = HK_SEG_SMALL;
    seg->free_pages = ALL_PAGES;
    seg->dirty_pages = 0;
    seg->heap = h;
    seg->prev = NULL;
    seg->next = h->segments;
    if (h->segments) h->segments->prev = seg;
    h->segments = seg;
    h->ctr->c[HK_STAT_mapped] += HK_SEGMENT_SIZE;
    return seg;
}

static void segment_free(hk_heap_t *h, hk_segment_t *seg)
{
    if (seg->prev)
        seg->prev->next = seg->next;
    else
        h->segments = seg->next;
    if (seg->next) seg->next->prev = seg->prev;
    h->dirty_pages -= (size_t)__builtin_popcountll(seg->dirty_pages);
    h->ctr->c[HK_STAT_mapped] -= HK_SEGMENT_SIZE;
    hk_os_unmap(seg, HK_SEGMENT_SIZE);
}

/* ---------------------------------------------------------------------------------------
 * Slabs
 * ------------------------------------------------------------------------------------- */
static hk_page_t *slab_new(hk_heap_t *h, uint32_t cls)
{
    uint32_t npages = hk_class_pages[cls];
    hk_segment_t *seg;
    int first = -1;
    for (seg = h->segments; seg; seg = seg->next)
        if ((first = hk_slab_find_run(seg->free_pages, npages)) >= 0) break;
    if (seg == NULL) {
        seg = segment_new(h);
        if (seg == NULL) return NULL;
        first = hk_slab_find_run(seg->free_pages, npages);
    }
    hk_assert(first > 0 && (uint32_t)first + npages <= HK_PAGES);
    uint64_t bits = hk_slab_run_bits((uint32_t)first, npages);
    seg->free_pages &= ~bits;
    h->dirty_pages -= (size_t)__builtin_popcountll(seg->dirty_pages & bits);
    seg->dirty_pages &= ~bits;

    hk_page_t *s = &seg->pages[first];
    for (uint32_t i = 0; i < npages; i++) {
        s[i].heap = h;
        s[i].cls = cls;
        s[i].offset = (uint16_t)i;
    }
    uint32_t size = hk_class_size[cls];
    s->npages = (uint16_t)npages;
    s->capacity = hk_class_slab_blocks(cls);
    s->used = 0;
    s->nfree = 0;
    s->scan = 0;
    memset(hk_slab_bitmap(seg, s), 0, HK_BITMAP_WORDS * 8);
    s->bump = hk_page_start(seg, s);
    s->end = s->bump + (size_t)s->capacity * size;
    partial_push(h, s);
    h->ctr->c[HK_STAT_slab_new]++;
    h->mem->class_slabs[cls]++;
    return s;
}

/* An empty slab goes back to its segment; its pages stay resident ("dirty") until the
 * heap holds more than HK_PURGE_PAGES of them, so a slab that empties and refills in a
 * loop costs no system call. A segment with no slab left is unmapped, except the
 * heap's last one. */
static void slab_release(hk_heap_t *h, hk_page_t *s)
{
    hk_segment_t *seg = hk_segment_of(s);
    uint32_t first = (uint32_t)(s - seg->pages), npages = s->npages;
    hk_assert(s->heap == h && s->offset == 0 && s->used == 0 && !slab_on_partial(h, s));
    for (uint32_t i = 0; i < npages; i++) {
        s[i].heap = NULL;
        s[i].offset = 0;
    }
    uint64_t bits = hk_slab_run_bits(first, npages);
    seg->free_pages |= bits;
    seg->dirty_pages |= bits;
    h->dirty_pages += npages;
    h->ctr->c[HK_STAT_slab_empty]++;
    h->mem->class_slabs[s->cls]--;
    if (seg->free_pages == ALL_PAGES && (seg->prev || seg->next))
        segment_free(h, seg);
    else if (h->dirty_pages > HK_PURGE_PAGES)
        hk_slab_purge(h);
}

void hk_slab_purge(hk_heap_t *h)
{
    for (hk_segment_t *seg = h->segments; seg; seg = seg->next) {
        uint64_t dirty = seg->dirty_pages;
        while (dirty) {
            uint32_t first = (uint32_t)__builtin_ctzll(dirty);
            uint64_t rest = dirty >> first;
            uint32_t n = rest == ~(uint64_t)0 ? 64 - first : (uint32_t)__builtin_ctzll(~rest);
            hk_os_purge((char *)seg + ((size_t)first << HK_PAGE_SHIFT), (size_t)n << HK_PAGE_SHIFT);
            dirty &= ~hk_slab_run_bits(first, n);
        }
        seg->dirty_pages = 0;
    }
    h->dirty_pages = 0;
}

/* Move up to `want` blocks of class `cls` into `bin`, carving new slabs as needed.
 * Returns how many were moved; fewer only when the OS refuses memory. */
uint32_t hk_slab_take(hk_heap_t *h, uint32_t cls, hk_bin_t *bin, uint32_t want)
{
    uint32_t n = 0, size = hk_class_size[cls];
    /* Fresh memory faults on first touch: a refill carves at most two OS pages' worth,
     * so it does not take the faults of blocks nobody has asked for yet. */
    uint32_t budget = (uint32_t)(2 * HK_OS_PAGE / size);
    if (budget == 0) budget = 1;
    hk_block_t *head = bin->head;
    while (n < want) {
        hk_page_t *s = h->partial[cls];
        if (s == NULL && (s = slab_new(h, cls)) == NULL) break;
        hk_assert(s->cls == cls && slab_has_blocks(s) && hk_check_slab(h, s));
        uint32_t start = n;
        if (s->nfree) {
            /* Returned blocks, lowest address first; only the bin's links are written. */
            hk_segment_t *seg = hk_segment_of(s);
            uint64_t *bm = hk_slab_bitmap(seg, s);
            char *base = hk_page_start(seg, s);
            uint32_t i = s->scan, taken = 0, limit = want - n;
            if (limit > s->nfree) limit = s->nfree;
            hk_block_t *chain = NULL, **tail = &chain;
            for (; taken < limit && i < HK_BITMAP_WORDS; i++) {
                uint64_t w = bm[i];
                while (w && taken < limit) {
                    uint32_t idx = i * 64 + (uint32_t)__builtin_ctzll(w);
                    hk_block_t *b = (hk_block_t *)(base + (size_t)idx * size);
                    *tail = b;
                    tail = &b->next;
                    w &= w - 1;
                    taken++;
                }
                bm[i] = w;
                if (w) break;
            }
            hk_assert(taken == limit); /* nfree counts the bits; none below `scan` */
            *tail = head;
            head = chain;
            s->scan = i;
            s->nfree -= taken;
            n += taken;
        }
        /* Carve from the top down so the cache hands out ascending addresses. */
        uint32_t carve = want - n, left = (uint32_t)((size_t)(s->end - s->bump) / size);
        if (carve > left) carve = left;
        if (carve > budget) carve = budget;
        budget -= carve;
        char *b = s->bump + (size_t)carve * size;
        for (uint32_t i = 0; i < carve; i++) {
            b -= size;
            ((hk_block_t *)b)->next = head;
            head = (hk_block_t *)b;
        }
        s->bump += (size_t)carve * size;
        n += carve;
        s->used += n - start;
        if (!slab_has_blocks(s))
            partial_remove(h, s);
        else if (n == start || budget == 0)
            break; /* only fresh memory is left, and this refill has carved its share */
    }
    bin->head = head;
    bin->count += n;
    h->mem->class_held[cls] += n;
    return n;
}

/* Give block b back to the slab that page pg belongs to: one bit. */
void hk_slab_put(hk_heap_t *h, hk_page_t *pg, hk_block_t *b)
{
    hk_page_t *s = pg - pg->offset;
    hk_assert(hk_check_block(h, s->cls, b) && (char *)b < s->bump && s->used > 0);
    hk_assert(slab_has_blocks(s) == slab_on_partial(h, s));
    if (!slab_has_blocks(s)) partial_push(h, s);
    hk_segment_t *seg = hk_segment_of(s);
    uint64_t off = (uint64_t)((char *)b - hk_page_start(seg, s));
    uint32_t idx = (uint32_t)((off * hk_class_recip[s->cls]) >> 32);
    hk_assert((uint64_t)idx * hk_class_size[s->cls] == off);
    hk_assert(!(hk_slab_bitmap(seg, s)[idx / 64] >> (idx % 64) & 1)); /* freed twice */
    hk_slab_bitmap(seg, s)[idx / 64] |= (uint64_t)1 << (idx % 64);
    if (idx / 64 < s->scan) s->scan = idx / 64;
    s->nfree++;
    s->used--;
    h->mem->class_held[s->cls]--;
    hk_assert(hk_check_slab(h, s));
    if (s->used == 0 && (h->partial[s->cls] != s || s->next != NULL)) {
        partial_remove(h, s);
        slab_release(h, s);
    }
}
