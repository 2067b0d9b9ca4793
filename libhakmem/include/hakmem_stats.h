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

#define HK_STATS_MAGIC       0x54534b4d4b4148ULL /* "HAKMKST" little-endian */
#define HK_STATS_ABI_MAJOR   1                   /* bumped on any incompatible change */
#define HK_STATS_ABI_MINOR   0                   /* bumped when fields are only appended */
#define HK_STATS_NCLASSES    48                  /* size classes counted per slot */
#define HK_STATS_NAME_LEN    16                  /* thread and counter names, NUL padded */
#define HK_STATS_COMM_LEN    64                  /* command name, NUL padded */
#define HK_STATS_DOC_LEN     80                  /* one-line counter description */

/* Every per-thread counter, once: X(name, unit, doc). The same list yields the slot
 * struct, the descriptor table in the segment, hakstat's columns and the man page. */
#define HK_STAT_COUNTERS(X)                                                                    \
    X(malloc, "blocks", "blocks allocated through any entry point")                           \
    X(free, "blocks", "blocks freed through any entry point")                                 \
    X(bytes, "bytes", "bytes requested by allocations")                                       \
    X(calloc, "calls", "calls to calloc")                                                     \
    X(realloc, "calls", "calls to realloc and reallocarray")                                  \
    X(aligned, "calls", "calls to the aligned allocators")                                    \
    X(fast_miss, "blocks", "small allocations that found their thread cache empty")           \
    X(free_slow, "blocks", "frees that did not end in the thread cache")                      \
    X(refill, "events", "thread-cache refills from slabs")                                    \
    X(refill_blocks, "blocks", "blocks moved into the thread cache by refills")               \
    X(drain, "events", "thread-cache drains because a cache was full")                        \
    X(drain_blocks, "blocks", "blocks moved from the thread cache back to slabs")             \
    X(remote_free, "blocks", "frees of blocks another thread owns")                           \
    X(remote_collect, "blocks", "blocks other threads freed, collected by this owner")        \
    X(large_alloc, "blocks", "allocations served by mmap")                                    \
    X(large_free, "blocks", "large blocks unmapped")                                          \
    X(slab_new, "events", "slabs carved from segments")                                       \
    X(slab_empty, "events", "slabs that became empty and went back to their segment")        \
    X(mapped, "bytes", "memory mapped by this thread (segments and large blocks), gauge")     \
    X(prof_malloc_n, "samples", "timed allocations")                                          \
    X(prof_malloc_cyc, "cycles", "TSC cycles spent in timed allocations")                     \
    X(prof_free_n, "samples", "timed frees")                                                  \
    X(prof_free_cyc, "cycles", "TSC cycles spent in timed frees")                             \
    X(prof_refill_n, "samples", "timed refills")                                              \
    X(prof_refill_cyc, "cycles", "TSC cycles spent in timed refills")                         \
    X(prof_remote_n, "samples", "timed remote frees")                                         \
    X(prof_remote_cyc, "cycles", "TSC cycles spent in timed remote frees")

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

#endif /* HAKMEM_STATS_H */
