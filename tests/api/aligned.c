/* aligned.c: the aligned allocation family. posix_memalign rejects bad alignments with
 * EINVAL and leaves *memptr alone; posix_memalign, aligned_alloc and memalign honour every
 * power-of-two alignment up to 8 MiB; valloc and pvalloc return page-aligned blocks
 * (pvalloc covering whole pages); every block is fully writable, freeable, and keeps its
 * contents through realloc. */
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

#define MAX_ALIGN ((size_t)8 << 20)
#define NSIZES    6

enum fn { FN_POSIX_MEMALIGN, FN_ALIGNED_ALLOC, FN_MEMALIGN, FN_COUNT };
static const char *fn_name[FN_COUNT] = {"posix_memalign", "aligned_alloc", "memalign"};

static void *alloc_aligned(enum fn fn, size_t align, size_t size)
{
    void *p = NULL;
    size = tu_opaque(size);
    switch (fn) {
    case FN_POSIX_MEMALIGN:
        if (posix_memalign(&p, align, size) != 0) p = NULL;
        break;
    case FN_ALIGNED_ALLOC:
        p = aligned_alloc(align, size);
        break;
    case FN_MEMALIGN:
        p = memalign(align, size);
        break;
    default:
        break;
    }
    return p;
}

/* posix_memalign with an invalid alignment: EINVAL, *memptr untouched. */
static void test_einval(size_t align)
{
    void *sentinel = (void *)(uintptr_t)0x5a5a5a50;
    void *p = sentinel;
    int rc = posix_memalign(&p, tu_opaque(align), 64);
    tap_ok(rc == EINVAL && p == sentinel, "posix_memalign(&p, %zu, 64) returns EINVAL, p untouched",
           align);
    if (rc != EINVAL) tap_diag("  returned %d (%s)", rc, strerror(rc));
    if (p != sentinel) {
        tap_diag("  p changed to %p", p);
        if (rc == 0) free(p);
    }
}

/* Every power-of-two alignment from `min_align` to 8 MiB, each with several sizes held
 * live together: aligned, usable >= size, all bytes writable, contents intact, freeable. */
static void test_alignments(enum fn fn, size_t min_align)
{
    unsigned long tried = 0, failed = 0;
    for (size_t align = min_align; align <= MAX_ALIGN; align *= 2) {
        size_t sizes[NSIZES] = {1, 17, align / 2 + 1, align, align + 8, 2 * align + 1};
        void *blocks[NSIZES];
        for (int i = 0; i < NSIZES; i++) {
            size_t size = sizes[i];
            tried++;
            void *p = blocks[i] = alloc_aligned(fn, align, size);
            const char *bad = NULL;
            if (!p)
                bad = "returned NULL";
            else if ((uintptr_t)p % align != 0)
                bad = "misaligned";
            else if (malloc_usable_size(p) < size)
                bad = "usable size too small";
            if (bad) {
                if (failed++ < 5)
                    tap_diag("  %s(%zu, %zu) = %p: %s (usable %zu)", fn_name[fn], align, size, p,
                             bad, p ? malloc_usable_size(p) : 0);
                free(p);
                blocks[i] = NULL;
                continue;
            }
            tu_fill(p, size, tu_mix(align, size));
        }
        for (int i = 0; i < NSIZES; i++) {
            if (!blocks[i]) continue;
            size_t at = tu_check(blocks[i], sizes[i], tu_mix(align, sizes[i]));
            if (at != SIZE_MAX && failed++ < 5)
                tap_diag("  %s(%zu, %zu): byte %zu overwritten", fn_name[fn], align, sizes[i], at);
            free(blocks[i]);
        }
    }
    tap_ok(failed == 0, "%s: %lu blocks, alignments %zu B..8 MiB, aligned, usable, intact",
           fn_name[fn], tried, min_align);
}

/* valloc (pvalloc when `whole_pages`): page-aligned and, for pvalloc, the request rounded
 * up to whole pages is usable and writable. */
static void test_page_aligned(int whole_pages)
{
    const char *name = whole_pages ? "pvalloc" : "valloc";
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    static const size_t sizes[] = {0, 1, 100, 4095, 4096, 4097, 65535, 100000, 300000, 2097155};
    enum { N = sizeof sizes / sizeof sizes[0] };
    void *blocks[N];
    size_t need[N];
    unsigned long failed = 0;
    for (size_t i = 0; i < N; i++) {
        void *p = blocks[i] =
            whole_pages ? pvalloc(tu_opaque(sizes[i])) : valloc(tu_opaque(sizes[i]));
        need[i] = whole_pages ? (sizes[i] + page - 1) / page * page : sizes[i];
        if (!p || (uintptr_t)p % page != 0 || malloc_usable_size(p) < need[i]) {
            if (failed++ < 5)
                tap_diag("  %s(%zu) = %p, usable %zu, need %zu page-aligned", name, sizes[i], p,
                         p ? malloc_usable_size(p) : 0, need[i]);
            free(p);
            blocks[i] = NULL;
            continue;
        }
        tu_fill(p, need[i], tu_mix(page, sizes[i]));
    }
    for (size_t i = 0; i < N; i++) {
        if (!blocks[i]) continue;
        if (tu_check(blocks[i], need[i], tu_mix(page, sizes[i])) != SIZE_MAX && failed++ < 5)
            tap_diag("  %s(%zu): contents overwritten", name, sizes[i]);
        free(blocks[i]);
    }
    tap_ok(failed == 0, "%s: %zu sizes 0..2 MiB page-aligned, %s usable, intact", name, (size_t)N,
           whole_pages ? "whole pages" : "request");
}

/* realloc of an aligned block keeps its contents when growing and shrinking. */
static void test_realloc_aligned(void)
{
    static const size_t aligns[] = {64, 4096, 65536, 2u << 20};
    unsigned long failed = 0, tried = 0;
    for (int fn = 0; fn <= FN_COUNT + 1; fn++) {
        for (size_t a = 0; a < sizeof aligns / sizeof aligns[0]; a++) {
            size_t align = aligns[a], size = 1000;
            unsigned char *p;
            if (fn < FN_COUNT)
                p = alloc_aligned((enum fn)fn, align, size);
            else
                p = (fn == FN_COUNT) ? valloc(size) : pvalloc(size);
            tried++;
            if (!p) {
                failed++;
                continue;
            }
            uint64_t seed = tu_mix((uint64_t)fn, align);
            tu_fill(p, size, seed);
            static const size_t steps[] = {5000, 300000, 3000000, 200, 40};
            for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++) {
                size_t keep = size < steps[s] ? size : steps[s];
                unsigned char *q = realloc(p, tu_opaque(steps[s]));
                if (!q) {
                    failed++;
                    break;
                }
                size_t at = tu_check(q, keep, seed);
                if (at != SIZE_MAX && failed++ < 5)
                    tap_diag("  realloc %zu -> %zu of a %zu-aligned block: byte %zu lost", size,
                             steps[s], align, at);
                tu_fill(q, steps[s], seed);
                p = q;
                size = steps[s];
            }
            free(p);
        }
    }
    tap_ok(failed == 0, "realloc keeps the contents of %lu aligned blocks (grow and shrink)",
           tried);
}

int main(void)
{
    static const size_t invalid[] = {0, 1, 2, 4, 12, 24, 40, 48, 4097, 65544};
    tap_plan((int)(sizeof invalid / sizeof invalid[0]) + 3 + 2 + 1 + 1 + 1);
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++)
        test_einval(invalid[i]);
    test_alignments(FN_POSIX_MEMALIGN, sizeof(void *));
    test_alignments(FN_ALIGNED_ALLOC, 1);
    test_alignments(FN_MEMALIGN, 1);
    test_page_aligned(0);
    test_page_aligned(1);
    test_realloc_aligned();

    /* After all that, the ordinary path still works and blocks are distinct. */
    void *a = malloc(tu_opaque(100)), *b = malloc(tu_opaque(100));
    tap_ok(a && b && a != b, "malloc still works after the aligned frees");
    free(a);
    free(b);
    TAP_EQ_I64(hak_check(), 0, "hak_check finds this thread's heap consistent at the end");
    return tap_done();
}
