/* handoff: producers allocate, consumers free, through one shared queue (many to many).
 *
 *     handoff [SECONDS [PRODUCERS [CONSUMERS [BATCH]]]]
 *
 * PRODUCERS threads (default 1) malloc objects of mixed small sizes (six in ten of
 * 8..64 B, three of 65..512 B, one of 513..2,048 B), write their first and last bytes,
 * and collect them in batches of BATCH (default 256). A full batch (itself a malloc'd
 * array) goes onto one queue shared by everyone: a mutex, two condition variables and
 * room for 64 batches, so producers wait when consumers fall behind and memory stays
 * bounded. CONSUMERS threads (default: as many as producers) take whichever batch is
 * next, read each object and free it, then free the batch. No thread frees what it
 * allocated, and a consumer meets blocks of every producer, as in a server whose request
 * objects are built by I/O threads and retired by workers. Threads are not pinned: with
 * more threads than CPUs, producers and consumers share cores as the scheduler decides.
 *
 * After SECONDS the producers hand over their last partial batch and stop; the consumers
 * drain the queue and exit. `frees_per_s` counts object frees (every one remote; the
 * batch arrays are not counted) per second of wall time from the common start to the
 * last consumer's exit.
 *
 * Output ends with
 *     RESULT name=handoff seconds=S producers=P consumers=C batch=B frees=..
 *            frees_per_s=.. elapsed_s=.. peak_rss_kib=..
 * (on one line). */
#include "bench.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#define QUEUE 64 /* batches the queue holds */

typedef struct batch {
    size_t n;
    void *obj[]; /* BATCH slots */
} batch_t;

/* The shared queue: a ring of batches under one lock. `producers` counts producers that
 * may still push; consumers exit once it is 0 and the ring is empty. */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t not_full, not_empty;
    batch_t *ring[QUEUE];
    size_t head, count;
    int producers;
} q = {.lock = PTHREAD_MUTEX_INITIALIZER,
       .not_full = PTHREAD_COND_INITIALIZER,
       .not_empty = PTHREAD_COND_INITIALIZER};

static atomic_bool stop;
static size_t batch_size;
static pthread_barrier_t start;

typedef struct worker {
    pthread_t thread;
    uint64_t seed;
    uint64_t frees; /* consumer: objects freed */
    uint64_t sum;   /* consumer: bytes read, so the reads are not optimised away */
} worker_t;

static size_t object_size(uint64_t *rng)
{
    uint64_t r = bench_rand(rng) % 10;
    if (r < 6) return bench_rand_range(rng, 8, 64);
    if (r < 9) return bench_rand_range(rng, 65, 512);
    return bench_rand_range(rng, 513, 2048);
}

static void push(batch_t *b)
{
    pthread_mutex_lock(&q.lock);
    while (q.count == QUEUE)
        pthread_cond_wait(&q.not_full, &q.lock);
    q.ring[(q.head + q.count++) % QUEUE] = b;
    pthread_cond_signal(&q.not_empty);
    pthread_mutex_unlock(&q.lock);
}

/* The next batch, or NULL once every producer has finished and the queue is empty. */
static batch_t *pop(void)
{
    pthread_mutex_lock(&q.lock);
    while (q.count == 0 && q.producers > 0)
        pthread_cond_wait(&q.not_empty, &q.lock);
    batch_t *b = NULL;
    if (q.count > 0) {
        b = q.ring[q.head];
        q.head = (q.head + 1) % QUEUE;
        q.count--;
        pthread_cond_signal(&q.not_full);
    }
    pthread_mutex_unlock(&q.lock);
    return b;
}

static batch_t *new_batch(void)
{
    batch_t *b = bench_xmalloc(sizeof *b + batch_size * sizeof b->obj[0]);
    b->n = 0;
    return b;
}

static void *producer(void *arg)
{
    worker_t *w = arg;
    uint64_t rng = w->seed;
    pthread_barrier_wait(&start);
    batch_t *b = new_batch();
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        size_t size = object_size(&rng);
        unsigned char *p = bench_xmalloc(size);
        p[0] = (unsigned char)size;
        p[size - 1] = 1;
        b->obj[b->n++] = p;
        if (b->n == batch_size) {
            push(b);
            b = new_batch();
        }
    }
    push(b);
    pthread_mutex_lock(&q.lock);
    if (--q.producers == 0) pthread_cond_broadcast(&q.not_empty);
    pthread_mutex_unlock(&q.lock);
    return NULL;
}

static void *consumer(void *arg)
{
    worker_t *w = arg;
    uint64_t frees = 0, sum = 0;
    pthread_barrier_wait(&start);
    for (batch_t *b; (b = pop()) != NULL;) {
        for (size_t i = 0; i < b->n; i++) {
            sum += *(unsigned char *)b->obj[i];
            free(b->obj[i]);
        }
        frees += b->n;
        free(b);
    }
    w->frees = frees;
    w->sum = sum;
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 5 || (argc > 1 && argv[1][0] == '-')) {
        fprintf(stderr,
                "usage: %s [SECONDS [PRODUCERS [CONSUMERS [BATCH]]]]\n"
                "  default: 1 1 PRODUCERS 256\n",
                argv[0]);
        return 2;
    }
    double seconds = bench_arg(argc, argv, 1, "SECONDS", 1, 0, 86400);
    int np = (int)bench_arg(argc, argv, 2, "PRODUCERS", 1, 1, 1024);
    int nc = (int)bench_arg(argc, argv, 3, "CONSUMERS", np, 1, 1024);
    batch_size = (size_t)bench_arg(argc, argv, 4, "BATCH", 256, 1, 1 << 20);

    worker_t *w = calloc((size_t)(np + nc), sizeof *w);
    if (w == NULL) bench_die("out of memory");
    q.producers = np;
    pthread_barrier_init(&start, NULL, (unsigned)(np + nc) + 1);
    for (int i = 0; i < np + nc; i++) {
        w[i].seed = 0x4a0ffULL + (uint64_t)i;
        int err = pthread_create(&w[i].thread, NULL, i < np ? producer : consumer, &w[i]);
        if (err != 0) bench_die("pthread_create: %s", strerror(err));
    }
    pthread_barrier_wait(&start);
    double t0 = bench_now();
    bench_sleep(seconds);
    atomic_store(&stop, true);
    for (int i = 0; i < np + nc; i++)
        pthread_join(w[i].thread, NULL);
    double elapsed = bench_now() - t0;
    pthread_barrier_destroy(&start);

    uint64_t frees = 0, sum = 0;
    for (int i = np; i < np + nc; i++) {
        frees += w[i].frees;
        sum += w[i].sum;
    }
    free(w);
    bench_escape(&sum);

    double rate = (double)frees / elapsed;
    printf("Hand-off: %d producers, %d consumers, batches of %zu, %.3f s: %.0f remote frees per "
           "second\n",
           np, nc, batch_size, elapsed, rate);
    printf("RESULT name=handoff seconds=%g producers=%d consumers=%d batch=%zu frees=%llu "
           "frees_per_s=%.0f elapsed_s=%.3f peak_rss_kib=%ld\n",
           seconds, np, nc, batch_size, (unsigned long long)frees, rate, elapsed,
           bench_peak_rss_kib());
    return 0;
}
