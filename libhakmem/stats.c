/* stats.c: where each thread's counters live. A thread counts into its own slot of the
 * stats segment; with no segment, or no free slot, into its heap. When a thread exits
 * its counts are folded into the header's `retired` totals, so nothing is ever lost.
 * The owner's fast path only ever does plain increments through h->ctr. */
#include "config.h"

#include <string.h>
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
 * Thread start and end
 * ------------------------------------------------------------------------------------- */
/* Only finding and marking a free slot happens under the lock; the slot is filled in
 * afterwards, while its odd generation tells readers to look again. A heap's own
 * counters are zero here: whatever is done for an abandoned heap is counted by the
 * thread doing it (heap.c:hk_heap_abandoned_collect). */
void hk_stats_thread_start(hk_heap_t *h)
{
    uint64_t tid = (uint64_t)syscall(SYS_gettid), now = realtime_ns();
    hk_stat_slot_t *s = slots(), *mine = NULL;
    h->ctr = &h->own;
    h->slot = HK_NO_SLOT;
    hk_lock(&stats_lock);
    for (uint32_t i = 0; i < hk_stats_header->nslots; i++) {
        if (s[i].state != HK_SLOT_FREE) continue;
        gen_begin(&s[i].gen);
        s[i].state = HK_SLOT_LIVE;
        h->slot = i;
        mine = &s[i];
        break;
    }
    if (mine == NULL) hk_stats_header->unslotted++;
    hk_unlock(&stats_lock);
    if (mine) {
        mine->tid = tid;
        mine->start_ns = now;
        h->ctr = &mine->ctr; /* zeroed when its last thread gave it back */
        hk_site_heap_start(h, mine->sites, &mine->sites_gen);
        gen_end(&mine->gen);
    } else {
        hk_site_heap_start(h, h->own_sites, &h->own_sites_gen);
    }
    hk_prof_heap_start(h);
}

/* Fold a thread's counts into the totals. With `release`, the thread is gone and its
 * slot becomes free; without, an unslotted thread just publishes what it has so far. */
static void fold(hk_heap_t *h, bool release)
{
    hk_lock(&stats_lock);
    uint64_t bytes = h->ctr->c[HK_STAT_bytes];
    gen_begin(&hk_stats_header->retired_gen);
    counters_add(&hk_stats_header->retired, h->ctr);
    if (release && h->slot != HK_NO_SLOT) {
        hk_stat_slot_t *s = &slots()[h->slot];
        gen_begin(&s->gen);
        memset(h->ctr, 0, sizeof(*h->ctr));
        s->state = HK_SLOT_FREE;
        gen_end(&s->gen);
    } else {
        memset(h->ctr, 0, sizeof(*h->ctr));
        if (release) hk_stats_header->unslotted--;
    }
    gen_end(&hk_stats_header->retired_gen);
    hk_unlock(&stats_lock);
    /* The site threshold counts in this thread's bytes, which just went back to 0. */
    if (h->site_next != UINT64_MAX) h->site_next = h->site_next > bytes ? h->site_next - bytes : 0;
    if (release) {
        h->ctr = &h->own;
        h->slot = HK_NO_SLOT;
        h->sites = h->own_sites;
        h->sites_gen = &h->own_sites_gen;
    }
}

void hk_stats_thread_end(hk_heap_t *h)
{
    fold(h, true);
}

/* A thread without a slot would be invisible to readers until it exits; it publishes
 * its counts into the totals on every refill instead. */
void hk_stats_publish_unslotted(hk_heap_t *h)
{
    if (h->slot == HK_NO_SLOT && hk_stats_header != &local_header) fold(h, false);
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

/* ---------------------------------------------------------------------------------------
 * Process start and fork
 * ------------------------------------------------------------------------------------- */
void hk_stats_init(void)
{
    for (uint32_t c = 0; c < HK_NCLASSES; c++)
        local_header.class_size[c] = hk_class_size[c];
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
        h->ctr = &h->own;
        h->slot = HK_NO_SLOT;
        h->sites = h->own_sites;
        h->sites_gen = &h->own_sites_gen;
    }
    memset(&hk_heap_global.own, 0, sizeof(hk_heap_global.own));
    uint64_t control = hk_stats_header->control;
    if (hk_stats_header != &local_header) hk_shm_detach(hk_stats_header);
    memset(&local_header.retired, 0, sizeof(local_header.retired));
    local_header.unslotted = 0;
    hk_stats_header = &local_header;
    hk_stats_header_t *seg = hk_shm_create(false);
    if (seg) hk_stats_header = seg;
    hk_site_attach(seg);
    hk_stats_header->control = control;
    hk_stats_header->site_period = hk_opt.site_sample;
    if (hk_tls != &hk_heap_empty) hk_stats_thread_start(hk_tls);
}
