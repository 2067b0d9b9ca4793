/* check.c (unit): the heap checker finds what it claims to. A heap with cached blocks,
 * a stash chain and a slab with returned blocks checks out; then each kind of damage the
 * checker looks for is done to it in turn (a count, a link, a double free, a slab's
 * counts, a partial list, a page mask, an owner), found, and undone. */
#include "config.h"

#include "hakmem.h"
#include "unit.h"

#define CLS 2 /* 48-byte blocks */
#define NB  300

static void *blk[NB];
static hk_heap_t *h;
static hk_heap_t stranger; /* a heap that owns nothing */

/* Run the checker on damage already done; report whether it found something. */
static bool found(void)
{
    uint32_t n = hk_check_heap(h);
    if (n == 0) tap_diag("  the checker found nothing");
    return n > 0;
}

/* Each damage is done, checked, and undone; the heap must check out again after it. */
#define DAMAGE(what, lvalue, bad)                                                                  \
    do {                                                                                           \
        __typeof__(lvalue) saved_ = (lvalue);                                                      \
        (lvalue) = (bad);                                                                          \
        bool found_ = found();                                                                     \
        (lvalue) = saved_;                                                                         \
        tap_ok(found_ &&hk_check_heap(h) == 0, "found: %s", what);                                 \
    } while (0)

int main(void)
{
    tap_plan(20);
    h = unit_heap();

    /* 100 blocks back in their slab (bits set), 100 in the bin, 30 in a stash chain. */
    unit_alloc(CLS, blk, NB);
    hk_tcache_flush(h);
    for (int i = 0; i < 100; i++)
        hk_free_fast(blk[i]);
    hk_tcache_drain(h, CLS, 0);
    for (int i = 100; i < 230; i++)
        hk_free_fast(blk[i]);
    hk_tcache_drain(h, CLS, 100);
    hk_bin_t *bin = &h->bins[CLS], *st = &h->stash[CLS][0];
    hk_page_t *slab = h->partial[CLS];
    hk_segment_t *seg = hk_segment_of(blk[0]);
    tap_ok(bin->count == 100 && st->count == 30 && slab != NULL && slab->nfree >= 100,
           "set-up: bin %u, stash %u, a partial slab with %u returned blocks", bin->count,
           st->count, slab ? slab->nfree : 0);
    TAP_EQ_I64(hak_check(), 0, "hak_check finds the heap consistent");

    hk_block_t *b = bin->head;
    DAMAGE("a bin count one too high", bin->count, bin->count + 1);
    DAMAGE("a bin count one too low", bin->count, bin->count - 1);
    DAMAGE("a stash count one too high", st->count, st->count + 1);
    DAMAGE("a link into the middle of a block", b->next, (hk_block_t *)((char *)b->next + 16));
    DAMAGE("a link to a misaligned address", b->next, (hk_block_t *)((char *)b->next + 8));
    DAMAGE("a list that loops", b->next, b);

    /* A cached block whose bit is also set: freed twice. nfree is kept in step, so only
     * the double free is wrong. */
    uint64_t idx = (uint64_t)((char *)b - hk_page_start(seg, slab)) / hk_class_size[CLS];
    uint64_t *word = &hk_slab_bitmap(seg, slab)[idx / 64], bit = (uint64_t)1 << (idx % 64);
    tap_ok(hk_segment_of(b) == seg && !(*word & bit), "the bin's first block is in the slab");
    *word |= bit;
    slab->nfree++;
    bool twice = found();
    *word &= ~bit;
    slab->nfree--;
    tap_ok(twice && hk_check_heap(h) == 0, "found: a block both cached and free in its slab");

    DAMAGE("a slab's nfree against its bitmap", slab->nfree, slab->nfree + 1);
    DAMAGE("a slab's used count", slab->used, slab->used + 1);
    DAMAGE("a bump pointer off a block start", slab->bump, slab->bump + 8);
    DAMAGE("a slab with blocks missing from its partial list", h->partial[CLS], slab->next);
    DAMAGE("a dirty page that is in use", seg->dirty_pages, seg->dirty_pages | 2);
    DAMAGE("the heap's dirty page count", h->dirty_pages, h->dirty_pages + 1);
    DAMAGE("a slab page owned by another heap", slab->heap, &stranger);
    DAMAGE("an outbox bit with nothing pending", h->out_mask, h->out_mask | 1u << CLS);

    tap_ok(hk_check_block(h, CLS, blk[0]) && !hk_check_block(h, CLS, (char *)blk[0] + 16) &&
               !hk_check_block(h, CLS, (char *)blk[0] + 8) && !hk_check_block(h, CLS + 1, blk[0]) &&
               !hk_check_block(&stranger, CLS, blk[0]) && !hk_check_block(h, CLS, NULL),
           "hk_check_block takes a block start of its class and heap, and nothing else");
    tap_ok(hk_check_chain(h, CLS, bin->head, bin->count) &&
               !hk_check_chain(h, CLS, bin->head, bin->count - 1) &&
               !hk_check_chain(h, CLS, bin->head, bin->count + 1),
           "hk_check_chain wants the exact length");
    return tap_done();
}
