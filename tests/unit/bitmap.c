/* bitmap.c (unit): the page-run helpers slabs are placed with (slab.h). hk_slab_find_run
 * must find the lowest run of n set bits, or none, for every n and many masks: every
 * mask of one run, every mask of two runs, and random masks of several densities, each
 * against a bit-by-bit search. hk_slab_run_bits must set exactly the bits of its run. */
#include "config.h"

#include "slab.h"

#include "../tap.h"
#include "../testutil.h"

/* The lowest i with bits i .. i + n - 1 all set, or -1, one bit at a time. */
static int run_by_search(uint64_t mask, uint32_t n)
{
    for (uint32_t i = 0; i + n <= 64; i++) {
        uint32_t k = 0;
        while (k < n && (mask >> (i + k) & 1))
            k++;
        if (k == n) return (int)i;
    }
    return -1;
}

static uint64_t masks_checked, mismatches;

static void check_mask(uint64_t mask)
{
    for (uint32_t n = 1; n <= 64; n++) {
        int got = hk_slab_find_run(mask, n), want = run_by_search(mask, n);
        masks_checked++;
        if (got != want && mismatches++ < 5)
            tap_diag("mask %#018" PRIx64 ", n %u: found %d, expected %d", mask, n, got, want);
    }
}

/* Bits a .. b - 1. */
static uint64_t span(uint32_t a, uint32_t b)
{
    uint64_t m = 0;
    for (uint32_t i = a; i < b; i++)
        m |= (uint64_t)1 << i;
    return m;
}

int main(void)
{
    tap_plan(5);

    uint64_t bad_bits = 0;
    for (uint32_t first = 0; first < 64; first++)
        for (uint32_t n = 1; first + n <= 64; n++)
            if (hk_slab_run_bits(first, n) != span(first, first + n) && bad_bits++ < 3)
                tap_diag("run_bits(%u, %u) = %#" PRIx64, first, n, hk_slab_run_bits(first, n));
    TAP_EQ_U64(bad_bits, 0, "run_bits(first, n) is bits first..first+n-1 for all 2080 runs");

    check_mask(0);
    check_mask(~(uint64_t)0);
    for (uint32_t a = 0; a < 64; a++)
        for (uint32_t b = a + 1; b <= 64; b++)
            check_mask(span(a, b));
    TAP_EQ_U64(mismatches, 0, "find_run agrees with a search on every one-run mask");

    /* A run a..b-1, then a gap, then a second run, for every a < b. */
    static const uint32_t gaps[] = {1, 2, 5}, lens[] = {1, 2, 7, 20};
    for (uint32_t a = 0; a < 64; a++)
        for (uint32_t b = a + 1; b < 64; b++)
            for (size_t g = 0; g < 3; g++)
                for (size_t l = 0; l < 4; l++) {
                    uint32_t c = b + gaps[g], d = c + lens[l] < 64 ? c + lens[l] : 64;
                    if (c < 64) check_mask(span(a, b) | span(c, d));
                }
    TAP_EQ_U64(mismatches, 0, "... on two-run masks");

    /* Random masks, sparse to dense: and-ing random words thins them, or-ing fills. */
    uint64_t seed = 0x6a09e667f3bcc909ull;
    for (int i = 0; i < 4000; i++) {
        uint64_t r = tu_rand(&seed), s = tu_rand(&seed), t = tu_rand(&seed);
        check_mask(r);
        check_mask(r & s);
        check_mask(r | s);
        check_mask(r | s | t);
        check_mask((r | s | t) << 1); /* the shape of a segment's free pages */
    }
    TAP_EQ_U64(mismatches, 0, "... on 20,000 random masks of five densities");
    tap_diag("%" PRIu64 " (mask, n) pairs checked", masks_checked);
    TAP_GE_U64(masks_checked, 1000000, "at least a million (mask, n) pairs were checked");
    return tap_done();
}
