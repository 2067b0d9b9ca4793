/* check.c: the heap checker (hak_check) and the failure path of hk_assert. A check reads a
 * heap the way its owner does: it never writes, locks or allocates, so a test or an
 * assertion may run it between any two calls. What it verifies is what the comments in
 * types.h, slab.c and remote.c state: every cached block is a block start of a slab of
 * its class owned by the heap, list lengths match their counts, a slab's counts, bump
 * pointer and bitmap agree, partial lists hold exactly the slabs with blocks to hand
 * out, and segments' page masks agree with their pages. */
#include "config.h"

#include <stdlib.h>

#include "hakmem.h"
#include "internal.h"
#include "slab.h"

/* ---------------------------------------------------------------------------------------
 * Reporting: lines built in a stack buffer and written with write(2)
 * ------------------------------------------------------------------------------------- */
#define REPORT_MAX 16 /* problems a check describes; it counts them all */

static void put_ptr(hk_strbuf_t *l, const void *p)
{
    char tmp[19] = "0x";
    uintptr_t v = (uintptr_t)p;
    int n = 2;
    for (int shift = 60; shift >= 0; shift -= 4)
        if (v >> shift || shift == 0 || n > 2) tmp[n++] = "0123456789abcdef"[(v >> shift) & 15];
    tmp[n] = '\0';
    hk_strbuf_put(l, tmp);
}

void hk_check_fail(const char *file, int line, const char *cond)
{
    char buf[256];
    hk_strbuf_t l = HK_STRBUF(buf);
    hk_strbuf_put(&l, "hakmem: ");
    hk_strbuf_put(&l, file);
    hk_strbuf_put(&l, ":");
    hk_strbuf_put_u64(&l, (uint64_t)line, false);
    hk_strbuf_put(&l, ": assertion failed: ");
    hk_strbuf_put(&l, cond);
    hk_strbuf_write_line(&l, 2);
    abort();
}

typedef struct check_s {
    uint32_t problems;
} check_t;

/* One problem: "hakmem: heap check: WHAT at ADDR", then ": GOT, expected WANT" when the
 * expectation was a number. */
static void problem(check_t *c, const char *what, const void *at, bool numbers, uint64_t got,
                    uint64_t want)
{
    if (c->problems++ >= REPORT_MAX) return;
    char buf[256];
    hk_strbuf_t l = HK_STRBUF(buf);
    hk_strbuf_put(&l, "hakmem: heap check: ");
    hk_strbuf_put(&l, what);
    hk_strbuf_put(&l, " at ");
    put_ptr(&l, at);
    if (numbers) {
        hk_strbuf_put(&l, ": ");
        hk_strbuf_put_u64(&l, got, false);
        hk_strbuf_put(&l, ", expected ");
        hk_strbuf_put_u64(&l, want, false);
    }
    hk_strbuf_write_line(&l, 2);
}

/* Each expectation is one comparison; the helpers return whether it held. */
static bool expect_eq(check_t *c, uint64_t got, uint64_t want, const char *what, const void *at)
{
    if (got == want) return true;
    problem(c, what, at, true, got, want);
    return false;
}

static bool expect(check_t *c, bool ok, const char *what, const void *at)
{
    if (!ok) problem(c, what, at, false, 0, 0);
    return ok;
}

/* ---------------------------------------------------------------------------------------
 * Blocks and lists
 * ------------------------------------------------------------------------------------- */
bool hk_check_block(const hk_heap_t *h, uint32_t cls, const void *b)
{
    if (b == NULL || ((uintptr_t)b & (HK_MIN_ALIGN - 1)) != 0 || cls >= HK_NCLASSES) return false;
    hk_segment_t *seg = hk_segment_of(b);
    if (seg->kind != HK_SEG_SMALL) return false;
    const hk_page_t *pg = hk_page_of(seg, b);
    if (pg->heap != h || pg->cls != cls || pg->offset > pg - seg->pages) return false;
    const hk_page_t *s = pg - pg->offset;
    size_t off = (size_t)((const char *)b - hk_page_start(seg, s)), size = hk_class_size[cls];
    return off % size == 0 && off / size < s->capacity;
}

bool hk_check_chain(const hk_heap_t *h, uint32_t cls, const hk_block_t *b, uint32_t n)
{
    uint32_t i = 0;
    for (; b != NULL && i <= n; b = b->next, i++)
        if (!hk_check_block(h, cls, b)) return false;
    return i == n && b == NULL;
}

/* Is the block's bit set in its slab's bitmap, or is it past the bump pointer? Either
 * way the slab thinks it free: a block also in a cache was freed twice. */
static bool free_in_slab(const void *b)
{
    hk_segment_t *seg = hk_segment_of(b);
    const hk_page_t *pg = hk_page_of(seg, b);
    const hk_page_t *s = pg - pg->offset;
    if ((const char *)b >= s->bump) return true;
    uint64_t idx = (uint64_t)((const char *)b - hk_page_start(seg, s)) / hk_class_size[s->cls];
    return (hk_slab_bitmap(seg, s)[idx / 64] >> (idx % 64)) & 1;
}

/* A bin or stash chain of h's class cls. Walks one node past `count`, so a cycle or a
 * list longer than its count ends the walk. */
static void check_list(check_t *c, const hk_heap_t *h, uint32_t cls, const hk_bin_t *bin,
                       const char *what)
{
    uint32_t n = 0;
    const hk_block_t *b = bin->head;
    for (; b != NULL && n <= bin->count; b = b->next, n++) {
        /* Past a bad block the links are not to be trusted. */
        if (!expect(c, hk_check_block(h, cls, b), "cached block not of this class and heap", b))
            return;
        expect(c, !free_in_slab(b), "cached block also free in its slab (double free)", b);
    }
    expect_eq(c, n, bin->count, what, bin);
}

/* ---------------------------------------------------------------------------------------
 * Slabs and segments
 * ------------------------------------------------------------------------------------- */
static bool on_partial(const hk_heap_t *h, const hk_page_t *s)
{
    return s->prev != NULL || h->partial[s->cls] == s;
}

static void check_slab(check_t *c, const hk_heap_t *h, hk_segment_t *seg, const hk_page_t *s)
{
    uint32_t size = hk_class_size[s->cls];
    char *start = hk_page_start(seg, s);
    expect_eq(c, s->capacity, s->npages * HK_PAGE_SIZE / size, "slab capacity", s);
    expect(c, s->end == start + (size_t)s->capacity * size, "slab end", s);
    if (!expect(c, s->bump >= start && s->bump <= s->end, "slab bump inside the slab", s) ||
        !expect_eq(c, (size_t)(s->bump - start) % size, 0, "slab bump on a block start", s))
        return;
    uint32_t carved = (uint32_t)((size_t)(s->bump - start) / size), bits = 0;
    const uint64_t *bm = hk_slab_bitmap(seg, s);
    for (uint32_t w = 0; w < HK_BITMAP_WORDS; w++) {
        if (bm[w] == 0) continue;
        bits += (uint32_t)__builtin_popcountll(bm[w]);
        expect(c, w >= s->scan, "slab bitmap word below scan", s);
        uint32_t top = w * 64 + 63 - (uint32_t)__builtin_clzll(bm[w]);
        expect(c, top < carved, "slab bitmap bit past the bump pointer", s);
    }
    expect_eq(c, bits, s->nfree, "slab nfree against its bitmap", s);
    expect_eq(c, s->used, carved - s->nfree, "slab used = carved - nfree", s);
    bool has_blocks = s->nfree != 0 || s->bump < s->end;
    expect_eq(c, on_partial(h, s), has_blocks, "slab on the partial list iff it has blocks", s);
}

bool hk_check_slab(const hk_heap_t *h, const hk_page_t *s)
{
    check_t c = {0};
    check_slab(&c, h, hk_segment_of(s), s);
    return c.problems == 0;
}

/* Pages 1.. of a segment: free pages are unowned, every other page belongs to a slab whose
 * first page describes it. Counts the slabs of each class with blocks to hand out. */
static void check_segment(check_t *c, const hk_heap_t *h, hk_segment_t *seg, uint32_t *partial)
{
    expect_eq(c, seg->kind, HK_SEG_SMALL, "segment kind", seg);
    expect(c, seg->heap == h, "segment owned by this heap", seg);
    expect(c, !(seg->free_pages & 1), "segment header page not free", seg);
    expect_eq(c, seg->dirty_pages & ~seg->free_pages, 0, "dirty pages are free pages", seg);
    uint32_t i = 1;
    while (i < HK_PAGES) {
        const hk_page_t *s = &seg->pages[i];
        if (seg->free_pages >> i & 1) {
            expect(c, s->heap == NULL, "free page unowned", s);
            i++;
            continue;
        }
        if (!expect(c, s->heap == h && s->offset == 0 && s->cls < HK_NCLASSES,
                    "used page starts a slab of this heap", s) ||
            !expect_eq(c, s->npages, hk_class_pages[s->cls], "slab pages", s) ||
            !expect(c, i + s->npages <= HK_PAGES, "slab inside its segment", s)) {
            i++;
            continue;
        }
        for (uint32_t k = 1; k < s->npages; k++) {
            const hk_page_t *p = s + k;
            expect(c, !(seg->free_pages >> (i + k) & 1), "slab page not free", p);
            expect(c, p->heap == h && p->cls == s->cls && p->offset == k,
                   "slab page names its slab", p);
        }
        check_slab(c, h, seg, s);
        if (s->nfree != 0 || s->bump < s->end) partial[s->cls]++;
        i += s->npages;
    }
}

/* ---------------------------------------------------------------------------------------
 * The heap
 * ------------------------------------------------------------------------------------- */
uint32_t hk_check_heap(const hk_heap_t *h)
{
    check_t c = {0};
    for (uint32_t cls = 0; cls < HK_NCLASSES; cls++) {
        const hk_bin_t *bin = &h->bins[cls];
        check_list(&c, h, cls, bin, "bin length against its count");
        expect(&c, bin->count <= bin->max, "bin count within its max", bin);
        for (uint32_t i = 0; i < HK_STASH_CHAINS; i++) {
            const hk_bin_t *st = &h->stash[cls][i];
            expect(&c, (st->count == 0) == (st->head == NULL), "stash count 0 iff empty", st);
            check_list(&c, h, cls, st, "stash length against its count");
        }
        /* Pending remote frees: blocks of their owner, fewer than a batch. */
        const hk_outbox_t *o = &h->out[cls];
        expect_eq(&c, h->out_mask >> cls & 1, o->count != 0, "outbox mask bit iff pending", o);
        if (o->count)
            expect(&c,
                   o->count < HK_REMOTE_BATCH && hk_check_chain(o->owner, cls, o->head, o->count),
                   "outbox chain of its owner's blocks", o);
    }

    uint32_t partial[HK_NCLASSES] = {0};
    size_t dirty = 0;
    const hk_segment_t *prev = NULL;
    for (hk_segment_t *seg = h->segments; seg; prev = seg, seg = seg->next) {
        if (!expect(&c, seg->prev == prev, "segment list links", seg)) break; /* maybe a cycle */
        check_segment(&c, h, seg, partial);
        dirty += (size_t)__builtin_popcountll(seg->dirty_pages);
    }
    expect_eq(&c, h->dirty_pages, dirty, "heap dirty pages against its segments", h);

    for (uint32_t cls = 0; cls < HK_NCLASSES; cls++) {
        uint32_t n = 0;
        const hk_page_t *p = NULL;
        for (const hk_page_t *s = h->partial[cls]; s && n <= partial[cls]; p = s, s = s->next, n++)
            if (!expect(&c, s->prev == p && s->heap == h && s->cls == cls && s->offset == 0,
                        "partial list entry", s))
                break;
        expect_eq(&c, n, partial[cls], "partial list length against the slabs with blocks",
                  &h->partial[cls]);
    }
    return c.problems;
}

HK_EXPORT int hak_check(void)
{
    hk_heap_t *h = hk_tls;
    return h == &hk_heap_empty ? 0 : (int)hk_check_heap(h);
}
