/* enomem.c: requests that cannot be satisfied — sizes near SIZE_MAX, above PTRDIFF_MAX,
 * beyond the address space, and products that overflow — fail with NULL and ENOMEM (the
 * return value for posix_memalign), and a failed realloc leaves the old block intact. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "hakmem.h"

#include "../tap.h"
#include "../testutil.h"

/* Check a call that must fail: it returned `p` with `err` in errno. */
static void expect_enomem(void *p, int err, const char *what)
{
    if (!tap_ok(p == NULL && err == ENOMEM, "%s fails with ENOMEM", what))
        tap_diag("  returned %p, errno %d (%s)", p, err, strerror(err));
    free(p);
}

#define EXPECT_ENOMEM(call, what)                                                                  \
    do {                                                                                           \
        errno = 0;                                                                                 \
        void *p_ = (call);                                                                         \
        expect_enomem(p_, errno, what);                                                            \
    } while (0)

/* realloc-like failure: NULL, ENOMEM, and the original block still holds its pattern
 * and can still be resized and freed. */
static void test_realloc_keeps_block(size_t old_size, size_t nmemb, size_t size, int array)
{
    unsigned char *p = malloc(old_size);
    if (!p) {
        tap_ok(0, "malloc(%zu) for the realloc failure test", old_size);
        return;
    }
    tu_fill(p, old_size, old_size);
    errno = 0;
    void *q =
        array ? reallocarray(p, tu_opaque(nmemb), tu_opaque(size)) : realloc(p, tu_opaque(size));
    int err = errno;
    if (!tap_ok(q == NULL && err == ENOMEM, "%s(p[%zu], %s) fails with ENOMEM",
                array ? "reallocarray" : "realloc", old_size,
                array ? "SIZE_MAX / 2, 3" : "SIZE_MAX"))
        tap_diag("  returned %p, errno %d", q, err);
    if (q) {
        free(q);
        tap_ok(0, "old block untouched after the failed call (it succeeded)");
        return;
    }
    size_t at = tu_check(p, old_size, old_size);
    tap_ok(at == SIZE_MAX, "the block of %zu bytes is intact after the failure", old_size);
    unsigned char *r = realloc(p, old_size * 2);
    tap_ok(r && tu_check(r, old_size, old_size) == SIZE_MAX,
           "the block can still be grown and keeps its contents");
    free(r ? r : p);
}

int main(void)
{
    tap_plan(26);
    const size_t max = SIZE_MAX, page = (size_t)sysconf(_SC_PAGESIZE);

    EXPECT_ENOMEM(malloc(tu_opaque(max)), "malloc(SIZE_MAX)");
    EXPECT_ENOMEM(malloc(tu_opaque(max - 4096)), "malloc(SIZE_MAX - 4096)");
    EXPECT_ENOMEM(malloc(tu_opaque(max - 15)), "malloc(SIZE_MAX - 15)");
    EXPECT_ENOMEM(malloc(tu_opaque((size_t)PTRDIFF_MAX + 1)), "malloc(PTRDIFF_MAX + 1)");
    EXPECT_ENOMEM(malloc(tu_opaque((size_t)1 << 62)), "malloc(2^62) (beyond the address space)");

    EXPECT_ENOMEM(calloc(tu_opaque(max / 2), tu_opaque(3)), "calloc(SIZE_MAX / 2, 3)");
    EXPECT_ENOMEM(calloc(tu_opaque(3), tu_opaque(max / 2)), "calloc(3, SIZE_MAX / 2)");
    EXPECT_ENOMEM(calloc(tu_opaque((size_t)1 << 32), tu_opaque((size_t)1 << 32)),
                  "calloc(2^32, 2^32) (product wraps to 0)");
    EXPECT_ENOMEM(calloc(tu_opaque(1), tu_opaque(max)), "calloc(1, SIZE_MAX)");
    EXPECT_ENOMEM(reallocarray(NULL, tu_opaque(max / 2), tu_opaque(3)),
                  "reallocarray(NULL, SIZE_MAX / 2, 3)");

    EXPECT_ENOMEM(aligned_alloc(64, tu_opaque(max)), "aligned_alloc(64, SIZE_MAX)");
    EXPECT_ENOMEM(aligned_alloc(4096, tu_opaque(max - 4096)),
                  "aligned_alloc(4096, SIZE_MAX - 4096)");
    EXPECT_ENOMEM(memalign(64, tu_opaque(max)), "memalign(64, SIZE_MAX)");
    EXPECT_ENOMEM(memalign(1 << 20, tu_opaque(max - (1 << 19))),
                  "memalign(1 MiB, SIZE_MAX - 512 KiB)");
    EXPECT_ENOMEM(valloc(tu_opaque(max)), "valloc(SIZE_MAX)");
    EXPECT_ENOMEM(pvalloc(tu_opaque(max)), "pvalloc(SIZE_MAX) (page rounding overflows)");
    EXPECT_ENOMEM(pvalloc(tu_opaque(max - page + 2)),
                  "pvalloc(SIZE_MAX - page + 2) (page rounding overflows)");

    void *p = (void *)0x1;
    int rc = posix_memalign(&p, 64, tu_opaque(max));
    if (!tap_ok(rc == ENOMEM, "posix_memalign(&p, 64, SIZE_MAX) returns ENOMEM"))
        tap_diag("  returned %d, p %p", rc, p);
    rc = posix_memalign(&p, 4096, tu_opaque((size_t)PTRDIFF_MAX + 1));
    if (!tap_ok(rc == ENOMEM, "posix_memalign(&p, 4096, PTRDIFF_MAX + 1) returns ENOMEM"))
        tap_diag("  returned %d, p %p", rc, p);

    test_realloc_keeps_block(100, 0, max, 0);
    test_realloc_keeps_block(300000, max / 2, 3, 1);
    TAP_EQ_I64(hak_check(), 0, "hak_check finds this thread's heap consistent at the end");
    return tap_done();
}
