/* churn: short-lived threads, as in a server that spawns a thread per task.
 *
 *     churn [SECONDS [THREADS_PER_WAVE [BLOCKS]]]
 *
 * Waves of THREADS_PER_WAVE threads run until SECONDS have passed (at least one wave).
 * Thread i of a wave first frees the blocks that thread i of the previous wave left
 * behind (their owner has exited), then mallocs BLOCKS blocks of mixed sizes (mostly
 * 16..256 B, some up to 4 KiB, one in 64 up to 64 KiB), writing each, frees 90% of them
 * and leaves the rest for its successor; the main thread joins the wave and starts the
 * next. The live set is bounded, so peak RSS shows how well the allocator takes back what
 * exited threads cached or owned.
 *
 * Output ends with
 *     RESULT name=churn seconds=S threads_per_wave=K blocks=M waves=W threads=N
 *            threads_per_s=.. peak_rss_kib=..
 * (on one line). */
#include "bench.h"

#include <pthread.h>

#define KEEP_EVERY 10 /* one block in KEEP_EVERY survives its thread */

typedef struct slot {
    void **kept; /* survivors left by the previous thread in this slot */
    size_t nkept;
    uint64_t rng;
} slot_t;

static size_t nblocks;

/* Mostly small blocks, one in 8 up to 4 KiB, one in 64 up to 64 KiB. */
static size_t mixed_size(uint64_t *rng)
{
    uint64_t r = bench_rand(rng) % 64;
    if (r == 0) return bench_rand_range(rng, 4097, 64 * 1024);
    if (r <= 8) return bench_rand_range(rng, 257, 4096);
    return bench_rand_range(rng, 16, 256);
}

static void *wave_thread(void *arg)
{
    slot_t *s = arg;
    for (size_t i = 0; i < s->nkept; i++)
        free(s->kept[i]);
    s->nkept = 0;

    void **blocks = bench_xmalloc(nblocks * sizeof *blocks);
    for (size_t i = 0; i < nblocks; i++) {
        size_t size = mixed_size(&s->rng);
        char *p = bench_xmalloc(size);
        p[0] = p[size - 1] = (char)i;
        blocks[i] = p;
    }
    for (size_t i = 0; i < nblocks; i++) {
        if (i % KEEP_EVERY == 0)
            s->kept[s->nkept++] = blocks[i];
        else
            free(blocks[i]);
    }
    free(blocks);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 4 || (argc > 1 && argv[1][0] == '-')) {
        fprintf(stderr, "usage: %s [SECONDS [THREADS_PER_WAVE [BLOCKS]]]\n  default: 1 4 2000\n",
                argv[0]);
        return 2;
    }
    double seconds = bench_arg(argc, argv, 1, "SECONDS", 1, 0, 86400);
    int k = (int)bench_arg(argc, argv, 2, "THREADS_PER_WAVE", 4, 1, 4096);
    nblocks = (size_t)bench_arg(argc, argv, 3, "BLOCKS", 2000, 1, 1 << 24);

    slot_t *slots = calloc((size_t)k, sizeof *slots);
    pthread_t *threads = calloc((size_t)k, sizeof *threads);
    if (slots == NULL || threads == NULL) bench_die("out of memory");
    for (int i = 0; i < k; i++) {
        slots[i].kept = bench_xmalloc((nblocks / KEEP_EVERY + 1) * sizeof(void *));
        slots[i].rng = 0xc4u + (uint64_t)i;
    }

    uint64_t waves = 0;
    double t0 = bench_now(), elapsed;
    do {
        for (int i = 0; i < k; i++) {
            int err = pthread_create(&threads[i], NULL, wave_thread, &slots[i]);
            if (err != 0) bench_die("pthread_create: %s", strerror(err));
        }
        for (int i = 0; i < k; i++)
            pthread_join(threads[i], NULL);
        waves++;
        elapsed = bench_now() - t0;
    } while (elapsed < seconds);

    for (int i = 0; i < k; i++) {
        for (size_t j = 0; j < slots[i].nkept; j++)
            free(slots[i].kept[j]);
        free(slots[i].kept);
    }
    free(slots);
    free(threads);

    uint64_t nthreads = waves * (uint64_t)k;
    double rate = (double)nthreads / elapsed;
    printf("Thread churn: %llu waves of %d threads, %zu blocks each, %.3f s: %.0f threads per "
           "second\n",
           (unsigned long long)waves, k, nblocks, elapsed, rate);
    printf("RESULT name=churn seconds=%g threads_per_wave=%d blocks=%zu waves=%llu threads=%llu "
           "threads_per_s=%.0f peak_rss_kib=%ld\n",
           seconds, k, nblocks, (unsigned long long)waves, (unsigned long long)nthreads, rate,
           bench_peak_rss_kib());
    return 0;
}
