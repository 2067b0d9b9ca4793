/* calloc.c: calloc returns zeroed memory even when it recycles blocks that were just
 * filled with garbage and freed — small, medium and large (over 256 KiB) sizes, with the
 * product split between nmemb and size in several ways. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hakmem.h"

#include "../tap.h"
#include "../testutil.h"

static const size_t sizes[] = {
    1,      2,      3,      7,      8,      15,     16,      24,      31,      32,     48,
    63,     64,     100,    127,    128,    200,    255,     256,     500,     512,    1000,
    1024,   2000,   2048,   4000,   4096,   8192,   10000,   16384,   32768,   65536,  100000,
    131072, 200000, 262144, 262145, 300000, 524288, 1048576, 1048577, 2097152, 4194321};
#define NSIZES (sizeof sizes / sizeof sizes[0])
#define ROUNDS 8

/* Blocks per size: fewer of the big ones to keep the run short. */
static unsigned per_size(size_t size)
{
    return size <= 65536 ? 16 : size <= 1048576 ? 4 : 2;
}

static void *blocks[NSIZES][16];

/* Fill every size's blocks with 0xAA (all usable bytes) and free them. */
static unsigned long dirty_and_free(int from_calloc)
{
    unsigned long nulls = 0;
    for (size_t s = 0; s < NSIZES; s++) {
        for (unsigned i = 0; i < per_size(sizes[s]); i++) {
            if (!from_calloc) blocks[s][i] = malloc(tu_opaque(sizes[s]));
            if (!blocks[s][i]) {
                nulls++;
                continue;
            }
            memset(blocks[s][i], 0xAA, malloc_usable_size(blocks[s][i]));
        }
    }
    /* Free in an interleaved order so the free lists are not simply LIFO by size. */
    for (unsigned i = 0; i < 16; i++)
        for (size_t s = 0; s < NSIZES; s++)
            if (i < per_size(sizes[s])) {
                free(blocks[s][i]);
                blocks[s][i] = NULL;
            }
    return nulls;
}

int main(void)
{
    tap_plan(4);
    unsigned long nulls = 0, dirty = 0, checked = 0;
    size_t first_dirty = 0;
    nulls += dirty_and_free(0);
    for (int round = 0; round < ROUNDS; round++) {
        for (size_t s = 0; s < NSIZES; s++) {
            size_t size = sizes[s];
            for (unsigned i = 0; i < per_size(size); i++) {
                /* Split the product: n x 1, 1 x n, and a divisor pair when there is one. */
                size_t nmemb = 1, elem = size;
                if (i % 3 == 1) {
                    nmemb = size;
                    elem = 1;
                } else if (i % 3 == 2 && size % 4 == 0) {
                    nmemb = 4;
                    elem = size / 4;
                }
                void *p = blocks[s][i] = calloc(tu_opaque(nmemb), tu_opaque(elem));
                if (!p) {
                    nulls++;
                    continue;
                }
                checked++;
                if (tu_check_bytes(p, size, 0) != SIZE_MAX && dirty++ == 0) first_dirty = size;
            }
        }
        nulls += dirty_and_free(1);
        /* Also recycle blocks that came from malloc rather than calloc. */
        if (round % 2 == 0) nulls += dirty_and_free(0);
    }
    tap_diag("%lu calloc blocks checked over %d rounds", checked, ROUNDS);
    TAP_EQ_U64(nulls, 0, "every malloc and calloc succeeded");
    if (!TAP_EQ_U64(dirty, 0, "every calloc block is zeroed, recycled or not"))
        tap_diag("  first dirty size %zu", first_dirty);
    void *z = calloc(tu_opaque(0), tu_opaque(16));
    tap_ok(z != NULL, "calloc(0, 16) returns a block");
    free(z);
    TAP_EQ_I64(hak_check(), 0, "hak_check finds this thread's heap consistent at the end");
    return tap_done();
}
