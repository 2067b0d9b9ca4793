/* remote.c: frees of blocks that another heap owns. The freeing thread pushes the block
 * onto the owner's lock-free stack with one compare-and-swap; the owner takes the whole
 * stack with one exchange when its cache runs dry, so its fast path never sees an atomic.
 * Push-one/take-all is immune to ABA: nobody pops a single node. */
#include "config.h"

#include "internal.h"

void hk_remote_push(hk_heap_t *owner, hk_block_t *b)
{
    hk_block_t *head = atomic_load_explicit(&owner->remote, memory_order_relaxed);
    do {
        b->next = head;
    } while (!atomic_compare_exchange_weak_explicit(&owner->remote, &head, b,
                                                    memory_order_release, memory_order_relaxed));
    /* Nobody runs an abandoned heap: collect on its behalf so the memory goes back. */
    if (hk_unlikely(__atomic_load_n(&owner->abandoned, __ATOMIC_RELAXED)))
        hk_heap_abandoned_collect(owner);
}

void hk_remote_collect(hk_heap_t *h)
{
    hk_block_t *b = atomic_exchange_explicit(&h->remote, NULL, memory_order_acquire);
    uint64_t n = 0;
    while (b) {
        hk_block_t *next = b->next;
        hk_segment_t *seg = hk_segment_of(b);
        hk_slab_put(h, hk_page_of(seg, b), b);
        b = next;
        n++;
    }
    h->ctr->c[HK_STAT_remote_collect] += n;
}
