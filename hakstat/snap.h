/* snap.h: the model every output draws from. A snapshot is a consistent copy of one
 * segment at one moment; two snapshots give rates. Metrics (coverage, hit rate, cycles
 * per operation) are derived here once, so the screen, batch text, JSON and
 * OpenMetrics all agree. Knows nothing of output formats. */
#ifndef HS_SNAP_H
#define HS_SNAP_H

#include <stdbool.h>
#include <stdint.h>

#include "seg.h"

#define HS_MAX_COUNTERS HS_SEG_MAX_COUNTERS

/* One thread's counters, in the segment's own counter order (seg->desc). */
typedef struct hs_counts_s {
    uint64_t c[HS_MAX_COUNTERS];
    uint64_t class_alloc[HK_STATS_NCLASSES];
    uint64_t class_free[HK_STATS_NCLASSES];
} hs_counts_t;

/* Memory moves summed, wrapping (two's complement: one thread's heap may undo what
 * another did, and a hostile segment may hold anything); read as signed. */
typedef struct hs_mem_s {
    uint64_t slabs[HK_STATS_NCLASSES]; /* slabs of the class */
    uint64_t held[HK_STATS_NCLASSES];  /* blocks out of those slabs */
} hs_mem_t;

typedef struct hs_thread_s {
    uint32_t slot;
    uint64_t gen; /* (slot, gen) names one thread's use of a slot */
    uint64_t tid;
    uint64_t start_ns; /* CLOCK_REALTIME */
    char name[32];     /* from /proc/PID/task/TID/comm, else the name the slot kept */
    char kept_name[HK_STATS_NAME_LEN]; /* the slot's copy, NUL padded, maybe unterminated */
    bool sites_busy; /* the thread kept updating its sites: none in this snapshot */
    hs_counts_t n;
    hk_stat_site_t sites[HK_STATS_NSITES]; /* sampled allocation sites (addr 0 = unused) */
} hs_thread_t;

typedef struct hs_snap_s {
    double t;        /* CLOCK_MONOTONIC seconds when taken */
    uint64_t now_ns; /* CLOCK_REALTIME when taken */
    bool alive;      /* the process still ran when this was taken */
    uint64_t start_ns, tsc_hz, prof_period, control, unslotted;
    uint64_t start_tsc, site_period;
    uint32_t nthreads;    /* live threads with a slot */
    hs_thread_t *threads; /* nthreads of them, sorted by slot */
    /* What a busy writer kept from this snapshot; everything else is exact. */
    uint32_t busy_slots; /* slots changing hands on every try: left out */
    uint32_t busy_sites; /* threads shown without sites (sites_busy) */
    bool approx_totals;  /* threads exited on every try: the totals may miss their counts */
    hs_counts_t retired; /* exited (and unslotted) threads */
    hs_counts_t spilled; /* live threads without a slot, counting in spill blocks */
    hs_counts_t total;   /* retired + live threads + spilled */
    uint32_t nspilled;   /* live spill blocks */
    /* The header tail's figures; has_tail false (a header without it): all zero. */
    bool has_tail;
    uint64_t threads_started, threads_exited, heaps_adopted;
    hs_mem_t mem;               /* the process's slabs and held blocks per class */
    uint64_t rss;               /* resident bytes (/proc/PID/statm), 0 when unknown */
    hk_stat_sitetab_t *sitetab; /* the process-wide site table, NULL when the writer has
                                   none or it kept changing on every try */
} hs_snap_t;

/* Take a snapshot: each slot is copied until two reads agree (its generation even and
 * unchanged), a bounded number of times; a slot that never settles is left out and
 * counted in busy_slots, and the rest is shown. Reads a chunk of slots at a time, so
 * memory stays bounded whatever the segment holds. Fails only when the segment itself
 * is gone or invalid (HS_ERR_CORRUPT) or memory runs out, with seg->error set. */
int hs_snap_take(hs_seg_t *seg, hs_snap_t *snap);
void hs_snap_free(hs_snap_t *snap);
/* Whether snapshots copy the process-wide site table (about 200 KiB; default yes): the
 * outputs that show no sites say no, so that their memory stays small. */
void hs_snap_want_sites(bool want);

/* Position of a known counter (enum hk_stat_id) in this segment, or -1. */
int hs_snap_counter_pos(const hs_seg_t *seg, enum hk_stat_id id);
/* Known counters that are gauges (levels that go up and down, summed as signed). */
#define HS_STAT_IS_GAUGE(id) ((id) == HK_STAT_mapped || (id) == HK_STAT_large_bytes)
/* Whether counter i of the segment is a gauge (a level that goes up and down, summed
 * as signed) rather than a count that only grows. */
bool hs_snap_is_gauge(const hs_seg_t *seg, uint32_t i);

/* Value of a known counter, 0 when the segment lacks it. */
uint64_t hs_snap_get(const hs_seg_t *seg, const hs_counts_t *n, enum hk_stat_id id);

/* Figures derived from one set of counts, over `dt` seconds since `prev` (prev NULL
 * or dt <= 0: rates are averages since `since_s` seconds ago, the thread's or process's
 * age). Ratios are NaN when undefined (no allocation, profiling off). */
typedef struct hs_metrics_s {
    double malloc_rate, free_rate, bytes_rate, refill_rate, remote_rate, large_rate;
    double coverage; /* share of allocations in size classes (cache path) */
    double hit_rate; /* share of those served from the cache without refill */
    double blocks_per_refill;
    double cyc_malloc, cyc_free, cyc_refill, cyc_remote; /* average TSC cycles */
    uint64_t fast_hits;  /* small allocations served straight from the cache */
    int64_t mapped;      /* bytes mapped (segments + large blocks), net */
    uint64_t in_use;     /* bytes in live small blocks, by class size */
    uint64_t live_large; /* large blocks not yet freed */
} hs_metrics_t;

void hs_snap_metrics(const hs_seg_t *seg, const hs_counts_t *now, const hs_counts_t *prev,
                     double dt, double since_s, hs_metrics_t *m);

/* Memory as the OS sees it and as the allocator holds it; hakstat(1) defines each. */
typedef struct hs_class_mem_s {
    uint64_t slabs, blocks;      /* slabs of the class and the blocks they hold */
    uint64_t live, cached, free; /* in the program; out of slabs but not live; in slabs */
    double util;                 /* live / blocks, NaN with no slab */
} hs_class_mem_t;

typedef struct hs_memory_s {
    bool known; /* the header has memory by class (its tail) */
    uint64_t rss;
    int64_t mapped;
    uint64_t in_use, thread_cached, slab_free, large_bytes;
    double fragmentation; /* (thread_cached + slab_free) / (those + in_use); NaN if 0 */
    hs_class_mem_t cls[HK_STATS_NCLASSES];
} hs_memory_t;

void hs_snap_memory(const hs_seg_t *seg, const hs_snap_t *snap, hs_memory_t *m);

/* Cycles to nanoseconds with the segment's measured TSC rate; NaN if unknown. */
double hs_snap_cycles_to_ns(const hs_snap_t *snap, double cycles);

/* Find the thread of `prev` that is the same as `t` (slot, gen and tid), or NULL. */
const hs_thread_t *hs_snap_find(const hs_snap_t *prev, const hs_thread_t *t);

/* Ages of a site's live sampled blocks, in these buckets (upper bounds, seconds). */
#define HS_AGE_BUCKETS 5
extern const double hs_age_edges[HS_AGE_BUCKETS]; /* the last is infinite */

/* An allocation site: one call stack of the process-wide table, or (from a writer
 * without one) a return address merged over the live threads' tables. */
typedef struct hs_site_s {
    uint64_t addr, samples, est_allocs, bytes, first_tsc, last_tsc;
    uint64_t est_bytes; /* estimated bytes allocated */
    uint32_t threads;
    bool has_live; /* the figures below are known (the process-wide table) */
    uint32_t depth;
    uint64_t frames[HK_SITE_FRAMES];
    uint64_t live_blocks, live_bytes;         /* sampled blocks still allocated */
    uint64_t est_live_blocks, est_live_bytes; /* estimated for the whole site */
    uint64_t freed, untracked;
    uint64_t life[HK_SITE_LIFE];  /* lifetimes of freed sampled blocks, log-4 us */
    uint64_t age[HS_AGE_BUCKETS]; /* live sampled blocks by age */
    double first_s;               /* seconds since the first sample, NaN if unknown */
} hs_site_t;

/* The sites of a snapshot: from the process-wide table when it has one (most estimated
 * bytes first), else the threads' tables merged by address (most samples first); at
 * most HS_SNAP_SITES_MAX (every output lists at most those). Returns the count (sites
 * in *out, to free()), or -1 when out of memory. */
#define HS_SNAP_SITES_MAX 1024
int hs_snap_sites(const hs_snap_t *snap, hs_site_t **out);

/* A one-line note of what a busy writer kept from `snap` ("" when nothing), for the
 * interval's output. */
void hs_snap_busy_note(const hs_snap_t *snap, char *buf, size_t len);

/* Process uptime in seconds at the snapshot. */
double hs_snap_uptime(const hs_snap_t *snap);

#endif /* HS_SNAP_H */
