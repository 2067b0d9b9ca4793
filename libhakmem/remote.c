/* remote.c: frees of blocks that another heap owns. The freeing thread chains blocks
 * for one owner locally and pushes the chain onto the owner's lock-free stack with one
 * compare-and-swap per HK_REMOTE_BATCH blocks (or when the owner changes, the freeing
 * thread refills, or it exits); the owner takes the whole stack with one exchange when
 * its cache runs dry, so its fast path never sees an atomic. Push/take-all is immune to
 * ABA: nobody pops a single node. */
#include "config.h"

#include "internal.h"

/* Send h's pending chain to its owner. */
void hk_remote_flush(hk_heap_t *h)
{
    hk_heap_t *owner = h->out_owner;
    if (owner == NULL) return;
    hk_block_t *first = h->out_head, *last = h->out_tail;
    hk_block_t *head = atomic_load_explicit(&owner->remote, memory_order_relaxed);
    do {
        last->next = head;
    } while (!atomic_compare_exchange_weak_explicit(&owner->remote, &head, first,
                                                    memory_order_release, memory_order_relaxed));
    h->out_owner = NULL;
    h->out_head = h->out_tail = NULL;
    h->out_count = 0;
    /* Nobody runs an abandoned heap: collect on its behalf so the memory goes back. */
    if (hk_unlikely(__atomic_load_n(&owner->abandoned, __ATOMIC_RELAXED)))
        hk_heap_abandoned_collect(owner);
}

/* Free block b, which `owner` owns, from heap h. */
void hk_remote_push(hk_heap_t *h, hk_heap_t *owner, hk_block_t *b)
{
    if (h->out_owner != owner) {
        hk_remote_flush(h);
        h->out_owner = owner;
        h->out_tail = b;
    }
    b->next = h->out_head;
    h->out_head = b;
    if (++h->out_count >= HK_REMOTE_BATCH) hk_remote_flush(h);
}

/* Take every block other threads sent to h: into h's cache while its bin has room
 * (the block is reused at once), else back to its slab. */
void hk_remote_collect(hk_heap_t *h)
{
    hk_block_t *b = atomic_exchange_explicit(&h->remote, NULL, memory_order_acquire);
    uint64_t n = 0;
    while (b) {
        hk_block_t *next = b->next;
        hk_page_t *pg = hk_page_of(hk_segment_of(b), b);
        hk_bin_t *bin = &h->bins[pg->cls];
        if (bin->count < bin->max) {
            b->next = bin->head;
            bin->head = b;
            bin->count++;
        } else {
            hk_slab_put(h, pg, b);
        }
        b = next;
        n++;
    }
    h->ctr->c[HK_STAT_remote_collect] += n;
}
