/* large.c: blocks above the largest size class. Freed ones are kept for reuse (large.c's
 * cache), so: calloc of a reused block is still all zero, a block handed out again is
 * one the program freed (same address, its pages still resident), realloc keeps the
 * contents while growing and shrinking, at any alignment; and the cache is bounded: after
 * a burst of frees RSS drops at once to within the cache's 256 MiB, and to almost nothing
 * once the decay delay (1 s) has passed and the allocator is called again. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../tap.h"
#include "../testutil.h"

#define MIB ((size_t)1 << 20)

int main(void)
{
    tap_plan(9);

    /* Reuse, and calloc of a reused block. */
    char *a = malloc(3 * MIB);
    memset(a, 0xAA, 3 * MIB);
    uintptr_t a_addr = (uintptr_t)a;
    free(a);
    char *b = calloc(1, 3 * MIB);
    TAP_EQ_U64((uintptr_t)b, a_addr, "a freed large block is handed out again");
    TAP_EQ_U64(tu_check_bytes(b, 3 * MIB, 0), SIZE_MAX, "calloc of a reused block is all zero");
    free(b);
    char *c = calloc(1, 2 * MIB + 12345); /* smaller: the 3 MiB mapping again, or trimmed */
    TAP_EQ_U64(tu_check_bytes(c, 2 * MIB + 12345, 0), SIZE_MAX,
               "calloc of a smaller request from the cache is all zero");
    free(c);

    /* realloc up and down keeps the contents, also from an aligned block. */
    int bad = 0;
    void *al = NULL;
    if (posix_memalign(&al, 1 << 20, 300000) != 0)
        tap_bail("posix_memalign of 300000 bytes failed");
    char *r = al;
    tu_fill(r, 300000, 5);
    size_t have = 300000;
    for (size_t s = 400000; s < 40 * MIB; s = s * 3 / 2) {
        r = realloc(r, s);
        if (r == NULL || tu_check(r, have, 5) != SIZE_MAX) bad++;
        tu_fill(r, s, 5);
        have = s;
    }
    for (size_t s = have; s > 200000; s /= 3) {
        r = realloc(r, s);
        if (r == NULL || tu_check(r, s, 5) != SIZE_MAX) bad++;
        have = s;
    }
    free(r);
    TAP_EQ_U64(bad, 0, "realloc of a large block keeps its contents, growing and shrinking");

    /* A burst: 40 blocks of 8 MiB touched and freed. */
    long base = tu_rss_kib();
    char *burst[40];
    for (int i = 0; i < 40; i++) {
        burst[i] = malloc(8 * MIB);
        memset(burst[i], i + 1, 8 * MIB);
    }
    long peak = tu_rss_kib();
    for (int i = 0; i < 40; i++)
        free(burst[i]);
    long after = tu_rss_kib();
    tap_diag("VmRSS before %ld KiB, with the burst %ld KiB, after freeing it %ld KiB", base, peak,
             after);
    TAP_GE_U64((uint64_t)(peak - base), 240 * 1024, "the burst was resident (%ld KiB)",
               peak - base);
    TAP_LE_U64((uint64_t)(after - base), 256 * 1024 + 4096,
               "after it, at most the cache's 256 MiB");
    usleep(1200 * 1000);
    free(tu_launder(malloc(200000))); /* a large call lets the cache decay */
    long decayed = tu_rss_kib();
    tap_diag("VmRSS 1.2 s later: %ld KiB", decayed);
    TAP_LE_U64((uint64_t)(decayed > base ? decayed - base : 0), 4096,
               "after the decay delay, the burst is gone");

    /* A big block never stays cached: over half the cache, it is unmapped at once. */
    long before_big = tu_rss_kib();
    char *big = malloc(150 * MIB);
    memset(big, 1, 150 * MIB);
    free(big);
    long after_big = tu_rss_kib();
    TAP_LE_U64((uint64_t)(after_big > before_big ? after_big - before_big : 0), 4096,
               "a 150 MiB block goes back to the OS when freed");

    /* Many sizes in turn, all checked. */
    uint64_t rng = 42;
    char *live[16] = {0};
    size_t size[16] = {0};
    bad = 0;
    for (int i = 0; i < 400; i++) {
        int k = (int)(tu_rand(&rng) % 16);
        if (live[k] && tu_check(live[k], size[k], (uint64_t)k + size[k]) != SIZE_MAX) bad++;
        free(live[k]);
        size[k] = 131073 + tu_rand(&rng) % (4 * MIB);
        live[k] = (i & 3) ? malloc(size[k]) : calloc(1, size[k]);
        if (!(i & 3) && tu_check_bytes(live[k], size[k], 0) != SIZE_MAX) bad++;
        tu_fill(live[k], size[k], (uint64_t)k + size[k]);
    }
    for (int k = 0; k < 16; k++)
        free(live[k]);
    TAP_EQ_U64(bad, 0, "400 large blocks of random sizes, reused, all intact and zeroed");
    return tap_done();
}
