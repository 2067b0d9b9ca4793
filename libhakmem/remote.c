/* remote.c: frees of blocks that another heap owns. The freeing thread chains blocks
 * of one class for one owner locally, and pushes each chain of up to HK_REMOTE_BATCH
 * blocks onto the owner's lock-free stack with one compare-and-swap (also when the
 * owner changes, the freeing thread refills, or it exits). The owner takes the whole
 * stack with one exchange when its cache runs dry and moves each chain into its cache
 * whole, without walking it, so its fast path never sees an atomic and a collect costs
 * one cache miss per chain, not per block. Push/take-all is immune to ABA: nobody pops
 * a single node.
 *
 * A chain is linked through the blocks' first words, as in the caches. Its first block
 * also uses its second word (every block has 16 bytes): the next chain on the stack,
 * with the chain's length minus one in the low 4 bits (blocks are 16-byte aligned). */
#include "config.h"

#include "internal.h"

#define CHAIN_LEN_MASK ((uintptr_t)15)

static uintptr_t *chain_link(hk_block_t *first)
{
    return (uintptr_t *)first + 1;
}

static void flush_class(hk_heap_t *h, uint32_t cls)
{
    hk_outbox_t *o = &h->out[cls];
    hk_heap_t *owner = o->owner;
    hk_block_t *first = o->head;
    uintptr_t len = o->count - 1;
    hk_assert(o->count >= 1 && o->count <= HK_REMOTE_BATCH && (h->out_mask >> cls & 1));
    hk_assert(hk_check_chain(owner, cls, first, o->count));
    hk_block_t *head = atomic_load_explicit(&owner->remote, memory_order_relaxed);
    do {
        hk_assert(((uintptr_t)head & CHAIN_LEN_MASK) == 0);
        *chain_link(first) = (uintptr_t)head | len;
    } while (!atomic_compare_exchange_weak_explicit(&owner->remote, &head, first,
                                                    memory_order_release, memory_order_relaxed));
    *o = (hk_outbox_t){0};
    h->out_mask &= ~((uint64_t)1 << cls);
    /* Nobody runs an abandoned heap: collect on its behalf so the memory goes back. */
    if (hk_unlikely(__atomic_load_n(&owner->abandoned, __ATOMIC_RELAXED)))
        hk_heap_abandoned_collect(owner);
}

/* Send everything h has pending. */
void hk_remote_flush(hk_heap_t *h)
{
    while (h->out_mask)
        flush_class(h, (uint32_t)__builtin_ctzll(h->out_mask));
}

/* Free block b of class cls, which `owner` owns, from heap h. */
void hk_remote_push(hk_heap_t *h, hk_heap_t *owner, uint32_t cls, hk_block_t *b)
{
    hk_outbox_t *o = &h->out[cls];
    hk_assert(owner != h && hk_check_block(owner, cls, b));
    if (o->owner != owner) {
        if (o->count) flush_class(h, cls);
        o->owner = owner;
        h->out_mask |= (uint64_t)1 << cls;
    }
    b->next = o->head;
    o->head = b;
    if (++o->count >= HK_REMOTE_BATCH) flush_class(h, cls);
}

/* Put a chain of `len` blocks of class cls into h: as the bin if that is empty, else
 * as a stash chain; failing both (or when the bin is too small for it), block by block
 * into the bin while it has room and to the slabs after that. */
static void take_chain(hk_heap_t *h, uint32_t cls, hk_block_t *b, uint32_t len)
{
    hk_bin_t *bin = &h->bins[cls];
    if (len <= bin->max / 2) {
        if (bin->head == NULL) {
            bin->head = b;
            bin->count = len;
            return;
        }
        for (uint32_t i = 0; i < HK_STASH_CHAINS; i++) {
            if (h->stash[cls][i].count == 0) {
                h->stash[cls][i] = (hk_bin_t){.head = b, .count = len};
                return;
            }
        }
    }
    while (b) {
        hk_block_t *next = b->next;
        if (bin->count < bin->max) {
            hk_bin_push(bin, b);
        } else {
            hk_slab_put(h, hk_page_of(hk_segment_of(b), b), b);
        }
        b = next;
    }
}

/* Take every chain other threads sent to h. */
void hk_remote_collect(hk_heap_t *h)
{
    hk_block_t *c = atomic_exchange_explicit(&h->remote, NULL, memory_order_acquire);
    uint64_t n = 0;
    while (c) {
        uintptr_t link = *chain_link(c);
        uint32_t len = (uint32_t)(link & CHAIN_LEN_MASK) + 1;
        hk_assert(hk_check_chain(h, hk_page_of(hk_segment_of(c), c)->cls, c, len));
        take_chain(h, hk_page_of(hk_segment_of(c), c)->cls, c, len);
        c = (hk_block_t *)(link & ~CHAIN_LEN_MASK);
        n += len;
    }
    h->ctr->c[HK_STAT_remote_collect] += n;
}
