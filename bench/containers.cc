/* containers: a C++ program's allocations, through the standard containers.
 *
 *     containers [SECONDS [THREADS [KEYS]]]
 *
 * Each of THREADS threads (default 1) repeats rounds until SECONDS have passed. A round,
 * with KEYS (default 2,000) and everything drawn from the thread's seeded generator:
 *
 * - builds a std::map from strings of 8..40 characters (most beyond the short-string
 *   buffer, so each key is a heap block) to std::vectors of 0..16 numbers, pushed one by
 *   one so that each vector grows by reallocation;
 * - builds a std::unordered_map from numbers to strings of 1..100 characters, and looks
 *   up as many keys again, half of them present;
 * - erases every other map entry and inserts as many new ones;
 * - copies the keys into a std::vector<std::string>, sorts it, and joins them into one
 *   string with separators, growing it by appends;
 * - lets all of it go out of scope (destructors, in an order the containers choose).
 *
 * Built with g++ -O2 -fsized-deallocation, so the containers return their memory by
 * sized operator delete: an allocator that exports the C++ operators can skip finding the
 * block's size; one that does not sees malloc and free from libstdc++'s operators.
 *
 * `rounds_per_s` counts rounds per second of wall time over all threads; the rounds are the
 * same work under every allocator, since the seeds fix every size and key.
 *
 * Output ends with
 *     RESULT name=containers seconds=S threads=T keys=K rounds=N rounds_per_s=X
 *            elapsed_s=E peak_rss_kib=R
 * (on one line). */
#include "bench.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace
{

std::atomic<bool> stop{false};
size_t keys;

std::string random_string(uint64_t *rng, size_t lo, size_t hi)
{
    size_t n = bench_rand_range(rng, lo, hi);
    std::string s;
    s.reserve(n);
    for (size_t i = 0; i < n; i++)
        s.push_back(static_cast<char>('a' + bench_rand(rng) % 26));
    return s;
}

/* One round; returns a digest of what it built, so none of it can be optimised away. */
size_t round(uint64_t *rng)
{
    std::map<std::string, std::vector<uint32_t>> tree;
    for (size_t i = 0; i < keys; i++) {
        std::vector<uint32_t> &v = tree[random_string(rng, 8, 40)];
        for (size_t n = bench_rand(rng) % 17; n > 0; n--)
            v.push_back(static_cast<uint32_t>(bench_rand(rng)));
    }

    std::unordered_map<uint64_t, std::string> hash;
    for (size_t i = 0; i < keys; i++)
        hash.emplace(bench_rand(rng) % (2 * keys), random_string(rng, 1, 100));
    size_t found = 0;
    for (size_t i = 0; i < keys; i++) {
        auto it = hash.find(bench_rand(rng) % (2 * keys));
        if (it != hash.end()) found += it->second.size();
    }

    bool odd = false;
    for (auto it = tree.begin(); it != tree.end();) {
        odd = !odd;
        it = odd ? tree.erase(it) : std::next(it);
    }
    for (size_t i = 0; i < keys / 2; i++)
        tree.emplace(random_string(rng, 8, 40), std::vector<uint32_t>(bench_rand(rng) % 17, 1));

    std::vector<std::string> names;
    for (const auto &kv : tree)
        names.push_back(kv.first);
    std::sort(names.begin(), names.end(),
              [](const std::string &a, const std::string &b) { return a.size() < b.size(); });
    std::string joined;
    for (const auto &s : names) {
        joined += s;
        joined += ", ";
    }
    return found + joined.size() + tree.size() + hash.size();
}

struct worker {
    uint64_t seed;
    uint64_t rounds = 0;
    size_t digest = 0;
    void run()
    {
        uint64_t rng = seed;
        do {
            digest += round(&rng);
            rounds++;
        } while (!stop.load(std::memory_order_relaxed));
    }
};

} // namespace

int main(int argc, char **argv)
{
    if (argc > 4 || (argc > 1 && argv[1][0] == '-')) {
        fprintf(stderr, "usage: %s [SECONDS [THREADS [KEYS]]]\n  default: 1 1 2000\n", argv[0]);
        return 2;
    }
    double seconds = bench_arg(argc, argv, 1, "SECONDS", 1, 0, 86400);
    int nt = static_cast<int>(bench_arg(argc, argv, 2, "THREADS", 1, 1, 1024));
    keys = static_cast<size_t>(bench_arg(argc, argv, 3, "KEYS", 2000, 2, 1e7));

    std::vector<worker> workers(static_cast<size_t>(nt));
    std::vector<std::thread> threads;
    double t0 = bench_now();
    for (int i = 0; i < nt; i++) {
        workers[static_cast<size_t>(i)].seed = 0xc0ffeeULL + static_cast<uint64_t>(i);
        threads.emplace_back(&worker::run, &workers[static_cast<size_t>(i)]);
    }
    bench_sleep(seconds);
    stop.store(true);
    uint64_t rounds = 0;
    size_t digest = 0;
    for (int i = 0; i < nt; i++) {
        threads[static_cast<size_t>(i)].join();
        rounds += workers[static_cast<size_t>(i)].rounds;
        digest += workers[static_cast<size_t>(i)].digest;
    }
    double elapsed = bench_now() - t0;
    bench_escape(&digest);

    double rate = static_cast<double>(rounds) / elapsed;
    printf("C++ containers: %d threads, %zu keys, %llu rounds in %.3f s: %.1f rounds per second\n",
           nt, keys, static_cast<unsigned long long>(rounds), elapsed, rate);
    printf("RESULT name=containers seconds=%g threads=%d keys=%zu rounds=%llu rounds_per_s=%.1f "
           "elapsed_s=%.3f peak_rss_kib=%ld\n",
           seconds, nt, keys, static_cast<unsigned long long>(rounds), rate, elapsed,
           bench_peak_rss_kib());
    return 0;
}
