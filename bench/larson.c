/* larson: a Larson-style server load.
 *
 *     larson SECONDS MIN_SIZE MAX_SIZE BLOCKS_PER_THREAD ROUNDS SEED THREADS
 *
 * The model is a server whose worker threads each own a set of live objects and keep
 * replacing them, and whose threads come and go while the objects outlive them.
 *
 * - The main thread allocates THREADS arrays of BLOCKS_PER_THREAD blocks, each of a
 *   random size uniform in [MIN_SIZE, MAX_SIZE] (so the first workers free blocks that
 *   another thread allocated).
 * - Each array is worked by a chain of threads. A thread performs ROUNDS *
 *   BLOCKS_PER_THREAD replace operations: pick a random slot, free its block, malloc a
 *   new random-size block into it and write a few bytes. Then, unless time is up, it
 *   starts a fresh thread that carries on with the same array and exits; the fresh thread
 *   frees blocks its predecessor allocated (remote frees from a thread that has gone).
 * - After SECONDS the main thread raises a stop flag; each chain stops within a few
 *   operations, and the main thread frees every block.
 *
 * Sizes and slots come from a deterministic generator per array, seeded from SEED.
 *
 * Throughput: `ops_per_s` counts replace operations, i.e. malloc+free pairs, per second
 * of wall time from the first worker's start to the last worker's end. This is what the
 * classic Larson benchmark calls "Throughput"; malloc and free calls per second are twice
 * that.
 *
 * Threads are never leaked: each new thread joins its predecessor first, and the main
 * thread joins the last thread of each chain, so thread stacks and the allocator's
 * per-thread state go back as the run goes on, whatever the generation rate. (The
 * classic never reaps its threads, and with a short generation such as
 * `2 8 128 1024 1 12345 4` it runs out of memory mappings after some 32,000 threads.)
 *
 * Output ends with
 *     RESULT name=larson threads=T seconds=S min=.. max=.. blocks=.. rounds=.. seed=..
 *            ops=N ops_per_s=X generations=G elapsed_s=E peak_rss_kib=K
 * (on one line). */
#include "bench.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

/* One array of live blocks and the state of the chain of threads working it. The fields
 * are handed from thread to thread through pthread_create/pthread_join, which order the
 * accesses; only `done` and `last` are read by the main thread while workers run. */
typedef struct chain {
    void **blocks;        /* the live blocks, `nblocks` of them */
    size_t nblocks;       /* blocks per thread */
    uint64_t rng;         /* generator state: slots and sizes */
    uint64_t ops;         /* replace operations completed by all generations */
    uint64_t generations; /* threads that have worked this array */
    uint64_t spawn_fails; /* pthread_create failures (the thread carried on instead) */
    pthread_t prev;       /* the predecessor, joined by its successor */
    bool has_prev;        /* false for the first generation */
    pthread_t last;       /* the thread that saw the stop flag, joined by main */
    atomic_bool done;     /* set by the last thread just before it returns */
    char pad[64];         /* keep chains off each other's cache lines */
} chain_t;

static size_t min_size, max_size;
static uint64_t ops_per_generation;
static atomic_bool stop;

/* Fill a fresh block so that the allocator's pages are really written. */
static inline void *new_block(uint64_t *rng)
{
    size_t size = bench_rand_range(rng, min_size, max_size);
    char *p = bench_xmalloc(size);
    memset(p, 0x5a, size < 8 ? size : 8);
    p[size - 1] = 1;
    return p;
}

static void *worker(void *arg)
{
    chain_t *c = arg;
    if (c->has_prev) pthread_join(c->prev, NULL);

    for (;;) {
        c->generations++;
        uint64_t rng = c->rng, n;
        for (n = 0; n < ops_per_generation; n++) {
            if (atomic_load_explicit(&stop, memory_order_relaxed)) break;
            size_t slot = (size_t)(bench_rand(&rng) % c->nblocks);
            free(c->blocks[slot]);
            c->blocks[slot] = new_block(&rng);
        }
        c->rng = rng;
        c->ops += n;

        if (atomic_load_explicit(&stop, memory_order_relaxed)) break;
        /* Hand the array to a fresh thread, which joins this one. */
        pthread_t next;
        c->prev = pthread_self();
        c->has_prev = true;
        if (pthread_create(&next, NULL, worker, c) == 0) return NULL;
        c->spawn_fails++; /* out of threads or memory: keep going here */
        c->has_prev = false;
    }
    c->last = pthread_self();
    atomic_store_explicit(&c->done, true, memory_order_release);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 8 || (argc > 1 && argv[1][0] == '-')) {
        fprintf(stderr,
                "usage: %s [SECONDS MIN_SIZE MAX_SIZE BLOCKS_PER_THREAD ROUNDS SEED THREADS]\n"
                "default: 2 8 128 1024 1 12345 4 (short-lived threads: a new one every 1,024 "
                "operations)\n",
                argv[0]);
        return 2;
    }
    double seconds = bench_arg(argc, argv, 1, "SECONDS", 2, 0, 86400);
    min_size = (size_t)bench_arg(argc, argv, 2, "MIN_SIZE", 8, 1, 1 << 30);
    max_size = (size_t)bench_arg(argc, argv, 3, "MAX_SIZE", 128, (double)min_size, 1 << 30);
    size_t nblocks = (size_t)bench_arg(argc, argv, 4, "BLOCKS_PER_THREAD", 1024, 1, 1 << 26);
    uint64_t rounds = (uint64_t)bench_arg(argc, argv, 5, "ROUNDS", 1, 1, 1e9);
    uint64_t seed = (uint64_t)bench_arg(argc, argv, 6, "SEED", 12345, 0, 1e18);
    int nthreads = (int)bench_arg(argc, argv, 7, "THREADS", 4, 1, 4096);
    ops_per_generation = rounds * nblocks;

    chain_t *chains = calloc((size_t)nthreads, sizeof *chains);
    if (chains == NULL) bench_die("out of memory");
    for (int i = 0; i < nthreads; i++) {
        chain_t *c = &chains[i];
        c->rng = seed ^ (0x2545f4914f6cdd1dULL * (uint64_t)(i + 1));
        c->nblocks = nblocks;
        c->blocks = calloc(nblocks, sizeof *c->blocks);
        if (c->blocks == NULL) bench_die("out of memory");
        for (size_t j = 0; j < nblocks; j++)
            c->blocks[j] = new_block(&c->rng);
        atomic_init(&c->done, false);
    }

    double t0 = bench_now();
    for (int i = 0; i < nthreads; i++) {
        pthread_t t;
        int err = pthread_create(&t, NULL, worker, &chains[i]);
        if (err != 0) bench_die("pthread_create: %s", strerror(err));
    }
    bench_sleep(seconds);
    atomic_store(&stop, true);

    uint64_t ops = 0, generations = 0, spawn_fails = 0;
    for (int i = 0; i < nthreads; i++) {
        chain_t *c = &chains[i];
        while (!atomic_load_explicit(&c->done, memory_order_acquire))
            bench_sleep(0.0005);
        pthread_join(c->last, NULL);
    }
    double elapsed = bench_now() - t0;

    for (int i = 0; i < nthreads; i++) {
        chain_t *c = &chains[i];
        ops += c->ops;
        generations += c->generations;
        spawn_fails += c->spawn_fails;
        for (size_t j = 0; j < nblocks; j++)
            free(c->blocks[j]);
        free(c->blocks);
    }
    free(chains);

    double rate = (double)ops / elapsed;
    if (spawn_fails)
        fprintf(stderr, "larson: pthread_create failed %llu times\n",
                (unsigned long long)spawn_fails);
    printf("Larson: %d threads, %.3f s, sizes %zu..%zu, %zu blocks/thread, %llu rounds\n", nthreads,
           elapsed, min_size, max_size, nblocks, (unsigned long long)rounds);
    printf("Throughput = %.0f operations per second (malloc+free pairs), %llu thread "
           "generations\n",
           rate, (unsigned long long)generations);
    printf("RESULT name=larson threads=%d seconds=%g min=%zu max=%zu blocks=%zu rounds=%llu "
           "seed=%llu ops=%llu ops_per_s=%.0f generations=%llu spawn_fails=%llu "
           "elapsed_s=%.3f peak_rss_kib=%ld\n",
           nthreads, seconds, min_size, max_size, nblocks, (unsigned long long)rounds,
           (unsigned long long)seed, (unsigned long long)ops, rate, (unsigned long long)generations,
           (unsigned long long)spawn_fails, elapsed, bench_peak_rss_kib());
    return 0;
}
