/* free.c: free(NULL) does nothing, and free never changes errno (POSIX.1-2024), for
 * small, medium, large, aligned and zero-size blocks. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>

#include "hakmem.h"

#include "../tap.h"
#include "../testutil.h"

/* Called through a volatile pointer, so the compiler can assume nothing about errno
 * across the call. */
static void (*volatile free_fn)(void *) = free;

/* Free `p` with errno set to 1234; report whether errno survived. */
static int free_keeps_errno(void *p)
{
    errno = 1234;
    free_fn(p);
    return errno == 1234;
}

int main(void)
{
    static const size_t sizes[] = {0, 1, 16, 100, 1000, 4096, 40000, 200000, 300000, 5u << 20};
    enum { NS = sizeof sizes / sizeof sizes[0] };
    tap_plan(4 + NS + 1);

    tap_ok(free_keeps_errno(NULL), "free(NULL) is harmless and keeps errno");
    for (int i = 0; i < NS; i++) {
        void *p = malloc(tu_opaque(sizes[i]));
        if (p) tu_fill(p, sizes[i], sizes[i]);
        errno = 0;
        tap_ok(p && free_keeps_errno(p), "free of a %zu-byte block keeps errno", sizes[i]);
    }

    void *a = NULL;
    int ok = posix_memalign(&a, 65536, tu_opaque(100000)) == 0 && free_keeps_errno(a);
    tap_ok(ok, "free of a 64 KiB-aligned block keeps errno");
    ok = free_keeps_errno(aligned_alloc(4096, tu_opaque(300000)));
    tap_ok(ok, "free of a page-aligned large block keeps errno");

    /* Free after a failed allocation (errno already ENOMEM) keeps ENOMEM. */
    void *p = malloc(tu_opaque(64));
    errno = 0;
    void *q = malloc(tu_opaque(SIZE_MAX));
    int err = errno;
    free_fn(p);
    tap_ok(q == NULL && err == ENOMEM && errno == ENOMEM,
           "ENOMEM from a failed malloc survives a following free");
    TAP_EQ_I64(hak_check(), 0, "hak_check finds this thread's heap consistent at the end");
    return tap_done();
}
