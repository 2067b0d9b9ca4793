/* stash.c (unit): a drain moves the cold part of a full bin into a free stash slot whole,
 * or to the slabs when every slot is taken or nothing is kept; a refill of an empty bin
 * takes the last stash chain whole. Counts, list lengths and the counters stay exact, and
 * the heap checks out after every step. */
#include "config.h"

#include "unit.h"

#define CLS  1 /* 32-byte blocks: a bin grows to 512 */
#define MAXB 4096

static void *blk[MAXB];
static hk_heap_t *h;
static hk_bin_t *bin;

/* Free blk[from .. from + n - 1] through the fast path. */
static void give(uint32_t from, uint32_t n)
{
    for (uint32_t i = from; i < from + n; i++)
        hk_free_fast(blk[i]);
}

/* Empty the bin into the program: pop every cached block (they are not reused). */
static void pop_all(void)
{
    while (bin->head)
        if (hk_malloc_fast(hk_class_size[CLS], NULL) == NULL) tap_bail("pop failed");
}

static uint64_t ctr(enum hk_stat_id id)
{
    return h->ctr->c[id];
}

int main(void)
{
    tap_plan(12);
    h = unit_heap();
    bin = &h->bins[CLS];

    /* Grow the bin to its capacity (it doubles at each refill), then start from empty. */
    unit_alloc(CLS, blk, MAXB);
    hk_tcache_flush(h);
    uint32_t max = bin->max;
    TAP_EQ_U64(max, hk_class_bin_max[CLS], "the bin grew to the class's capacity");

    /* A full bin drained to half: the other half becomes stash chain 0. */
    give(0, max);
    uint64_t drains = ctr(HK_STAT_drains), drained = ctr(HK_STAT_drain_blocks);
    hk_tcache_drain(h, CLS, max / 2);
    hk_bin_t *st = h->stash[CLS];
    tap_ok(bin->count == max / 2 && unit_len(bin->head, MAXB) == max / 2 &&
               st[0].count == max - max / 2 && unit_len(st[0].head, MAXB) == st[0].count,
           "drain of a full bin of %u keeps %u and stashes %u (counts and lengths)", max,
           bin->count, st[0].count);
    tap_ok(ctr(HK_STAT_drains) == drains + 1 && ctr(HK_STAT_drain_blocks) == drained + max / 2,
           "the drain counters count one drain of %u blocks", max / 2);
    TAP_EQ_U64(hk_check_heap(h), 0, "the heap checks out after the drain");

    /* Empty the bin: the next pop refills from the stash, whole, in one refill. */
    pop_all();
    uint64_t refills = ctr(HK_STAT_refills), refilled = ctr(HK_STAT_refill_blocks);
    void *first = st[0].head;
    uint32_t chain = st[0].count;
    void *p = hk_malloc_fast(hk_class_size[CLS], NULL);
    tap_ok(p == first && bin->count == chain - 1 && unit_len(bin->head, MAXB) == chain - 1 &&
               st[0].count == 0 && st[0].head == NULL,
           "a refill takes the stash chain whole (bin %u of %u, slot emptied)", bin->count, chain);
    tap_ok(ctr(HK_STAT_refills) == refills + 1 && ctr(HK_STAT_refill_blocks) == refilled + chain,
           "the refill counters count one refill of %u blocks", chain);
    TAP_EQ_U64(hk_check_heap(h), 0, "the heap checks out after the refill");

    /* keep 0 sends everything to the slabs, not to the stash. */
    hk_tcache_drain(h, CLS, 0);
    tap_ok(bin->count == 0 && bin->head == NULL && st[0].count == 0,
           "a drain that keeps nothing leaves bin and stash empty");

    /* Fill every slot with chains of different lengths; a fifth drain goes to the slabs. */
    uint32_t next = max, bad = 0;
    for (uint32_t k = 0; k < HK_STASH_CHAINS; k++) {
        uint32_t n = 10 + 7 * k;
        give(next, n);
        next += n;
        uint32_t expect = bin->count - 1;
        hk_tcache_drain(h, CLS, 1);
        if (st[k].count != expect || unit_len(st[k].head, MAXB) != expect || bin->count != 1) bad++;
    }
    TAP_EQ_U64(bad, 0, "%d drains fill the %d stash slots with exact counts", HK_STASH_CHAINS,
               HK_STASH_CHAINS);
    uint32_t slots[HK_STASH_CHAINS];
    for (uint32_t k = 0; k < HK_STASH_CHAINS; k++)
        slots[k] = st[k].count;
    give(next, 20);
    hk_tcache_drain(h, CLS, 1);
    uint32_t to_slab = 0;
    for (uint32_t i = next; i < next + 20; i++)
        to_slab += unit_where(h, CLS, blk[i]) == -1;
    next += 20;
    bad = 0;
    for (uint32_t k = 0; k < HK_STASH_CHAINS; k++)
        bad += st[k].count != slots[k];
    /* The bin keeps the last one freed; the other 19 and the one kept before go back. */
    tap_ok(bad == 0 && to_slab == 19 && bin->count == 1 && bin->head == blk[next - 1],
           "with every slot taken a drain goes to the slabs (%u of 20 freed)", to_slab);

    /* The refill takes the last chain. */
    pop_all();
    uint32_t last = st[HK_STASH_CHAINS - 1].count;
    hk_malloc_fast(hk_class_size[CLS], NULL);
    tap_ok(bin->count == last - 1 && st[HK_STASH_CHAINS - 1].count == 0 && st[0].count == slots[0],
           "a refill takes the last stash chain (%u blocks) and leaves the others", last);

    /* A flush empties bin and stash into the slabs. */
    hk_tcache_flush(h);
    bad = bin->count != 0 || bin->head != NULL;
    for (uint32_t k = 0; k < HK_STASH_CHAINS; k++)
        bad += st[k].count != 0 || st[k].head != NULL;
    TAP_EQ_U64(bad + hk_check_heap(h), 0, "a flush empties bin and stash and the heap checks out");
    return tap_done();
}
