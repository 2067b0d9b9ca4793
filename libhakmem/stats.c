/* stats.c: where each thread's counters live. A thread counts into its own slot of the
 * stats segment; with no segment, or no free slot, into its heap. When a thread exits
 * its counts are folded into the header's `retired` totals, so nothing is ever lost.
 * The owner's fast path only ever does plain increments through h->ctr. */
#include "config.h"

#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "lock.h"

/* The header in force: the segment's, or this private one when there is no segment. */
static hk_stats_header_t local_header;
hk_stats_header_t *hk_stats_header = &local_header;
static hk_lock_t stats_lock = HK_LOCK_INIT;

static void counters_add(hk_stat_counters_t *dst, const hk_stat_counters_t *src)
{
    for (int i = 0; i < HK_STAT_NCOUNTERS; i++)
        dst->c[i] += src->c[i];
    for (int i = 0; i < HK_NCLASSES; i++) {
        dst->class_alloc[i] += src->class_alloc[i];
        dst->class_free[i] += src->class_free[i];
    }
}

static hk_stat_slot_t *slots(void)
{
    return (hk_stat_slot_t *)((char *)hk_stats_header + hk_stats_header->slot_offset);
}

/* Writers bracket a change with these so a reader can tell it raced one. */
static void gen_begin(uint64_t *gen)
{
    __atomic_store_n(gen, *gen + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
}

static void gen_end(uint64_t *gen)
{
    __atomic_store_n(gen, *gen + 1, __ATOMIC_RELEASE);
}

static uint64_t realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---------------------------------------------------------------------------------------
 * Spill blocks: a thread that finds every slot taken counts into a block of the segment
 * all the same, so readers see its counts at every moment, idle or not. Blocks come
 * in chunks of HK_STATS_SPILL_CHUNK, mapped as the file grows; their addresses are kept
 * here (the file's blocks are contiguous, the mappings need not be). Caller holds
 * stats_lock.
 * ------------------------------------------------------------------------------------- */
#define SPILL_CHUNKS (HK_STATS_SPILL_MAX / HK_STATS_SPILL_CHUNK)
#define SPILL_BYTES  (HK_STATS_SPILL_CHUNK * sizeof(hk_stat_spill_t))
_Static_assert(SPILL_BYTES % 4096 == 0, "chunks keep the file a whole number of pages");
static hk_stat_spill_t *spill_chunk[SPILL_CHUNKS];

static hk_stat_spill_t *spill_at(uint32_t i)
{
    return &spill_chunk[i / HK_STATS_SPILL_CHUNK][i % HK_STATS_SPILL_CHUNK];
}

/* A free block (marked live, its gen left odd), growing the file when none is; or
 * HK_NO_SLOT when the file cannot grow (the thread then publishes at refills). */
static uint32_t spill_take(void)
{
    hk_stats_header_t *hd = hk_stats_header;
    if (hd == &local_header) return HK_NO_SLOT;
    uint32_t n = hd->spill_count, i = 0;
    while (i < n && spill_at(i)->state != HK_SLOT_FREE)
        i++;
    if (i == n) {
        if (n >= HK_STATS_SPILL_MAX) return HK_NO_SLOT;
        hk_stat_spill_t *chunk = hk_shm_grow(SPILL_BYTES); /* zeroed: every block free */
        if (chunk == NULL) return HK_NO_SLOT;
        spill_chunk[n / HK_STATS_SPILL_CHUNK] = chunk;
        __atomic_store_n(&hd->spill_count, n + HK_STATS_SPILL_CHUNK, __ATOMIC_RELEASE);
    }
    hk_stat_spill_t *b = spill_at(i);
    gen_begin(&b->gen);
    b->state = HK_SLOT_LIVE;
    return i;
}

/* The chunks belong to the parent's file in a fork child: let them go. */
static void spill_forget(void)
{
    for (uint32_t c = 0; c < SPILL_CHUNKS && spill_chunk[c]; c++) {
        munmap(spill_chunk[c], SPILL_BYTES);
        spill_chunk[c] = NULL;
    }
}

/* ---------------------------------------------------------------------------------------
 * Thread start and end
 * ------------------------------------------------------------------------------------- */
static void counters_point_home(hk_heap_t *h)
{
    h->ctr = &h->own;
    h->mem = &h->own_mem;
    h->slot = h->spill = HK_NO_SLOT;
    h->sites = h->own_sites;
    h->sites_gen = &h->own_sites_gen;
}

/* Only finding and marking a free slot (or spill block) happens under the lock; the slot
 * is filled in afterwards, while its odd generation tells readers to look again. A
 * heap's own counters are zero here: whatever is done for an abandoned heap is counted
 * by the thread doing it (heap.c:hk_heap_abandoned_collect). */
void hk_stats_thread_start(hk_heap_t *h, bool adopted)
{
    uint64_t tid = (uint64_t)syscall(SYS_gettid), now = realtime_ns();
    hk_stat_slot_t *s = slots(), *mine = NULL;
    hk_stat_spill_t *spill = NULL;
    counters_point_home(h);
    hk_lock(&stats_lock);
    hk_stats_header_t *hd = hk_stats_header;
    for (uint32_t i = 0; i < hd->nslots; i++) {
        if (s[i].state != HK_SLOT_FREE) continue;
        gen_begin(&s[i].gen);
        s[i].state = HK_SLOT_LIVE;
        h->slot = i;
        mine = &s[i];
        break;
    }
    if (mine == NULL) {
        hd->unslotted++;
        if ((h->spill = spill_take()) != HK_NO_SLOT) spill = spill_at(h->spill);
    }
    /* Single words that only grow: no need to make readers retry (retired_gen). */
    __atomic_store_n(&hd->threads_started, hd->threads_started + 1, __ATOMIC_RELAXED);
    __atomic_store_n(&hd->heaps_adopted, hd->heaps_adopted + adopted, __ATOMIC_RELAXED);
    hk_unlock(&stats_lock);
    if (mine) {
        mine->tid = tid;
        mine->start_ns = now;
        /* The name now, while the thread lives: a reader may come after it is gone. */
        char name[16] = "";
        prctl(PR_GET_NAME, name);
        memcpy(mine->name, name, sizeof(mine->name));
        h->ctr = &mine->ctr; /* zeroed when its last thread gave it back */
        h->mem = &mine->mem;
        hk_site_heap_start(h, mine->sites, &mine->sites_gen);
        gen_end(&mine->gen);
    } else {
        if (spill) {
            h->ctr = &spill->ctr;
            h->mem = &spill->mem;
            gen_end(&spill->gen);
        }
        hk_site_heap_start(h, h->own_sites, &h->own_sites_gen);
    }
    hk_prof_heap_start(h);
}

static void mem_add(hk_stat_mem_t *dst, const hk_stat_mem_t *src)
{
    for (int i = 0; i < HK_NCLASSES; i++) {
        dst->class_slabs[i] += src->class_slabs[i];
        dst->class_held[i] += src->class_held[i];
    }
}

/* Fold a thread's counts into the totals. With `release`, the thread is gone and its
 * slot (or spill block) becomes free; without, a thread that has neither just
 * publishes what it has so far. */
static void fold(hk_heap_t *h, bool release)
{
    hk_lock(&stats_lock);
    hk_stats_header_t *hd = hk_stats_header;
    uint64_t bytes = h->ctr->c[HK_STAT_bytes];
    uint64_t *gen = h->slot != HK_NO_SLOT    ? &slots()[h->slot].gen
                    : h->spill != HK_NO_SLOT ? &spill_at(h->spill)->gen
                                             : NULL;
    uint64_t *state = h->slot != HK_NO_SLOT    ? &slots()[h->slot].state
                      : h->spill != HK_NO_SLOT ? &spill_at(h->spill)->state
                                               : NULL;
    gen_begin(&hd->retired_gen);
    counters_add(&hd->retired, h->ctr);
    mem_add(&hd->retired_mem, h->mem);
    if (gen) gen_begin(gen);
    memset(h->ctr, 0, sizeof(*h->ctr));
    memset(h->mem, 0, sizeof(*h->mem));
    if (release) {
        if (state) *state = HK_SLOT_FREE;
        if (h->slot == HK_NO_SLOT) hd->unslotted--;
        hd->threads_exited++;
    }
    if (gen) gen_end(gen);
    gen_end(&hd->retired_gen);
    hk_unlock(&stats_lock);
    /* The site and profiling thresholds count in this thread's bytes, which just went back
     * to 0. */
    if (h->site_next != UINT64_MAX) h->site_next = h->site_next > bytes ? h->site_next - bytes : 0;
    h->prof_next = h->prof_next > bytes ? h->prof_next - bytes : 0;
    hk_heap_rearm_events(h);
    if (release) counters_point_home(h);
}

void hk_stats_thread_end(hk_heap_t *h)
{
    fold(h, true);
}

/* A thread with neither a slot nor a spill block (the file could not grow) would be
 * invisible to readers until it exits; it publishes its counts on every refill instead. */
void hk_stats_publish_unslotted(hk_heap_t *h)
{
    if (h->slot == HK_NO_SLOT && h->spill == HK_NO_SLOT && hk_stats_header != &local_header)
        fold(h, false);
}

/* Counts made for a heap no thread runs go to the totals at once, stats on or off. */
void hk_stats_publish_idle(hk_heap_t *h)
{
    fold(h, false);
}

/* Sum of exited threads, live threads and the global heap. Live threads keep counting
 * while this runs, so the sum is exact only once they stop. */
void hk_stats_totals(hk_stat_counters_t *out)
{
    hk_lock(&stats_lock);
    *out = hk_stats_header->retired;
    hk_unlock(&stats_lock);
    for (hk_heap_t *h = hk_heaps_first(); h; h = h->next_all)
        if (!h->abandoned) counters_add(out, h->ctr);
    counters_add(out, hk_heap_global.ctr);
}

/* At exit: the final totals, for the retired record a watcher of the parent reads. */
void hk_stats_retire(void)
{
    if (hk_stats_header == &local_header) return;
    hk_stat_counters_t total;
    hk_stats_totals(&total);
    hk_shm_retire(&total);
}

/* ---------------------------------------------------------------------------------------
 * Process start and fork
 * ------------------------------------------------------------------------------------- */
void hk_stats_init(void)
{
    for (uint32_t c = 0; c < HK_NCLASSES; c++) {
        local_header.class_size[c] = hk_class_size[c];
        local_header.class_slab_blocks[c] = hk_class_slab_blocks(c);
    }
    local_header.slot_offset = sizeof(local_header); /* no slots: nslots is 0 */
    hk_stats_header_t *seg = hk_shm_create(true);
    if (seg) hk_stats_header = seg;
    hk_site_attach(seg);
    __atomic_store_n(&hk_stats_header->control, hk_opt.profile_sample, __ATOMIC_RELAXED);
    hk_stats_header->site_period = hk_opt.site_sample;
}

/* The child must not write into its parent's segment, which it shares: every heap
 * goes back to private counters (the child starts counting from zero), the child makes
 * a segment of its own, and the forking thread takes a slot in it. */
void hk_stats_lock(void)
{
    hk_lock(&stats_lock);
}

void hk_stats_unlock(void)
{
    hk_unlock(&stats_lock);
}

bool hk_stats_lock_held_by_me(void)
{
    return hk_lock_held_by_me(&stats_lock);
}

void hk_stats_after_fork_child(void)
{
    hk_lock_reset(&stats_lock);
    for (hk_heap_t *h = hk_heaps_first(); h; h = h->next_all) {
        memset(&h->own, 0, sizeof(h->own));
        memset(&h->own_mem, 0, sizeof(h->own_mem));
        counters_point_home(h);
    }
    memset(&hk_heap_global.own, 0, sizeof(hk_heap_global.own));
    memset(&hk_heap_global.own_mem, 0, sizeof(hk_heap_global.own_mem));
    uint64_t control = hk_stats_header->control;
    spill_forget();
    if (hk_stats_header != &local_header) hk_shm_detach(hk_stats_header);
    memset(&local_header.retired, 0, sizeof(local_header.retired));
    memset(&local_header.retired_mem, 0, sizeof(local_header.retired_mem));
    local_header.unslotted = local_header.threads_started = local_header.threads_exited = 0;
    local_header.heaps_adopted = 0;
    hk_stats_header = &local_header;
    hk_stats_header_t *seg = hk_shm_create(false);
    if (seg) hk_stats_header = seg;
    hk_site_attach(seg);
    hk_stats_header->control = control;
    hk_stats_header->site_period = hk_opt.site_sample;
    if (hk_tls != &hk_heap_empty) hk_stats_thread_start(hk_tls, false);
}
