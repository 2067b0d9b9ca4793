/* prodcons: cross-thread frees. Every block is freed by a thread that did not allocate it.
 *
 *     prodcons [SECONDS [PAIRS [SIZE [PIN]]]]
 *
 * PAIRS producer threads each malloc blocks (random sizes in [16, 512], or SIZE bytes
 * when SIZE is given and not 0), write a byte, and pass them through their own
 * single-producer/single-consumer ring (lock-free, C11 atomics, 8,192 slots, indices
 * published every 1,024 blocks) to their own consumer thread, which frees them. A full or
 * empty ring is waited on by polling, then yielding. After SECONDS the producers stop;
 * the consumers drain their rings and exit. Blocks change hands in bursts, so the
 * handing-over costs little next to the allocator's work.
 *
 * When PIN is 1 (the default) and the process may run on at least 2 * PAIRS CPUs, every
 * thread is pinned to a CPU of its own, so that each free really crosses cores: left to
 * the scheduler, a producer and its consumer sometimes share a core, and the same
 * allocator then runs several times faster (no cache-line transfers, no lock contention),
 * which makes runs bimodal.
 *
 * `frees_per_s` is the number of frees (all remote) per second of wall time from the
 * common start to the last consumer's exit.
 *
 * Output ends with
 *     RESULT name=prodcons pairs=N seconds=S size=rand16-512|BYTES pinned=0|1 frees=..
 *            frees_per_s=.. elapsed_s=.. peak_rss_kib=..
 * (on one line). */
#define _GNU_SOURCE /* CPU affinity */
#include "bench.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>

#define RING  8192 /* slots; a power of two */
#define BATCH 1024 /* indices are published every BATCH items, or before waiting */
#define SPINS 64   /* failed polls before a sched_yield */
#define LINE  64

/* A single-producer/single-consumer ring. `tail` is written only by the producer and
 * `head` only by the consumer. Each side publishes its index every BATCH items (and
 * always before it waits), and rereads the other's index only when the ring looks full
 * (producer) or empty (consumer), so the two cores exchange index lines rarely and the
 * cost measured is mostly the allocator's. */
typedef struct ring {
    _Alignas(LINE) atomic_size_t tail; /* published: slots below it are filled */
    atomic_bool producer_done;         /* set after the producer's last publish */
    _Alignas(LINE) atomic_size_t head; /* published: slots below it are emptied */
    _Alignas(LINE) void *slot[RING];
    uint64_t frees; /* blocks freed by the consumer */
    uint64_t seed;  /* the producer's size generator */
} ring_t;

static atomic_bool stop;
static size_t fixed_size; /* 0: random sizes */
static pthread_barrier_t start;

static void *producer(void *arg)
{
    ring_t *r = arg;
    uint64_t rng = r->seed;
    size_t tail = 0, published = 0, head = 0;
    pthread_barrier_wait(&start);
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        size_t size = fixed_size ? fixed_size : bench_rand_range(&rng, 16, 512);
        char *p = bench_xmalloc(size);
        p[0] = 1;
        if (tail - head == RING) {
            atomic_store_explicit(&r->tail, published = tail, memory_order_release);
            for (int spins = 0; tail - head == RING; spins++) {
                if (spins >= SPINS) sched_yield();
                head = atomic_load_explicit(&r->head, memory_order_acquire);
            }
        }
        r->slot[tail++ % RING] = p;
        if (tail - published >= BATCH)
            atomic_store_explicit(&r->tail, published = tail, memory_order_release);
    }
    atomic_store_explicit(&r->tail, tail, memory_order_release);
    atomic_store_explicit(&r->producer_done, true, memory_order_release);
    return NULL;
}

static void *consumer(void *arg)
{
    ring_t *r = arg;
    size_t head = 0, published = 0, tail = 0;
    uint64_t frees = 0;
    pthread_barrier_wait(&start);
    for (;;) {
        if (head == tail) {
            atomic_store_explicit(&r->head, published = head, memory_order_release);
            for (int spins = 0; head == tail; spins++) {
                /* Read done before tail: once done is seen, tail is final. */
                bool done = atomic_load_explicit(&r->producer_done, memory_order_acquire);
                tail = atomic_load_explicit(&r->tail, memory_order_acquire);
                if (head == tail && done) goto out;
                if (spins >= SPINS) sched_yield();
            }
        }
        free(r->slot[head++ % RING]);
        frees++;
        if (head - published >= BATCH)
            atomic_store_explicit(&r->head, published = head, memory_order_release);
    }
out:
    r->frees = frees;
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 5 || (argc > 1 && argv[1][0] == '-')) {
        fprintf(stderr,
                "usage: %s [SECONDS [PAIRS [SIZE [PIN]]]]\n  default: 1 1 0 1 (SIZE 0: "
                "random sizes 16..512; PIN 0: leave threads to the scheduler)\n",
                argv[0]);
        return 2;
    }
    double seconds = bench_arg(argc, argv, 1, "SECONDS", 1, 0, 86400);
    int pairs = (int)bench_arg(argc, argv, 2, "PAIRS", 1, 1, 1024);
    fixed_size = (size_t)bench_arg(argc, argv, 3, "SIZE", 0, 0, 1 << 30);
    bool pin = bench_arg(argc, argv, 4, "PIN", 1, 0, 1) != 0;

    ring_t *rings = aligned_alloc(LINE, (size_t)pairs * sizeof *rings);
    pthread_t *threads = calloc(2 * (size_t)pairs, sizeof *threads);
    if (rings == NULL || threads == NULL) bench_die("out of memory");
    memset(rings, 0, (size_t)pairs * sizeof *rings);
    for (int i = 0; i < pairs; i++)
        rings[i].seed = 0x5eed0000u + (uint64_t)i;

    /* The CPUs this process may use, in order; pin only if every thread gets its own. */
    cpu_set_t allowed;
    int cpus[CPU_SETSIZE], ncpus = 0;
    if (sched_getaffinity(0, sizeof allowed, &allowed) == 0)
        for (int c = 0; c < CPU_SETSIZE; c++)
            if (CPU_ISSET(c, &allowed)) cpus[ncpus++] = c;
    bool pinned = pin && ncpus >= 2 * pairs;

    pthread_barrier_init(&start, NULL, 2 * (unsigned)pairs + 1);
    for (int i = 0; i < 2 * pairs; i++) {
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        if (pinned) {
            cpu_set_t one;
            CPU_ZERO(&one);
            CPU_SET(cpus[i], &one);
            pthread_attr_setaffinity_np(&attr, sizeof one, &one);
        }
        int err = pthread_create(&threads[i], &attr, i % 2 ? consumer : producer, &rings[i / 2]);
        if (err != 0) bench_die("pthread_create: %s", strerror(err));
        pthread_attr_destroy(&attr);
    }
    pthread_barrier_wait(&start);
    double t0 = bench_now();
    bench_sleep(seconds);
    atomic_store(&stop, true);
    for (int i = 0; i < 2 * pairs; i++)
        pthread_join(threads[i], NULL);
    double elapsed = bench_now() - t0;
    pthread_barrier_destroy(&start);

    uint64_t frees = 0;
    for (int i = 0; i < pairs; i++)
        frees += rings[i].frees;
    free(threads);
    free(rings);

    char size_desc[32];
    if (fixed_size)
        snprintf(size_desc, sizeof size_desc, "%zu", fixed_size);
    else
        snprintf(size_desc, sizeof size_desc, "rand16-512");
    double rate = (double)frees / elapsed;
    printf("Producer/consumer: %d+%d threads%s, %.3f s, sizes %s: %.0f remote frees per "
           "second\n",
           pairs, pairs, pinned ? " (one CPU each)" : "", elapsed, size_desc, rate);
    printf("RESULT name=prodcons pairs=%d seconds=%g size=%s pinned=%d frees=%llu "
           "frees_per_s=%.0f elapsed_s=%.3f peak_rss_kib=%ld\n",
           pairs, seconds, size_desc, pinned, (unsigned long long)frees, rate, elapsed,
           bench_peak_rss_kib());
    return 0;
}
