/* errno-table.c: the return value and errno of every allocation entry point, for every
 * kind of failure and the successes that must leave errno alone, written once as a table
 * and checked the same way under glibc's malloc and under libhakmem (errno.sh runs this
 * program both ways; it is linked to neither). Where glibc itself changed (aligned_alloc
 * refuses an alignment that is not a power of two since 2.38, as C17 asks; before, it
 * was memalign), the row names the version from which it holds: an older glibc must
 * still behave as memalign did (return a block), and libhakmem follows the newer rule. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <gnu/libc-version.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../tap.h"
#include "../testutil.h"

#define SENTINEL EBADF /* errno before each call; "unchanged" means still this */
#define BIG      ((size_t)1 << 63)

enum expect { NONNULL, NULLPTR, RET0, RETERR };

static void *old_block; /* for the realloc rows: must survive a failed call intact */

static void *pm(int *ret, size_t align, size_t size)
{
    void *p = (void *)0x1; /* must be left alone on failure */
    *ret = posix_memalign(&p, align, size);
    if (*ret != 0 && p != (void *)0x1) return (void *)0x2; /* reported as a wrong result */
    return *ret == 0 ? p : NULL;
}

static void *freed(void *p)
{
    free(p);
    return (void *)0x3; /* free returns nothing: only errno is checked */
}

/* X(call, expected result, errno after it (SENTINEL: unchanged; for RETERR the value
 * returned), glibc minor version from which it holds (0: always), the call). */
#define N tu_opaque
#define ROWS(X)                                                                                    \
    X("malloc(SIZE_MAX)", NULLPTR, ENOMEM, 0, malloc(N(SIZE_MAX)))                                 \
    X("malloc(PTRDIFF_MAX)", NULLPTR, ENOMEM, 0, malloc(N(PTRDIFF_MAX)))                           \
    X("malloc(PTRDIFF_MAX + 1)", NULLPTR, ENOMEM, 0, malloc(N((size_t)PTRDIFF_MAX + 1)))           \
    X("malloc(0)", NONNULL, SENTINEL, 0, malloc(N(0)))                                             \
    X("malloc(16)", NONNULL, SENTINEL, 0, malloc(N(16)))                                           \
    X("malloc(200000)", NONNULL, SENTINEL, 0, malloc(N(200000)))                                   \
    X("malloc(1 GiB)", NONNULL, SENTINEL, 0, malloc(N((size_t)1 << 30)))                           \
    X("calloc(SIZE_MAX, 2)", NULLPTR, ENOMEM, 0, calloc(N(SIZE_MAX), 2))                           \
    X("calloc(2^32, 2^32)", NULLPTR, ENOMEM, 0, calloc(N((size_t)1 << 32), (size_t)1 << 32))       \
    X("calloc(1, PTRDIFF_MAX + 1)", NULLPTR, ENOMEM, 0, calloc(1, N((size_t)PTRDIFF_MAX + 1)))     \
    X("calloc(0, SIZE_MAX)", NONNULL, SENTINEL, 0, calloc(0, N(SIZE_MAX)))                         \
    X("calloc(SIZE_MAX, 0)", NONNULL, SENTINEL, 0, calloc(N(SIZE_MAX), 0))                         \
    X("calloc(100, 100)", NONNULL, SENTINEL, 0, calloc(N(100), 100))                               \
    X("realloc(NULL, SIZE_MAX)", NULLPTR, ENOMEM, 0, realloc(NULL, N(SIZE_MAX)))                   \
    X("realloc(p, SIZE_MAX)", NULLPTR, ENOMEM, 0, realloc(old_block, N(SIZE_MAX)))                 \
    X("realloc(p, PTRDIFF_MAX + 1)", NULLPTR, ENOMEM, 0,                                           \
      realloc(old_block, N((size_t)PTRDIFF_MAX + 1)))                                              \
    X("realloc(NULL, 0)", NONNULL, SENTINEL, 0, realloc(NULL, N(0)))                               \
    X("realloc(malloc(10), 0)", NULLPTR, SENTINEL, 0, realloc(malloc(10), N(0)))                   \
    X("realloc(malloc(10), 300000)", NONNULL, SENTINEL, 0, realloc(malloc(10), N(300000)))         \
    X("reallocarray(NULL, SIZE_MAX, 2)", NULLPTR, ENOMEM, 0, reallocarray(NULL, N(SIZE_MAX), 2))   \
    X("reallocarray(p, 2, SIZE_MAX / 2 + 1)", NULLPTR, ENOMEM, 0,                                  \
      reallocarray(old_block, 2, N(SIZE_MAX / 2 + 1)))                                             \
    X("reallocarray(NULL, 10, 10)", NONNULL, SENTINEL, 0, reallocarray(NULL, N(10), 10))           \
    X("posix_memalign(0, 16)", RETERR, EINVAL, 0, pm(ret, N(0), 16))                               \
    X("posix_memalign(3, 16)", RETERR, EINVAL, 0, pm(ret, N(3), 16))                               \
    X("posix_memalign(4, 16)", RETERR, EINVAL, 0, pm(ret, N(4), 16))                               \
    X("posix_memalign(24, 16)", RETERR, EINVAL, 0, pm(ret, N(24), 16))                             \
    X("posix_memalign(SIZE_MAX, 16)", RETERR, EINVAL, 0, pm(ret, N(SIZE_MAX), 16))                 \
    X("posix_memalign(8, 16)", NONNULL, SENTINEL, 0, pm(ret, N(8), 16))                            \
    X("posix_memalign(65536, 100)", NONNULL, SENTINEL, 0, pm(ret, N(65536), 100))                  \
    X("posix_memalign(16, SIZE_MAX)", RETERR, ENOMEM, 0, pm(ret, 16, N(SIZE_MAX)))                 \
    X("posix_memalign(2^63, 16)", RETERR, ENOMEM, 0, pm(ret, N(BIG), 16))                          \
    X("posix_memalign(4096, PTRDIFF_MAX)", RETERR, ENOMEM, 0, pm(ret, 4096, N(PTRDIFF_MAX)))       \
    X("aligned_alloc(3, 16)", NULLPTR, EINVAL, 38, aligned_alloc(N(3), 16))                        \
    X("aligned_alloc(0, 16)", NULLPTR, EINVAL, 38, aligned_alloc(N(0), 16))                        \
    X("aligned_alloc(64, 64)", NONNULL, SENTINEL, 0, aligned_alloc(N(64), 64))                     \
    X("aligned_alloc(16, SIZE_MAX)", NULLPTR, ENOMEM, 0, aligned_alloc(16, N(SIZE_MAX)))           \
    X("aligned_alloc(2^63, 16)", NULLPTR, ENOMEM, 0, aligned_alloc(N(BIG), 16))                    \
    X("memalign(3, 16)", NONNULL, SENTINEL, 0, memalign(N(3), 16))                                 \
    X("memalign(0, 16)", NONNULL, SENTINEL, 0, memalign(N(0), 16))                                 \
    X("memalign(2^62, 16)", NULLPTR, ENOMEM, 0, memalign(N(BIG >> 1), 16))                         \
    X("memalign(2^63, 16)", NULLPTR, ENOMEM, 0, memalign(N(BIG), 16))                              \
    X("memalign(2^63 + 1, 16)", NULLPTR, EINVAL, 0, memalign(N(BIG + 1), 16))                      \
    X("memalign(SIZE_MAX, 16)", NULLPTR, EINVAL, 0, memalign(N(SIZE_MAX), 16))                     \
    X("memalign(16, SIZE_MAX)", NULLPTR, ENOMEM, 0, memalign(16, N(SIZE_MAX)))                     \
    X("valloc(SIZE_MAX)", NULLPTR, ENOMEM, 0, valloc(N(SIZE_MAX)))                                 \
    X("valloc(0)", NONNULL, SENTINEL, 0, valloc(N(0)))                                             \
    X("pvalloc(SIZE_MAX)", NULLPTR, ENOMEM, 0, pvalloc(N(SIZE_MAX)))                               \
    X("pvalloc(SIZE_MAX - 4095)", NULLPTR, ENOMEM, 0, pvalloc(N(SIZE_MAX - 4095)))                 \
    X("pvalloc(0)", NONNULL, SENTINEL, 0, pvalloc(N(0)))                                           \
    X("free(NULL)", NONNULL, SENTINEL, 0, freed(NULL))                                             \
    X("free(malloc(100))", NONNULL, SENTINEL, 0, freed(malloc(N(100))))                            \
    X("free(malloc(300000))", NONNULL, SENTINEL, 0, freed(malloc(N(300000))))

typedef struct row_s {
    const char *call;
    enum expect want;
    int err;
    int since_minor;
} row_t;

#define ROW(call, want, err, since, expr) {call, want, err, since},
static const row_t rows[] = {ROWS(ROW)};

/* Row i's call; `ret` receives posix_memalign's return value. */
static void *run(size_t i, int *ret)
{
    size_t k = 0;
#define RUN(call, want, err, since, expr)                                                          \
    if (k++ == i) return (expr);
    ROWS(RUN)
    (void)ret;
    return (void *)0x2;
}
#undef N

static int glibc_minor(void)
{
    int major = 0, minor = 0;
    sscanf(gnu_get_libc_version(), "%d.%d", &major, &minor);
    return major > 2 ? 1000 : minor;
}

static const char *describe(enum expect want, int err)
{
    static char buf[64];
    const char *kind = want == NONNULL ? "a block" : want == NULLPTR ? "NULL" : "an error";
    if (want == RETERR)
        snprintf(buf, sizeof buf, "returns %s", strerror(err));
    else
        snprintf(buf, sizeof buf, "%s, errno %s", kind,
                 err == SENTINEL ? "unchanged" : strerror(err));
    return buf;
}

int main(void)
{
    size_t n = sizeof rows / sizeof rows[0];
    bool hakmem = dlsym(RTLD_DEFAULT, "hak_version") != NULL;
    int minor = glibc_minor();
    tap_plan((int)n + 2);
    tap_diag("allocator: %s, glibc %s", hakmem ? "libhakmem" : "glibc", gnu_get_libc_version());
    old_block = malloc(1000);
    tu_fill(old_block, 1000, 77);
    for (size_t i = 0; i < n; i++) {
        const row_t *r = &rows[i];
        enum expect want = r->want;
        int want_err = r->err;
        if (!hakmem && r->since_minor > minor) { /* the older glibc rule: memalign's */
            want = NONNULL;
            want_err = SENTINEL;
        }
        int ret = 0;
        errno = SENTINEL;
        void *p = run(i, &ret);
        int err = errno;
        bool ok;
        if (want == RETERR)
            ok = p == NULL && ret == want_err && err == (want_err == ENOMEM ? ENOMEM : SENTINEL);
        else
            ok = (want == NONNULL ? p != NULL : p == NULL) && err == want_err;
        if (!tap_ok(ok, "%s %s", r->call, describe(want, want_err)))
            tap_diag("  got %p, return %d, errno %d (%s)", p, ret, err, strerror(err));
        if (p && p != (void *)0x2 && p != (void *)0x3) free(p);
    }
    tap_ok(tu_check(old_block, 1000, 77) == SIZE_MAX, "failed reallocs left the block intact");
    void *q = realloc(old_block, 5000);
    tap_ok(q && tu_check(q, 1000, 77) == SIZE_MAX, "and it can still be resized");
    free(q);
    return tap_done();
}
