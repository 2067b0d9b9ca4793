/* malloc.c: the C and POSIX allocation entry points, and glibc's __libc_* names for
 * them so that a block from any entry point can be given to any other. Each checks
 * its arguments (overflow, alignment) and hands over to the thread cache or the large
 * path. This is the only file that defines these names. */
#include "config.h"

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hakmem.h"
#include "internal.h"
#include "tcache.h"

#define ALIAS(name) __attribute__((alias(#name), copy(name), used, visibility("default")))

/* Requests above this fail with ENOMEM before any arithmetic can overflow. */
#define HK_SIZE_LIMIT ((size_t)PTRDIFF_MAX - 2 * HK_SEGMENT_SIZE)

/* ---------------------------------------------------------------------------------------
 * Aligned allocation
 * ------------------------------------------------------------------------------------- */

/* A block of `size` bytes at a multiple of `align` (a power of two). Small requests use
 * the first size class that is a multiple of the alignment: blocks of such a class sit
 * at multiples of their size, as slabs start at 64 KiB boundaries. */
void *hk_malloc_aligned(size_t align, size_t size, void *ra)
{
    if (align <= HK_MIN_ALIGN) return hk_malloc_fast(size, ra);
    if (size > HK_SIZE_LIMIT || align > HK_SIZE_LIMIT / 2) {
        errno = ENOMEM;
        return NULL;
    }
    if (align <= HK_PAGE_SIZE && size <= HK_SMALL_MAX) {
        uint32_t cls = hk_size_class(size > align ? size : align);
        while (cls < HK_NCLASSES && hk_class_size[cls] % align)
            cls++;
        if (cls < HK_NCLASSES) return hk_tcache_malloc_class(hk_tls, cls, size, ra);
    }
    HK_ENTER();
    hk_heap_t *h = hk_heap_acquire();
    void *p = hk_large_alloc(h, size, align);
    if (p) {
        h->ctr->c[HK_STAT_large_alloc]++;
        h->ctr->c[HK_STAT_bytes] += size;
    }
    hk_heap_release(h);
    HK_LEAVE();
    return p;
}

static void count_call(enum hk_stat_id id)
{
    hk_tls->ctr->c[id]++; /* the empty heap's counters absorb calls before a heap exists */
}

/* ---------------------------------------------------------------------------------------
 * The standard entry points
 * ------------------------------------------------------------------------------------- */
HK_EXPORT void *malloc(size_t size)
{
    return hk_malloc_fast(size, HK_RA_CALLER);
}

HK_EXPORT void free(void *p)
{
    hk_free_fast(p);
}

HK_EXPORT void *calloc(size_t n, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = hk_malloc_fast(total, __builtin_return_address(0));
    if (p == NULL) return NULL;
    count_call(HK_STAT_calloc);
    /* A fresh large mapping is already zero; a reused one is not. */
    if (total <= HK_SMALL_MAX || !hk_large_zeroed(p)) memset(p, 0, total);
    return p;
}

HK_EXPORT size_t malloc_usable_size(void *p)
{
    if (p == NULL) return 0;
    hk_segment_t *seg = hk_segment_of(p);
    if (seg->kind == HK_SEG_LARGE) return hk_large_usable(p);
    return hk_class_size[hk_page_of(seg, p)->cls];
}

/* realloc(p, 0) frees p and returns NULL, as glibc does. A failed realloc returns NULL
 * with errno ENOMEM and leaves the old block as it was. */
HK_EXPORT void *realloc(void *p, size_t size)
{
    if (p == NULL) return hk_malloc_fast(size, __builtin_return_address(0));
    if (size == 0) {
        hk_free_fast(p);
        return NULL;
    }
    count_call(HK_STAT_realloc);
    if (size > HK_SIZE_LIMIT) {
        errno = ENOMEM;
        return NULL;
    }
    hk_segment_t *seg = hk_segment_of(p);
    size_t old = malloc_usable_size(p);
    /* A large block is resized where it is or moved whole, a sampled one with its record
     * (a copy at every step would make growth quadratic); a sampled small block, which
     * lives in a large stand-in, moves as a new allocation would. */
    if (seg->kind == HK_SEG_LARGE && size > HK_SMALL_MAX &&
        (seg->track == 0 || seg->track_cls >= HK_NCLASSES)) {
        HK_ENTER();
        hk_heap_t *h = hk_heap_acquire();
        int saved = errno;
        void *q = hk_large_realloc(h, p, size);
        if (q) {
            errno = saved;
            if (hk_segment_of(q)->track) hk_site_resized(hk_segment_of(q), size);
        }
        hk_heap_release(h);
        HK_LEAVE();
        return q;
    }
    /* Keep the block when it fits and would not waste more than half of it. */
    if (seg->kind == HK_SEG_SMALL && size <= old && size >= old / 2) return p;
    void *q = hk_malloc_fast(size, __builtin_return_address(0));
    if (q == NULL) return NULL;
    memcpy(q, p, size < old ? size : old);
    hk_free_fast(p);
    return q;
}

HK_EXPORT void *reallocarray(void *p, size_t n, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(p, total);
}

HK_EXPORT int posix_memalign(void **out, size_t align, size_t size)
{
    if (align < sizeof(void *) || (align & (align - 1)) != 0) return EINVAL;
    count_call(HK_STAT_aligned);
    void *p = hk_malloc_aligned(align, size, __builtin_return_address(0));
    if (p == NULL) {
        errno = ENOMEM; /* as glibc does, besides returning it */
        return ENOMEM;
    }
    *out = p;
    return 0;
}

/* C17 allows any size; a non-power-of-two alignment is refused with EINVAL. */
HK_EXPORT void *aligned_alloc(size_t align, size_t size)
{
    if (align == 0 || (align & (align - 1)) != 0) {
        errno = EINVAL;
        return NULL;
    }
    count_call(HK_STAT_aligned);
    return hk_malloc_aligned(align, size, __builtin_return_address(0));
}

/* glibc rounds a non-power-of-two alignment up to the next power of two; one above
 * the largest power of two cannot be rounded (EINVAL), a huge one cannot be met (ENOMEM). */
HK_EXPORT void *memalign(size_t align, size_t size)
{
    if (align > SIZE_MAX / 2 + 1) {
        errno = EINVAL;
        return NULL;
    }
    size_t a = HK_MIN_ALIGN;
    while (a < align)
        a <<= 1;
    count_call(HK_STAT_aligned);
    return hk_malloc_aligned(a, size, __builtin_return_address(0));
}

HK_EXPORT void *valloc(size_t size)
{
    count_call(HK_STAT_aligned);
    return hk_malloc_aligned((size_t)sysconf(_SC_PAGESIZE), size, __builtin_return_address(0));
}

/* Rounds the size up to whole pages; pvalloc(0) gives one page. */
HK_EXPORT void *pvalloc(size_t size)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    if (size > HK_SIZE_LIMIT) {
        errno = ENOMEM;
        return NULL;
    }
    size = size ? hk_align_up(size, page) : page;
    count_call(HK_STAT_aligned);
    return hk_malloc_aligned(page, size, __builtin_return_address(0));
}

/* C23: the size and alignment are promises we do not need to check. */
HK_EXPORT void free_sized(void *p, size_t size)
{
    (void)size;
    hk_free_fast(p);
}

HK_EXPORT void free_aligned_sized(void *p, size_t align, size_t size)
{
    (void)align;
    (void)size;
    hk_free_fast(p);
}

/* ---------------------------------------------------------------------------------------
 * glibc's internal names, used by programs and libraries that call them directly
 * ------------------------------------------------------------------------------------- */
void *__libc_malloc(size_t size) ALIAS(malloc);
void __libc_free(void *p) ALIAS(free);
void *__libc_calloc(size_t n, size_t size) ALIAS(calloc);
void *__libc_realloc(void *p, size_t size) ALIAS(realloc);
void *__libc_memalign(size_t align, size_t size) ALIAS(memalign);
void *__libc_valloc(size_t size) ALIAS(valloc);
void *__libc_pvalloc(size_t size) ALIAS(pvalloc);

/* ---------------------------------------------------------------------------------------
 * hakmem's own API
 * ------------------------------------------------------------------------------------- */
HK_EXPORT const char *hak_version(void)
{
    return PACKAGE_VERSION;
}

HK_EXPORT void hak_collect(void)
{
    hk_heap_t *h = hk_tls;
    if (h == &hk_heap_empty) return;
    HK_ENTER();
    hk_heap_teardown(h, HK_TEARDOWN_ALL);
    HK_LEAVE();
}
