/* procs.h: several processes watched as one: the PIDs of a list, or a process tree that
 * grows as children start and keeps the counts of those that exited (read from their
 * retired records, hakmem_stats.h). Each process's counts are kept in this hakstat's
 * own counter order, described by the group's `canon` segment, so they add up whatever
 * the layout of each writer, and every output can treat the sum as one process. */
#ifndef HS_PROCS_H
#define HS_PROCS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "seg.h"
#include "snap.h"

#define HS_GROUP_MAX_PIDS 64   /* PIDs on the command line */
#define HS_GROUP_MAX      4096 /* processes a group tracks; more are counted in `dropped` */
#define HS_GROUP_MAX_UIDS 8    /* users whose directories a tree's records are read from */

enum hs_proc_state {
    HS_PROC_LIVE,   /* running, its segment open */
    HS_PROC_NOSEG,  /* running without a segment this user can read (`why` says) */
    HS_PROC_EXITED, /* exited: final counts from its retired record */
    HS_PROC_KILLED, /* exited without a record (a signal, _exit): its last counts */
    HS_PROC_GONE,   /* exited, never read */
};

typedef struct hs_proc_s {
    pid_t pid, ppid;
    uint64_t start_time; /* field 22 of /proc/PID/stat */
    uid_t uids[2];       /* real and effective while it ran; a record's directory owner */
    char comm[HK_STATS_COMM_LEN + 1];
    enum hs_proc_state state;
    bool named;    /* given with -p */
    hs_seg_t *seg; /* open while HS_PROC_LIVE */
    bool counted;  /* n holds counts */
    hs_counts_t n, prev;
    bool have_prev; /* prev is its counts at the previous refresh */
    uint32_t nthreads;
    uint64_t start_ns, exit_ns, tsc_hz, prof_period;
    char why[160];
} hs_proc_t;

/* What a record scan found before, by inode, so an unchanged file is opened once. */
typedef struct hs_seen_s {
    uint64_t ino, mtime_ns;
    pid_t pid, ppid;
    uint64_t start_time;
    uid_t uid;
    bool used, segment; /* taken into the group; a stale segment rather than a record */
} hs_seen_t;

typedef struct hs_group_s {
    bool tree;
    hs_proc_t *v;
    int n, cap;
    unsigned dropped; /* descendants beyond HS_GROUP_MAX */
    hs_seen_t *seen;
    int nseen;
    hs_seg_t canon;                    /* this hakstat's counters, the root's pid and command */
    double t, prev_t;                  /* CLOCK_MONOTONIC of the last two refreshes */
    uint64_t now_ns;                   /* CLOCK_REALTIME of the last */
    uint64_t root_start;               /* the earliest start time of the named processes */
    char warn[HS_GROUP_MAX_PIDS][160]; /* what each named PID that was left out lacked */
    int nwarn;
} hs_group_t;

/* A process's counts are those of its current image: what it counted before an exec
 * is gone with that image's segment, as when one process is watched. */

/* Start a group with the named PIDs. A PID with no process (or, without `tree`, no
 * readable segment) is left out with a line in g->warn; HS_OK when any is left, else
 * the status of the first failure with its message in g->warn[0]. */
int hs_group_open(hs_group_t *g, const pid_t *pids, int npids, bool tree);
void hs_group_close(hs_group_t *g);

/* Take new counts of every process: in a tree, find the children that started and the
 * records of those that exited first. */
void hs_group_refresh(hs_group_t *g);
/* A tree's cheap poll between refreshes: new children only, so that short ones are
 * seen running. */
void hs_group_discover(hs_group_t *g);

/* Whether any process of the group still runs. */
bool hs_group_alive(const hs_group_t *g);
const char *hs_proc_state_name(enum hs_proc_state s);
bool hs_proc_exited(const hs_proc_t *p);

/* The group as one process, for the summary and the outputs: totals (now and at the
 * previous refresh), live threads, the root's start and profiling period. The snapshots
 * own no threads; prev is NULL-equivalent (`*have_prev` false) on the first refresh. */
void hs_group_snap(const hs_group_t *g, hs_snap_t *now, hs_snap_t *prev, bool *have_prev);

/* Counts of `seg`'s layout, in this hakstat's order. */
void hs_group_to_canon(const hs_seg_t *seg, const hs_counts_t *in, hs_counts_t *out);

#endif /* HS_PROCS_H */
