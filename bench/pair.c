/* pair: cost of malloc and free in tight loops, in time-stamp-counter ticks.
 *
 *     pair [SCALE]
 *
 * 1. For each fixed size 16, 32, 64, 128, 512, 1024 and 4096 bytes: after a warm-up,
 *    10,000,000 * SCALE iterations of p = malloc(size); write one byte; free(p).
 *    Reported as ticks per malloc+free pair.
 * 2. Random batches: 10,000 * SCALE batches of 1,000 mallocs of random sizes in
 *    [8, 1024] (a fixed seed; 16 precomputed size patterns used in turn), each block
 *    written once, then 1,000 frees in allocation order. Reported as ticks per call, and
 *    separately for the malloc and the free half.
 *
 * Each loop runs in SLICES equal slices, and the fastest slice counts (its ticks divided
 * by its calls): a preemption or a burst of other work on the machine lands in one slice
 * and is dropped, rather than raising the average. Ticks are TSC ticks on x86 (reads
 * fenced with lfence/rdtscp and taken around a whole slice, so their own cost, tens of
 * ticks, is spread over 100,000s of calls), nanoseconds elsewhere. The tick rate is
 * measured against CLOCK_MONOTONIC over 50 ms and used to print nanoseconds as well.
 *
 * Output ends with
 *     RESULT name=pair scale=.. tick_mhz=.. pair16_ticks=.. pair32_ticks=.. ...
 *            pair4096_ticks=.. batch_ticks=.. batch_malloc_ticks=.. batch_free_ticks=..
 *            peak_rss_kib=..
 * (on one line). */
#include "bench.h"

#define BATCH        1000
#define PATTERNS     16
#define BATCH_MIN    8
#define BATCH_MAX    1024
#define PAIR_ITERS   10000000.0
#define BATCH_ROUNDS 10000.0
#define SLICES       10

static const size_t pair_sizes[] = {16, 32, 64, 128, 512, 1024, 4096};
#define NSIZES (sizeof pair_sizes / sizeof pair_sizes[0])

/* The size goes through a volatile so the compiler cannot specialise the loop on it. */
static volatile size_t pair_size;

static void pair_loop(uint64_t iters)
{
    size_t size = pair_size;
    for (uint64_t i = 0; i < iters; i++) {
        char *p = malloc(size);
        if (p == NULL) bench_die("malloc(%zu) failed", size);
        *(volatile char *)p = (char)i;
        bench_escape(p);
        free(p);
    }
}

/* Ticks per malloc+free pair of `size` bytes: the fastest of SLICES slices of `iters`. */
static double time_pair(size_t size, uint64_t iters)
{
    uint64_t slice = iters / SLICES + 1, best = UINT64_MAX;
    pair_size = size;
    pair_loop(slice + 1000); /* warm-up: fill caches, fault in pages */
    for (int k = 0; k < SLICES; k++) {
        uint64_t t0 = bench_ticks_begin();
        pair_loop(slice);
        uint64_t t = bench_ticks_end() - t0;
        if (t < best) best = t;
    }
    return (double)best / (double)slice;
}

/* Ticks per call of the random batches, malloc half and free half, from the fastest of
 * SLICES slices of `batches`. */
static void time_batches(uint64_t batches, double *malloc_ticks, double *free_ticks)
{
    static size_t sizes[PATTERNS][BATCH];
    static char *ptrs[BATCH];
    uint64_t rng = 4141;
    for (int k = 0; k < PATTERNS; k++)
        for (int i = 0; i < BATCH; i++)
            sizes[k][i] = bench_rand_range(&rng, BATCH_MIN, BATCH_MAX);

    uint64_t slice = batches / SLICES + 1, tm = 0, tf = 0, best_tm = 0, best_tf = UINT64_MAX;
    for (uint64_t b = 0; b < PATTERNS + SLICES * slice; b++) { /* the first PATTERNS warm up */
        const size_t *sz = sizes[b % PATTERNS];
        uint64_t t0 = bench_ticks_begin();
        for (int i = 0; i < BATCH; i++) {
            ptrs[i] = malloc(sz[i]);
            if (ptrs[i] == NULL) bench_die("malloc(%zu) failed", sz[i]);
            *(volatile char *)ptrs[i] = (char)i;
        }
        uint64_t t1 = bench_ticks_end();
        for (int i = 0; i < BATCH; i++)
            free(ptrs[i]);
        uint64_t t2 = bench_ticks_end();
        if (b < PATTERNS) continue;
        tm += t1 - t0;
        tf += t2 - t1;
        if ((b - PATTERNS + 1) % slice == 0) { /* end of a slice */
            if (tm + tf < best_tm + best_tf) {
                best_tm = tm;
                best_tf = tf;
            }
            tm = tf = 0;
        }
    }
    *malloc_ticks = (double)best_tm / (double)(slice * BATCH);
    *free_ticks = (double)best_tf / (double)(slice * BATCH);
}

int main(int argc, char **argv)
{
    if (argc > 2 || (argc > 1 && argv[1][0] == '-')) {
        fprintf(stderr,
                "usage: %s [SCALE]\n  SCALE multiplies the iteration counts "
                "(default 1: 10M pairs per size, 10k batches)\n",
                argv[0]);
        return 2;
    }
    double scale = bench_arg(argc, argv, 1, "SCALE", 1, 1e-6, 1e4);
    uint64_t iters = (uint64_t)(PAIR_ITERS * scale);
    uint64_t batches = (uint64_t)(BATCH_ROUNDS * scale);
    if (iters < 1) iters = 1;
    if (batches < 1) batches = 1;

    double hz = bench_tick_hz(0.05);
    double ns_per_tick = 1e9 / hz;
    char line[1024];
    int len =
        snprintf(line, sizeof line, "RESULT name=pair scale=%g tick_mhz=%.1f", scale, hz / 1e6);

    printf("%s frequency %.1f MHz; %llu pairs per size, %llu batches of %d\n",
           BENCH_HAVE_TSC ? "TSC" : "clock", hz / 1e6, (unsigned long long)iters,
           (unsigned long long)batches, BATCH);
    for (size_t i = 0; i < NSIZES; i++) {
        double t = time_pair(pair_sizes[i], iters);
        printf("malloc(%zu)+free: %8.2f ticks %7.2f ns per pair\n", pair_sizes[i], t,
               t * ns_per_tick);
        len += snprintf(line + len, sizeof line - (size_t)len, " pair%zu_ticks=%.2f", pair_sizes[i],
                        t);
    }

    double tm, tf;
    time_batches(batches, &tm, &tf);
    double tb = (tm + tf) / 2;
    printf("batch of %d random %d..%d B mallocs then frees: %.2f ticks %.2f ns per call "
           "(malloc %.2f, free %.2f ticks)\n",
           BATCH, BATCH_MIN, BATCH_MAX, tb, tb * ns_per_tick, tm, tf);
    snprintf(line + len, sizeof line - (size_t)len,
             " batch_ticks=%.2f batch_malloc_ticks=%.2f batch_free_ticks=%.2f"
             " peak_rss_kib=%ld",
             tb, tm, tf, bench_peak_rss_kib());
    puts(line);
    return 0;
}
