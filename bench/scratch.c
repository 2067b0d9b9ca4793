/* scratch: false sharing. Does the allocator give two threads blocks on one cache line?
 *
 *     scratch [SECONDS [THREADS [SIZE [WRITES]]]]
 *
 * Each of THREADS threads (default 2) repeats: malloc one SIZE-byte block (default 8),
 * write its bytes WRITES times over (default 1,000 single-byte stores), free it. If the
 * blocks that two threads write sit on one 64-byte line, every store has to take the
 * line from the other core and the rate collapses; that is the allocator's doing alone.
 * Half of SECONDS (at least one round each) goes to each of two phases:
 *
 * (a) passive: the main thread first mallocs one block per thread, one after the other
 *     (so they are neighbours, very likely on one line), and hands block i to thread i,
 *     which frees it before it starts. An allocator that keeps a remotely freed block in
 *     the freeing thread's cache and hands it out again makes the threads write
 *     neighbouring blocks throughout.
 * (b) active: nothing is handed over; each thread's blocks are its own from the start.
 *     An allocator that serves several threads from one run of blocks interleaves them.
 *
 * `passive_writes_per_s` and `active_writes_per_s` count the stores of all threads per
 * second of wall time in each phase.
 *
 * Output ends with
 *     RESULT name=scratch seconds=S threads=T size=B writes=W passive_writes_per_s=..
 *            active_writes_per_s=.. peak_rss_kib=..
 * (on one line). */
#include "bench.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

typedef struct worker {
    pthread_t thread;
    void *handed; /* passive phase: the block to free first, or NULL */
    uint64_t rounds;
    char pad[64];
} worker_t;

static atomic_bool stop;
static size_t size, writes;
static pthread_barrier_t start;

static void *work(void *arg)
{
    worker_t *w = arg;
    pthread_barrier_wait(&start);
    free(w->handed);
    uint64_t rounds = 0;
    do {
        volatile unsigned char *p = bench_xmalloc(size);
        for (size_t done = 0; done < writes;)
            for (size_t i = 0; i < size && done < writes; i++, done++)
                p[i]++;
        free((void *)p);
        rounds++;
    } while (!atomic_load_explicit(&stop, memory_order_relaxed));
    w->rounds = rounds;
    return NULL;
}

/* One phase of `seconds`; returns stores per second over all threads. */
static double phase(worker_t *w, int nt, bool passive, double seconds)
{
    atomic_store(&stop, false);
    for (int i = 0; i < nt; i++)
        w[i].handed = passive ? bench_xmalloc(size) : NULL;
    pthread_barrier_init(&start, NULL, (unsigned)nt + 1);
    for (int i = 0; i < nt; i++) {
        int err = pthread_create(&w[i].thread, NULL, work, &w[i]);
        if (err != 0) bench_die("pthread_create: %s", strerror(err));
    }
    pthread_barrier_wait(&start);
    double t0 = bench_now();
    bench_sleep(seconds);
    atomic_store(&stop, true);
    uint64_t rounds = 0;
    for (int i = 0; i < nt; i++) {
        pthread_join(w[i].thread, NULL);
        rounds += w[i].rounds;
    }
    double elapsed = bench_now() - t0;
    pthread_barrier_destroy(&start);
    return (double)rounds * (double)writes / elapsed;
}

int main(int argc, char **argv)
{
    if (argc > 5 || (argc > 1 && argv[1][0] == '-')) {
        fprintf(stderr, "usage: %s [SECONDS [THREADS [SIZE [WRITES]]]]\n  default: 1 2 8 1000\n",
                argv[0]);
        return 2;
    }
    double seconds = bench_arg(argc, argv, 1, "SECONDS", 1, 0, 86400);
    int nt = (int)bench_arg(argc, argv, 2, "THREADS", 2, 1, 1024);
    size = (size_t)bench_arg(argc, argv, 3, "SIZE", 8, 1, 1 << 20);
    writes = (size_t)bench_arg(argc, argv, 4, "WRITES", 1000, 1, 1e9);

    worker_t *w = calloc((size_t)nt, sizeof *w);
    if (w == NULL) bench_die("out of memory");
    double passive = phase(w, nt, true, seconds / 2);
    double active = phase(w, nt, false, seconds / 2);
    free(w);

    printf("False sharing: %d threads, %zu-byte blocks, %zu stores each: %.3g stores per second "
           "after a hand-over, %.3g without\n",
           nt, size, writes, passive, active);
    printf(
        "RESULT name=scratch seconds=%g threads=%d size=%zu writes=%zu passive_writes_per_s=%.0f "
        "active_writes_per_s=%.0f peak_rss_kib=%ld\n",
        seconds, nt, size, writes, passive, active, bench_peak_rss_kib());
    return 0;
}
