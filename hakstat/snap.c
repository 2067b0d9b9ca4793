/* snap.c: consistent snapshots of a segment, and the figures derived from them. */
#include "config.h"

#include "snap.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
    return i < seg->ncounters && strcmp(seg->desc[i].name, known_names[HK_STAT_mapped]) == 0;
}

uint64_t hs_snap_get(const hs_seg_t *seg, const hs_counts_t *n, enum hk_stat_id id)
{
    int pos = hs_snap_counter_pos(seg, id);
    return pos < 0 ? 0 : n->c[pos];
}

/* Unpack counters laid out as the writer's hk_stat_counters_t: ncounters words, then
 * allocations and frees per class. */
static void unpack(const hs_seg_t *seg, const unsigned char *p, hs_counts_t *n)
{
    memset(n, 0, sizeof(*n));
    memcpy(n->c, p, 8u * seg->ncounters);
    p += 8u * seg->ncounters;
    memcpy(n->class_alloc, p, 8u * seg->nclasses);
    memcpy(n->class_free, p + 8u * seg->nclasses, 8u * seg->nclasses);
}

static void counts_add(hs_counts_t *dst, const hs_counts_t *src)
{
    for (int i = 0; i < HS_MAX_COUNTERS; i++)
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

static void thread_name(pid_t pid, uint64_t tid, char *out, size_t len)
{
    char path[96];
    snprintf(path, sizeof(path), "/proc/%d/task/%llu/comm", (int)pid, (unsigned long long)tid);
    out[0] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    ssize_t n = read(fd, out, len - 1);
    close(fd);
    if (n <= 0) n = 0;
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

/* Read the whole file twice. A slot is taken from the first copy when its generation is
 * even and the same in both: nothing changed hands between the two reads, so the
 * counters in between are that thread's. The totals need the same of retired_gen. */
int hs_snap_take(hs_seg_t *seg, hs_snap_t *snap)
{
    memset(snap, 0, sizeof(*snap));
    seg->error[0] = '\0';
    unsigned char *a = malloc(seg->size), *b = malloc(seg->size);
    snap->threads = calloc(seg->nslots ? seg->nslots : 1, sizeof(hs_thread_t));
    if (a == NULL || b == NULL || snap->threads == NULL) {
        free(a);
        free(b);
        hs_snap_free(snap);
        snprintf(seg->error, sizeof(seg->error), "out of memory");
        return HS_ERR_SYSTEM;
    }
    size_t gen_at = offsetof(hk_stats_header_t, retired_gen);
    size_t retired_at = offsetof(hk_stats_header_t, retired);
    int status = HS_ERR_CORRUPT;
    for (int attempt = 0; attempt < 50; attempt++) {
        if (pread(seg->fd, a, seg->size, 0) != (ssize_t)seg->size ||
            pread(seg->fd, b, seg->size, 0) != (ssize_t)seg->size) {
            snprintf(seg->error, sizeof(seg->error), "%s: segment shrank or vanished", seg->path);
            status = HS_ERR_CORRUPT;
            break;
        }
        if (word(a) != HK_STATS_MAGIC) {
            snprintf(seg->error, sizeof(seg->error), "%s: segment overwritten (bad magic)",
                     seg->path);
            status = HS_ERR_CORRUPT;
            break;
        }
        uint64_t g = word(a + gen_at);
        if ((g & 1) || g != word(b + gen_at)) continue;
        bool torn = false;
        snap->nthreads = 0;
        for (uint32_t i = 0; i < seg->nslots && !torn; i++) {
            const unsigned char *sa = a + seg->slot_offset + (uint64_t)i * seg->slot_size;
            const unsigned char *sb = b + seg->slot_offset + (uint64_t)i * seg->slot_size;
            uint64_t gen = word(sa + offsetof(hk_stat_slot_t, gen));
            if ((gen & 1) || gen != word(sb + offsetof(hk_stat_slot_t, gen))) {
                torn = true;
                break;
            }
            if (word(sa + offsetof(hk_stat_slot_t, state)) != HK_SLOT_LIVE) continue;
            hs_thread_t *t = &snap->threads[snap->nthreads++];
            t->slot = i;
            t->gen = gen;
            t->tid = word(sa + offsetof(hk_stat_slot_t, tid));
            t->start_ns = word(sa + offsetof(hk_stat_slot_t, start_ns));
            unpack(seg, sa + offsetof(hk_stat_slot_t, ctr), &t->n);
            if (seg->sites_offset) {
                uint64_t sg = word(sa + seg->sites_offset);
                if ((sg & 1) || sg != word(sb + seg->sites_offset)) {
                    torn = true;
                    break;
                }
                memcpy(t->sites, sa + seg->sites_offset + 8, sizeof(t->sites));
            }
        }
        if (torn) continue;
        unpack(seg, a + retired_at, &snap->retired);
        const hk_stats_header_t *hd = (const hk_stats_header_t *)a;
        snap->start_ns = hd->start_ns;
        snap->tsc_hz = hd->tsc_hz;
        snap->prof_period = hd->prof_period;
        snap->control = hd->control;
        snap->unslotted = hd->unslotted;
        snap->start_tsc = hd->start_tsc;
        snap->site_period = hd->site_period;
        status = HS_OK;
        break;
    }
    free(a);
    free(b);
    if (status != HS_OK) {
        if (status == HS_ERR_CORRUPT && seg->error[0] == '\0')
            snprintf(seg->error, sizeof(seg->error), "%s: segment kept changing while read",
                     seg->path);
        hs_snap_free(snap);
        return status;
    }
    snap->total = snap->retired;
    for (uint32_t i = 0; i < snap->nthreads; i++) {
        counts_add(&snap->total, &snap->threads[i].n);
        thread_name(seg->pid, snap->threads[i].tid, snap->threads[i].name,
                    sizeof(snap->threads[i].name));
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    snap->t = (double)ts.tv_sec + ts.tv_nsec / 1e9;
    clock_gettime(CLOCK_REALTIME, &ts);
    snap->now_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    snap->alive = hs_seg_alive(seg);
    return HS_OK;
}

void hs_snap_free(hs_snap_t *snap)
{
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

int hs_snap_sites(const hs_snap_t *snap, hs_site_t **out)
{
    size_t cap = (size_t)snap->nthreads * HK_STATS_NSITES, n = 0;
    hs_site_t *s = calloc(cap ? cap : 1, sizeof(*s));
    if (s == NULL) return -1;
    for (uint32_t t = 0; t < snap->nthreads; t++) {
        for (int i = 0; i < HK_STATS_NSITES; i++) {
            const hk_stat_site_t *in = &snap->threads[t].sites[i];
            if (in->addr == 0 || in->samples == 0) continue;
            size_t j = 0;
            while (j < n && s[j].addr != in->addr)
                j++;
            if (j == n) s[n++] = (hs_site_t){.addr = in->addr, .first_tsc = in->first_tsc};
            s[j].samples += in->samples;
            s[j].est_allocs += in->est_allocs;
            s[j].bytes += in->bytes;
            s[j].threads++;
            if (in->first_tsc < s[j].first_tsc) s[j].first_tsc = in->first_tsc;
        }
    }
    qsort(s, n, sizeof(*s), by_samples);
    *out = s;
    return (int)n;
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
#define D(id) ((double)(hs_snap_get(seg, now, id) - hs_snap_get(seg, prev, id)))
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
