/* libc-alias.c: glibc's internal entry points __libc_malloc and friends, which some
 * programs and libraries call directly, share the heap with the standard ones: blocks from
 * each are freed with free, and blocks from malloc with __libc_free. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "hakmem.h"

#include "../tap.h"
#include "../testutil.h"

/* No glibc header declares these; libhakmem exports them (libhakmem.sym). */
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t nmemb, size_t size);
extern void *__libc_realloc(void *ptr, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void *__libc_valloc(size_t size);
extern void *__libc_pvalloc(size_t size);
extern void __libc_free(void *ptr);

static const size_t sizes[] = {1, 24, 200, 3000, 70000, 300000, 2u << 20};
#define NS     (sizeof sizes / sizeof sizes[0])
#define ROUNDS 6

/* Allocate n bytes with entry point `which` and fill them; 0 if the block is unusable
 * (NULL, misaligned, too small, or not zeroed by calloc). */
static int alloc_with(int which, size_t n, uintptr_t *align_out, void **out)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    void *p = NULL;
    size_t align = 1;
    int dirty = 0;
    switch (which) {
    case 0:
        p = __libc_malloc(tu_opaque(n));
        break;
    case 1:
        p = __libc_calloc(tu_opaque(n), 1);
        if (p && tu_check_bytes(p, n, 0) != SIZE_MAX) return 0;
        break;
    case 2:
        p = __libc_realloc(NULL, tu_opaque(n / 2 + 1));
        p = __libc_realloc(p, tu_opaque(n));
        break;
    case 3:
        align = 256;
        p = __libc_memalign(align, tu_opaque(n));
        break;
    case 4:
        align = page;
        p = __libc_valloc(tu_opaque(n));
        break;
    case 5:
        align = page;
        p = __libc_pvalloc(tu_opaque(n));
        break;
    }
    *align_out = align;
    *out = p;
    if (!p || dirty || (uintptr_t)p % align || malloc_usable_size(p) < n) return 0;
    tu_fill(p, n, n + (size_t)which);
    return 1;
}

int main(void)
{
    static const char *names[] = {"__libc_malloc",   "__libc_calloc", "__libc_realloc",
                                  "__libc_memalign", "__libc_valloc", "__libc_pvalloc"};
    tap_plan(6 + 2 + 1);
    for (int which = 0; which < 6; which++) {
        unsigned long bad = 0;
        for (int r = 0; r < ROUNDS; r++) {
            void *blocks[NS];
            for (size_t i = 0; i < NS; i++) {
                uintptr_t align = 1;
                if (!alloc_with(which, sizes[i], &align, &blocks[i]) && bad++ < 3)
                    tap_diag("  %s(%zu) = %p (alignment %zu) unusable", names[which], sizes[i],
                             blocks[i], (size_t)align);
            }
            for (size_t i = 0; i < NS; i++) {
                if (blocks[i] &&
                    tu_check(blocks[i], sizes[i], sizes[i] + (size_t)which) != SIZE_MAX)
                    bad++;
                free(blocks[i]);
            }
        }
        TAP_EQ_U64(bad, 0, "%s blocks (%zu sizes up to 2 MiB) usable and freed with free",
                   names[which], NS);
    }

    unsigned long bad = 0;
    for (int r = 0; r < ROUNDS; r++) {
        for (size_t i = 0; i < NS; i++) {
            void *p = malloc(tu_opaque(sizes[i]));
            if (!p) {
                bad++;
                continue;
            }
            tu_fill(p, sizes[i], 5);
            __libc_free(p);
            p = calloc(tu_opaque(sizes[i]), 1);
            if (!p || tu_check_bytes(p, sizes[i], 0) != SIZE_MAX) bad++;
            __libc_free(p);
        }
    }
    TAP_EQ_U64(bad, 0, "malloc and calloc blocks freed with __libc_free");

    /* Mixed: a block grown by realloc after __libc_malloc, shrunk by __libc_realloc. */
    unsigned char *p = __libc_malloc(tu_opaque(100));
    if (p) tu_fill(p, 100, 7);
    p = realloc(p, tu_opaque(500000));
    p = p ? __libc_realloc(p, tu_opaque(50)) : NULL;
    tap_ok(p && tu_check(p, 50, 7) == SIZE_MAX,
           "__libc_malloc -> realloc -> __libc_realloc keeps contents");
    __libc_free(p);
    TAP_EQ_I64(hak_check(), 0, "hak_check finds this thread's heap consistent at the end");
    return tap_done();
}
