/* remote.c (unit): remote frees travel as chains of up to HK_REMOTE_BATCH blocks whose
 * first block carries the next chain's address with the length minus one in its low 4
 * bits (libhakmem/remote.c). For every length 1..16 the chain on the owner's stack has
 * the encoded length, the blocks in push order reversed, and a collect takes exactly
 * that many into the owner with its heap consistent; stacked chains keep their lengths. */
#include "config.h"

#include "unit.h"

#define CLS 2 /* 48-byte blocks */

/* A heap no thread runs, standing for another thread: a push only uses its outboxes. */
static hk_heap_t sender;

static uintptr_t link_of(const hk_block_t *first)
{
    return ((const uintptr_t *)first)[1];
}

/* The chain at `first` holds blk[n - 1] .. blk[0], then ends. */
static bool chain_is(const hk_block_t *first, void *const *blk, uint32_t n)
{
    const hk_block_t *b = first;
    for (uint32_t i = n; i-- > 0; b = b->next)
        if (b != blk[i]) return false;
    return b == NULL;
}

int main(void)
{
    tap_plan(11);
    hk_heap_t *owner = unit_heap();
    uint64_t *collected = &owner->ctr->c[HK_STAT_remote_collect];

    uint32_t held_back = 0, not_sent = 0, bad_len = 0, bad_list = 0, bad_count = 0, lost = 0,
             inconsistent = 0;
    for (uint32_t len = 1; len <= HK_REMOTE_BATCH; len++) {
        void *blk[HK_REMOTE_BATCH];
        unit_alloc(CLS, blk, len);
        for (uint32_t i = 0; i < len; i++)
            hk_remote_push(&sender, owner, CLS, blk[i]);
        /* Below a batch the chain waits in the outbox; the 16th push sends it. */
        if (len < HK_REMOTE_BATCH) {
            if (sender.out[CLS].count != len || atomic_load(&owner->remote) != NULL) held_back++;
            hk_remote_flush(&sender);
        }
        hk_block_t *top = atomic_load(&owner->remote);
        if (top != blk[len - 1] || sender.out_mask != 0 || sender.out[CLS].count != 0) {
            not_sent++;
            continue;
        }
        if (link_of(top) != len - 1) bad_len++; /* next chain NULL, length - 1 below it */
        if (!chain_is(top, blk, len)) bad_list++;
        uint64_t before = *collected;
        hk_remote_collect(owner);
        if (*collected - before != len || atomic_load(&owner->remote) != NULL) bad_count++;
        for (uint32_t i = 0; i < len; i++)
            if (unit_where(owner, CLS, blk[i]) == 0) lost++;
        if (hk_check_heap(owner) != 0) inconsistent++;
    }
    TAP_EQ_U64(held_back, 0, "a chain shorter than a batch waits in the outbox until a flush");
    TAP_EQ_U64(not_sent, 0, "a flush (or the 16th push) puts it on the owner's stack");
    TAP_EQ_U64(bad_len, 0, "the stack link holds length - 1 in its low bits, lengths 1..16");
    TAP_EQ_U64(bad_list, 0, "each chain lists its blocks, last pushed first");
    TAP_EQ_U64(bad_count, 0, "a collect takes exactly the chain's length");
    TAP_EQ_U64(lost, 0, "every collected block is in the owner's cache or free in its slab");
    TAP_EQ_U64(inconsistent, 0, "the owner's heap checks out after each collect");

    /* Three chains stacked before one collect: 3 blocks, a full batch, 5 blocks. */
    static const uint32_t lens[3] = {3, HK_REMOTE_BATCH, 5};
    /* Allocated first: a refill collects what is on the stack. */
    void *blk[3][HK_REMOTE_BATCH];
    for (int c = 0; c < 3; c++)
        unit_alloc(CLS, blk[c], lens[c]);
    for (int c = 0; c < 3; c++) {
        for (uint32_t i = 0; i < lens[c]; i++)
            hk_remote_push(&sender, owner, CLS, blk[c][i]);
        hk_remote_flush(&sender);
    }
    uint32_t bad_stack = 0;
    const hk_block_t *chain = atomic_load(&owner->remote);
    for (int c = 2; c >= 0; c--) {
        if (chain == NULL || !chain_is(chain, blk[c], lens[c]) ||
            (link_of(chain) & 15) != lens[c] - 1) {
            bad_stack++;
            break;
        }
        chain = (const hk_block_t *)(link_of(chain) & ~(uintptr_t)15);
    }
    TAP_EQ_U64(bad_stack + (chain != NULL), 0,
               "stacked chains of 5, 16 and 3 blocks read back newest first with their lengths");
    uint64_t before = *collected;
    hk_remote_collect(owner);
    TAP_EQ_U64(*collected - before, 3 + HK_REMOTE_BATCH + 5, "one collect takes all 24 blocks");
    TAP_EQ_U64(hk_check_heap(owner), 0, "... and the owner's heap checks out");
    hk_tcache_flush(owner);
    TAP_EQ_U64(hk_check_heap(owner), 0, "after a flush to the slabs too");
    return tap_done();
}
