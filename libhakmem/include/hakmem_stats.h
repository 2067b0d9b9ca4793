/* hakmem_stats.h: the layout of the live statistics segment that every process using
 * libhakmem publishes under /dev/shm. Installed so that tools other than hakstat can
 * read it. Readers must treat the file as untrusted: validate the header (magic, ABI
 * version, sizes, counts) against the file size before using anything in it.
 *
 * Concurrency: every counter is a naturally aligned 64-bit word written by exactly one
 * thread with plain stores, so a reader never sees a torn value. A slot's `gen` is odd
 * while the slot is being claimed or released; a reader that sees the same even `gen`
 * before and after copying a slot has a consistent copy of one thread's counters. */
#ifndef HAKMEM_STATS_H
#define HAKMEM_STATS_H

#include <stdint.h>

#define HK_STATS_MAGIC     0x54534b4d4b4148ULL /* "HAKMKST" little-endian */
#define HK_STATS_ABI_MAJOR 2                   /* bumped on any incompatible change */
#define HK_STATS_ABI_MINOR 0                   /* bumped when fields are only appended */
#define HK_STATS_NCLASSES  60                  /* size classes counted per slot */
#define HK_STATS_NAME_LEN  16                  /* thread and counter names, NUL padded */
#define HK_STATS_COMM_LEN  64                  /* command name, NUL padded */
#define HK_STATS_DOC_LEN   80                  /* one-line counter description */

/* Every per-thread counter, once: X(name, unit, doc). The same list yields the slot
 * struct, the descriptor table in the segment, hakstat's columns and the man page. */
#define HK_STAT_COUNTERS(X)                                                                        \
    X(malloc, "blocks", "blocks allocated (not stored: class_alloc summed, plus large_alloc)")     \
    X(free, "blocks", "blocks freed (not stored: class_free summed, plus large_free)")             \
    X(bytes, "bytes", "bytes requested by allocations")                                            \
    X(calloc, "calls", "calls to calloc")                                                          \
    X(realloc, "calls", "calls to realloc and reallocarray")                                       \
    X(aligned, "calls", "calls to the aligned allocators")                                         \
    X(fast_miss, "blocks", "small allocations that found their thread cache empty")                \
    X(free_slow, "blocks", "frees that did not end in the thread cache")                           \
    X(refills, "events", "thread-cache refills from slabs")                                        \
    X(refill_blocks, "blocks", "blocks moved into the thread cache by refills")                    \
    X(drains, "events", "thread-cache drains because a cache was full")                            \
    X(drain_blocks, "blocks", "blocks moved from the thread cache back to slabs")                  \
    X(remote_free, "blocks", "frees of blocks another thread owns")                                \
    X(remote_collect, "blocks", "blocks other threads freed, collected by this owner")             \
    X(large_alloc, "blocks", "allocations served by mmap")                                         \
    X(large_free, "blocks", "large blocks freed")                                                  \
    X(slab_new, "events", "slabs carved from segments")                                            \
    X(slab_empty, "events", "slabs that became empty and went back to their segment")              \
    X(mapped, "bytes", "net bytes this thread mapped minus unmapped; summed: process total")       \
    X(prof_malloc_n, "samples", "timed allocations")                                               \
    X(prof_malloc_cyc, "cycles", "TSC cycles spent in timed allocations")                          \
    X(prof_free_n, "samples", "timed frees")                                                       \
    X(prof_free_cyc, "cycles", "TSC cycles spent in timed frees")                                  \
    X(prof_refill_n, "samples", "timed refills")                                                   \
    X(prof_refill_cyc, "cycles", "TSC cycles spent in timed refills")                              \
    X(prof_remote_n, "samples", "timed remote frees")                                              \
    X(prof_remote_cyc, "cycles", "TSC cycles spent in timed remote frees")                         \
    X(large_bytes, "bytes", "net bytes of large blocks allocated minus freed; summed: in use")

enum hk_stat_id {
#define HK_STAT_ENUM(name, unit, doc) HK_STAT_##name,
    HK_STAT_COUNTERS(HK_STAT_ENUM)
#undef HK_STAT_ENUM
        HK_STAT_NCOUNTERS
};

/* The counters of one thread. `c` is indexed by enum hk_stat_id. */
typedef struct hk_stat_counters_s {
    uint64_t c[HK_STAT_NCOUNTERS];
    uint64_t class_alloc[HK_STATS_NCLASSES]; /* blocks allocated per size class */
    uint64_t class_free[HK_STATS_NCLASSES];  /* blocks freed per size class */
} hk_stat_counters_t;

/* `malloc` and `free` are not stored (ABI 2): every block is counted once, in its class
 * or as a large block, and a writer leaves these two words 0, so that the fast path pays
 * no store for them. Readers add them up, as these do. */
static inline uint64_t hk_stats_class_sum(const uint64_t per_class[HK_STATS_NCLASSES])
{
    uint64_t sum = 0;
    for (int i = 0; i < HK_STATS_NCLASSES; i++)
        sum += per_class[i];
    return sum;
}

static inline uint64_t hk_stats_mallocs(const hk_stat_counters_t *n)
{
    return n->c[HK_STAT_large_alloc] + hk_stats_class_sum(n->class_alloc);
}

static inline uint64_t hk_stats_frees(const hk_stat_counters_t *n)
{
    return n->c[HK_STAT_large_free] + hk_stats_class_sum(n->class_free);
}

/* Memory a thread's heap moved, per size class, as net changes (two's complement: a
 * thread that empties slabs another carved has negative figures). Summed over the
 * slots, the spill blocks and the header's `retired_mem` they give the process's state:
 * slabs of each class, and blocks out of those slabs (live in the program, in thread
 * caches, or freed remotely and on their way back). They change on refills, drains and
 * slab changes only, never on the fast path. */
typedef struct hk_stat_mem_s {
    uint64_t class_slabs[HK_STATS_NCLASSES]; /* slabs carved minus slabs emptied */
    uint64_t class_held[HK_STATS_NCLASSES];  /* blocks taken out of slabs minus put back */
} hk_stat_mem_t;

/* Describes one counter for readers: generated from HK_STAT_COUNTERS. */
typedef struct hk_stat_desc_s {
    char name[HK_STATS_NAME_LEN]; /* e.g. "malloc" */
    char unit[HK_STATS_NAME_LEN]; /* "blocks", "bytes", "cycles", ... */
    char doc[HK_STATS_DOC_LEN];   /* one line */
} hk_stat_desc_t;

enum hk_slot_state { HK_SLOT_FREE = 0, HK_SLOT_LIVE = 1 };

#define HK_STATS_NSITES 16 /* sampled allocation sites kept per thread */

/* One allocation site: the return address of a sampled malloc (or calloc, realloc,
 * ...) call. Allocations are sampled about once every `site_period` bytes (header), so
 * a block of s bytes is sampled with probability about s / site_period: `est_allocs`
 * adds site_period / s per sample (at least 1) and estimates the site's allocations,
 * `samples * site_period` its bytes. When the table is full a new site replaces the
 * one with the fewest samples and starts from that count plus one (space-saving), so
 * a hot site is never pushed out by a stream of cold ones. */
typedef struct hk_stat_site_s {
    uint64_t addr; /* return address in the caller */
    uint64_t samples;
    uint64_t est_allocs;
    uint64_t bytes;     /* bytes of the sampled allocations themselves */
    uint64_t first_tsc; /* TSC when the site entered the table */
} hk_stat_site_t;

/* ---------------------------------------------------------------------------------------
 * The process-wide site table (ABI 1.1): one entry per sampled call stack, with what the
 * samples still hold. A sampled block (one in about site_period bytes) is "tracked": it
 * lives in memory the free fast path never owns, so its free reaches the library's slow
 * path, which takes it off its site's live figures and adds its lifetime to the
 * histograms. At most HK_SITE_TRACKED_MAX blocks are tracked at once; a sample beyond
 * that is counted (`untracked`) but not followed. Lifetimes go into log-4 buckets of
 * microseconds: bucket 0 holds [0, 4) us, bucket k [4^k, 4^(k+1)) us, the last one
 * everything longer. `gen` is odd while the table changes: a reader that sees the same
 * even value before and after its copy has a consistent one.
 * ------------------------------------------------------------------------------------- */
#define HK_SITE_ENTRIES     256  /* call stacks kept per process */
#define HK_SITE_FRAMES      16   /* return addresses kept per stack, the caller's first */
#define HK_SITE_LIFE        16   /* lifetime buckets */
#define HK_SITE_TRACKED_MAX 4096 /* sampled blocks followed until freed */
#define HK_SITE_TRACK_PERIOD                                                                       \
    16384                        /* below this period, one sample in (this / period) is            \
                                    followed, standing for that many */
#define HK_SITE_WRAPPERS_LEN 256 /* HAKMEM_SITE_WRAPPERS, NUL padded */

typedef struct hk_stat_sitent_s {
    uint64_t frames[HK_SITE_FRAMES]; /* frames[0]: the return address of the allocating call */
    uint32_t depth;                  /* frames in use; 0 = entry unused */
    uint32_t epoch;                  /* bumped when the entry is given to another stack */
    uint64_t samples;                /* samples taken at this stack */
    uint64_t est_allocs;             /* estimated allocations (weighted samples) */
    uint64_t bytes;                  /* sizes of the sampled blocks, summed */
    uint64_t est_bytes;              /* estimated bytes allocated (weighted sizes) */
    uint64_t live_blocks;            /* tracked sampled blocks not yet freed */
    uint64_t live_bytes;             /* their sizes */
    uint64_t est_live_blocks;        /* estimated live allocations of the stack */
    uint64_t est_live_bytes;         /* estimated live bytes of the stack */
    uint64_t freed;                  /* tracked blocks freed */
    uint64_t untracked;              /* samples not tracked (too many tracked blocks) */
    uint64_t first_tsc, last_tsc;    /* TSC of the first and the latest sample */
    uint64_t life[HK_SITE_LIFE];     /* lifetimes of freed tracked blocks */
} hk_stat_sitent_t;

/* One tracked block, for readers to work out the ages of what is live. */
typedef struct hk_stat_tracked_s {
    uint64_t tsc;   /* when it was allocated */
    uint32_t entry; /* its stack's index + 1; 0 = this record is free */
    uint32_t epoch; /* the entry's epoch then */
    uint64_t size;  /* bytes asked for */
} hk_stat_tracked_t;

typedef struct hk_stat_sitetab_s {
    uint64_t gen;
    uint32_t nentries, nframes, nlife, ntracked; /* the constants above, for readers */
    uint64_t tracked;                            /* blocks tracked now */
    uint64_t untracked;                          /* samples not tracked: too many tracked */
    uint64_t dropped;                            /* samples with no entry to go to */
    uint64_t class_life[HK_STATS_NCLASSES][HK_SITE_LIFE]; /* lifetimes per size class */
    uint64_t large_life[HK_SITE_LIFE];                    /* ... of blocks above every class */
    hk_stat_sitent_t e[HK_SITE_ENTRIES];
    hk_stat_tracked_t t[HK_SITE_TRACKED_MAX];
} hk_stat_sitetab_t;

/* One thread's slot. `gen` goes up by one when the slot starts changing hands (odd) and
 * again when it is done (even), so (index, gen) names one thread's use of the slot. */
typedef struct hk_stat_slot_s {
    uint64_t gen;
    uint64_t state;    /* enum hk_slot_state */
    uint64_t tid;      /* kernel thread id */
    uint64_t start_ns; /* CLOCK_REALTIME when the thread took the slot */
    hk_stat_counters_t ctr;
    uint64_t sites_gen; /* odd while the thread updates `sites` */
    hk_stat_site_t sites[HK_STATS_NSITES];
    /* ABI 1.1; these follow `ctr`, so a reader shifts their offsets by the writer's
     * counter bytes minus its own. */
    char name[HK_STATS_NAME_LEN]; /* the thread's name when it took the slot, NUL padded */
    hk_stat_mem_t mem;
} hk_stat_slot_t;

/* A spill block (ABI 1.1): the counters of one live thread that found no free slot, so
 * that its counts are in the segment at every moment, idle or not. Readers add live
 * blocks to the totals; a block has no name or sites and is reused like a slot, with
 * the same `gen` protocol. They sit at `spill_offset`, `spill_count` of them, the file
 * growing by HK_STATS_SPILL_CHUNK blocks at a time; `ctr` is last so a writer with more
 * counters moves nothing else. */
#define HK_STATS_SPILL_CHUNK 64   /* blocks added at a time; 64 x a multiple of 64 bytes */
#define HK_STATS_SPILL_MAX   4096 /* most blocks a writer makes */
typedef struct hk_stat_spill_s {
    _Alignas(64) uint64_t gen;
    uint64_t state; /* enum hk_slot_state */
    hk_stat_mem_t mem;
    hk_stat_counters_t ctr;
} hk_stat_spill_t;

/* Header flags. */
#define HK_STATS_F_PROF_BUILT 1u /* the library can time operations with RDTSC */
#define HK_STATS_F_RETIRED    2u /* a retired record: the final totals of an exited process */

/* Retired records. At a normal exit a process leaves its final totals where a watcher
 * of its parent (hakstat --tree) can still read them: the segment's header (flag
 * HK_STATS_F_RETIRED, nslots 0, `retired` holding every thread's counts, `exit_ns`
 * set) and its counter descriptors, nothing else, in a file named "retired-<n>" beside
 * the segments, n the first of (pid + i) % HK_STATS_RETIRED_NAMES, i < HK_STATS_RETIRED_PROBES,
 * whose file is missing or older than HK_STATS_RETIRED_FRESH_S (else the first): so a
 * record a watcher has not read yet is rarely replaced by another's. The name space bounds
 * how many a user can have; a process starting removes those older than
 * HK_STATS_RETIRED_AGE_S, and hakstat --gc removes them all. */
#define HK_STATS_RETIRED_NAMES   512
#define HK_STATS_RETIRED_AGE_S   600
#define HK_STATS_RETIRED_PROBES  8
#define HK_STATS_RETIRED_FRESH_S 10

/* The file starts with this header; descriptors, then slots follow at the offsets given.
 * A reader checks magic, abi_major, the sizes and that every offset + size lies within
 * file_size before reading further. Fields after `control` are written by the process;
 * `control` may be written by a reader that can open the file for writing. */
typedef struct hk_stats_header_s {
    uint64_t magic;       /* HK_STATS_MAGIC */
    uint32_t abi_major;   /* HK_STATS_ABI_MAJOR */
    uint32_t abi_minor;   /* HK_STATS_ABI_MINOR */
    uint32_t header_size; /* sizeof(hk_stats_header_t) */
    uint32_t desc_size;   /* sizeof(hk_stat_desc_t) */
    uint32_t slot_size;   /* sizeof(hk_stat_slot_t) */
    uint32_t nslots;      /* slots in the file */
    uint32_t ncounters;   /* HK_STAT_NCOUNTERS of the writer */
    uint32_t nclasses;    /* HK_STATS_NCLASSES of the writer */
    uint64_t file_size;   /* bytes */
    uint64_t desc_offset; /* ncounters descriptors */
    uint64_t slot_offset; /* nslots slots */
    int64_t pid;
    uint64_t start_time;          /* field 22 of /proc/PID/stat: clock ticks after boot */
    uint64_t start_ns;            /* CLOCK_REALTIME at process start */
    char comm[HK_STATS_COMM_LEN]; /* command name, from /proc/PID/comm */
    uint64_t tsc_hz;              /* measured TSC ticks per second; 0 until known */
    uint64_t flags;               /* HK_STATS_F_* */
    uint64_t control;             /* profiling period asked for by a reader: 0 = off,
                                     N = time one call in N; honoured within one refill */
    uint64_t prof_period;         /* the period in force, set by the process */
    uint64_t retired_gen;         /* odd while `retired` and a slot are being updated */
    uint64_t site_period;         /* bytes between allocation-site samples; 0 = off */
    uint64_t start_tsc;           /* TSC at start_ns, to place a site's first_tsc in time */
    uint64_t unslotted;           /* live threads counting outside the slots (too many) */
    uint32_t class_size[HK_STATS_NCLASSES]; /* bytes per size class */
    hk_stat_counters_t retired;             /* sum over threads that have exited or had no slot */
    /* ABI 1.1. These follow `retired`, whose size depends on the writer's counter list:
     * a reader shifts their offsets by the writer's counter bytes minus its own. The
     * thread figures count threads that allocated (took a heap); each only grows. */
    uint64_t threads_started;                      /* threads that took a heap */
    uint64_t threads_exited;                       /* ...and gave it back */
    uint64_t heaps_adopted;                        /* starts that reused an exited thread's heap */
    uint64_t spill_offset;                         /* file offset of spill block 0 */
    uint32_t spill_size;                           /* sizeof(hk_stat_spill_t) */
    uint32_t spill_count;                          /* spill blocks in the file; only grows */
    uint32_t class_slab_blocks[HK_STATS_NCLASSES]; /* blocks one slab of each class holds */
    hk_stat_mem_t retired_mem;                     /* memory moves of exited threads */
    int64_t ppid;                                  /* parent process at start (ABI 1.1) */
    uint64_t exit_ns; /* CLOCK_REALTIME at exit; 0 while it runs (1.1) */
    /* The site table (ABI 1.1), read at shifted offsets as the fields above. */
    uint64_t sitetab_offset;                  /* hk_stat_sitetab_t; 0 = none */
    uint64_t sitetab_size;                    /* sizeof(hk_stat_sitetab_t) of the writer */
    char site_wrappers[HK_SITE_WRAPPERS_LEN]; /* HAKMEM_SITE_WRAPPERS: names, comma separated */
} hk_stats_header_t;

/* A header's start_time, as the writer takes it and a reader checks it: field 22 of the
 * text of /proc/PID/stat, with field 3 (the state, 'Z' or 'X' once the process is dead)
 * and field 4 (the parent). The command name (field 2) may hold spaces and parentheses,
 * so fields are counted from the last ')'. Returns 0, or -1 when the text has no ')',
 * when field 4 or 22 does not start with a digit (an empty field among them), or when
 * the text ends before field 22. */
typedef struct hk_proc_stat_s {
    char state;
    int64_t ppid;
    uint64_t start_time;
} hk_proc_stat_t;

static inline int hk_stats_parse_proc_stat(const char *text, hk_proc_stat_t *out)
{
    const char *p = 0;
    for (const char *c = text; *c; c++)
        if (*c == ')') p = c;
    if (p == 0) return -1;
    out->state = 0;
    out->ppid = 0;
    for (int field = 2; *p; p++) {
        if (*p != ' ') continue;
        if (++field == 3) out->state = p[1];
        if (field != 4 && field != 22) continue;
        uint64_t v = 0;
        const char *d = p + 1;
        for (; *d >= '0' && *d <= '9'; d++)
            v = v * 10 + (uint64_t)(*d - '0');
        if (d == p + 1) return -1;
        if (field == 4) out->ppid = (int64_t)v;
        if (field == 22) {
            out->start_time = v;
            return 0;
        }
    }
    return -1;
}

#endif /* HAKMEM_STATS_H */
