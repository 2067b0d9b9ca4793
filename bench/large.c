/* large: large blocks allocated, touched and freed over and over, as a program that
 * keeps a few big buffers (images, decompression windows, request bodies) in flight.
 *
 *     large [SECONDS [LIVE [MIN_KIB [MAX_KIB [SEED]]]]]
 *
 * LIVE slots (default 20) each hold one block. One operation picks a random slot, frees
 * its block and mallocs a new one of a random size between MIN_KIB (default 64 KiB) and
 * MAX_KIB (default 32 MiB): each power-of-two range in between is as likely, the size
 * uniform (and odd) within it; then writes one byte in every 4 KiB page of the block, so
 * that every page the allocator hands out is faulted in unless it was kept from an
 * earlier block. Sizes and slots come from a generator seeded with SEED.
 *
 * The cost is mostly the allocator's dealings with the kernel: fresh mappings, page faults
 * and unmapping against reuse of what was freed. Peak RSS shows what reuse holds on to;
 * the live set alone is about LIVE times the mean size (some 100 MiB by default).
 *
 * `ops_per_s` counts malloc+free pairs per second of wall time.
 *
 * Output ends with
 *     RESULT name=large seconds=S live=L min_kib=.. max_kib=.. seed=.. ops=N ops_per_s=X
 *            bytes_per_op=B elapsed_s=E peak_rss_kib=K
 * (on one line). */
#include "bench.h"

#define PAGE ((size_t)4096)

/* A size in [lo, hi]: first a power-of-two range [lo << k, lo << (k + 1)) picked
 * uniformly among those that start below hi, then a size uniform in it, odd so that it is
 * never a whole number of pages. */
static size_t large_size(uint64_t *rng, size_t lo, size_t hi)
{
    unsigned ranges = 1;
    while ((lo << ranges) < hi)
        ranges++;
    size_t from = lo << (bench_rand(rng) % ranges);
    size_t to = from * 2 - 1 < hi ? from * 2 - 1 : hi;
    size_t size = bench_rand_range(rng, from, to) | 1;
    return size <= hi ? size : hi;
}

/* One byte in each page, so that every page of the block is resident afterwards. */
static void touch(char *p, size_t size)
{
    for (size_t off = 0; off < size; off += PAGE)
        p[off] = (char)off;
    p[size - 1] = 1;
}

int main(int argc, char **argv)
{
    if (argc > 6 || (argc > 1 && argv[1][0] == '-')) {
        fprintf(stderr,
                "usage: %s [SECONDS [LIVE [MIN_KIB [MAX_KIB [SEED]]]]]\n"
                "  default: 1 20 64 32768 42\n",
                argv[0]);
        return 2;
    }
    double seconds = bench_arg(argc, argv, 1, "SECONDS", 1, 0, 86400);
    size_t live = (size_t)bench_arg(argc, argv, 2, "LIVE", 20, 1, 1 << 16);
    size_t min_kib = (size_t)bench_arg(argc, argv, 3, "MIN_KIB", 64, 1, 1 << 22);
    size_t max_kib = (size_t)bench_arg(argc, argv, 4, "MAX_KIB", 32768, (double)min_kib, 1 << 22);
    uint64_t seed = (uint64_t)bench_arg(argc, argv, 5, "SEED", 42, 0, 1e18);
    size_t lo = min_kib * 1024, hi = max_kib * 1024;

    char **slots = calloc(live, sizeof *slots);
    if (slots == NULL) bench_die("out of memory");
    uint64_t rng = seed, ops = 0, bytes = 0;

    double t0 = bench_now(), elapsed;
    do {
        /* A batch between clock reads: one read costs little next to a large block. */
        for (int i = 0; i < 16; i++) {
            size_t slot = (size_t)(bench_rand(&rng) % live);
            size_t size = large_size(&rng, lo, hi);
            free(slots[slot]);
            slots[slot] = bench_xmalloc(size);
            touch(slots[slot], size);
            ops++;
            bytes += size;
        }
        elapsed = bench_now() - t0;
    } while (elapsed < seconds);

    for (size_t i = 0; i < live; i++)
        free(slots[i]);
    free(slots);

    double rate = (double)ops / elapsed;
    printf("Large blocks %zu KiB..%zu KiB, %zu live: %llu malloc+free in %.3f s, %.0f per "
           "second\n",
           min_kib, max_kib, live, (unsigned long long)ops, elapsed, rate);
    printf("RESULT name=large seconds=%g live=%zu min_kib=%zu max_kib=%zu seed=%llu ops=%llu "
           "ops_per_s=%.1f bytes_per_op=%.0f elapsed_s=%.3f peak_rss_kib=%ld\n",
           seconds, live, min_kib, max_kib, (unsigned long long)seed, (unsigned long long)ops, rate,
           (double)bytes / (double)ops, elapsed, bench_peak_rss_kib());
    return 0;
}
