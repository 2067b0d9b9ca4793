/* types.h: every internal structure of libhakmem and its tuning constants. The layout
 * decisions that the fast paths rely on are written next to the data. */
#ifndef HK_TYPES_H
#define HK_TYPES_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hakmem_stats.h"

/* ---------------------------------------------------------------------------------------
 * Attributes
 * ------------------------------------------------------------------------------------- */
#define HK_EXPORT      __attribute__((visibility("default")))
#define HK_NOINLINE    __attribute__((noinline))
#define HK_INLINE      static inline __attribute__((always_inline))
#define hk_likely(x)   __builtin_expect(!!(x), 1)
#define hk_unlikely(x) __builtin_expect(!!(x), 0)

/* ---------------------------------------------------------------------------------------
 * Geometry
 *
 * All memory lives in segments: 4 MiB-aligned mappings whose header sits at the start.
 * For any block p the header is at (p - 1) rounded down to 4 MiB; no block starts at a
 * segment's first byte, so this also holds for a large block aligned to 4 MiB or more,
 * whose header is the 4 MiB just below it. A small segment is cut into 64 KiB pages;
 * page 0 holds the header, a slab is a run of pages serving one size class.
 * ------------------------------------------------------------------------------------- */
#define HK_SEGMENT_SHIFT 22
#define HK_SEGMENT_SIZE  ((size_t)1 << HK_SEGMENT_SHIFT)
#define HK_SEGMENT_MASK  (HK_SEGMENT_SIZE - 1)
#define HK_PAGE_SHIFT    16
#define HK_PAGE_SIZE     ((size_t)1 << HK_PAGE_SHIFT)
#define HK_PAGES         (HK_SEGMENT_SIZE / HK_PAGE_SIZE) /* 64, so a page set is one word */
#define HK_OS_PAGE       4096

#define HK_NCLASSES        HK_STATS_NCLASSES
#define HK_TINY_MAX        8192   /* sizes up to here map to a class through one table load */
#define HK_SMALL_MAX       131072 /* largest class; bigger blocks are mapped on their own */
#define HK_MIN_ALIGN       16
#define HK_SLAB_MIN_BLOCKS 8 /* a slab spans enough pages to hold this many blocks */
#define HK_SLAB_MAX_BLOCKS (HK_PAGE_SIZE / 16) /* so a slab's bitmap is 512 bytes */
#define HK_BITMAP_WORDS    (HK_SLAB_MAX_BLOCKS / 64)

#define HK_PURGE_PAGES 64 /* dirty free pages a heap keeps before madvise */
#define HK_PURGE_IDLE  16 /* ... and a heap no thread runs */
#define HK_BIN_START                                                                               \
    16 /* a new thread's cache starts this small and doubles                                       \
          at each refill up to the class's capacity */
#define HK_REMOTE_BATCH                                                                            \
    16                          /* remote frees of one class sent with one CAS; at most            \
                                   16, the count travels in a pointer's low 4 bits */
#define HK_STASH_CHAINS      4  /* drained chains a heap keeps per class */
#define HK_LARGE_CACHE_SLOTS 64 /* freed runs of large pages a heap keeps... */
/* ...up to this many bytes (a quarter where runs of several mappings cannot move)... */
#define HK_LARGE_CACHE_BYTES ((size_t)256 << 20)
#define HK_LARGE_DECAY_MS    1000 /* ...each until this long after a block last joined it */
#define HK_LARGE_GATHER      8    /* most runs one large block's pages are moved from */
#define HK_LARGE_EDGES       32   /* most mapping edges inside a large block or run... */
#define HK_LARGE_EDGE_BUDGET 4096 /* ...and inside all of a process's (large.c) */
#define HK_SLAB_BATCH        32   /* most blocks a refill walks out of slabs */

/* ---------------------------------------------------------------------------------------
 * Blocks, bins, slabs
 * ------------------------------------------------------------------------------------- */
typedef struct hk_block_s {
    struct hk_block_s *next;
} hk_block_t;

/* One size class of a thread cache: a LIFO list of free blocks. Invariant: `count` is
 * the length of the list and never exceeds `max`. */
typedef struct hk_bin_s {
    hk_block_t *head;
    uint32_t count;
    uint32_t max;
} hk_bin_t;

struct hk_heap_s;

/* Remote frees of one class waiting to go to one owner as a single chain. */
typedef struct hk_outbox_s {
    struct hk_heap_s *owner;
    hk_block_t *head;
    uint32_t count;
} hk_outbox_t;

/* Per-page descriptor, 64 bytes so a lookup is a shift. The first two fields are all
 * the free fast path reads; they are the same on every page of a slab. The rest
 * describes the slab and is valid on the slab's first page only, `offset` pages back.
 * Blocks returned to a slab are bits in its bitmap (slab.c), not a list through the
 * blocks: returning one touches no block memory, and a refill reads no block memory.
 * Invariants: used = capacity - nfree - (blocks not yet carved past `bump`); a slab is
 * on its heap's partial list exactly when it has a block to hand out. */
typedef struct hk_page_s {
    struct hk_heap_s *heap; /* owner; NULL for free pages and large blocks */
    uint32_t cls;           /* size class of the slab */
    uint16_t npages;        /* pages in the slab */
    uint16_t offset;        /* this page's index within its slab */
    uint32_t nfree;         /* bits set in the slab's bitmap */
    uint32_t scan;          /* no bitmap word below this one has a bit set */
    char *bump;             /* next never-used block */
    char *end;              /* end of the last whole block */
    uint32_t used;          /* blocks handed out (to a cache or a program) */
    uint32_t capacity;      /* blocks in the slab */
    struct hk_page_s *next; /* partial list of the heap's class */
    struct hk_page_s *prev;
} hk_page_t;

_Static_assert(sizeof(hk_page_t) == 64, "page descriptors are indexed by shifting");

enum hk_segment_kind { HK_SEG_SMALL = 1, HK_SEG_LARGE = 2 };

/* Where the kernel's mappings begin and end in a large block's or run's range (large.c):
 * inside it, at page offsets from its start (ascending); and whether one begins at its
 * start (`lo`) and one ends at its end (`hi`), rather than going on past them. */
typedef struct hk_edges_s {
    uint32_t n;
    bool lo, hi;
    uint32_t at[HK_LARGE_EDGES];
} hk_edges_t;

/* Segment header. For a large block only `pages` (all zero, so every lookup misses the
 * fast path), `kind` and the mapping fields are used. */
typedef struct hk_segment_s {
    hk_page_t pages[HK_PAGES + 1]; /* the extra one stays zero: the page a lookup finds
                                      for a large block that starts 4 MiB past here */
    uint32_t kind;
    uint64_t free_pages;       /* small: bit i set when page i is free */
    uint64_t dirty_pages;      /* small: free pages whose memory is still resident */
    struct hk_heap_s *heap;    /* small: owner */
    struct hk_segment_s *next; /* small: the heap's segment list */
    struct hk_segment_s *prev;
    void *map_base; /* large: the block's whole range of pages, header first */
    size_t map_size;
    size_t usable;      /* large: bytes usable from the block's start */
    bool zeroed;        /* large: never written since it was mapped (calloc skips the memset) */
    hk_edges_t edges;   /* large: where the mapping may be split into the kernel's */
    uint32_t track;     /* large: a sampled block's record in the site table + 1; 0 = none */
    uint32_t track_cls; /* ...the size class it stands in for, HK_NCLASSES above them */
} hk_segment_t;

/* Runs of pages freed by a heap's thread, kept for its next large allocations so that a
 * program that frees and allocates big blocks in turn reuses resident pages instead of
 * mapping, faulting in and unmapping them each time (large.c). Invariant: no two runs
 * overlap, none is smaller than large.c's MIN_RUN, and `bytes` is their sizes summed.
 * Only whoever holds `held` reads or writes the runs. */
typedef struct hk_large_cache_s {
    struct {
        char *base; /* page aligned; a block's whole mapping or what is left of one */
        size_t size;
        uint64_t freed_ms; /* hk_util_now_ms() when it was freed */
        hk_edges_t edges;  /* where it may be split into several of the kernel's mappings */
    } e[HK_LARGE_CACHE_SLOTS];
    uint32_t n;               /* entries in use, e[0..n) */
    size_t bytes;             /* their sizes summed */
    bool purged;              /* their pages were given back by another thread's sweep */
    _Atomic uint32_t held;    /* 1 while the owner or a sweep works on the cache */
    _Atomic uint64_t used_ms; /* hk_util_now_ms() at the owner's last use of its runs; 0:
                                 none to sweep */
} hk_large_cache_t;

/* What a stack walk needs of one pc's unwind rules (unwind.c), cached per heap. */
#define HK_UNWIND_CACHE_BITS 7
#define HK_UNWIND_RECHECK    64 /* walks between checks that no object came or went */
typedef struct hk_unwind_rule_s {
    uintptr_t pc;
    int32_t cfa_off, ra_off, bp_off;
    uint8_t kind; /* unwind.c's C_*: 0 = empty */
    bool cfa_rbp, bp_saved;
} hk_unwind_rule_t;

#define HK_UNWIND_MEMO_READS 48 /* stack words a remembered walk may depend on */
#define HK_UNWIND_MEMO_PCS   16
typedef struct hk_unwind_cache_s {
    uint64_t loader; /* dl_iterate_phdr's objects added and removed, at the last check */
    uint64_t walks;
    hk_unwind_rule_t e[1u << HK_UNWIND_CACHE_BITS];
    /* The last walk: where it started, every stack word it read and what it found. The
     * same start with the same words gives the same walk (unwind.c:memo_hit). */
    struct {
        bool valid;
        uint32_t nreads, npcs;
        uintptr_t pc, sp, bp, first_kept;
        uintptr_t at[HK_UNWIND_MEMO_READS], val[HK_UNWIND_MEMO_READS];
        uintptr_t pcs[HK_UNWIND_MEMO_PCS];
    } memo;
} hk_unwind_cache_t;

/* ---------------------------------------------------------------------------------------
 * Heaps
 *
 * A heap is a thread's cache plus the slabs it owns. A thread reaches its heap through
 * one initial-exec TLS pointer that starts at a static empty heap, so an uninitialised
 * thread misses in the cache instead of testing a flag. When a thread exits, its cache
 * goes back to its slabs and the heap (with whatever is still in use) is abandoned for
 * the next new thread to adopt; heaps are never unmapped, so a remote free may always
 * dereference the owner.
 * ------------------------------------------------------------------------------------- */
typedef struct hk_heap_s {
    hk_bin_t bins[HK_NCLASSES];
    hk_bin_t stash[HK_NCLASSES][HK_STASH_CHAINS]; /* chains drains set aside for later
                                            refills: both moves are O(1); `count` 0 =
                                            empty */
    hk_stat_counters_t *ctr;                      /* this thread's counters (its stats slot) */
    uint64_t event_next;    /* the malloc fast path's one test: a call whose `bytes` reach this
                               goes to hk_malloc_event (the nearer of site_next and prof_next,
                               0 while a timed call is due; hk_heap_rearm_events) */
    hk_stat_counters_t own; /* counters kept here when no slot is free */
    hk_stat_mem_t *mem;     /* this thread's memory moves (slot or own) */
    hk_stat_mem_t own_mem;
    uint64_t prof_match;   /* ...these bits equal to this, drawn at random
                              per heap so that a thread that makes
                              fewer calls than the period is timed
                              with the right chance too */
    uint64_t prof_mask;    /* a free or a slow-path call is timed when its
                              class's count has these bits clear; all ones =
                              off */
    uint64_t prof_next;    /* the fast path's mallocs are timed by bytes: the call after the
                              one whose `bytes` reach this is timed (prof.c) */
    bool prof_armed;       /* ...and is due now */
    uint32_t prof_period;  /* time one call in this many; 0 = off */
    uint32_t slot;         /* stats slot index, or HK_NO_SLOT */
    uint32_t spill;        /* spill block index, or HK_NO_SLOT */
    uint64_t site_next;    /* sample a site when `bytes` reaches this */
    uint64_t rng;          /* drives the sampling decisions (hk_rand) */
    hk_stat_site_t *sites; /* this thread's site table (slot or own) */
    uint64_t *sites_gen;
    hk_stat_site_t own_sites[HK_STATS_NSITES];
    uint64_t own_sites_gen;
    hk_page_t *partial[HK_NCLASSES]; /* slabs with blocks to hand out */
    hk_segment_t *segments;
    size_t dirty_pages;
    hk_large_cache_t large;
    hk_unwind_cache_t unwind;     /* sampled stacks are walked with it (sitetab.c) */
    hk_outbox_t out[HK_NCLASSES]; /* remote frees not yet sent, per class */
    uint64_t out_mask;            /* classes with something in `out` */
    bool abandoned;
    struct hk_heap_s *next_all;                /* every heap ever made */
    struct hk_heap_s *next_free;               /* abandoned heaps waiting for a thread */
    _Alignas(64) _Atomic(hk_block_t *) remote; /* chains freed by other threads (remote.c) */
} hk_heap_t;

#define HK_NO_SLOT UINT32_MAX

#endif /* HK_TYPES_H */
