/* zero.c: zero-byte requests. malloc(0) returns a distinct, freeable, non-NULL pointer
 * every time (glibc behaviour); calloc with a zero count or size does the same. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>

#include "hakmem.h"

#include "../tap.h"
#include "../testutil.h"

#define N 1000

static void *live[N];

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) * (void *const *)a, y = (uintptr_t) * (void *const *)b;
    return x < y ? -1 : x > y;
}

/* Count NULLs and duplicates among `n` pointers (sorts the array). */
static void count_bad(void **ptrs, size_t n, unsigned long *nulls, unsigned long *dups)
{
    *nulls = *dups = 0;
    qsort(ptrs, n, sizeof ptrs[0], cmp_ptr);
    for (size_t i = 0; i < n; i++) {
        *nulls += ptrs[i] == NULL;
        *dups += i > 0 && ptrs[i] && ptrs[i] == ptrs[i - 1];
    }
}

int main(void)
{
    tap_plan(8);
    unsigned long nulls, dups;

    for (int i = 0; i < N; i++)
        live[i] = malloc(tu_opaque(0));
    count_bad(live, N, &nulls, &dups);
    TAP_EQ_U64(nulls, 0, "malloc(0) never returns NULL (%d live)", N);
    TAP_EQ_U64(dups, 0, "the %d live malloc(0) pointers are all distinct", N);

    /* The zero-size blocks must not overlap real blocks: fill real ones and check. */
    void *real[64];
    for (int i = 0; i < 64; i++) {
        real[i] = malloc(tu_opaque(16 + (size_t)i));
        tu_fill(real[i], 16 + (size_t)i, (uint64_t)i);
    }
    for (int i = 0; i < N; i++)
        free(live[i]);
    int intact = 1;
    for (int i = 0; i < 64; i++) {
        intact &= tu_check(real[i], 16 + (size_t)i, (uint64_t)i) == SIZE_MAX;
        free(real[i]);
    }
    tap_ok(intact, "freeing the malloc(0) blocks leaves other blocks intact");

    for (int i = 0; i < N; i++)
        live[i] = (i % 2) ? calloc(tu_opaque(0), tu_opaque((size_t)i))
                          : calloc(tu_opaque((size_t)i), tu_opaque(0));
    count_bad(live, N, &nulls, &dups);
    TAP_EQ_U64(nulls, 0, "calloc(0, n) and calloc(n, 0) never return NULL");
    TAP_EQ_U64(dups, 0, "the %d live zero-size calloc pointers are all distinct", N);
    for (int i = 0; i < N; i++)
        free(live[i]);

    /* A zero-size block can grow. */
    unsigned char *p = malloc(tu_opaque(0));
    p = realloc(p, tu_opaque(1000));
    if (p) tu_fill(p, 1000, 9);
    tap_ok(p && tu_check(p, 1000, 9) == SIZE_MAX,
           "a malloc(0) block can be realloc'ed to 1000 bytes");
    free(p);
    p = malloc(tu_opaque(0));
    tap_ok(p && malloc_usable_size(p) < (size_t)1 << 20,
           "malloc_usable_size of a malloc(0) block is sane (%zu)", p ? malloc_usable_size(p) : 0);
    free(p);
    TAP_EQ_I64(hak_check(), 0, "hak_check finds this thread's heap consistent at the end");
    return tap_done();
}
