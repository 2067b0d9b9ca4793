/* tcache.c: the thread cache's slow paths: first use by a thread, refill from slabs,
 * drain to slabs when full, frees of foreign and large blocks, and the locked heap that
 * serves threads whose own heap is already gone (TLS destructors running late). */
#include "config.h"

#include <errno.h>

#include "internal.h"
#include "prof.h"
#include "tcache.h"

/* Pop a block of class cls from h's cache, refilling it first when empty. */
static void *class_pop(hk_heap_t *h, uint32_t cls)
{
    hk_bin_t *bin = &h->bins[cls];
    if (bin->head == NULL) {
        if (atomic_load_explicit(&h->remote, memory_order_relaxed) != NULL)
            hk_remote_collect(h);
        hk_prof_sync(h);
        hk_stats_publish_unslotted(h);
        hk_remote_flush(h);
        uint32_t cap = hk_class_bin_max[cls];
        if (bin->max < cap) bin->max = bin->max * 2 < cap ? bin->max * 2 : cap;
        uint32_t want = bin->max / 2 ? bin->max / 2 : 1;
        uint64_t t0 = h->prof_period ? hk_tsc_begin() : 0;
        uint32_t got = hk_slab_take(h, cls, bin, want);
        if (got == 0) {
            errno = ENOMEM;
            return NULL;
        }
        if (h->prof_period) hk_prof_record(h, HK_STAT_prof_refill_n, t0, hk_tsc_end());
        h->ctr->c[HK_STAT_refill]++;
        h->ctr->c[HK_STAT_refill_blocks] += got;
    }
    hk_block_t *b = bin->head;
    bin->head = b->next;
    bin->count--;
    return b;
}

static void *heap_malloc(hk_heap_t *h, uint32_t cls, size_t size)
{
    void *p;
    if (size > HK_SMALL_MAX) {
        p = hk_large_alloc(h, size, 0);
        if (p == NULL) return NULL;
    } else {
        p = class_pop(h, cls);
        if (p == NULL) return NULL;
        h->ctr->c[HK_STAT_fast_miss]++;
        h->ctr->class_alloc[cls]++;
    }
    h->ctr->c[HK_STAT_malloc]++;
    h->ctr->c[HK_STAT_bytes] += size;
    return p;
}

/* Allocation on behalf of a thread whose heap has been torn down. */
static void *global_malloc(uint32_t cls, size_t size)
{
    pthread_mutex_lock(&hk_heaps_lock);
    void *p = heap_malloc(&hk_heap_global, cls, size);
    pthread_mutex_unlock(&hk_heaps_lock);
    return p;
}

void *hk_malloc_class(hk_heap_t *h, uint32_t cls, size_t size)
{
    if (hk_unlikely(h == &hk_heap_empty)) {
        h = hk_thread_heap();
        if (h == NULL) return global_malloc(cls, size);
    }
    return heap_malloc(h, cls, size);
}

void *hk_malloc_slow(hk_heap_t *h, size_t size)
{
    uint32_t cls = size <= HK_SMALL_MAX ? hk_size_class(size) : 0;
    return hk_malloc_class(h, cls, size);
}

/* Return all but `keep` blocks of a bin to their slabs. */
void hk_bin_drain(hk_heap_t *h, uint32_t cls, uint32_t keep)
{
    hk_bin_t *bin = &h->bins[cls];
    uint32_t n = 0;
    while (bin->count > keep) {
        hk_block_t *b = bin->head;
        bin->head = b->next;
        bin->count--;
        hk_slab_put(h, hk_page_of(hk_segment_of(b), b), b);
        n++;
    }
    h->ctr->c[HK_STAT_drain]++;
    h->ctr->c[HK_STAT_drain_blocks] += n;
}

void hk_heap_flush(hk_heap_t *h)
{
    for (uint32_t cls = 0; cls < HK_NCLASSES; cls++)
        if (h->bins[cls].count) hk_bin_drain(h, cls, 0);
}

static void count_free(hk_heap_t *h, uint32_t cls)
{
    h->ctr->c[HK_STAT_free]++;
    h->ctr->c[HK_STAT_free_slow]++;
    h->ctr->class_free[cls]++;
}

void hk_free_slow(void *p)
{
    int saved_errno = errno;
    hk_segment_t *seg = hk_segment_of(p);
    hk_page_t *pg = hk_page_of(seg, p);
    hk_heap_t *h = hk_tls;
    if (h == &hk_heap_empty && !hk_thread_exited()) h = hk_thread_heap();
    bool locked = h == NULL || h == &hk_heap_empty;
    if (locked) {
        h = &hk_heap_global;
        pthread_mutex_lock(&hk_heaps_lock);
    }

    if (seg->kind == HK_SEG_LARGE) {
        hk_large_free(h, seg);
    } else if (pg->heap == h) {
        /* Our own block and a full bin: make room for half a bin, then cache it. */
        uint32_t cls = pg->cls;
        hk_bin_t *bin = &h->bins[cls];
        if (bin->count >= bin->max) hk_bin_drain(h, cls, bin->max / 2);
        hk_block_t *b = p;
        b->next = bin->head;
        bin->head = b;
        bin->count++;
        count_free(h, cls);
    } else {
        uint32_t cls = pg->cls;
        hk_remote_push(h, pg->heap, p);
        if (locked) hk_remote_flush(h); /* the global heap keeps nothing pending */
        h->ctr->c[HK_STAT_remote_free]++;
        count_free(h, cls);
    }

    if (locked) pthread_mutex_unlock(&hk_heaps_lock);
    errno = saved_errno;
}
