/* sized-free.c: the C23 functions free_sized(p, size) and free_aligned_sized(p, align,
 * size) release blocks from malloc/calloc/realloc and aligned_alloc respectively, for
 * small, medium and large sizes; NULL is accepted; memory is reused afterwards and other
 * live blocks are untouched. glibc 2.36 lacks them; hakmem.h declares them. This test
 * is meaningful only against libhakmem. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>

#include "hakmem.h"

#include "../tap.h"
#include "../testutil.h"

static const size_t sizes[] = {1,    8,     16,    24,     100,    256,     1000,
                               4096, 10000, 65536, 200000, 300000, 3u << 20};
#define NS     (sizeof sizes / sizeof sizes[0])
#define ROUNDS 50

int main(void)
{
    tap_plan(8);
    /* Neighbours that must survive all the sized frees. */
    void *keep[NS];
    for (size_t i = 0; i < NS; i++) {
        keep[i] = malloc(tu_opaque(sizes[i]));
        if (keep[i]) tu_fill(keep[i], sizes[i], ~(uint64_t)i);
    }

    unsigned long nulls = 0;
    for (int r = 0; r < ROUNDS; r++) {
        for (size_t i = 0; i < NS; i++) {
            size_t n = sizes[i];
            void *a = malloc(tu_opaque(n));
            void *b = calloc(tu_opaque(1), tu_opaque(n));
            void *c = realloc(NULL, tu_opaque(n / 2 + 1));
            c = realloc(c, tu_opaque(n));
            if (!a || !b || !c) nulls++;
            if (a) tu_fill(a, n, n);
            if (c) tu_fill(c, n, n);
            free_sized(a, n);
            free_sized(b, n);
            free_sized(c, n);
        }
    }
    TAP_EQ_U64(nulls, 0,
               "malloc/calloc/realloc blocks of %zu sizes freed with free_sized, %d rounds", NS,
               ROUNDS);

    nulls = 0;
    for (int r = 0; r < ROUNDS / 5; r++) {
        for (size_t align = 1; align <= ((size_t)1 << 21); align *= 4) {
            for (size_t i = 0; i < NS; i++) {
                size_t n = sizes[i];
                void *p = aligned_alloc(align, tu_opaque(n));
                if (!p || (uintptr_t)p % align) {
                    nulls++;
                    free(p);
                    continue;
                }
                tu_fill(p, n, align);
                free_aligned_sized(p, align, n);
            }
        }
    }
    TAP_EQ_U64(nulls, 0,
               "aligned_alloc blocks (alignments 1 B..2 MiB) freed with free_aligned_sized");

    errno = 77;
    free_sized(NULL, 0);
    free_sized(NULL, 100);
    free_aligned_sized(NULL, 64, 64);
    TAP_EQ_ERRNO(errno, 77, "free_sized(NULL, n) and free_aligned_sized(NULL, ...) are no-ops");

    void *p = malloc(tu_opaque(500));
    errno = 88;
    free_sized(p, 500);
    TAP_EQ_ERRNO(errno, 88, "free_sized keeps errno");

    int intact = 1;
    for (size_t i = 0; i < NS; i++)
        intact &= keep[i] && tu_check(keep[i], sizes[i], ~(uint64_t)i) == SIZE_MAX;
    tap_ok(intact, "live blocks untouched by the sized frees");
    for (size_t i = 0; i < NS; i++)
        free_sized(keep[i], sizes[i]);

    /* Memory freed with free_sized is reusable: a burst of the same size afterwards. */
    void *burst[1000];
    unsigned long bad = 0;
    for (int i = 0; i < 1000; i++) {
        burst[i] = malloc(tu_opaque(48));
        if (!burst[i])
            bad++;
        else
            tu_fill(burst[i], 48, (uint64_t)i);
    }
    for (int i = 0; i < 1000; i++) {
        if (burst[i] && tu_check(burst[i], 48, (uint64_t)i) != SIZE_MAX) bad++;
        free_sized(burst[i], 48);
    }
    TAP_EQ_U64(bad, 0, "1000 blocks allocated after sized frees are distinct and intact");
    void *z = malloc(tu_opaque(0));
    free_sized(z, 0);
    z = malloc(tu_opaque(0));
    tap_ok(z != NULL, "free_sized(malloc(0), 0) works and malloc(0) still does");
    free(z);
    TAP_EQ_I64(hak_check(), 0, "hak_check finds this thread's heap consistent at the end");
    return tap_done();
}
