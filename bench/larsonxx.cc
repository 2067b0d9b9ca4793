/* larsonxx: bench/larson's server load in C++, through operator new and sized delete.
 *
 *     larsonxx SECONDS MIN_SIZE MAX_SIZE BLOCKS_PER_THREAD ROUNDS SEED THREADS
 *
 * The model and the arguments are larson's (see larson.c): THREADS arrays of live blocks,
 * each worked by a chain of threads that replace random blocks by new ones of random
 * sizes and hand the array to a fresh thread every ROUNDS * BLOCKS_PER_THREAD
 * operations. The difference is the calls: a block is `new char[size]`-like memory from
 * `::operator new(size)` and goes back by `::operator delete(p, size)`, the sized delete
 * that a C++14 compiler emits for objects of known size (-fsized-deallocation), so an
 * allocator exporting the C++ operators is measured on its own entry points.
 *
 * Output ends with
 *     RESULT name=larsonxx threads=T seconds=S min=.. max=.. blocks=.. rounds=.. seed=..
 *            ops=N ops_per_s=X generations=G elapsed_s=E peak_rss_kib=K
 * (on one line). */
#include "bench.h"

#include <atomic>
#include <new>
#include <pthread.h>
#include <vector>

namespace
{

/* One array of live blocks and the chain of threads working it, as in larson.c: fields
 * pass from thread to thread through pthread_create/pthread_join; main reads `done`. */
struct chain {
    std::vector<char *> blocks;
    std::vector<size_t> sizes;
    uint64_t rng = 0;
    uint64_t ops = 0;
    uint64_t generations = 0;
    uint64_t spawn_fails = 0;
    pthread_t prev{};
    bool has_prev = false;
    pthread_t last{};
    std::atomic<bool> done{false};
    char pad[64];
};

size_t min_size, max_size;
uint64_t ops_per_generation;
std::atomic<bool> stop{false};

char *new_block(uint64_t *rng, size_t *size)
{
    *size = bench_rand_range(rng, min_size, max_size);
    char *p = static_cast<char *>(::operator new(*size));
    memset(p, 0x5a, *size < 8 ? *size : 8);
    p[*size - 1] = 1;
    return p;
}

void *worker(void *arg)
{
    chain *c = static_cast<chain *>(arg);
    if (c->has_prev) pthread_join(c->prev, nullptr);
    size_t nblocks = c->blocks.size();
    for (;;) {
        c->generations++;
        uint64_t rng = c->rng, n;
        for (n = 0; n < ops_per_generation; n++) {
            if (stop.load(std::memory_order_relaxed)) break;
            size_t slot = static_cast<size_t>(bench_rand(&rng) % nblocks);
            ::operator delete(c->blocks[slot], c->sizes[slot]);
            c->blocks[slot] = new_block(&rng, &c->sizes[slot]);
        }
        c->rng = rng;
        c->ops += n;
        if (stop.load(std::memory_order_relaxed)) break;
        pthread_t next;
        c->prev = pthread_self();
        c->has_prev = true;
        if (pthread_create(&next, nullptr, worker, c) == 0) return nullptr;
        c->spawn_fails++;
        c->has_prev = false;
    }
    c->last = pthread_self();
    c->done.store(true, std::memory_order_release);
    return nullptr;
}

} // namespace

int main(int argc, char **argv)
{
    if (argc > 8 || (argc > 1 && argv[1][0] == '-')) {
        fprintf(stderr,
                "usage: %s [SECONDS MIN_SIZE MAX_SIZE BLOCKS_PER_THREAD ROUNDS SEED THREADS]\n"
                "default: 2 8 1000 5000 100 4141 1\n",
                argv[0]);
        return 2;
    }
    double seconds = bench_arg(argc, argv, 1, "SECONDS", 2, 0, 86400);
    min_size = static_cast<size_t>(bench_arg(argc, argv, 2, "MIN_SIZE", 8, 1, 1 << 30));
    max_size = static_cast<size_t>(
        bench_arg(argc, argv, 3, "MAX_SIZE", 1000, static_cast<double>(min_size), 1 << 30));
    size_t nblocks =
        static_cast<size_t>(bench_arg(argc, argv, 4, "BLOCKS_PER_THREAD", 5000, 1, 1 << 26));
    uint64_t rounds = static_cast<uint64_t>(bench_arg(argc, argv, 5, "ROUNDS", 100, 1, 1e9));
    uint64_t seed = static_cast<uint64_t>(bench_arg(argc, argv, 6, "SEED", 4141, 0, 1e18));
    int nthreads = static_cast<int>(bench_arg(argc, argv, 7, "THREADS", 1, 1, 4096));
    ops_per_generation = rounds * nblocks;

    std::vector<chain> chains(static_cast<size_t>(nthreads));
    for (int i = 0; i < nthreads; i++) {
        chain &c = chains[static_cast<size_t>(i)];
        c.rng = seed ^ (0x2545f4914f6cdd1dULL * static_cast<uint64_t>(i + 1));
        c.blocks.resize(nblocks);
        c.sizes.resize(nblocks);
        for (size_t j = 0; j < nblocks; j++)
            c.blocks[j] = new_block(&c.rng, &c.sizes[j]);
    }

    double t0 = bench_now();
    for (auto &c : chains) {
        pthread_t t;
        int err = pthread_create(&t, nullptr, worker, &c);
        if (err != 0) bench_die("pthread_create: %s", strerror(err));
    }
    bench_sleep(seconds);
    stop.store(true);
    for (auto &c : chains) {
        while (!c.done.load(std::memory_order_acquire))
            bench_sleep(0.0005);
        pthread_join(c.last, nullptr);
    }
    double elapsed = bench_now() - t0;

    uint64_t ops = 0, generations = 0, spawn_fails = 0;
    for (auto &c : chains) {
        ops += c.ops;
        generations += c.generations;
        spawn_fails += c.spawn_fails;
        for (size_t j = 0; j < nblocks; j++)
            ::operator delete(c.blocks[j], c.sizes[j]);
    }

    double rate = static_cast<double>(ops) / elapsed;
    if (spawn_fails)
        fprintf(stderr, "larsonxx: pthread_create failed %llu times\n",
                static_cast<unsigned long long>(spawn_fails));
    printf("Larson (C++, sized delete): %d threads, %.3f s, sizes %zu..%zu: %.0f operations per "
           "second\n",
           nthreads, elapsed, min_size, max_size, rate);
    printf("RESULT name=larsonxx threads=%d seconds=%g min=%zu max=%zu blocks=%zu rounds=%llu "
           "seed=%llu ops=%llu ops_per_s=%.0f generations=%llu spawn_fails=%llu "
           "elapsed_s=%.3f peak_rss_kib=%ld\n",
           nthreads, seconds, min_size, max_size, nblocks, static_cast<unsigned long long>(rounds),
           static_cast<unsigned long long>(seed), static_cast<unsigned long long>(ops), rate,
           static_cast<unsigned long long>(generations),
           static_cast<unsigned long long>(spawn_fails), elapsed, bench_peak_rss_kib());
    return 0;
}
