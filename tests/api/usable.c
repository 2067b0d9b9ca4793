/* usable.c: for every size from 1 byte to 1 MiB (every size up to 8 KiB, then strided
 * and odd sizes), malloc returns a block aligned as C requires, malloc_usable_size covers
 * the request, and all usable bytes can be written without touching any other live block. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>

#include "hakmem.h"

#include "../tap.h"
#include "../testutil.h"

#define RING 16 /* blocks kept live at once, so neighbours exist to be overwritten */

/* The alignment a block of `size` bytes must have: 16 (max_align_t) from 16 bytes up;
 * below that, the largest power of two not above `size` (the strictest alignment an
 * object of that size can have). */
static size_t required_align(size_t size)
{
    if (size >= 16) return 16;
    size_t a = 1;
    while (a * 2 <= size)
        a *= 2;
    return a;
}

struct live {
    unsigned char *p;
    size_t size;   /* requested */
    size_t usable; /* malloc_usable_size when allocated */
};

static struct live ring[RING];
static unsigned ring_pos;
static unsigned long n_sizes, n_null, n_misaligned, n_short, n_corrupt, n_usable_changed;
static size_t first_bad_size[5] = {SIZE_MAX, SIZE_MAX, SIZE_MAX, SIZE_MAX, SIZE_MAX};

static void note_bad(int kind, unsigned long *counter, size_t size)
{
    ++*counter;
    if (first_bad_size[kind] == SIZE_MAX) first_bad_size[kind] = size;
}

/* Verify and free the block in a ring slot. */
static void retire(struct live *l)
{
    if (!l->p) return;
    if (tu_check(l->p, l->usable, tu_mix(l->size, (uintptr_t)l->p)) != SIZE_MAX)
        note_bad(3, &n_corrupt, l->size);
    if (malloc_usable_size(l->p) != l->usable) note_bad(4, &n_usable_changed, l->size);
    free(l->p);
    l->p = NULL;
}

static void try_size(size_t size)
{
    n_sizes++;
    unsigned char *p = malloc(tu_opaque(size));
    if (!p) {
        note_bad(0, &n_null, size);
        return;
    }
    if ((uintptr_t)p % required_align(size) != 0) note_bad(1, &n_misaligned, size);
    size_t usable = malloc_usable_size(p);
    if (usable < size) {
        note_bad(2, &n_short, size);
        usable = size;
    }
    /* Laundered: with -D_FORTIFY_SOURCE=3 the compiler knows the block as `size` bytes
     * and would stop a write past that, though malloc_usable_size allows it. */
    tu_fill(tu_launder(p), usable, tu_mix(size, (uintptr_t)p));
    struct live *slot = &ring[ring_pos++ % RING];
    retire(slot);
    *slot = (struct live){p, size, usable};
}

int main(void)
{
    tap_plan(7);
    for (size_t s = 1; s <= 8192; s++)
        try_size(s);
    for (size_t s = 8193; s <= 65536; s += 97)
        try_size(s);
    for (size_t s = 65537; s <= 1048576; s += 4093)
        try_size(s);
    /* Both sides of every power of two and of the multiples of 4 KiB near them. */
    for (size_t p2 = 16384; p2 <= 1048576; p2 *= 2) {
        for (size_t d = 0; d <= 2; d++) {
            try_size(p2 - 4096 * d - 1);
            try_size(p2 - 4096 * d);
            try_size(p2 - 4096 * d + 1);
        }
        try_size(p2 + 4095);
        try_size(p2 + 4096);
    }
    for (unsigned i = 0; i < RING; i++)
        retire(&ring[i]);

    tap_diag("%lu sizes tried", n_sizes);
    static const char *what[5] = {"malloc returned NULL", "misaligned", "usable < size",
                                  "pattern corrupted", "usable size changed"};
    unsigned long *counts[5] = {&n_null, &n_misaligned, &n_short, &n_corrupt, &n_usable_changed};
    for (int k = 0; k < 5; k++)
        if (*counts[k])
            tap_diag("%s: %lu sizes, first %zu", what[k], *counts[k], first_bad_size[k]);
    TAP_EQ_U64(n_null, 0, "malloc succeeds for every size 1..1 MiB");
    TAP_EQ_U64(n_misaligned, 0, "16-byte alignment from 16 bytes, natural alignment below");
    TAP_EQ_U64(n_short, 0, "malloc_usable_size(p) >= size for every size");
    TAP_EQ_U64(n_corrupt, 0, "all usable bytes writable without disturbing %d live neighbours",
               RING);
    TAP_EQ_U64(n_usable_changed, 0, "malloc_usable_size is stable over a block's life");
    TAP_EQ_U64(malloc_usable_size(NULL), 0, "malloc_usable_size(NULL) == 0");
    TAP_EQ_I64(hak_check(), 0, "hak_check finds this thread's heap consistent at the end");
    return tap_done();
}
