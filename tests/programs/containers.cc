// containers.cc: a container-heavy C++ program for tests/programs/cxx.sh, compiled and
// run under each setting. Two threads build maps, hash maps, vectors and strings, and
// hand shared_ptr graphs to each other (so blocks are freed by the thread that did not
// allocate them); it prints figures derived from all of it, which the test compares
// with a build and run under glibc.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace
{

// FNV-1a, to fold everything printed into a few numbers.
struct Digest {
    std::uint64_t h = 1469598103934665603ull;
    void add(const std::string &s)
    {
        for (unsigned char c : s)
            h = (h ^ c) * 1099511628211ull;
    }
    void add(std::uint64_t v)
    {
        add(std::to_string(v));
    }
};

struct Node {
    std::string name;
    std::vector<std::shared_ptr<Node>> kids;
    std::weak_ptr<Node> parent;
};

std::string word(std::uint64_t n)
{
    std::string w;
    std::uint64_t i = n;
    do {
        w += static_cast<char>('a' + i % 26);
        i /= 26;
    } while (i);
    return w + std::string(n % 5, '!');
}

// Word counts in an ordered and a hashed map must agree.
std::uint64_t maps(unsigned seed)
{
    std::map<std::string, std::uint64_t> ordered;
    std::unordered_map<std::string, std::uint64_t> hashed;
    std::uint64_t x = seed;
    for (int i = 0; i < 200000; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        std::string w = word((x >> 33) % 20000);
        ordered[w]++;
        hashed[w]++;
    }
    Digest d;
    for (const auto &kv : ordered) {
        if (hashed.at(kv.first) != kv.second) return 0;
        d.add(kv.first);
        d.add(kv.second);
    }
    return d.h ^ ordered.size();
}

// Vectors of strings: sorted, deduplicated, grown and shrunk.
std::uint64_t vectors(unsigned seed)
{
    std::vector<std::string> v;
    for (unsigned i = 0; i < 100000; i++)
        v.push_back(word(i * 2654435761u % 50000 + seed) + std::to_string(i % 100));
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    std::deque<std::string> dq(v.begin(), v.end());
    Digest d;
    while (dq.size() > 1) {
        d.add(dq.front());
        dq.pop_front();
        dq.back() += "~";
        if (dq.size() % 3 == 0) dq.pop_back();
    }
    std::vector<std::string>().swap(v);
    std::set<std::uint64_t> s;
    for (std::uint64_t i = 0; i < 50000; i++)
        s.insert(i * i % 100003);
    return d.h ^ s.size();
}

std::shared_ptr<Node> tree(int depth, const std::string &name)
{
    auto n = std::make_shared<Node>();
    n->name = name;
    if (depth > 0)
        for (int k = 0; k < 4; k++) {
            n->kids.push_back(tree(depth - 1, name + static_cast<char>('0' + k)));
            n->kids.back()->parent = n;
        }
    return n;
}

std::uint64_t walk(const std::shared_ptr<Node> &n)
{
    std::uint64_t sum = n->name.size() + (n->parent.expired() ? 0 : 1);
    for (const auto &k : n->kids)
        sum += walk(k);
    return sum;
}

// A queue of trees from producer to consumer: the consumer drops the last reference.
std::mutex lock;
std::deque<std::shared_ptr<Node>> handoff;

} // namespace

int main()
{
    std::uint64_t results[4] = {};
    std::uint64_t walked = 0;
    std::thread producer([&] {
        results[0] = maps(1);
        for (int i = 0; i < 40; i++) {
            auto t = tree(5, "t" + std::to_string(i));
            std::lock_guard<std::mutex> g(lock);
            handoff.push_back(std::move(t));
        }
        results[1] = vectors(7);
    });
    std::thread consumer([&] {
        results[2] = maps(2);
        int got = 0;
        while (got < 40) {
            std::shared_ptr<Node> t;
            {
                std::lock_guard<std::mutex> g(lock);
                if (!handoff.empty()) {
                    t = std::move(handoff.front());
                    handoff.pop_front();
                }
            }
            if (t) {
                walked += walk(t);
                got++;
            } else {
                std::this_thread::yield();
            }
        }
        results[3] = vectors(3);
    });
    producer.join();
    consumer.join();
    for (std::uint64_t r : results)
        std::printf("%016llx ", static_cast<unsigned long long>(r));
    std::printf("walked %llu\n", static_cast<unsigned long long>(walked));
    return 0;
}
