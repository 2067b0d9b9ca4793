/* cxx.c: C++'s operator new and delete in every standard form (plain, array, nothrow,
 * sized, aligned), on the same inlined fast paths as malloc and free, so that a C++
 * allocation costs what a C one does and its site is the C++ caller. Written in C so
 * that libhakmem needs no libstdc++: a failed new follows the standard's loop (call the
 * installed new_handler and try again; with none, throw std::bad_alloc, or return NULL
 * for the nothrow forms) through libstdc++'s own functions, reached as weak references
 * (any program that calls operator new has libstdc++ loaded). Without them a failed
 * throwing new aborts. A new_handler that throws from a nothrow new propagates its
 * exception: catching it would need libstdc++. Sized delete frees as free does: the
 * page descriptor that the size would spare is read anyway, to find the owner. */
#include "config.h"

#include <stdlib.h>

#include "internal.h"
#include "tcache.h"

typedef void (*hk_new_handler_t)(void);
extern hk_new_handler_t _ZSt15get_new_handlerv(void) __attribute__((weak));
extern void _ZSt17__throw_bad_allocv(void) __attribute__((weak, noreturn));

/* The allocation failed: the standard's loop. `align` 0 for the unaligned forms. */
static HK_NOINLINE void *new_failed(size_t size, size_t align, bool nothrow, void *ra)
{
    for (;;) {
        hk_new_handler_t handler = _ZSt15get_new_handlerv ? _ZSt15get_new_handlerv() : NULL;
        if (handler == NULL) {
            if (nothrow) return NULL;
            if (_ZSt17__throw_bad_allocv) _ZSt17__throw_bad_allocv();
            hk_util_write_str(2, "hakmem: operator new failed and std::bad_alloc is unknown\n");
            abort();
        }
        handler();
        void *p = align ? hk_malloc_aligned(align, size, ra) : hk_malloc_fast(size, ra);
        if (p) return p;
    }
}

static HK_NOINLINE void *new_slow(hk_heap_t *h, size_t size, void *ra)
{
    void *p = hk_tcache_malloc_slow(h, size, ra);
    return p ? p : new_failed(size, 0, false, ra);
}

static HK_NOINLINE void *new_nothrow_slow(hk_heap_t *h, size_t size, void *ra)
{
    void *p = hk_tcache_malloc_slow(h, size, ra);
    return p ? p : new_failed(size, 0, true, ra);
}

static void *new_aligned(size_t size, size_t align, bool nothrow, void *ra)
{
    void *p = hk_malloc_aligned(align, size, ra);
    return p ? p : new_failed(size, align, nothrow, ra);
}

/* The mangled names, declared first: C has no other way to spell them. */
#define ALIGN_T size_t       /* std::align_val_t */
#define NOTHROW const void * /* const std::nothrow_t & */
void *_Znwm(size_t), *_Znam(size_t), *_ZnwmRKSt9nothrow_t(size_t, NOTHROW),
    *_ZnamRKSt9nothrow_t(size_t, NOTHROW), *_ZnwmSt11align_val_t(size_t, ALIGN_T),
    *_ZnamSt11align_val_t(size_t, ALIGN_T),
    *_ZnwmSt11align_val_tRKSt9nothrow_t(size_t, ALIGN_T, NOTHROW),
    *_ZnamSt11align_val_tRKSt9nothrow_t(size_t, ALIGN_T, NOTHROW);
void _ZdlPv(void *), _ZdaPv(void *), _ZdlPvm(void *, size_t), _ZdaPvm(void *, size_t),
    _ZdlPvRKSt9nothrow_t(void *, NOTHROW), _ZdaPvRKSt9nothrow_t(void *, NOTHROW),
    _ZdlPvSt11align_val_t(void *, ALIGN_T), _ZdaPvSt11align_val_t(void *, ALIGN_T),
    _ZdlPvmSt11align_val_t(void *, size_t, ALIGN_T),
    _ZdaPvmSt11align_val_t(void *, size_t, ALIGN_T),
    _ZdlPvSt11align_val_tRKSt9nothrow_t(void *, ALIGN_T, NOTHROW),
    _ZdaPvSt11align_val_tRKSt9nothrow_t(void *, ALIGN_T, NOTHROW);

/* ---------------------------------------------------------------------------------------
 * new
 * ------------------------------------------------------------------------------------- */
HK_EXPORT void *_Znwm(size_t size) /* operator new(size_t) */
{
    return hk_malloc_inline(size, true, HK_RA_CALLER, new_slow);
}

HK_EXPORT void *_Znam(size_t size) /* operator new[](size_t) */
{
    return hk_malloc_inline(size, true, HK_RA_CALLER, new_slow);
}

HK_EXPORT void *_ZnwmRKSt9nothrow_t(size_t size, NOTHROW tag)
{
    (void)tag;
    return hk_malloc_inline(size, true, HK_RA_CALLER, new_nothrow_slow);
}

HK_EXPORT void *_ZnamRKSt9nothrow_t(size_t size, NOTHROW tag)
{
    (void)tag;
    return hk_malloc_inline(size, true, HK_RA_CALLER, new_nothrow_slow);
}

HK_EXPORT void *_ZnwmSt11align_val_t(size_t size, ALIGN_T align)
{
    return new_aligned(size, align, false, __builtin_return_address(0));
}

HK_EXPORT void *_ZnamSt11align_val_t(size_t size, ALIGN_T align)
{
    return new_aligned(size, align, false, __builtin_return_address(0));
}

HK_EXPORT void *_ZnwmSt11align_val_tRKSt9nothrow_t(size_t size, ALIGN_T align, NOTHROW tag)
{
    (void)tag;
    return new_aligned(size, align, true, __builtin_return_address(0));
}

HK_EXPORT void *_ZnamSt11align_val_tRKSt9nothrow_t(size_t size, ALIGN_T align, NOTHROW tag)
{
    (void)tag;
    return new_aligned(size, align, true, __builtin_return_address(0));
}

/* ---------------------------------------------------------------------------------------
 * delete: every form is free
 * ------------------------------------------------------------------------------------- */
HK_EXPORT void _ZdlPv(void *p)
{
    hk_free_fast(p);
}

HK_EXPORT void _ZdaPv(void *p)
{
    hk_free_fast(p);
}

HK_EXPORT void _ZdlPvm(void *p, size_t size)
{
    (void)size;
    hk_free_fast(p);
}

HK_EXPORT void _ZdaPvm(void *p, size_t size)
{
    (void)size;
    hk_free_fast(p);
}

HK_EXPORT void _ZdlPvRKSt9nothrow_t(void *p, NOTHROW tag)
{
    (void)tag;
    hk_free_fast(p);
}

HK_EXPORT void _ZdaPvRKSt9nothrow_t(void *p, NOTHROW tag)
{
    (void)tag;
    hk_free_fast(p);
}

HK_EXPORT void _ZdlPvSt11align_val_t(void *p, ALIGN_T align)
{
    (void)align;
    hk_free_fast(p);
}

HK_EXPORT void _ZdaPvSt11align_val_t(void *p, ALIGN_T align)
{
    (void)align;
    hk_free_fast(p);
}

HK_EXPORT void _ZdlPvmSt11align_val_t(void *p, size_t size, ALIGN_T align)
{
    (void)size, (void)align;
    hk_free_fast(p);
}

HK_EXPORT void _ZdaPvmSt11align_val_t(void *p, size_t size, ALIGN_T align)
{
    (void)size, (void)align;
    hk_free_fast(p);
}

HK_EXPORT void _ZdlPvSt11align_val_tRKSt9nothrow_t(void *p, ALIGN_T align, NOTHROW tag)
{
    (void)align, (void)tag;
    hk_free_fast(p);
}

HK_EXPORT void _ZdaPvSt11align_val_tRKSt9nothrow_t(void *p, ALIGN_T align, NOTHROW tag)
{
    (void)align, (void)tag;
    hk_free_fast(p);
}
