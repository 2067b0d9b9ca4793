/* snap.c: consistent snapshots of a segment, and the figures derived from them. */
#include "config.h"

#include "snap.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"

static const char *const known_names[] = {
#define HS_NAME(n, u, d) #n,
    HK_STAT_COUNTERS(HS_NAME)
#undef HS_NAME
};

int hs_snap_counter_pos(const hs_seg_t *seg, enum hk_stat_id id)
{
    /* The writer usually has the same list: check its own position first. */
    if ((uint32_t)id < seg->ncounters && strcmp(seg->desc[id].name, known_names[id]) == 0)
        return (int)id;
    for (uint32_t i = 0; i < seg->ncounters; i++)
        if (strcmp(seg->desc[i].name, known_names[id]) == 0) return (int)i;
    return -1;
}

bool hs_snap_is_gauge(const hs_seg_t *seg, uint32_t i)
{
    if (i >= seg->ncounters) return false;
    for (int id = 0; id < HK_STAT_NCOUNTERS; id++)
        if (strcmp(seg->desc[i].name, known_names[id]) == 0) return HS_STAT_IS_GAUGE(id);
    return false;
}

uint64_t hs_snap_get(const hs_seg_t *seg, const hs_counts_t *n, enum hk_stat_id id)
{
    int pos = hs_snap_counter_pos(seg, id);
    return pos < 0 ? 0 : n->c[pos];
}

/* The sum of a large-block counter and a per-class array, into the writer's word for
 * `total` (which writers of ABI 2 do not store). */
static void derive(const hs_seg_t *seg, hs_counts_t *n, enum hk_stat_id total,
                   enum hk_stat_id large, const uint64_t *per_class)
{
    int at = hs_snap_counter_pos(seg, total), from = hs_snap_counter_pos(seg, large);
    if (at >= 0) n->c[at] = (from < 0 ? 0 : n->c[from]) + hk_stats_class_sum(per_class);
}

/* Unpack counters laid out as the writer's hk_stat_counters_t: ncounters words, then
 * allocations and frees per class; the totals filled in. */
static void unpack(const hs_seg_t *seg, const unsigned char *p, hs_counts_t *n)
{
    memset(n, 0, sizeof(*n));
    memcpy(n->c, p, 8u * seg->ncounters);
    p += 8u * seg->ncounters;
    memcpy(n->class_alloc, p, 8u * seg->nclasses);
    memcpy(n->class_free, p + 8u * seg->nclasses, 8u * seg->nclasses);
    derive(seg, n, HK_STAT_malloc, HK_STAT_large_alloc, n->class_alloc);
    derive(seg, n, HK_STAT_free, HK_STAT_large_free, n->class_free);
}

static void counts_add(hs_counts_t *dst, const hs_counts_t *src)
{
    for (uint32_t i = 0; i < HS_MAX_COUNTERS; i++)
        dst->c[i] += src->c[i];
    for (int i = 0; i < HK_STATS_NCLASSES; i++) {
        dst->class_alloc[i] += src->class_alloc[i];
        dst->class_free[i] += src->class_free[i];
    }
}

static uint64_t word(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

/* The name /proc gives now, or (the thread gone, or not this process's) the one the
 * library kept in the slot when the thread took it. */
static void thread_name(pid_t pid, uint64_t tid, const char *kept, char *out, size_t len)
{
    char path[96];
    snprintf(path, sizeof(path), "/proc/%d/task/%llu/comm", (int)pid, (unsigned long long)tid);
    ssize_t n = hs_seg_read_proc(path, out, len);
    if (n <= 0) {
        n = (ssize_t)strnlen(kept, HK_STATS_NAME_LEN);
        if ((size_t)n >= len) n = (ssize_t)len - 1;
        memcpy(out, kept, (size_t)n);
    }
    out[n] = '\0';
    /* Names are the process's to choose: keep printable ASCII only. */
    for (ssize_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)out[i];
        if (ch == '\n')
            out[i] = '\0';
        else if (ch < 32 || ch > 126)
            out[i] = '?';
    }
}

/* Resident bytes of process pid: the second field of /proc/PID/statm, in pages. */
static uint64_t proc_rss(pid_t pid)
{
    char path[64], buf[256];
    snprintf(path, sizeof(path), "/proc/%d/statm", (int)pid);
    if (hs_seg_read_proc(path, buf, sizeof(buf)) <= 0) return 0;
    unsigned long long size, resident;
    if (sscanf(buf, "%llu %llu", &size, &resident) != 2) return 0;
    long page = sysconf(_SC_PAGESIZE);
    return (uint64_t)resident * (uint64_t)(page > 0 ? page : 4096);
}

#define SNAP_CHUNK       (64u << 10) /* bytes of slots per read */
#define SNAP_SLOT_TRIES  32          /* reads of one busy slot before it is left out */
#define SNAP_TOTAL_TRIES 8           /* passes before the totals are taken as they are */

_Static_assert(SNAP_CHUNK >= HS_SEG_MAX_SLOT_SIZE, "a chunk holds at least one slot");
_Static_assert(HS_SEG_MAX_HEADER <= SNAP_CHUNK, "the header fits a chunk buffer");
_Static_assert(SNAP_CHUNK >= HS_SEG_MAX_SPILL_SIZE, "a chunk holds at least one spill block");
_Static_assert(HS_SEG_MAX_SPILL_SIZE <= 2 * HS_SEG_MAX_SLOT_SIZE, "b has room for one retry");

static bool read_at(const hs_seg_t *seg, void *buf, size_t len, uint64_t off)
{
    return pread(seg->fd, buf, len, (off_t)off) == (ssize_t)len;
}

/* Whether two copies of a slot agree on its generations (slot, then sites): even and
 * equal means neither changed while the first copy was made. Sites alone failing is
 * reported apart: the counters are still good. */
enum { SLOT_OK, SLOT_SITES_BUSY, SLOT_BUSY };
static int slot_settled(const hs_seg_t *seg, const unsigned char *a, const unsigned char *b)
{
    uint64_t g = word(a + offsetof(hk_stat_slot_t, gen));
    if ((g & 1) || g != word(b + offsetof(hk_stat_slot_t, gen))) return SLOT_BUSY;
    if (seg->sites_offset && word(a + offsetof(hk_stat_slot_t, state)) == HK_SLOT_LIVE) {
        uint64_t sg = word(a + seg->sites_offset);
        if ((sg & 1) || sg != word(b + seg->sites_offset)) return SLOT_SITES_BUSY;
    }
    return SLOT_OK;
}

/* Retry one slot on its own until it settles: a copy, then only its two generation words
 * again (into the same places of b), so the window a writer can hit is one slot's read. */
static int slot_retry(const hs_seg_t *seg, uint64_t off, unsigned char *a, unsigned char *b)
{
    int best = SLOT_BUSY;
    size_t gen_at = offsetof(hk_stat_slot_t, gen);
    for (int i = 0; i < SNAP_SLOT_TRIES; i++) {
        if (!read_at(seg, a, seg->slot_size, off) || !read_at(seg, b + gen_at, 8, off + gen_at) ||
            (seg->sites_offset && !read_at(seg, b + seg->sites_offset, 8, off + seg->sites_offset)))
            return -1;
        int s = slot_settled(seg, a, b);
        if (s == SLOT_OK) return s;
        if (s == SLOT_SITES_BUSY) best = s; /* counters settled; keep trying for sites */
        if (i % 4 == 3) sched_yield();
    }
    /* The last copy's counters are good when only the sites kept moving. */
    return best;
}

static void mem_add_raw(hs_mem_t *dst, const unsigned char *p)
{
    hk_stat_mem_t m;
    memcpy(&m, p, sizeof(m));
    for (int c = 0; c < HK_STATS_NCLASSES; c++) {
        dst->slabs[c] += m.class_slabs[c];
        dst->held[c] += m.class_held[c];
    }
}

/* Where a field that follows the counters lies in the writer's slot or header. */
#define SLOT_TAIL(seg, field) ((size_t)((int64_t)offsetof(hk_stat_slot_t, field) + (seg)->shift))
#define HEAD_TAIL(seg, field) ((size_t)((int64_t)offsetof(hk_stats_header_t, field) + (seg)->shift))

static bool add_thread(hs_seg_t *seg, hs_snap_t *snap, uint32_t *cap, uint32_t slot,
                       const unsigned char *s, bool sites_busy)
{
    if (snap->nthreads == *cap) {
        uint32_t grown = *cap ? *cap * 2 : 16;
        if (grown > seg->nslots) grown = seg->nslots;
        hs_thread_t *t = realloc(snap->threads, grown * sizeof(*t));
        if (t == NULL) return false;
        snap->threads = t;
        *cap = grown;
    }
    hs_thread_t *t = &snap->threads[snap->nthreads++];
    memset(t, 0, sizeof(*t));
    t->slot = slot;
    t->gen = word(s + offsetof(hk_stat_slot_t, gen));
    t->tid = word(s + offsetof(hk_stat_slot_t, tid));
    t->start_ns = word(s + offsetof(hk_stat_slot_t, start_ns));
    unpack(seg, s + offsetof(hk_stat_slot_t, ctr), &t->n);
    t->sites_busy = sites_busy;
    if (seg->sites_offset && !sites_busy)
        memcpy(t->sites, s + seg->sites_offset + 8, sizeof(t->sites));
    if (sites_busy) snap->busy_sites++;
    if (seg->slot_has_tail) {
        memcpy(t->kept_name, s + SLOT_TAIL(seg, name), HK_STATS_NAME_LEN);
        mem_add_raw(&snap->mem, s + SLOT_TAIL(seg, mem));
    }
    return true;
}

/* Retry one record (a spill block: its gen first) until two reads agree. */
static int record_retry(const hs_seg_t *seg, uint64_t off, size_t size, unsigned char *a)
{
    for (int i = 0; i < SNAP_SLOT_TRIES; i++) {
        uint64_t g2;
        if (!read_at(seg, a, size, off) || !read_at(seg, &g2, 8, off)) return -1;
        uint64_t g = word(a);
        if (!(g & 1) && g == g2) return SLOT_OK;
        if (i % 4 == 3) sched_yield();
    }
    return SLOT_BUSY;
}

/* The spill blocks, `count` of them, a chunk at a time like the slots: live ones add
 * to snap->spilled and snap->mem. A block that never settles is counted busy. */
static int spill_pass(hs_seg_t *seg, hs_snap_t *snap, uint32_t count, unsigned char *a,
                      unsigned char *b)
{
    uint32_t size = seg->spill_size, per_chunk = SNAP_CHUNK / size;
    for (uint32_t first = 0; first < count; first += per_chunk) {
        uint32_t n = count - first < per_chunk ? count - first : per_chunk;
        uint64_t off = seg->spill_offset + (uint64_t)first * size;
        size_t len = (size_t)n * size;
        if (!read_at(seg, a, len, off) || !read_at(seg, b, len, off)) return -1;
        for (uint32_t i = 0; i < n; i++) {
            const unsigned char *sa = a + (size_t)i * size, *sb = b + (size_t)i * size;
            uint64_t g = word(sa);
            if ((g & 1) || g != word(sb)) {
                unsigned char *ra = b + len;
                int st = record_retry(seg, off + (uint64_t)i * size, size, ra);
                if (st < 0) return -1;
                if (st == SLOT_BUSY) {
                    snap->busy_slots++;
                    continue;
                }
                sa = ra;
            }
            if (word(sa + offsetof(hk_stat_spill_t, state)) != HK_SLOT_LIVE) continue;
            hs_counts_t c;
            unpack(seg, sa + offsetof(hk_stat_spill_t, ctr), &c);
            counts_add(&snap->spilled, &c);
            mem_add_raw(&snap->mem, sa + offsetof(hk_stat_spill_t, mem));
            snap->nspilled++;
        }
    }
    return 0;
}

/* The header tail's figures, from the copy in `a`; then the spill blocks. */
static int tail_pass(hs_seg_t *seg, hs_snap_t *snap, unsigned char *a, unsigned char *b)
{
    memset(&snap->spilled, 0, sizeof(snap->spilled));
    snap->nspilled = 0;
    if (!seg->has_tail) return 0;
    snap->has_tail = true;
    snap->threads_started = word(a + HEAD_TAIL(seg, threads_started));
    snap->threads_exited = word(a + HEAD_TAIL(seg, threads_exited));
    snap->heaps_adopted = word(a + HEAD_TAIL(seg, heaps_adopted));
    uint32_t count;
    memcpy(&count, a + HEAD_TAIL(seg, spill_count), sizeof(count));
    mem_add_raw(&snap->mem, a + HEAD_TAIL(seg, retired_mem));
    if (count > HK_STATS_SPILL_MAX) count = HK_STATS_SPILL_MAX;
    return spill_pass(seg, snap, count, a, b);
}

/* The thread slots, a chunk at a time read twice: each settled slot that is live becomes a
 * thread of the snapshot (one that will not settle counts as busy). 0, or -1 when the
 * file shrank, 1 when out of memory. */
static int slots_pass(hs_seg_t *seg, hs_snap_t *snap, uint32_t *cap, unsigned char *a,
                      unsigned char *b)
{
    uint32_t per_chunk = SNAP_CHUNK / seg->slot_size;
    for (uint32_t first = 0; first < seg->nslots; first += per_chunk) {
        uint32_t n = seg->nslots - first < per_chunk ? seg->nslots - first : per_chunk;
        uint64_t off = seg->slot_offset + (uint64_t)first * seg->slot_size;
        size_t len = (size_t)n * seg->slot_size;
        if (!read_at(seg, a, len, off) || !read_at(seg, b, len, off)) return -1;
        for (uint32_t i = 0; i < n; i++) {
            const unsigned char *sa = a + (size_t)i * seg->slot_size;
            int s = slot_settled(seg, sa, b + (size_t)i * seg->slot_size);
            if (s != SLOT_OK) {
                /* Copy it aside (a's tail is still needed) and retry it alone. */
                unsigned char *ra = b + len, *rb = ra + seg->slot_size;
                s = slot_retry(seg, off + (uint64_t)i * seg->slot_size, ra, rb);
                if (s < 0) return -1;
                sa = ra;
            }
            if (s == SLOT_BUSY) {
                snap->busy_slots++;
                continue;
            }
            if (word(sa + offsetof(hk_stat_slot_t, state)) != HK_SLOT_LIVE) continue;
            if (!add_thread(seg, snap, cap, first + i, sa, s == SLOT_SITES_BUSY)) return 1;
        }
    }
    return 0;
}

/* One pass: the header's totals, then every slot. The totals and the slots agree when
 * retired_gen is even and the same before and after (no thread moved its counts from a
 * slot into the totals meanwhile). Returns HS_OK (with *settled telling whether they
 * agree), or an error. */
static int snap_pass(hs_seg_t *seg, hs_snap_t *snap, uint32_t *cap, unsigned char *a,
                     unsigned char *b, bool *settled)
{
    size_t gen_at = offsetof(hk_stats_header_t, retired_gen);
    size_t retired_at = offsetof(hk_stats_header_t, retired);
    size_t hsize = seg->header_size; /* validated: holds the totals, at most a chunk */
    /* The totals' copy is whole when retired_gen is even and unchanged around it. */
    uint64_t g = 1, g1 = 0;
    for (int i = 0; i < SNAP_SLOT_TRIES && ((g & 1) || g != g1); i++) {
        if (!read_at(seg, a, hsize, 0) || !read_at(seg, &g1, sizeof(g1), gen_at)) goto shrank;
        g = word(a + gen_at);
        if (i % 4 == 3) sched_yield();
    }
    if (word(a) != HK_STATS_MAGIC) {
        snprintf(seg->error, sizeof(seg->error), "%s: segment overwritten (bad magic)", seg->path);
        return HS_ERR_CORRUPT;
    }
    unpack(seg, a + retired_at, &snap->retired);
    const hk_stats_header_t *hd = (const hk_stats_header_t *)a;
    snap->start_ns = hd->start_ns;
    snap->tsc_hz = hd->tsc_hz;
    snap->prof_period = hd->prof_period;
    snap->control = hd->control;
    snap->unslotted = hd->unslotted;
    snap->start_tsc = hd->start_tsc;
    snap->site_period = hd->site_period;

    snap->nthreads = snap->busy_slots = snap->busy_sites = 0;
    memset(&snap->mem, 0, sizeof(snap->mem));
    if (tail_pass(seg, snap, a, b) != 0) goto shrank;
    int rc = slots_pass(seg, snap, cap, a, b);
    if (rc < 0) goto shrank;
    if (rc > 0) {
        snprintf(seg->error, sizeof(seg->error), "out of memory");
        return HS_ERR_SYSTEM;
    }
    uint64_t g2;
    if (!read_at(seg, &g2, sizeof(g2), gen_at)) goto shrank;
    *settled = !(g & 1) && g == g1 && g == g2;
    return HS_OK;
shrank:
    snprintf(seg->error, sizeof(seg->error), "%s: segment shrank or vanished", seg->path);
    return HS_ERR_CORRUPT;
}

static bool want_sites = true;

void hs_snap_want_sites(bool want)
{
    want_sites = want;
}

/* A copy of the site table taken while its generation stayed even and unchanged, or
 * NULL (none, not wanted, out of memory, or the table kept changing). */
static hk_stat_sitetab_t *read_sitetab(hs_seg_t *seg)
{
    if (seg->sitetab_offset == 0 || !want_sites) return NULL;
    hk_stat_sitetab_t *t = malloc(sizeof(*t));
    for (int i = 0; t && i < SNAP_SLOT_TRIES; i++) {
        uint64_t g;
        if (!read_at(seg, t, sizeof(*t), seg->sitetab_offset) ||
            !read_at(seg, &g, sizeof(g), seg->sitetab_offset))
            break;
        if (!(g & 1) && g == t->gen) return t;
        sched_yield();
    }
    free(t);
    return NULL;
}

int hs_snap_take(hs_seg_t *seg, hs_snap_t *snap)
{
    memset(snap, 0, sizeof(*snap));
    seg->error[0] = '\0';
    /* a and b: two copies of a chunk; b also has room for two copies of one slot. */
    unsigned char *a = malloc(SNAP_CHUNK), *b = malloc(SNAP_CHUNK + 2 * HS_SEG_MAX_SLOT_SIZE);
    int status = HS_ERR_SYSTEM;
    snprintf(seg->error, sizeof(seg->error), "out of memory");
    bool settled = false;
    uint32_t cap = 0;
    if (a && b) {
        seg->error[0] = '\0';
        for (int pass = 0; pass < SNAP_TOTAL_TRIES && !settled; pass++) {
            status = snap_pass(seg, snap, &cap, a, b, &settled);
            if (status != HS_OK) break;
        }
    }
    free(a);
    free(b);
    if (status != HS_OK) {
        hs_snap_free(snap);
        return status;
    }
    snap->approx_totals = !settled;
    snap->total = snap->retired;
    counts_add(&snap->total, &snap->spilled);
    for (uint32_t i = 0; i < snap->nthreads; i++) {
        hs_thread_t *t = &snap->threads[i];
        counts_add(&snap->total, &t->n);
        thread_name(seg->pid, t->tid, t->kept_name, t->name, sizeof(t->name));
    }
    snap->rss = proc_rss(seg->pid);
    snap->sitetab = read_sitetab(seg);
    snap->t = hs_mono();
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snap->now_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    snap->alive = hs_seg_alive(seg);
    return HS_OK;
}

void hs_snap_busy_note(const hs_snap_t *snap, char *buf, size_t len)
{
    int n = 0;
    buf[0] = '\0';
    if (snap->busy_slots)
        n += snprintf(buf + n, len - (size_t)n, "%u busy slot%s skipped", snap->busy_slots,
                      snap->busy_slots == 1 ? "" : "s");
    if (snap->busy_sites && (size_t)n < len)
        n += snprintf(buf + n, len - (size_t)n, "%s%u thread%s without sites (busy)", n ? "; " : "",
                      snap->busy_sites, snap->busy_sites == 1 ? "" : "s");
    if (snap->approx_totals && (size_t)n < len)
        snprintf(buf + n, len - (size_t)n, "%stotals approximate (threads exiting)", n ? "; " : "");
}

void hs_snap_free(hs_snap_t *snap)
{
    free(snap->sitetab);
    snap->sitetab = NULL;
    free(snap->threads);
    snap->threads = NULL;
    snap->nthreads = 0;
}

const hs_thread_t *hs_snap_find(const hs_snap_t *prev, const hs_thread_t *t)
{
    if (prev == NULL) return NULL;
    for (uint32_t i = 0; i < prev->nthreads; i++) {
        const hs_thread_t *p = &prev->threads[i];
        if (p->slot == t->slot && p->gen == t->gen && p->tid == t->tid) return p;
    }
    return NULL;
}

static int by_samples(const void *a, const void *b)
{
    const hs_site_t *x = a, *y = b;
    return x->samples < y->samples   ? 1
           : x->samples > y->samples ? -1
                                     : (x->addr > y->addr) - (x->addr < y->addr);
}

static int by_addr(const void *a, const void *b)
{
    const hs_site_t *x = a, *y = b;
    return (x->addr > y->addr) - (x->addr < y->addr);
}

/* Every thread's sites in one array, sorted by address so that equal ones are adjacent
 * and merge in one pass: n log n, where a search per site would be n squared (4096
 * threads of 16 sites each is 65,536 of them). */
const double hs_age_edges[HS_AGE_BUCKETS] = {1, 10, 60, 600, INFINITY};

static int by_est_bytes(const void *a, const void *b)
{
    const hs_site_t *x = a, *y = b;
    return x->est_bytes < y->est_bytes   ? 1
           : x->est_bytes > y->est_bytes ? -1
                                         : (x->addr > y->addr) - (x->addr < y->addr);
}

/* The process's TSC now, from its start and the measured rate; 0 when unknown, or when a
 * hostile rate or start puts it past what 64 bits hold. */
static uint64_t tsc_now(const hs_snap_t *snap)
{
    if (snap->tsc_hz == 0 || snap->start_tsc == 0 || snap->now_ns < snap->start_ns) return 0;
    double ticks = (double)(snap->now_ns - snap->start_ns) / 1e9 * (double)snap->tsc_hz;
    if (!(ticks < 0x1p64)) return 0;
    return snap->start_tsc + (uint64_t)ticks;
}

static void site_from_entry(const hs_snap_t *snap, const hk_stat_sitent_t *e, hs_site_t *s)
{
    uint64_t now = tsc_now(snap);
    *s = (hs_site_t){.addr = e->frames[0],
                     .samples = e->samples,
                     .est_allocs = e->est_allocs,
                     .bytes = e->bytes,
                     .est_bytes = e->est_bytes,
                     .first_tsc = e->first_tsc,
                     .last_tsc = e->last_tsc,
                     .has_live = true,
                     .depth = e->depth < HK_SITE_FRAMES ? e->depth : HK_SITE_FRAMES,
                     .live_blocks = e->live_blocks,
                     .live_bytes = e->live_bytes,
                     .est_live_blocks = e->est_live_blocks,
                     .est_live_bytes = e->est_live_bytes,
                     .freed = e->freed,
                     .untracked = e->untracked,
                     .first_s = now && now > e->first_tsc
                                    ? (double)(now - e->first_tsc) / (double)snap->tsc_hz
                                    : NAN};
    memcpy(s->frames, e->frames, sizeof(s->frames));
    memcpy(s->life, e->life, sizeof(s->life));
}

/* Live sampled blocks by age, from the table's records of them. */
static void site_ages(const hs_snap_t *snap, hs_site_t *sites, const int *index)
{
    uint64_t now = tsc_now(snap);
    const hk_stat_sitetab_t *t = snap->sitetab;
    for (uint32_t r = 0; r < HK_SITE_TRACKED_MAX; r++) {
        const hk_stat_tracked_t *rec = &t->t[r];
        if (rec->entry == 0 || rec->entry > HK_SITE_ENTRIES || index[rec->entry - 1] < 0 ||
            t->e[rec->entry - 1].epoch != rec->epoch)
            continue;
        double age = now > rec->tsc ? (double)(now - rec->tsc) / (double)snap->tsc_hz : 0;
        int b = 0;
        while (b < HS_AGE_BUCKETS - 1 && age >= hs_age_edges[b])
            b++;
        sites[index[rec->entry - 1]].age[b]++;
    }
}

/* Threads whose own tables hold the site's first frame. */
static void site_threads(const hs_snap_t *snap, hs_site_t *s)
{
    for (uint32_t t = 0; t < snap->nthreads; t++)
        for (int i = 0; i < HK_STATS_NSITES; i++)
            if (snap->threads[t].sites[i].addr == s->addr && s->addr) {
                s->threads++;
                break;
            }
}

static int table_sites(const hs_snap_t *snap, hs_site_t **out)
{
    hs_site_t *s = calloc(HK_SITE_ENTRIES, sizeof(*s));
    int index[HK_SITE_ENTRIES], n = 0;
    if (s == NULL) return -1;
    for (int i = 0; i < HK_SITE_ENTRIES; i++) {
        const hk_stat_sitent_t *e = &snap->sitetab->e[i];
        index[i] = -1;
        if (e->depth == 0 || e->samples == 0) continue;
        index[i] = n;
        site_from_entry(snap, e, &s[n]);
        site_threads(snap, &s[n]);
        n++;
    }
    site_ages(snap, s, index);
    qsort(s, (size_t)n, sizeof(*s), by_est_bytes);
    *out = s;
    return n;
}

int hs_snap_sites(const hs_snap_t *snap, hs_site_t **out)
{
    if (snap->sitetab) return table_sites(snap, out);
    size_t cap = (size_t)snap->nthreads * HK_STATS_NSITES, n = 0;
    hs_site_t *s = calloc(cap ? cap : 1, sizeof(*s));
    if (s == NULL) return -1;
    for (uint32_t t = 0; t < snap->nthreads; t++) {
        for (int i = 0; i < HK_STATS_NSITES; i++) {
            const hk_stat_site_t *in = &snap->threads[t].sites[i];
            if (in->addr == 0 || in->samples == 0) continue;
            s[n++] = (hs_site_t){.addr = in->addr,
                                 .samples = in->samples,
                                 .est_allocs = in->est_allocs,
                                 .bytes = in->bytes,
                                 .est_bytes = in->samples * snap->site_period,
                                 .first_tsc = in->first_tsc,
                                 .threads = 1,
                                 .depth = 1,
                                 .frames = {in->addr},
                                 .first_s = NAN};
        }
    }
    qsort(s, n, sizeof(*s), by_addr);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m > 0 && s[m - 1].addr == s[i].addr) {
            hs_site_t *d = &s[m - 1];
            d->samples += s[i].samples;
            d->est_allocs += s[i].est_allocs;
            d->bytes += s[i].bytes;
            d->est_bytes += s[i].est_bytes;
            d->threads++;
            if (s[i].first_tsc < d->first_tsc) d->first_tsc = s[i].first_tsc;
        } else {
            s[m++] = s[i];
        }
    }
    qsort(s, m, sizeof(*s), by_samples);
    if (m > HS_SNAP_SITES_MAX) { /* bounds what every output builds from them */
        m = HS_SNAP_SITES_MAX;
        hs_site_t *fit = realloc(s, m * sizeof(*s));
        if (fit) s = fit;
    }
    *out = s;
    return (int)m;
}

double hs_snap_uptime(const hs_snap_t *snap)
{
    if (snap->now_ns < snap->start_ns) return 0;
    return (double)(snap->now_ns - snap->start_ns) / 1e9;
}

double hs_snap_cycles_to_ns(const hs_snap_t *snap, double cycles)
{
    if (snap->tsc_hz == 0 || isnan(cycles)) return NAN;
    return cycles * 1e9 / (double)snap->tsc_hz;
}

static double delta(uint64_t now, uint64_t prev)
{
    return now > prev ? (double)(now - prev) : 0;
}

static double ratio(double num, double den)
{
    return den > 0 ? num / den : NAN;
}

void hs_snap_metrics(const hs_seg_t *seg, const hs_counts_t *now, const hs_counts_t *prev,
                     double dt, double since_s, hs_metrics_t *m)
{
    static const hs_counts_t zero;
    if (prev == NULL || dt <= 0) {
        prev = &zero;
        dt = since_s;
    }
    /* A count that went down (totals read while threads exited) is no event: 0. */
#define D(id) delta(hs_snap_get(seg, now, id), hs_snap_get(seg, prev, id))
    memset(m, 0, sizeof(*m));
    m->malloc_rate = ratio(D(HK_STAT_malloc), dt);
    m->free_rate = ratio(D(HK_STAT_free), dt);
    m->bytes_rate = ratio(D(HK_STAT_bytes), dt);
    m->refill_rate = ratio(D(HK_STAT_refills), dt);
    m->remote_rate = ratio(D(HK_STAT_remote_free), dt);
    m->large_rate = ratio(D(HK_STAT_large_alloc), dt);
    double small = D(HK_STAT_malloc) - D(HK_STAT_large_alloc);
    m->coverage = ratio(small, D(HK_STAT_malloc));
    m->hit_rate = ratio(small - D(HK_STAT_fast_miss), small);
    m->blocks_per_refill = ratio(D(HK_STAT_refill_blocks), D(HK_STAT_refills));
    m->cyc_malloc = ratio(D(HK_STAT_prof_malloc_cyc), D(HK_STAT_prof_malloc_n));
    m->cyc_free = ratio(D(HK_STAT_prof_free_cyc), D(HK_STAT_prof_free_n));
    m->cyc_refill = ratio(D(HK_STAT_prof_refill_cyc), D(HK_STAT_prof_refill_n));
    m->cyc_remote = ratio(D(HK_STAT_prof_remote_cyc), D(HK_STAT_prof_remote_n));
#undef D
    uint64_t small_all =
        hs_snap_get(seg, now, HK_STAT_malloc) - hs_snap_get(seg, now, HK_STAT_large_alloc);
    uint64_t miss = hs_snap_get(seg, now, HK_STAT_fast_miss);
    m->fast_hits = small_all > miss ? small_all - miss : 0;
    m->mapped = (int64_t)hs_snap_get(seg, now, HK_STAT_mapped);
    for (uint32_t c = 0; c < HK_STATS_NCLASSES; c++)
        if (now->class_alloc[c] > now->class_free[c])
            m->in_use += (now->class_alloc[c] - now->class_free[c]) * seg->class_size[c];
    uint64_t la = hs_snap_get(seg, now, HK_STAT_large_alloc),
             lf = hs_snap_get(seg, now, HK_STAT_large_free);
    m->live_large = la > lf ? la - lf : 0;
}

/* Memory by class and in all, from the summed moves and counts: see hakstat(1). A
 * figure the reader saw mid-change (a count and a move read a moment apart) may come
 * out negative: it is shown as 0. */
void hs_snap_memory(const hs_seg_t *seg, const hs_snap_t *snap, hs_memory_t *m)
{
    memset(m, 0, sizeof(*m));
    m->known = snap->has_tail;
    m->rss = snap->rss;
    m->mapped = (int64_t)hs_snap_get(seg, &snap->total, HK_STAT_mapped);
    int64_t large = (int64_t)hs_snap_get(seg, &snap->total, HK_STAT_large_bytes);
    m->large_bytes = large > 0 ? (uint64_t)large : 0;
    m->in_use = m->large_bytes;
    for (int c = 0; c < HK_STATS_NCLASSES; c++) {
        hs_class_mem_t *k = &m->cls[c];
        uint64_t a = snap->total.class_alloc[c], f = snap->total.class_free[c];
        k->live = a > f ? a - f : 0;
        m->in_use += k->live * seg->class_size[c];
        if (!m->known) {
            k->util = NAN;
            continue;
        }
        int64_t slabs = (int64_t)snap->mem.slabs[c], held_s = (int64_t)snap->mem.held[c];
        k->slabs = slabs > 0 ? (uint64_t)slabs : 0;
        k->blocks = k->slabs * seg->class_slab_blocks[c];
        uint64_t held = held_s > 0 ? (uint64_t)held_s : 0;
        k->cached = held > k->live ? held - k->live : 0;
        k->free = k->blocks > held ? k->blocks - held : 0;
        k->util = k->blocks ? (double)k->live / (double)k->blocks : NAN;
        m->thread_cached += k->cached * seg->class_size[c];
        m->slab_free += k->free * seg->class_size[c];
    }
    double idle = (double)(m->thread_cached + m->slab_free);
    m->fragmentation =
        m->known && idle + (double)m->in_use > 0 ? idle / (idle + (double)m->in_use) : NAN;
}
