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
    if (atomic_load_explicit(&h->remote, memory_order_relaxed) != NULL) hk_remote_collect(h);
    if (bin->head == NULL) {
        hk_assert(bin->count == 0);
        hk_prof_sync(h);
        hk_stats_publish_unslotted(h);
        hk_remote_flush(h);
        uint32_t cap = hk_class_bin_max[cls];
        if (bin->max < cap) bin->max = bin->max * 2 < cap ? bin->max * 2 : cap;
        uint32_t want = bin->max / 2 ? bin->max / 2 : 1;
        if (want > HK_SLAB_BATCH) want = HK_SLAB_BATCH;
        hk_timer_t t = hk_timer_start(h->prof_period != 0);
        uint32_t got, i = HK_STASH_CHAINS;
        hk_bin_t *stash = h->stash[cls];
        while (i > 0 && stash[i - 1].count == 0)
            i--;
        if (i > 0) {
            got = stash[i - 1].count;
            hk_assert(hk_check_chain(h, cls, stash[i - 1].head, got));
            *bin = (hk_bin_t){.head = stash[i - 1].head, .count = got, .max = bin->max};
            stash[i - 1] = (hk_bin_t){0};
        } else {
            got = hk_slab_take(h, cls, bin, want);
        }
        if (got == 0) {
            errno = ENOMEM;
            return NULL;
        }
        hk_timer_stop(h, &t, HK_STAT_prof_refill_n);
        h->ctr->c[HK_STAT_refills]++;
        h->ctr->c[HK_STAT_refill_blocks] += got;
        /* Now and then, big blocks freed long ago go back to the OS. */
        if (hk_unlikely(h->ctr->c[HK_STAT_refills] % 64 == 0)) hk_large_decay(h, false);
    }
    hk_assert(bin->count > 0 && hk_check_block(h, cls, bin->head));
    return hk_bin_pop(bin);
}

static void *heap_malloc(hk_heap_t *h, uint32_t cls, size_t size, void *ra)
{
    hk_stat_counters_t *ctr = h->ctr;
    void *p;
    if (size > HK_SMALL_MAX) {
        hk_timer_t t = hk_timer_start(hk_prof_sampled(h, ctr->c[HK_STAT_large_alloc] + 1));
        p = hk_large_alloc(h, size, 0);
        if (p == NULL) return NULL;
        h->ctr->c[HK_STAT_large_alloc]++;
        hk_timer_stop(h, &t, HK_STAT_prof_malloc_n);
    } else {
        hk_timer_t t = hk_timer_start(hk_prof_sampled(h, ctr->class_alloc[cls] + 1));
        bool miss = h->bins[cls].head == NULL;
        p = class_pop(h, cls);
        if (p == NULL) return NULL;
        ctr = h->ctr; /* a refill may have moved an unslotted thread's counters */
        hk_timer_stop(h, &t, HK_STAT_prof_malloc_n);
        if (miss) ctr->c[HK_STAT_fast_miss]++;
        ctr->class_alloc[cls]++;
    }
    ctr->c[HK_STAT_bytes] += size;
    if (hk_unlikely(ctr->c[HK_STAT_bytes] >= h->site_next)) {
        uint32_t at = size > HK_SMALL_MAX ? HK_NCLASSES : cls;
        void *q = hk_site_sample(h, ra, size, p, at);
        if (q != p) { /* followed in a stand-in: p goes back, as a free would put it */
            hk_bin_push(&h->bins[cls], p);
            p = q;
        }
    }
    return p;
}

void *hk_tcache_malloc_class(hk_heap_t *h, uint32_t cls, size_t size, void *ra)
{
    HK_ENTER();
    if (hk_unlikely(h == &hk_heap_empty)) h = hk_heap_acquire();
    void *p = heap_malloc(h, cls, size, ra);
    hk_heap_release(h);
    HK_LEAVE();
    return p;
}

/* Everything the inline path does not serve: a cache miss, a size above HK_TINY_MAX
 * (whose class is a few instructions to compute), a large block, no heap yet. */
HK_NOINLINE void *hk_tcache_malloc_slow(hk_heap_t *h, size_t size, void *ra)
{
    uint32_t cls = size <= HK_SMALL_MAX ? hk_size_class(size) : 0;
    return hk_tcache_malloc_class(h, cls, size, ra);
}

/* The inline path without its profiling test, for prof.c to time. Only inline hits
 * are handed to prof.c (the slow paths time themselves), so size <= HK_TINY_MAX. */
void *hk_tcache_malloc_unsampled(size_t size, void *ra)
{
    return hk_malloc_inline(size, false, ra, hk_tcache_malloc_slow);
}

/* The malloc fast path's event test fired (tcache.h): this call is timed, samples its
 * site, or both, or (a threshold moved since it was set) neither. The bin has a block. */
HK_NOINLINE void *hk_malloc_event(hk_heap_t *h, size_t size, void *ra)
{
    bool timed = hk_prof_malloc_due(h, h->ctr->c[HK_STAT_bytes] + size);
    void *p = timed ? hk_prof_malloc(size, ra) : hk_tcache_malloc_unsampled(size, ra);
    hk_heap_rearm_events(h);
    return p;
}

/* A chain of n blocks of class cls back to their slabs. */
static void chain_to_slabs(hk_heap_t *h, uint32_t cls, hk_block_t *b, uint32_t n)
{
    h->mem->class_held[cls] -= n;
    while (b) {
        hk_block_t *next = b->next;
        hk_slab_put(h, hk_page_of(hk_segment_of(b), b), b);
        b = next;
    }
}

/* A full bin keeps its `keep` most recent blocks. The rest were freed moments ago and
 * are still in cache, so cutting them off costs little; they become the class's stash
 * if that is empty (the next refill takes them back whole), else go to their slabs. */
void hk_tcache_drain(hk_heap_t *h, uint32_t cls, uint32_t keep)
{
    hk_bin_t *bin = &h->bins[cls];
    hk_assert(keep <= bin->count);
    uint32_t n = bin->count - keep;
    if (n == 0) return;
    hk_block_t *rest = bin->head;
    if (keep) {
        hk_block_t *last = bin->head;
        for (uint32_t i = 1; i < keep; i++)
            last = last->next;
        rest = last->next;
        last->next = NULL;
    } else {
        bin->head = NULL;
    }
    hk_assert(hk_check_chain(h, cls, rest, n));
    bin->count = keep;
    hk_bin_t *stash = h->stash[cls];
    uint32_t i = 0;
    while (i < HK_STASH_CHAINS && stash[i].count)
        i++;
    if (i < HK_STASH_CHAINS && keep) {
        stash[i].head = rest;
        stash[i].count = n;
    } else {
        chain_to_slabs(h, cls, rest, n);
    }
    h->ctr->c[HK_STAT_drains]++;
    h->ctr->c[HK_STAT_drain_blocks] += n;
}

/* Everything cached goes back to the slabs (heap.c:hk_heap_teardown). */
void hk_tcache_flush(hk_heap_t *h)
{
    for (uint32_t cls = 0; cls < HK_NCLASSES; cls++) {
        if (h->bins[cls].count) hk_tcache_drain(h, cls, 0);
        for (uint32_t i = 0; i < HK_STASH_CHAINS; i++) {
            hk_assert(hk_check_chain(h, cls, h->stash[cls][i].head, h->stash[cls][i].count));
            chain_to_slabs(h, cls, h->stash[cls][i].head, h->stash[cls][i].count);
            h->stash[cls][i] = (hk_bin_t){0};
        }
    }
}

static void count_free(hk_heap_t *h, uint32_t cls)
{
    h->ctr->c[HK_STAT_free_slow]++;
    h->ctr->class_free[cls]++;
}

void hk_tcache_free_slow(void *p)
{
    HK_ENTER();
    int saved_errno = errno;
    hk_segment_t *seg = hk_segment_of(p);
    hk_page_t *pg = hk_page_of(seg, p);
    hk_heap_t *h = hk_tls;
    if (h == &hk_heap_empty) h = hk_heap_acquire();

    if (seg->kind == HK_SEG_LARGE) {
        hk_timer_t t = hk_timer_start(hk_prof_sampled(h, h->ctr->c[HK_STAT_large_free] + 1));
        hk_large_free(h, seg);
        hk_timer_stop(h, &t, HK_STAT_prof_free_n);
    } else {
        uint32_t cls = pg->cls;
        hk_timer_t t = hk_timer_start(hk_prof_sampled(h, h->ctr->class_free[cls] + 1));
        bool remote = pg->heap != h;
        if (!remote) {
            /* Our own block and a full bin: make room for half a bin, then cache it. */
            hk_bin_t *bin = &h->bins[cls];
            hk_assert(hk_check_block(h, cls, p));
            if (bin->count >= bin->max) hk_tcache_drain(h, cls, bin->max / 2);
            hk_bin_push(bin, p);
        } else {
            hk_remote_push(h, pg->heap, cls, p);
            if (h == &hk_heap_global) hk_remote_flush(h); /* it keeps nothing pending */
            h->ctr->c[HK_STAT_remote_free]++;
        }
        uint64_t t1 = hk_timer_stop(h, &t, HK_STAT_prof_free_n);
        if (t.on && remote) hk_prof_record(h, HK_STAT_prof_remote_n, t.t0, t1);
        count_free(h, cls);
    }

    hk_heap_release(h);
    errno = saved_errno;
    HK_LEAVE();
}
