/* realloc.c: realloc keeps the contents of a block while it grows and shrinks across
 * size-class boundaries, into mmap-sized blocks and back; realloc(NULL, n) is malloc(n);
 * realloc(p, 0) follows glibc: it frees p and returns NULL. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>

#include "hakmem.h"

#include "../tap.h"
#include "../testutil.h"

#define MAX_SIZE ((size_t)8 << 20)

/* Grow one block from 1 byte to 8 MiB and shrink it back, by a factor of about 1.3 with
 * an odd offset, so every class boundary and the small/large threshold are crossed in
 * both directions. The prefix that survives each step is checked, the new tail filled. */
static void test_grow_shrink(void)
{
    static size_t steps[128];
    int n = 0;
    for (size_t s = 1; s <= MAX_SIZE && n < 128; s = s + s / 3 + 1)
        steps[n++] = s;
    uint64_t seed = 0x5eed;
    unsigned long lost = 0, nulls = 0, moves = 0;
    unsigned char *p = malloc(1);
    size_t size = 1;
    if (p) tu_fill(p, 1, seed);
    for (int pass = 0; pass < 2 && p; pass++) {
        for (int i = 0; i < n; i++) {
            size_t next = pass == 0 ? steps[i] : steps[n - 1 - i];
            unsigned char *q = realloc(p, tu_opaque(next));
            if (!q) {
                nulls++;
                break;
            }
            moves += q != p;
            size_t keep = size < next ? size : next;
            size_t at = tu_check(q, keep, seed);
            if (at != SIZE_MAX && lost++ < 5)
                tap_diag("  realloc %zu -> %zu lost byte %zu", size, next, at);
            tu_fill(q, next, seed);
            p = q;
            size = next;
        }
    }
    free(p);
    tap_diag("%d sizes 1..%zu each way, %lu moves", n, MAX_SIZE, moves);
    TAP_EQ_U64(nulls, 0, "realloc never failed while growing to 8 MiB and shrinking back");
    TAP_EQ_U64(lost, 0, "contents survive every grow and shrink");
}

/* Many blocks resized at random (deterministic), with neighbours live: each block's
 * pattern must survive its own reallocs and everybody else's. */
static void test_random(void)
{
    enum { N = 256, OPS = 20000 };
    static unsigned char *blocks[N];
    static size_t sizes[N];
    uint64_t rng = 0x12345678;
    unsigned long lost = 0, nulls = 0;
    for (int op = 0; op < OPS; op++) {
        int i = (int)(tu_rand(&rng) % N);
        uint64_t r = tu_rand(&rng);
        size_t next = (r % 100 < 90)   ? 1 + (r >> 8) % 2048
                      : (r % 100 < 99) ? 1 + (r >> 8) % 65536
                                       : 200000 + (r >> 8) % 2000000;
        if (blocks[i]) {
            size_t keep = sizes[i] < next ? sizes[i] : next;
            if (tu_check(blocks[i], sizes[i], tu_mix(i, sizes[i])) != SIZE_MAX) lost++;
            unsigned char *q = realloc(blocks[i], tu_opaque(next));
            if (!q) {
                nulls++;
                continue;
            }
            if (tu_check(q, keep, tu_mix(i, sizes[i])) != SIZE_MAX) lost++;
            blocks[i] = q;
        } else {
            blocks[i] = realloc(NULL, tu_opaque(next));
            if (!blocks[i]) {
                nulls++;
                continue;
            }
        }
        sizes[i] = next;
        tu_fill(blocks[i], next, tu_mix(i, next));
    }
    for (int i = 0; i < N; i++) {
        if (blocks[i] && tu_check(blocks[i], sizes[i], tu_mix(i, sizes[i])) != SIZE_MAX) lost++;
        free(blocks[i]);
    }
    TAP_EQ_U64(nulls, 0, "%d random reallocs on %d live blocks succeeded", OPS, N);
    TAP_EQ_U64(lost, 0, "no block lost or corrupted its contents");
}

int main(void)
{
    tap_plan(12);
    test_grow_shrink();
    test_random();

    /* realloc(NULL, n) behaves as malloc(n), including n == 0. */
    unsigned char *p = realloc(NULL, tu_opaque(100));
    tap_ok(p && malloc_usable_size(p) >= 100, "realloc(NULL, 100) allocates a usable block");
    if (p) {
        tu_fill(p, 100, 1);
        p = realloc(p, tu_opaque(200));
        tap_ok(p && tu_check(p, 100, 1) == SIZE_MAX, "and that block can be reallocated");
    } else {
        tap_ok(0, "and that block can be reallocated");
    }
    free(p);
    void *z = realloc(NULL, tu_opaque(0));
    tap_ok(z != NULL, "realloc(NULL, 0) returns a block, like malloc(0)");
    free(z);

    /* Same size, and a shrink of a large block to a small one, keep contents. */
    p = malloc(tu_opaque(3000));
    tu_fill(p, 3000, 2);
    p = realloc(p, tu_opaque(3000));
    tap_ok(p && tu_check(p, 3000, 2) == SIZE_MAX, "realloc to the same size keeps contents");
    free(p);
    p = malloc(tu_opaque(4u << 20));
    tu_fill(p, 4u << 20, 3);
    p = realloc(p, tu_opaque(24));
    tap_ok(p && tu_check(p, 24, 3) == SIZE_MAX, "realloc 4 MiB -> 24 B keeps the prefix");
    free(p);

    /* hakmem follows glibc: realloc(p, 0) frees p and returns NULL. The block must not be
     * used afterwards; the allocator must stay healthy (checked by the next allocation). */
    int zero_ok = 1;
    for (size_t size = 16; size <= (1u << 20); size *= 8) {
        p = malloc(tu_opaque(size));
        if (p) tu_fill(p, size, size);
        void *r = realloc(p, tu_opaque(0));
        if (r) {
            zero_ok = 0;
            free(r);
        }
    }
    tap_ok(zero_ok, "realloc(p, 0) returns NULL and frees p (glibc semantics)");
    p = malloc(tu_opaque(100));
    tap_ok(p != NULL, "malloc works after realloc(p, 0)");
    free(p);
    TAP_EQ_I64(hak_check(), 0, "hak_check finds this thread's heap consistent at the end");
    return tap_done();
}
