/* internal.h: every cross-file internal function, grouped by the file that defines it,
 * and the small inline helpers the fast paths share. Nothing here is exported. */
#ifndef HK_INTERNAL_H
#define HK_INTERNAL_H

#include "debug.h"
#include "options.h"
#include "sizeclass.h"
#include "types.h"

/* ---------------------------------------------------------------------------------------
 * Pointer to metadata
 * ------------------------------------------------------------------------------------- */
HK_INLINE hk_segment_t *hk_segment_of(const void *p)
{
    return (hk_segment_t *)(((uintptr_t)p - 1) & ~(uintptr_t)HK_SEGMENT_MASK);
}

HK_INLINE hk_page_t *hk_page_of(hk_segment_t *seg, const void *p)
{
    return &seg->pages[((uintptr_t)p - (uintptr_t)seg) >> HK_PAGE_SHIFT];
}

HK_INLINE char *hk_page_start(hk_segment_t *seg, const hk_page_t *pg)
{
    return (char *)seg + ((size_t)(pg - seg->pages) << HK_PAGE_SHIFT);
}

/* xorshift64*: a fast generator for sampling decisions. The state must not be 0. */
HK_INLINE uint64_t hk_rand(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545f4914f6cdd1dull;
}

/* A bin's list, the one rule for every cache push and pop: LIFO, so the block handed
 * out next is the one freed last, still in cache. */
HK_INLINE void hk_bin_push(hk_bin_t *bin, hk_block_t *b)
{
    b->next = bin->head;
    bin->head = b;
    bin->count++;
}

HK_INLINE hk_block_t *hk_bin_pop(hk_bin_t *bin)
{
    hk_block_t *b = bin->head;
    bin->head = b->next;
    bin->count--;
    return b;
}

/* The malloc fast path's one event threshold (tcache.h), set again whenever site_next,
 * prof_next or prof_armed change: a threshold above either would miss its event. */
HK_INLINE void hk_heap_rearm_events(hk_heap_t *h)
{
    uint64_t prof = h->prof_period ? h->prof_next : UINT64_MAX;
    h->event_next = h->prof_armed ? 0 : prof < h->site_next ? prof : h->site_next;
}

HK_INLINE size_t hk_align_up(size_t n, size_t align)
{
    return (n + align - 1) & ~(align - 1);
}

/* ---------------------------------------------------------------------------------------
 * "heap.c"
 * ------------------------------------------------------------------------------------- */
extern __thread hk_heap_t *hk_tls __attribute__((tls_model("initial-exec")));
extern hk_heap_t hk_heap_empty;
extern hk_heap_t hk_heap_global;
extern struct hk_lock_s hk_heaps_lock;
enum hk_teardown {
    HK_TEARDOWN_EXIT, /* thread exit: others' chains wait in the caches for an adopter */
    HK_TEARDOWN_ALL,  /* hak_collect: everything cached goes back */
};
hk_heap_t *hk_heap_adopt(bool *adopted);
void hk_heap_abandon(hk_heap_t *h);
hk_heap_t *hk_heap_acquire(void);
void hk_heap_release(hk_heap_t *h);
void hk_heap_teardown(hk_heap_t *h, enum hk_teardown how);
void hk_heap_abandoned_collect(hk_heap_t *h);
void hk_heap_after_fork_child(bool torn);
void *hk_heap_meta_alloc(size_t size);
hk_heap_t *hk_heaps_first(void);

/* ---------------------------------------------------------------------------------------
 * "thread.c"
 * ------------------------------------------------------------------------------------- */
hk_heap_t *hk_thread_heap(void); /* the caller's heap, made on first use; NULL if none */
bool hk_thread_exited(void);
void hk_thread_key_init(void);

/* ---------------------------------------------------------------------------------------
 * "tcache.c"
 * ------------------------------------------------------------------------------------- */
void *hk_tcache_malloc_slow(hk_heap_t *h, size_t size, void *ra);
void *hk_tcache_malloc_unsampled(size_t size, void *ra);
void *hk_malloc_event(hk_heap_t *h, size_t size, void *ra);
void *hk_tcache_malloc_class(hk_heap_t *h, uint32_t cls, size_t size, void *ra);
void hk_tcache_free_slow(void *p);
void hk_tcache_drain(hk_heap_t *h, uint32_t cls, uint32_t keep);
void hk_tcache_flush(hk_heap_t *h);

/* ---------------------------------------------------------------------------------------
 * "malloc.c"
 * ------------------------------------------------------------------------------------- */
void *hk_malloc_aligned(size_t align, size_t size, void *ra);

/* ---------------------------------------------------------------------------------------
 * "slab.c"
 * ------------------------------------------------------------------------------------- */
uint32_t hk_slab_take(hk_heap_t *h, uint32_t cls, hk_bin_t *bin, uint32_t want);
void hk_slab_put(hk_heap_t *h, hk_page_t *pg, hk_block_t *b);
void hk_slab_purge(hk_heap_t *h);

/* ---------------------------------------------------------------------------------------
 * "remote.c"
 * ------------------------------------------------------------------------------------- */
void hk_remote_push(hk_heap_t *h, hk_heap_t *owner, uint32_t cls, hk_block_t *b);
void hk_remote_flush(hk_heap_t *h);
void hk_remote_collect(hk_heap_t *h);

/* ---------------------------------------------------------------------------------------
 * "large.c"
 * ------------------------------------------------------------------------------------- */
void *hk_large_alloc(hk_heap_t *h, size_t size, size_t align);
void *hk_large_alloc_stand_in(hk_heap_t *h, size_t size, size_t align);
void hk_large_fork_child(bool torn);
void hk_large_free(hk_heap_t *h, hk_segment_t *seg);
void hk_large_discard(hk_heap_t *h, hk_segment_t *seg);
void *hk_large_realloc(hk_heap_t *h, void *p, size_t size);
size_t hk_large_usable(const void *p);
bool hk_large_zeroed(const void *p);
void hk_large_decay(hk_heap_t *h, bool all);
extern _Atomic int hk_large_span_moves; /* 1/-1: runs of several mappings move or not */
uint64_t hk_large_edges(void);

/* ---------------------------------------------------------------------------------------
 * "os.c"
 * ------------------------------------------------------------------------------------- */
void *hk_os_map(size_t size);
void *hk_os_map_aligned(size_t size, size_t align);
void hk_os_unmap(void *p, size_t size);
void hk_os_purge(void *p, size_t size);
bool hk_os_remap(void *old, size_t old_size, size_t new_size, void *dest);
bool hk_os_grow_in_place(void *p, size_t old_size, size_t new_size);
bool hk_os_map_fixed(void *p, size_t size);
bool hk_os_moves_span_mappings(void);

/* ---------------------------------------------------------------------------------------
 * "init.c"
 * ------------------------------------------------------------------------------------- */
void hk_process_init(void);
extern _Atomic int hk_init_state;
/* Non-zero while this thread runs one of the allocator's slow paths (HK_ENTER/HK_LEAVE),
 * where a fork from a signal handler would find its heap half-updated. */
extern __thread uint32_t hk_inside __attribute__((tls_model("initial-exec")));
#define HK_ENTER() (hk_inside++)
#define HK_LEAVE() (hk_inside--)
HK_INLINE void hk_ensure_init(void)
{
    if (hk_unlikely(atomic_load_explicit(&hk_init_state, memory_order_acquire) != 2))
        hk_process_init();
}

/* ---------------------------------------------------------------------------------------
 * "options.c"
 * ------------------------------------------------------------------------------------- */
/* One field per HAKMEM_* variable of options.h, named by its `field`. */
typedef struct hk_options_s {
#define HK_OPT_FIELD(name, kind, field, def, min, max, summary, doc) HK_OPT_TYPE_##kind field;
    HK_OPTIONS(HK_OPT_FIELD)
#undef HK_OPT_FIELD
} hk_options_t;
extern hk_options_t hk_opt;
void hk_options_init(void);
const char *hk_options_env(const char *name);

/* ---------------------------------------------------------------------------------------
 * "stats.c"
 * ------------------------------------------------------------------------------------- */
extern hk_stats_header_t *hk_stats_header;
void hk_stats_init(void);
void hk_stats_thread_start(hk_heap_t *h, bool adopted);
void hk_stats_thread_end(hk_heap_t *h);
void hk_stats_publish_unslotted(hk_heap_t *h);
void hk_stats_publish_idle(hk_heap_t *h);
void hk_stats_totals(hk_stat_counters_t *out);
void hk_stats_retire(void);
void hk_stats_after_fork_child(void);
void hk_stats_lock(void);
void hk_stats_unlock(void);
bool hk_stats_lock_held_by_me(void);

/* ---------------------------------------------------------------------------------------
 * "shm.c"
 * ------------------------------------------------------------------------------------- */
hk_stats_header_t *hk_shm_create(bool sweep);
void hk_shm_detach(hk_stats_header_t *seg);
void *hk_shm_grow(size_t bytes);
void hk_shm_remove(void);
void hk_shm_retire(const hk_stat_counters_t *total);

/* ---------------------------------------------------------------------------------------
 * "unwind.c"
 * ------------------------------------------------------------------------------------- */
int hk_unwind(void **out, int max, void *first_kept);
/* Where a walk starts: the registers at one point of a function. */
typedef struct hk_unwind_ctx_s {
    uintptr_t pc, sp, bp;
} hk_unwind_ctx_t;
#if defined(__x86_64__)
#define HK_UNWIND_HERE(ctx)                                                                        \
    __asm__ volatile("lea (%%rip), %0\n\tmov %%rsp, %1\n\tmov %%rbp, %2"                           \
                     : "=r"((ctx)->pc), "=r"((ctx)->sp), "=r"((ctx)->bp))
#else
#define HK_UNWIND_HERE(ctx) (*(ctx) = (hk_unwind_ctx_t){0})
#endif
int hk_unwind_from(hk_unwind_cache_t *cache, const hk_unwind_ctx_t *ctx, void **out, int max,
                   void *first_kept);
extern uint64_t hk_unwind_maps_reads; /* walks that read /proc/self/maps */
void hk_unwind_fork_child(void);

/* ---------------------------------------------------------------------------------------
 * "site.c"
 * ------------------------------------------------------------------------------------- */
void *hk_site_sample(hk_heap_t *h, void *ra, size_t size, void *p, uint32_t cls);
void *hk_site_sample_ret(hk_heap_t *h, size_t size, void *ret, void *ra);
void hk_site_heap_start(hk_heap_t *h, hk_stat_site_t *sites, uint64_t *sites_gen);
double hk_exp_gap(uint64_t *rng);

/* ---------------------------------------------------------------------------------------
 * "sitetab.c"
 * ------------------------------------------------------------------------------------- */
void *hk_site_record(hk_heap_t *h, const hk_unwind_ctx_t *at, void *ra, size_t size, void *p,
                     uint32_t cls);
void hk_site_freed(hk_segment_t *seg);
void hk_site_resized(hk_segment_t *seg, size_t size);
size_t hk_site_table_size(void);
void hk_site_attach(hk_stats_header_t *hd);
void hk_site_lock(void);
void hk_site_unlock(void);
bool hk_site_lock_held_by_me(void);
void hk_site_fork_prepare(void);
void hk_site_fork_parent(void);
void hk_site_fork_child(bool torn);

/* ---------------------------------------------------------------------------------------
 * "prof.c"
 * ------------------------------------------------------------------------------------- */
void hk_prof_init(void);
uint64_t hk_prof_tsc_hz(void);
void hk_prof_sync(hk_heap_t *h);
void hk_prof_heap_start(hk_heap_t *h);
void *hk_prof_malloc(size_t size, void *ra);
bool hk_prof_malloc_due(hk_heap_t *h, uint64_t bytes);
void hk_prof_free(void *p);

/* ---------------------------------------------------------------------------------------
 * "report.c"
 * ------------------------------------------------------------------------------------- */
void hk_report_at_exit(void);
void hk_report_thread_exit(const hk_stat_counters_t *t);

/* ---------------------------------------------------------------------------------------
 * "util.c"
 * ------------------------------------------------------------------------------------- */
size_t hk_util_fmt_u64(char *buf, uint64_t v, bool grouped);
void hk_util_write_str(int fd, const char *s);
uint64_t hk_util_now_ms(void);
bool hk_util_parse_u64(const char *s, uint64_t *out);
void hk_util_copy_padded(char *dst, size_t cap, const char *src);

/* A string built in a caller's buffer of cap bytes: always terminated, cut at the end. */
typedef struct hk_strbuf_s {
    char *buf;
    size_t len, cap;
} hk_strbuf_t;
/* HK_STRBUF(buf) takes its cap from sizeof, so buf must be an array: a pointer (which
 * would give the pointer's 8) fails to compile. */
#define HK_IS_ARRAY(a) (!__builtin_types_compatible_p(__typeof__(a), __typeof__(&(a)[0])))
#define HK_STRBUF(array)                                                                           \
    ((hk_strbuf_t){(array), 0, sizeof(array) + 0 * sizeof(struct {                                 \
                                                   _Static_assert(HK_IS_ARRAY(array),              \
                                                                  "HK_STRBUF needs an array");     \
                                                   char c;                                         \
                                               })})
void hk_strbuf_put(hk_strbuf_t *b, const char *s);
void hk_strbuf_put_u64(hk_strbuf_t *b, uint64_t v, bool grouped);
void hk_strbuf_write_line(hk_strbuf_t *b, int fd);

#endif /* HK_INTERNAL_H */
