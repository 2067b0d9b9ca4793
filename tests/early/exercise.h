/* exercise.h: every allocation entry point over many sizes and alignments, with the
 * checks that catch a wrong size class: malloc_usable_size at least the request, and
 * every block filled with its own pattern and checked only after all of them exist, so
 * blocks that overlap (a 232-byte request served from a 16-byte class) are caught.
 * Included by the early library (run from its constructor, before libhakmem's own
 * initialisation) and by the test program (run from a preinit_array entry, from a
 * thread started in a constructor, and from main). Failures are counted and the first
 * one is described; nothing here calls stdio. */
#ifndef HAKMEM_TESTS_EARLY_EXERCISE_H
#define HAKMEM_TESTS_EARLY_EXERCISE_H

#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../testutil.h"

void *__libc_malloc(size_t size);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t size);
void *__libc_memalign(size_t align, size_t size);
void __libc_free(void *p);

typedef struct ex_result_s {
    int checks, failures;
    char first[200]; /* the first failure */
} ex_result_t;

/* 232 first: p11-kit's size, and the first call of a round. */
static const size_t ex_sizes[] = {232,   0,      1,      8,      15,     16,       17,
                                  24,    31,     32,     48,     64,     100,      128,
                                  129,   200,    232,    256,    500,    1000,     1024,
                                  2000,  4096,   8192,   8193,   10000,  16384,    30000,
                                  65536, 100000, 131072, 131073, 200000, 1u << 20, (3u << 20) + 5};
#define EX_NSIZES (sizeof ex_sizes / sizeof ex_sizes[0])

static void ex_check(ex_result_t *r, int ok, const char *what, size_t size)
{
    r->checks++;
    if (ok) return;
    if (r->failures++ == 0) snprintf(r->first, sizeof r->first, "%s (size %zu)", what, size);
}

/* One round over every entry point; `seed` keeps the patterns of callers apart. */
static void ex_run(ex_result_t *r, uint64_t seed)
{
    void *blocks[EX_NSIZES * 4];
    size_t sizes[EX_NSIZES * 4];
    size_t n = 0;
    for (size_t i = 0; i < EX_NSIZES; i++) {
        size_t s = ex_sizes[i];
        void *p[4] = {malloc(s), __libc_malloc(s), calloc(1, s), __libc_calloc(s, 1)};
        for (int k = 0; k < 4; k++) {
            ex_check(r, p[k] != NULL, "allocation returned NULL", s);
            if (p[k] == NULL) continue;
            ex_check(r, malloc_usable_size(p[k]) >= s, "malloc_usable_size below the request", s);
            ex_check(r, ((uintptr_t)p[k] & 15) == 0 || s < 16, "block not 16-byte aligned", s);
            if (k >= 2) ex_check(r, tu_check_bytes(p[k], s, 0) == SIZE_MAX, "calloc not zero", s);
            tu_fill(p[k], s, seed + n);
            blocks[n] = p[k];
            sizes[n++] = s;
        }
    }
    /* Only now, with every block live, do the patterns show any overlap. */
    for (size_t i = 0; i < n; i++)
        ex_check(r, tu_check(blocks[i], sizes[i], seed + i) == SIZE_MAX,
                 "block overwritten by another", sizes[i]);
    /* realloc grows and shrinks keeping the contents, through both names. */
    for (size_t i = 0; i < n; i++) {
        size_t s = sizes[i], grown = s * 3 + 40;
        void *q = (i & 1) ? __libc_realloc(blocks[i], grown) : realloc(blocks[i], grown);
        ex_check(r, q != NULL, "realloc to grow returned NULL", s);
        if (q == NULL) continue;
        ex_check(r, tu_check(q, s, seed + i) == SIZE_MAX, "realloc lost the contents", s);
        ex_check(r, malloc_usable_size(q) >= grown, "usable size below the realloc", grown);
        q = realloc(q, s / 2 + 1);
        ex_check(r, q != NULL && tu_check(q, s / 2, seed + i) == SIZE_MAX,
                 "realloc to shrink lost the contents", s);
        blocks[i] = q;
    }
    for (size_t i = 0; i < n; i++)
        (i & 1) ? __libc_free(blocks[i]) : free(blocks[i]);

    /* The aligned entry points, every power of two from 8 to 1 MiB. */
    for (size_t a = 8; a <= ((size_t)1 << 20); a <<= 1) {
        for (size_t i = 0; i < EX_NSIZES; i += 3) {
            size_t s = ex_sizes[i];
            void *p[4] = {NULL, NULL, NULL, NULL};
            ex_check(r, posix_memalign(&p[0], a, s) == 0, "posix_memalign failed", s);
            p[1] = aligned_alloc(a, s);
            p[2] = memalign(a, s);
            p[3] = __libc_memalign(a, s);
            for (int k = 0; k < 4; k++) {
                ex_check(r, p[k] != NULL, "aligned allocation returned NULL", s);
                if (p[k] == NULL) continue;
                ex_check(r, ((uintptr_t)p[k] & (a - 1)) == 0, "misaligned block", a);
                ex_check(r, malloc_usable_size(p[k]) >= s, "aligned usable size too small", s);
                tu_fill(p[k], s, seed ^ a);
            }
            for (int k = 0; k < 4; k++)
                if (p[k]) {
                    ex_check(r, tu_check(p[k], s, seed ^ a) == SIZE_MAX,
                             "aligned block overwritten", s);
                    free(p[k]);
                }
        }
    }
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    void *v = valloc(1000), *pv = pvalloc(1000);
    ex_check(r, v && ((uintptr_t)v & (page - 1)) == 0, "valloc not page aligned", 1000);
    ex_check(r, pv && ((uintptr_t)pv & (page - 1)) == 0 && malloc_usable_size(pv) >= page,
             "pvalloc not a whole page", 1000);
    free(v);
    free(pv);
    void *ra = reallocarray(NULL, 29, 8);
    ex_check(r, ra && malloc_usable_size(ra) >= 232, "reallocarray too small", 232);
    free(ra);
    free(NULL);
    ex_check(r, malloc_usable_size(NULL) == 0, "malloc_usable_size(NULL) not 0", 0);
}

#endif /* HAKMEM_TESTS_EARLY_EXERCISE_H */
