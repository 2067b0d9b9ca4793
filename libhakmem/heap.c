/* heap.c: the heaps and who may touch them. Each thread runs its own heap through
 * `hk_tls` without locks; `hk_heap_global` serves threads that have none (any more),
 * under `hk_heaps_lock`, which also guards the heap lists and the metadata arena. Heaps
 * and their metadata are never unmapped, so a pointer to a heap stays valid. thread.c
 * decides when a thread takes and gives back a heap; this file says how. */
#include "config.h"

#include <string.h>

#include "internal.h"
#include "lock.h"
#include "prof.h"

__thread hk_heap_t *hk_tls __attribute__((tls_model("initial-exec"))) = &hk_heap_empty;

/* The empty heap never hits in its caches; counts made through it (calls by threads
 * that have no heap yet, or none any more) land here and are not published. */
static hk_stat_counters_t empty_counters;
static hk_stat_mem_t empty_mem;
hk_heap_t hk_heap_empty = {.ctr = &empty_counters,
                           .mem = &empty_mem,
                           .slot = HK_NO_SLOT,
                           .spill = HK_NO_SLOT,
                           .prof_mask = HK_PROF_OFF};
#define GLOBAL_BIN(c) [c] = {.max = HK_CLASS_BIN_MAX(c)},
#define GLOBAL_HEAP                                                                                \
    {                                                                                              \
        .bins = {HK_CLASSES(GLOBAL_BIN)}, .ctr = &hk_heap_global.own,                              \
        .mem = &hk_heap_global.own_mem, .slot = HK_NO_SLOT, .spill = HK_NO_SLOT,                   \
        .abandoned = true, .prof_mask = HK_PROF_OFF                                                \
    }
hk_heap_t hk_heap_global = GLOBAL_HEAP;

hk_lock_t hk_heaps_lock = HK_LOCK_INIT;
static hk_heap_t *all_heaps;
static hk_heap_t *abandoned_heaps;

/* ---------------------------------------------------------------------------------------
 * Metadata arena: bump allocation from mapped chunks, never freed. Caller holds the lock.
 * ------------------------------------------------------------------------------------- */
#define META_CHUNK (256 * 1024)
static char *meta_next, *meta_end;

void *hk_heap_meta_alloc(size_t size)
{
    size = hk_align_up(size, 64);
    if (meta_next == NULL || (size_t)(meta_end - meta_next) < size) {
        size_t chunk = size > META_CHUNK ? hk_align_up(size, HK_OS_PAGE) : META_CHUNK;
        char *p = hk_os_map(chunk);
        if (p == NULL) return NULL;
        meta_next = p;
        meta_end = p + chunk;
    }
    void *p = meta_next;
    meta_next += size;
    return p;
}

hk_heap_t *hk_heaps_first(void)
{
    return all_heaps;
}

/* ---------------------------------------------------------------------------------------
 * Taking and giving back a heap
 * ------------------------------------------------------------------------------------- */

/* A heap's caches start small for each new thread, so a short-lived thread does not
 * fill (and at exit drain) caches it will barely use. */
static void heap_reset_bins(hk_heap_t *h)
{
    for (uint32_t c = 0; c < HK_NCLASSES; c++) {
        uint32_t max = hk_class_bin_max[c] < HK_BIN_START ? hk_class_bin_max[c] : HK_BIN_START;
        h->bins[c].max = h->bins[c].count > max ? h->bins[c].count : max;
    }
}

/* A heap an exited thread left (`*adopted` true), or a new one; NULL when no memory is
 * left for one. */
hk_heap_t *hk_heap_adopt(bool *adopted)
{
    hk_lock(&hk_heaps_lock);
    hk_heap_t *h = abandoned_heaps;
    *adopted = h != NULL;
    if (h) {
        abandoned_heaps = h->next_free;
        __atomic_store_n(&h->abandoned, false, __ATOMIC_RELAXED);
        heap_reset_bins(h);
    } else if ((h = hk_heap_meta_alloc(sizeof(hk_heap_t))) != NULL) {
        heap_reset_bins(h);
        h->slot = HK_NO_SLOT;
        h->spill = HK_NO_SLOT;
        h->ctr = &h->own;
        h->mem = &h->own_mem;
        h->next_all = all_heaps;
        all_heaps = h;
    }
    hk_unlock(&hk_heaps_lock);
    return h;
}

/* Give a heap nobody runs to the next new thread. Chains sent to it from now on are
 * collected by their senders (remote.c); ones sent before are collected here. */
void hk_heap_abandon(hk_heap_t *h)
{
    hk_lock(&hk_heaps_lock);
    __atomic_store_n(&h->abandoned, true, __ATOMIC_RELAXED);
    h->next_free = abandoned_heaps;
    abandoned_heaps = h;
    hk_unlock(&hk_heaps_lock);
    if (atomic_load_explicit(&h->remote, memory_order_acquire) != NULL)
        hk_heap_abandoned_collect(h);
}

/* The heap a slow path works on: the caller's own (set up on its first call), or, for a
 * thread that has none any more, the global heap, locked until hk_heap_release. */
hk_heap_t *hk_heap_acquire(void)
{
    hk_heap_t *h = hk_thread_heap();
    if (h) return h;
    hk_lock(&hk_heaps_lock);
    return &hk_heap_global;
}

void hk_heap_release(hk_heap_t *h)
{
    if (h == &hk_heap_global) hk_unlock(&hk_heaps_lock);
}

/* Everything a heap holds for its thread goes back: what it has pending for others is
 * sent, its caches go to the slabs, empty pages and cached large blocks to the OS.
 * At thread exit the chains other threads sent are taken after the caches are emptied,
 * so they wait in the caches (a constant cost per chain, bounded) for the next thread,
 * and pages are purged only past the idle threshold; hak_collect gives back all. */
void hk_heap_teardown(hk_heap_t *h, enum hk_teardown how)
{
    hk_remote_flush(h);
    if (how == HK_TEARDOWN_ALL) hk_remote_collect(h);
    hk_tcache_flush(h);
    if (how == HK_TEARDOWN_EXIT) hk_remote_collect(h);
    if (how == HK_TEARDOWN_ALL || h->dirty_pages >= HK_PURGE_IDLE) hk_slab_purge(h);
    hk_large_decay(h, true);
}

/* A block was freed to an abandoned heap: collect it now, unless someone holds the lock
 * (then the next one to do so will). */
void hk_heap_abandoned_collect(hk_heap_t *h)
{
    if (!hk_trylock(&hk_heaps_lock)) return;
    if (__atomic_load_n(&h->abandoned, __ATOMIC_RELAXED)) {
        /* The work is counted by the thread doing it, in its own slot: nobody else
         * writes there, and the counts are visible at once. */
        hk_heap_t *me = hk_tls;
        hk_stat_counters_t *own = h->ctr;
        hk_stat_mem_t *own_mem = h->mem;
        if (me != &hk_heap_empty) {
            h->ctr = me->ctr;
            h->mem = me->mem;
        }
        /* Chains go into the idle heap's cache while it has room (an adopter reuses
         * them at once), the rest to the slabs, whose empty pages go back to the OS. */
        hk_remote_collect(h);
        if (h->dirty_pages >= HK_PURGE_IDLE) hk_slab_purge(h);
        h->ctr = own;
        h->mem = own_mem;
        if (me == &hk_heap_empty) hk_stats_publish_idle(h);
    }
    hk_unlock(&hk_heaps_lock);
}

/* In a fork child only the forking thread exists. The heaps of the others may have
 * been in the middle of an update when the parent forked, so they are left alone: what
 * they hold is lost to the child, which is safer than adopting a torn heap. When the
 * fork came from a signal handler that interrupted this thread inside the allocator
 * (`torn`), its own heap, the global heap, the heap lists and the metadata arena may be
 * half-updated too: the child gives them all up and starts from nothing. */
void hk_heap_after_fork_child(bool torn)
{
    hk_lock_reset(&hk_heaps_lock);
    if (!torn) return;
    hk_heap_t *h = hk_tls;
    if (h != &hk_heap_empty) {
        /* Neither run nor adopted, so remote frees to it just wait there. */
        __atomic_store_n(&h->abandoned, false, __ATOMIC_RELAXED);
        hk_tls = &hk_heap_empty;
    }
    hk_heap_global = (hk_heap_t)GLOBAL_HEAP;
    abandoned_heaps = NULL;
    meta_next = meta_end = NULL;
}
