/* sitetab.c: the process-wide table of sampled call stacks (hakmem_stats.h) and the
 * blocks it follows until they are freed. Runs only on a sample or on the free of a
 * sampled block, never on a fast path, under sites_lock (taken after hk_heaps_lock when
 * both are held, and by prefork). A sampled block is served from a large-style mapping
 * of its own whose header records it, so its free reaches hk_large_free without the free
 * fast path testing anything; the mappings come from the heap's cache of freed large
 * mappings, so a sample rarely costs a system call. Allocates nothing. */
#include "config.h"

#include <sched.h>
#include <stddef.h>
#include <string.h>

#include "internal.h"
#include "lock.h"
#include "prof.h"

static hk_lock_t sites_lock = HK_LOCK_INIT;
static hk_stat_sitetab_t local_tab; /* without a segment, and while a fork child moves */
static hk_stat_sitetab_t *tab = &local_tab;
/* Records of tab->t not in use: free_rec[0..nfree), then every index from `fresh` on. */
static uint16_t free_rec[HK_SITE_TRACKED_MAX];
static uint32_t nfree, fresh;
static uint64_t rec_weight[HK_SITE_TRACKED_MAX]; /* each record's estimated bytes */
static bool no_unwind;        /* a torn fork child: an interrupted walk left its state */
static bool inherited;        /* local_tab holds a fork child's inherited table */
static uint32_t entries_used; /* entries are given out first free first: e[0..this) */

/* Copy what a table holds: its head, the entries given out and the records ever used
 * (a fork child copies twice, so it copies no more than the process used). */
static void tab_copy(hk_stat_sitetab_t *dst, const hk_stat_sitetab_t *src)
{
    memcpy(dst, src, offsetof(hk_stat_sitetab_t, e));
    memcpy(dst->e, src->e, sizeof(src->e[0]) * entries_used);
    memcpy(dst->t, src->t, sizeof(src->t[0]) * fresh);
}

_Static_assert(HK_SITE_TRACKED_MAX <= 65536, "record indices are 16 bits");

size_t hk_site_table_size(void)
{
    return sizeof(hk_stat_sitetab_t);
}

static void tab_gen_begin(void)
{
    __atomic_store_n(&tab->gen, tab->gen + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
}

static void tab_gen_end(void)
{
    __atomic_store_n(&tab->gen, tab->gen + 1, __ATOMIC_RELEASE);
}

static void tab_init(hk_stat_sitetab_t *t)
{
    t->nentries = HK_SITE_ENTRIES;
    t->nframes = HK_SITE_FRAMES;
    t->nlife = HK_SITE_LIFE;
    t->ntracked = HK_SITE_TRACKED_MAX;
}

/* Use the table at hd->sitetab_offset (a new segment). What the table held so far (a
 * fork child's inheritance, moved aside by hk_site_fork_child) goes with it, so that the
 * blocks it still follows are found at their free. */
void hk_site_attach(hk_stats_header_t *hd)
{
    tab_init(&local_tab);
    if (hd == NULL || hd->sitetab_offset == 0) return;
    hk_stat_sitetab_t *t = (hk_stat_sitetab_t *)((char *)hd + hd->sitetab_offset);
    if (inherited) tab_copy(t, &local_tab); /* else it is all zero, as the file */
    inherited = false;
    t->gen = 0;
    tab_init(t);
    tab = t;
}

/* ---------------------------------------------------------------------------------------
 * Lifetimes and weights
 * ------------------------------------------------------------------------------------- */
/* Log-4 bucket of a lifetime in TSC ticks. */
static uint32_t life_bucket(uint64_t ticks)
{
    uint64_t hz = hk_stats_header->tsc_hz ? hk_stats_header->tsc_hz : hk_prof_tsc_hz();
    if (hz == 0) hz = 2000000000u; /* the first 50 ms, before the rate is measured */
    uint64_t us = ticks / (hz / 1000000u ? hz / 1000000u : 1);
    uint32_t b = 0;
    while (us >= 4 && b < HK_SITE_LIFE - 1) {
        us >>= 2;
        b++;
    }
    return b;
}

/* e^-x for x >= 0, within 1e-9 relative: halve x until small, a Taylor series, square. */
static double exp_neg(double x)
{
    int k = 0;
    for (; x > 0.125 && k < 60; k++)
        x *= 0.5;
    double y = 1 - x * (1 - x / 2 * (1 - x / 3 * (1 - x / 4 * (1 - x / 5 * (1 - x / 6)))));
    while (k-- > 0)
        y *= y;
    return y;
}

/* Bytes a sample of a block of `size` stands for. Each byte is sampled at rate 1/period
 * (site.c), so the block is sampled with chance 1 - e^(-size/period): dividing its size
 * by that chance gives an unbiased estimate of the bytes of all such blocks. */
static uint64_t weight_bytes(uint64_t size)
{
    double period = (double)hk_opt.site_sample, s = size ? (double)size : 1;
    if (period <= 0) return size;
    double x = s / period; /* 1 - e^-x: its series while the fourth term is below 1e-9 */
    double p = x < 0.01 ? x * (1 - x / 2 * (1 - x / 3)) : 1 - exp_neg(x);
    return (uint64_t)(s / p + 0.5);
}

static uint64_t weight_allocs(uint64_t size, uint64_t wbytes)
{
    uint64_t w = size ? (wbytes + size / 2) / size : wbytes;
    return w ? w : 1;
}

/* ---------------------------------------------------------------------------------------
 * Entries
 * ------------------------------------------------------------------------------------- */
/* The entry of this stack, made if need be: a free one, else the one with the fewest
 * samples among those that follow no live block (whose records would point at the new
 * stack). NULL when every entry still follows blocks. */
static hk_stat_sitent_t *entry_for(void *const *frames, uint32_t depth)
{
    hk_stat_sitent_t *victim = NULL;
    for (uint32_t i = 0; i < HK_SITE_ENTRIES; i++) {
        hk_stat_sitent_t *e = &tab->e[i];
        if (e->depth == depth && e->frames[0] == (uint64_t)(uintptr_t)frames[0]) {
            uint32_t d = 1;
            while (d < depth && e->frames[d] == (uint64_t)(uintptr_t)frames[d])
                d++;
            if (d == depth) return e;
        }
        if (e->depth == 0) {
            if (victim == NULL || victim->depth) victim = e;
        } else if (e->live_blocks == 0 &&
                   (victim == NULL || (victim->depth && e->samples < victim->samples))) {
            victim = e;
        }
    }
    if (victim == NULL) return NULL;
    uint32_t epoch = victim->epoch + 1;
    memset(victim, 0, sizeof(*victim));
    victim->epoch = epoch;
    if ((uint32_t)(victim - tab->e) >= entries_used) entries_used = (uint32_t)(victim - tab->e) + 1;
    victim->depth = depth;
    for (uint32_t d = 0; d < depth; d++)
        victim->frames[d] = (uint64_t)(uintptr_t)frames[d];
    victim->first_tsc = hk_tsc_begin();
    return victim;
}

static int record_take(void)
{
    if (nfree) return free_rec[--nfree];
    if (fresh < HK_SITE_TRACKED_MAX) return (int)fresh++;
    return -1;
}

/* Alignment a stand-in block must keep for class `cls`: blocks of a class sit at
 * multiples of the class size's lowest set bit (malloc.c:hk_malloc_aligned relies on it). */
static size_t class_align(uint32_t cls)
{
    size_t sz = hk_class_size[cls], low = sz & (~sz + 1);
    return low > HK_OS_PAGE ? low : HK_OS_PAGE;
}

/* A stand-in for a sampled small block of class `cls`: a mapping of its own, taken before
 * sites_lock (a map may be a system call). NULL when none can be had. */
static void *stand_in(hk_heap_t *h, size_t size, uint32_t cls)
{
    return hk_large_alloc_stand_in(h, size, class_align(cls)); /* counted in its class */
}

/* Whether this sample is followed. Below HK_SITE_TRACK_PERIOD bytes between samples, a
 * sample is followed with chance period / HK_SITE_TRACK_PERIOD (and stands for that many
 * times more live bytes), so a dense sampling period does not make every allocation a
 * mapping of its own, while live figures stay unbiased. Returns the weight factor, 0 =
 * not followed. */
static uint64_t track_factor(hk_heap_t *h)
{
    uint64_t period = hk_opt.site_sample;
    if (period >= HK_SITE_TRACK_PERIOD) return 1;
    uint64_t factor = HK_SITE_TRACK_PERIOD / period;
    return hk_rand(&h->rng) % factor == 0 ? factor : 0;
}

/* Record a sample of `size` bytes at the stack frames[0..depth), and follow the block
 * when it is to be and a record is free: returns the block to hand out (a stand-in for p
 * when p is a small block, p itself when large), or p untracked. */
static void *tab_sample(hk_heap_t *h, void *const *frames, uint32_t depth, void *p, size_t size,
                        uint32_t cls)
{
    uint64_t wb = weight_bytes(size), wa = weight_allocs(size, wb), now = hk_tsc_begin();
    uint64_t factor = track_factor(h);
    bool follow = factor && __atomic_load_n(&tab->tracked, __ATOMIC_RELAXED) < HK_SITE_TRACKED_MAX;
    void *q = !follow ? NULL : cls < HK_NCLASSES ? stand_in(h, size, cls) : p;
    hk_lock(&sites_lock);
    tab_gen_begin();
    hk_stat_sitent_t *e = entry_for(frames, depth);
    int rec = e && q ? record_take() : -1;
    if (e == NULL) {
        tab->dropped++;
    } else {
        e->samples++;
        e->est_allocs += wa;
        e->bytes += size;
        e->est_bytes += wb;
        e->last_tsc = now;
        if (rec < 0) {
            e->untracked++;
            tab->untracked++;
        } else {
            hk_segment_t *seg = hk_segment_of(q);
            seg->track = (uint32_t)rec + 1;
            seg->track_cls = cls;
            tab->t[rec] = (hk_stat_tracked_t){
                .tsc = now, .entry = (uint32_t)(e - tab->e) + 1, .epoch = e->epoch, .size = size};
            rec_weight[rec] = wb * factor;
            tab->tracked++;
            e->live_blocks++;
            e->live_bytes += size;
            e->est_live_blocks += wa * factor;
            e->est_live_bytes += wb * factor;
        }
    }
    tab_gen_end();
    hk_unlock(&sites_lock);
    if (rec >= 0) return q;
    if (q && q != p) hk_large_discard(h, hk_segment_of(q)); /* not followed after all */
    return p;
}

/* A fork must not happen while a thread walks its stack: a walk may hold the loader's
 * lock (dl_iterate_phdr, every HK_UNWIND_RECHECK walks, or at each lookup before glibc
 * 2.35), which the child would inherit held, and glibc's fork does not release it. So a
 * walk holds one of the walk slots, which names its thread, and prefork, before it takes
 * any lock of ours (a walker may wait for the loader's lock held by a thread that
 * allocates), raises `forking` and waits until no slot names another thread; a walk
 * claims its slot before it looks at `forking`, so none starts meanwhile. The slot is one
 * word taken and given back by single atomic instructions, so a fork from a signal
 * handler on this thread, at any point, sees its own walk exactly: it does not wait for
 * itself, and makes a torn child, which never walks. A walk that finds every slot taken
 * records the caller alone.
 *
 * The forking thread may itself hold the loader's lock that a walker waits for: a fork
 * from a signal handler that interrupted its own walk, or any dl_iterate_phdr. So a fork
 * from inside the allocator (a torn child) does not wait at all, and any other fork
 * waits at most WALK_WAIT_MS. The child's own walks never take the loader's lock
 * (hk_unwind_fork_child), so a lock left held stops only the child's own calls of it. */
#define WALK_SLOTS   64
#define WALK_WAIT_MS 1000 /* a walk takes microseconds, unless it is stuck */
static _Atomic uint32_t walk_slot[WALK_SLOTS], forking; /* a slot: its walker's tid, or 0 */

static int walk(hk_heap_t *h, const hk_unwind_ctx_t *at, void **frames, void *ra)
{
    uint32_t me = hk_lock_self();
    for (uint32_t k = 0; k < WALK_SLOTS; k++) {
        _Atomic uint32_t *slot = &walk_slot[(me + k) % WALK_SLOTS];
        uint32_t free_word = 0;
        if (!atomic_compare_exchange_strong(slot, &free_word, me)) continue;
        int depth = 0;
        if (atomic_load(&forking) == 0 && !no_unwind)
            depth = hk_unwind_from(&h->unwind, at, frames, HK_SITE_FRAMES, ra);
        atomic_store(slot, 0);
        return depth;
    }
    return 0;
}

void hk_site_fork_prepare(void)
{
    atomic_fetch_add(&forking, 1);
    if (hk_inside) return; /* a torn child: it never walks, whatever the others hold */
    uint32_t me = hk_lock_self();
    uint64_t give_up = 0;
    for (int i = 0; i < WALK_SLOTS; i++)
        for (uint32_t w; (w = atomic_load(&walk_slot[i])) != 0 && w != me;) {
            uint64_t now = hk_util_now_ms();
            if (give_up == 0) give_up = now + WALK_WAIT_MS;
            if (now > give_up) return;
            sched_yield();
        }
}

void hk_site_fork_parent(void)
{
    atomic_fetch_sub(&forking, 1);
}

/* p (of class cls, or HK_NCLASSES when large) was sampled: record its stack; returns the
 * block to hand out. The global heap's callers hold hk_heaps_lock, under which the walk
 * (which may take the loader's lock) is not made: their stack is the caller alone. */
void *hk_site_record(hk_heap_t *h, const hk_unwind_ctx_t *at, void *ra, size_t size, void *p,
                     uint32_t cls)
{
    void *frames[HK_SITE_FRAMES];
    int depth = 0;
    if (!no_unwind && h != &hk_heap_global) depth = walk(h, at, frames, ra);
    if (depth <= 0) {
        frames[0] = ra;
        depth = 1;
    }
    return tab_sample(h, frames, (uint32_t)depth, p, size, cls);
}

/* A tracked block is being freed (large.c): off its stack's live figures, its lifetime
 * into the histograms. Its record may be stale (a torn fork child reset the table). */
void hk_site_freed(hk_segment_t *seg)
{
    uint32_t rec = seg->track - 1, cls = seg->track_cls;
    seg->track = 0;
    if (rec >= HK_SITE_TRACKED_MAX) return;
    uint64_t now = hk_tsc_begin();
    hk_lock(&sites_lock);
    hk_stat_tracked_t r = tab->t[rec];
    if (r.entry != 0) {
        tab_gen_begin();
        uint32_t b = life_bucket(now > r.tsc ? now - r.tsc : 0);
        if (cls < HK_NCLASSES)
            tab->class_life[cls][b]++;
        else
            tab->large_life[b]++;
        hk_stat_sitent_t *e = r.entry <= HK_SITE_ENTRIES ? &tab->e[r.entry - 1] : NULL;
        if (e && e->epoch == r.epoch && e->live_blocks) {
            uint64_t wb = rec_weight[rec], wa = weight_allocs(r.size, wb);
            e->live_blocks--;
            e->live_bytes -= r.size < e->live_bytes ? r.size : e->live_bytes;
            e->est_live_blocks -= wa < e->est_live_blocks ? wa : e->est_live_blocks;
            e->est_live_bytes -= wb < e->est_live_bytes ? wb : e->est_live_bytes;
            e->freed++;
            e->life[b]++;
        }
        tab->t[rec] = (hk_stat_tracked_t){0};
        tab->tracked--;
        free_rec[nfree++] = (uint16_t)rec;
        tab_gen_end();
    }
    hk_unlock(&sites_lock);
}

/* A followed large block that realloc resized: its record and its stack's live figures
 * take the new size; the sample keeps its weight. */
void hk_site_resized(hk_segment_t *seg, size_t size)
{
    uint32_t rec = seg->track - 1;
    if (rec >= HK_SITE_TRACKED_MAX) return;
    hk_lock(&sites_lock);
    hk_stat_tracked_t *r = &tab->t[rec];
    if (r->entry != 0) {
        tab_gen_begin();
        hk_stat_sitent_t *e = r->entry <= HK_SITE_ENTRIES ? &tab->e[r->entry - 1] : NULL;
        if (e && e->epoch == r->epoch && e->live_blocks) {
            /* hk_site_freed takes off what the block's size gives then */
            uint64_t wb = rec_weight[rec], before = weight_allocs(r->size, wb);
            e->live_bytes -= r->size < e->live_bytes ? r->size : e->live_bytes;
            e->live_bytes += size;
            e->est_live_blocks -= before < e->est_live_blocks ? before : e->est_live_blocks;
            e->est_live_blocks += weight_allocs(size, wb);
        }
        r->size = size;
        tab_gen_end();
    }
    hk_unlock(&sites_lock);
}

/* ---------------------------------------------------------------------------------------
 * Fork
 * ------------------------------------------------------------------------------------- */
void hk_site_lock(void)
{
    hk_lock(&sites_lock);
}

void hk_site_unlock(void)
{
    hk_unlock(&sites_lock);
}

bool hk_site_lock_held_by_me(void)
{
    return hk_lock_held_by_me(&sites_lock);
}

/* Before the child leaves its parent's segment: the table moves aside (hk_site_attach
 * puts it into the child's own segment), so the blocks the child inherited are still
 * known at their free. A torn child (forked from a signal handler inside the allocator)
 * may have interrupted an update: it starts from an empty table, and never walks a
 * stack again, since the walk it interrupted may have left its state half-written; its
 * samples are counted but not followed. */
void hk_site_fork_child(bool torn)
{
    hk_lock_reset(&sites_lock);
    for (int i = 0; i < WALK_SLOTS; i++)
        atomic_store(&walk_slot[i], 0); /* an interrupted walk in this child frees its own */
    atomic_store(&forking, 0);
    if (torn) {
        /* The records are gone, so no block is followed again: a record given out anew
         * could be claimed by the free of an inherited block that still names it. */
        memset(&local_tab, 0, offsetof(hk_stat_sitetab_t, e)); /* and what tab_copy reads */
        memset(local_tab.e, 0, sizeof(local_tab.e[0]) * entries_used);
        memset(local_tab.t, 0, sizeof(local_tab.t[0]) * fresh);
        entries_used = 0;
        nfree = 0;
        fresh = HK_SITE_TRACKED_MAX;
        no_unwind = true;
    } else if (tab != &local_tab) {
        tab_copy(&local_tab, tab);
        inherited = true;
    }
    tab = &local_tab;
    tab_init(tab);
}
