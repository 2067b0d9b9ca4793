/* seg.h: finding, opening and reading hakmem statistics segments. The segment is
 * untrusted input: everything here validates sizes, counts, offsets and strings against
 * the file before use, and reports what is wrong instead of crashing. Knows nothing of
 * screens or output formats. */
#ifndef HS_SEG_H
#define HS_SEG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
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
    HS_ERR_UNSAFE = 9,  /* a file or directory that fails the ownership checks: refused */
};

/* What the reader accepts, whatever a header claims: the library's documented maxima
 * (HAKMEM_STATS_SLOTS is at most 4096) with room for a newer writer's longer structs.
 * A larger file is refused before anything is read, and a snapshot reads the slots a
 * chunk at a time, so hakstat's memory stays bounded on any input. */
#define HS_SEG_MAX_SLOTS      4096u
#define HS_SEG_MAX_COUNTERS   (HK_STAT_NCOUNTERS * 2u) /* a newer writer may double the list */
#define HS_SEG_MAX_HEADER     (16u << 10)              /* header_size */
#define HS_SEG_MAX_SLOT_SIZE  (8u << 10)               /* slot_size */
#define HS_SEG_MAX_SPILL_SIZE (4u << 10)               /* spill_size */
#define HS_SEG_MAX_SITETAB    (1u << 20)               /* sitetab_size */
#define HS_SEG_MAX_SIZE                                                                            \
    ((uint64_t)HS_SEG_MAX_HEADER + HS_SEG_MAX_COUNTERS * sizeof(hk_stat_desc_t) + 4096u +          \
     (uint64_t)HS_SEG_MAX_SLOTS * HS_SEG_MAX_SLOT_SIZE + HS_SEG_MAX_SITETAB +                      \
     (uint64_t)HK_STATS_SPILL_MAX * HS_SEG_MAX_SPILL_SIZE)

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
    uint32_t nslots, ncounters, nclasses, slot_size, header_size;
    uint64_t slot_offset, desc_offset;
    uint64_t sites_offset; /* within a slot, or 0 when the writer keeps no sites */
    uint64_t site_period;  /* bytes between site samples in the writer */
    uint64_t flags;        /* HK_STATS_F_* */
    /* The header tail (appended in ABI 1.1), where the header has it. Fields after the counters
     * (the header's after `retired`, a slot's after `ctr`) lie `shift` bytes from where our own
     * structs put them: the writer's counter bytes minus ours. */
    int64_t shift;
    bool has_tail;      /* the header's thread figures, spill geometry, memory */
    bool slot_has_tail; /* a slot's name and memory */
    uint64_t spill_offset;
    uint32_t spill_size;
    uint32_t class_slab_blocks[HK_STATS_NCLASSES];
    pid_t ppid;              /* parent at start, 0 when the header does not say */
    uint64_t exit_ns;        /* CLOCK_REALTIME at exit, in a retired record; else 0 */
    uint64_t sitetab_offset; /* the process-wide site table, 0 when absent */
    char site_wrappers[HK_SITE_WRAPPERS_LEN]; /* the writer's HAKMEM_SITE_WRAPPERS */
    char comm[HK_STATS_COMM_LEN + 1];
    hk_stat_desc_t desc[HS_SEG_MAX_COUNTERS]; /* NUL-terminated copies */
    uint32_t class_size[HK_STATS_NCLASSES];
    char error[1024]; /* what went wrong, for the last failing call */
} hs_seg_t;

/* The base directory: $HAKMEM_STATS_DIR or /dev/shm. Segments of user `uid` are in its
 * subdirectory hakmem-<uid>, named <pid>.<starttime>. */
const char *hs_seg_dir(void);
void hs_seg_user_dir(uid_t uid, char *buf, size_t len);

/* Find and open the segment of process `pid`. Only a file that the process's own user
 * could have written is accepted: it lies in hakmem-<uid> for the process's real or
 * effective uid (from /proc/PID/status), that directory is owned by the uid, mode 0700
 * without group or other bits, not a symbolic link, and the file is a regular file owned
 * by the uid whose header names the pid and its start time. Returns HS_OK or an error
 * status with seg->error set. `writable` asks for read-write (to change the profiling
 * period), on the same checked descriptor. */
int hs_seg_open_pid(hs_seg_t *seg, pid_t pid, bool writable);

/* Open a segment file by path, with the file checks (regular, not a link, bounded size,
 * valid header) but no ownership checks: for tests, fuzzing and crafted files. */
int hs_seg_open_path(hs_seg_t *seg, const char *path, bool writable);

/* Read the uids of process `pid` from /proc/PID/status: real and effective. False when
 * the process is gone or the file unreadable. */
bool hs_seg_proc_uids(pid_t pid, uid_t *ruid, uid_t *euid);

void hs_seg_close(hs_seg_t *seg);

/* Whether the process that wrote the segment still runs (same pid and start time). */
bool hs_seg_alive(const hs_seg_t *seg);

/* Ask the process to time one call in `period` (0 = off). Needs a writable segment. */
int hs_seg_set_profiling(hs_seg_t *seg, uint64_t period);

/* One entry of a directory listing. */
typedef struct hs_seg_entry_s {
    char name[256]; /* <pid>.<start>, in path's directory */
    char path[512];
    uid_t uid; /* the file's owner (fstatat), never a name */
    pid_t pid;
    uint64_t start_time;
    bool stale;    /* its process is gone, or the pid now names another process */
    bool readable; /* this user may open it */
    bool foreign;  /* the live process with this pid runs as another user: not its file */
} hs_seg_entry_t;

/* Counts of what a listing passed over, for a one-line note. */
typedef struct hs_seg_skipped_s {
    unsigned dirs;  /* hakmem-<uid> entries that failed the directory checks */
    unsigned files; /* names in a user's directory that are not that user's regular files */
    unsigned more;  /* entries beyond HS_SEG_LIST_MAX */
} hs_seg_skipped_t;

#define HS_SEG_LIST_MAX 1024 /* entries a listing reports */

/* List the segments in every user directory this user can read (a user: their own;
 * root: everyone's that passes the directory checks). Calls fn for each; returns the
 * count, or -1 with errno when the base directory cannot be read. */
int hs_seg_list(void (*fn)(const hs_seg_entry_t *e, void *arg), void *arg,
                hs_seg_skipped_t *skipped);

/* Open a listed entry, with the same checks as hs_seg_open_pid (owner, directory, and
 * for a live process its uids and start time). */
int hs_seg_open_entry(hs_seg_t *seg, const hs_seg_entry_t *e);

/* Remove a listed entry if the caller owns it (root included), by the file's owner as
 * fstatat sees it at removal time, never by its name. 0, or -1 with errno. */
int hs_seg_remove_entry(const hs_seg_entry_t *e);

/* Open retired record `name` ("retired-<n>") of user `uid`, with the directory and file
 * checks of a segment, and check it is one: HK_STATS_F_RETIRED, no slots, a size no
 * record exceeds (HS_SEG_MAX_RECORD). The process is gone, so nothing ties it to one;
 * the caller decides whose parent it may be (see procs.c). */
#define HS_SEG_MAX_RECORD                                                                          \
    ((uint64_t)HS_SEG_MAX_HEADER + HS_SEG_MAX_COUNTERS * sizeof(hk_stat_desc_t) + 4096u)
int hs_seg_open_record(hs_seg_t *seg, uid_t uid, const char *name);

/* Call fn for every regular file of uid's own in hakmem-<uid>, after the directory
 * checks; at most HS_SEG_LIST_MAX of them. The count, or -1 when the directory fails. */
int hs_seg_list_user(uid_t uid, void (*fn)(const char *name, const struct stat *st, void *arg),
                     void *arg);

/* Whether process `pid` started at `start` still runs (a zombie has exited). */
bool hs_seg_proc_running(pid_t pid, uint64_t start);

/* Read a small /proc file (regular, opened without blocking): at most len-1 bytes, NUL
 * terminated. The length, or -1 with errno. */
ssize_t hs_seg_read_proc(const char *path, char *buf, size_t len);

/* Start time (field 22 of /proc/PID/stat) of a process, 0 if it does not exist. */
uint64_t hs_seg_proc_start_time(pid_t pid);

#endif /* HS_SEG_H */
