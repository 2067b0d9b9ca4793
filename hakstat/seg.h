/* seg.h: finding, opening and reading hakmem statistics segments. The segment is
 * untrusted input: everything here validates sizes, counts, offsets and strings against
 * the file before use, and reports what is wrong instead of crashing. Knows nothing of
 * screens or output formats. */
#ifndef HS_SEG_H
#define HS_SEG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "hakmem_stats.h"

/* Outcomes, which are also hakstat's exit statuses (documented in hakstat(1)). */
enum hs_status {
    HS_OK = 0,
    HS_ERR_USAGE = 1,   /* bad command line */
    HS_ERR_NOPROC = 2,  /* no such process */
    HS_ERR_NOSEG = 3,   /* process runs without libhakmem, or with HAKMEM_STATS=0 */
    HS_ERR_PERM = 4,    /* permission denied */
    HS_ERR_VERSION = 5, /* segment of an ABI version this hakstat does not know */
    HS_ERR_CORRUPT = 6, /* truncated, corrupt or foreign segment */
    HS_ERR_EXITED = 7,  /* the process exited while watched */
    HS_ERR_SYSTEM = 8,  /* anything else the system refused */
};

/* An open segment. It is never mapped: every read is a pread into private buffers, so
 * a file truncated or rewritten under us gives an error, never a SIGBUS. */
typedef struct hs_seg_s {
    char path[512];
    int fd;
    size_t size; /* file size at open, validated against the header */
    bool writable;
    /* validated copies of the header's geometry */
    pid_t pid;
    uint64_t start_time;
    uint32_t nslots, ncounters, nclasses, slot_size;
    uint64_t slot_offset, desc_offset;
    uint64_t sites_offset; /* within a slot, or 0 when the writer keeps no sites */
    uint64_t site_period;  /* bytes between site samples in the writer */
    uint64_t flags;        /* HK_STATS_F_* */
    char comm[HK_STATS_COMM_LEN + 1];
    hk_stat_desc_t desc[HK_STAT_NCOUNTERS * 4]; /* NUL-terminated copies */
    uint32_t class_size[HK_STATS_NCLASSES];
    char error[1024]; /* what went wrong, for the last failing call */
} hs_seg_t;

/* Directory searched for segments: $HAKMEM_STATS_DIR or /dev/shm. */
const char *hs_seg_dir(void);

/* Find and open the segment of process `pid`. Returns HS_OK or an error status with
 * seg->error set. `writable` asks for read-write (to change the profiling period). */
int hs_seg_open_pid(hs_seg_t *seg, pid_t pid, bool writable);

/* Open a segment file by path (also used by tests on crafted files). */
int hs_seg_open_path(hs_seg_t *seg, const char *path, bool writable);

void hs_seg_close(hs_seg_t *seg);

/* Whether the process that wrote the segment still runs (same pid and start time). */
bool hs_seg_alive(const hs_seg_t *seg);

/* Ask the process to time one call in `period` (0 = off). Needs a writable segment. */
int hs_seg_set_profiling(hs_seg_t *seg, uint64_t period);

/* One entry of a directory listing. */
typedef struct hs_seg_entry_s {
    char name[256];
    uid_t uid;
    pid_t pid;
    uint64_t start_time;
    bool stale;    /* its process is gone, or the pid now names another process */
    bool readable; /* this user may open it */
} hs_seg_entry_t;

/* List segment files in hs_seg_dir(). Calls fn for each; returns the count or -1. */
int hs_seg_list(void (*fn)(const hs_seg_entry_t *e, void *arg), void *arg);

/* Start time (field 22 of /proc/PID/stat) of a process, 0 if it does not exist. */
uint64_t hs_seg_proc_start_time(pid_t pid);

#endif /* HS_SEG_H */
