/* prom.h: the model behind the Prometheus outputs. A process's threads are folded into
 * a bounded number of series: one per thread name (or per thread with per_tid) and one
 * for the counts of threads the exporter could not attribute. Counters stay monotonic
 * per series while one hakstat watches: a thread that exits hands its last-seen counts
 * to its name's series, so Prometheus never sees a false counter reset. */
#ifndef HS_PROM_H
#define HS_PROM_H

#include <stdbool.h>
#include <stdint.h>

#include "seg.h"
#include "snap.h"

#define HS_PROM_GROUPS    16 /* thread names kept apart per process; more share "(other)" */
#define HS_PROM_GROUP_LEN 32

/* Counts by known counter id (enum hk_stat_id), whatever order the writer uses. */
typedef struct hs_prom_counts_s {
    uint64_t c[HK_STAT_NCOUNTERS];
} hs_prom_counts_t;

/* One series' labels and values. */
typedef struct hs_prom_group_s {
    char thread[HS_PROM_GROUP_LEN]; /* thread name, "(other)" or "(exited)" */
    uint64_t tid;                   /* per_tid only, else 0 */
    uint32_t threads;               /* live threads in it now */
    hs_prom_counts_t carried;       /* last-seen counts of its threads that exited */
    hs_prom_counts_t value;         /* what is exported: live threads + carried */
} hs_prom_group_t;

/* What the exporter last saw in a slot. */
typedef struct hs_prom_slot_s {
    uint64_t gen;
    int group; /* -1: free */
    bool seen;
    hs_prom_counts_t c;
} hs_prom_slot_t;

/* One watched process, kept from scrape to scrape. */
typedef struct hs_prom_proc_s {
    pid_t pid;
    uint64_t start_time; /* with pid, names the process */
    char comm[HK_STATS_COMM_LEN + 1];
    bool per_tid;
    bool seen; /* in the last scrape; unseen ones are dropped */
    uint64_t start_ns, tsc_hz, prof_period;
    uint32_t nslots;
    hs_prom_slot_t *slots; /* nslots */
    int ngroups;
    hs_prom_group_t *groups; /* per_tid: one per live thread; else up to HS_PROM_GROUPS + 2 */
    hs_prom_counts_t total;  /* every thread, exited ones included */
    uint64_t class_alloc[HK_STATS_NCLASSES], class_free[HK_STATS_NCLASSES];
    uint32_t class_size[HK_STATS_NCLASSES];
    uint32_t nclasses;
    bool has_tail; /* the header has thread figures (its tail) */
    uint64_t threads_started, threads_exited, heaps_adopted;
    hs_memory_t mem; /* cls[] unused */
} hs_prom_proc_t;

/* Start watching the process of `seg`. False when out of memory. */
bool hs_prom_proc_init(hs_prom_proc_t *p, const hs_seg_t *seg, bool per_tid);
void hs_prom_proc_free(hs_prom_proc_t *p);

/* Fold a new snapshot in. A snapshot that left busy slots out keeps the previous
 * values (its threads cannot be told from exited ones). False when out of memory. */
bool hs_prom_proc_update(hs_prom_proc_t *p, const hs_seg_t *seg, const hs_snap_t *snap);

#endif /* HS_PROM_H */
