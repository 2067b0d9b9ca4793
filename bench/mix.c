/* mix: phases of short-lived objects of changing size mixes, in several threads.
 *
 *     mix [SECONDS [THREADS [PHASE_OPS [SEED]]]]
 *
 * Each of THREADS threads (default 4) runs phases until SECONDS have passed. A phase
 * picks one of four size mixes at random (tiny: 8..64 B; small: 8..512 B; spread: 8 B to
 * 4 KiB with every power-of-two range as likely; and spread with one object in 64 of
 * 4 KiB..256 KiB) and makes PHASE_OPS (default 20,000) allocations from it. Each object
 * gets a random lifetime, counted in the thread's later allocations: seven in ten live
 * for 1..8, a quarter for 9..512, one in twenty for 513..4,095, as in a program where
 * most objects are temporaries and a few are kept. Objects wait for their time in a
 * timing wheel threaded through the objects themselves, so the benchmark allocates
 * nothing of its own; the link read before each free is the read of the object.
 *
 * When a phase ends its survivors are freed, except one in four, which goes to the next
 * thread's inbox: that thread frees them when its next phase begins (a remote free of a
 * block whose owner has moved on to other sizes).
 *
 * `ops_per_s` counts mallocs (each one freed, so malloc+free pairs) per second of wall
 * time over all threads; `phases` the phases run.
 *
 * Output ends with
 *     RESULT name=mix seconds=S threads=T phase_ops=N seed=.. phases=.. ops=..
 *            ops_per_s=.. elapsed_s=.. peak_rss_kib=..
 * (on one line). */
#include "bench.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#define WHEEL 4096 /* lifetimes are below this; a power of two */
#define MIXES 4

/* An object's first word: the wheel's link (objects are at least 8 bytes). */
typedef struct obj {
    struct obj *next;
} obj_t;

typedef struct thread {
    pthread_t thread;
    uint64_t rng;
    uint64_t ops, phases;
    struct thread *neighbour; /* receives survivors */
    pthread_mutex_t lock;     /* guards inbox */
    obj_t *inbox;
    obj_t *wheel[WHEEL];
    char pad[64];
} thread_t;

static atomic_bool stop;
static size_t phase_ops;

/* A size in [lo, hi] with every power-of-two range as likely. */
static size_t spread(uint64_t *rng, size_t lo, size_t hi)
{
    unsigned ranges = 1;
    while ((lo << ranges) < hi)
        ranges++;
    size_t from = lo << (bench_rand(rng) % ranges);
    size_t to = from * 2 - 1 < hi ? from * 2 - 1 : hi;
    return bench_rand_range(rng, from, to);
}

static size_t mix_size(uint64_t *rng, int mix)
{
    switch (mix) {
    case 0:
        return bench_rand_range(rng, 8, 64);
    case 1:
        return bench_rand_range(rng, 8, 512);
    case 2:
        return spread(rng, 8, 4096);
    default:
        if (bench_rand(rng) % 64 == 0) return spread(rng, 4097, 256 * 1024);
        return spread(rng, 8, 4096);
    }
}

static size_t lifetime(uint64_t *rng)
{
    uint64_t r = bench_rand(rng) % 20;
    if (r < 14) return bench_rand_range(rng, 1, 8);
    if (r < 19) return bench_rand_range(rng, 9, 512);
    return bench_rand_range(rng, 513, WHEEL - 1);
}

/* The link is written when the object is queued; the last byte here. */
static obj_t *make(size_t size)
{
    obj_t *o = bench_xmalloc(size);
    ((unsigned char *)o)[size - 1] = (unsigned char)size;
    return o;
}

static void release_list(obj_t *o)
{
    while (o != NULL) {
        obj_t *next = o->next;
        bench_escape(o);
        free(o);
        o = next;
    }
}

static void phase(thread_t *t)
{
    pthread_mutex_lock(&t->lock);
    obj_t *in = t->inbox;
    t->inbox = NULL;
    pthread_mutex_unlock(&t->lock);
    release_list(in);

    int mix = (int)(bench_rand(&t->rng) % MIXES);
    for (size_t now = 0; now < phase_ops; now++) {
        obj_t **due = &t->wheel[now % WHEEL];
        release_list(*due);
        *due = NULL;
        obj_t *o = make(mix_size(&t->rng, mix));
        obj_t **slot = &t->wheel[(now + lifetime(&t->rng)) % WHEEL];
        o->next = *slot;
        *slot = o;
    }
    t->ops += phase_ops;
    t->phases++;

    /* Survivors: one in four to the neighbour, the rest freed here. */
    obj_t *give = NULL, *last = NULL;
    size_t n = 0;
    for (size_t i = 0; i < WHEEL; i++) {
        for (obj_t *o = t->wheel[i], *next; o != NULL; o = next) {
            next = o->next;
            if (n++ % 4 == 0) {
                o->next = give;
                give = o;
                if (last == NULL) last = o;
            } else {
                free(o);
            }
        }
        t->wheel[i] = NULL;
    }
    if (give != NULL) {
        thread_t *to = t->neighbour;
        pthread_mutex_lock(&to->lock);
        last->next = to->inbox;
        to->inbox = give;
        pthread_mutex_unlock(&to->lock);
    }
}

static void *run(void *arg)
{
    thread_t *t = arg;
    do
        phase(t);
    while (!atomic_load_explicit(&stop, memory_order_relaxed));
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 5 || (argc > 1 && argv[1][0] == '-')) {
        fprintf(stderr,
                "usage: %s [SECONDS [THREADS [PHASE_OPS [SEED]]]]\n  default: 1 4 20000 7\n",
                argv[0]);
        return 2;
    }
    double seconds = bench_arg(argc, argv, 1, "SECONDS", 1, 0, 86400);
    int nt = (int)bench_arg(argc, argv, 2, "THREADS", 4, 1, 1024);
    phase_ops = (size_t)bench_arg(argc, argv, 3, "PHASE_OPS", 20000, 1, 1e9);
    uint64_t seed = (uint64_t)bench_arg(argc, argv, 4, "SEED", 7, 0, 1e18);

    thread_t *ts = calloc((size_t)nt, sizeof *ts);
    if (ts == NULL) bench_die("out of memory");
    for (int i = 0; i < nt; i++) {
        ts[i].rng = seed * 0x9e3779b97f4a7c15ULL + (uint64_t)i;
        ts[i].neighbour = &ts[(i + 1) % nt];
        pthread_mutex_init(&ts[i].lock, NULL);
    }
    double t0 = bench_now();
    for (int i = 0; i < nt; i++) {
        int err = pthread_create(&ts[i].thread, NULL, run, &ts[i]);
        if (err != 0) bench_die("pthread_create: %s", strerror(err));
    }
    bench_sleep(seconds);
    atomic_store(&stop, true);
    uint64_t ops = 0, phases = 0;
    for (int i = 0; i < nt; i++) {
        pthread_join(ts[i].thread, NULL);
        ops += ts[i].ops;
        phases += ts[i].phases;
    }
    double elapsed = bench_now() - t0;
    for (int i = 0; i < nt; i++) {
        release_list(ts[i].inbox);
        pthread_mutex_destroy(&ts[i].lock);
    }
    free(ts);

    double rate = (double)ops / elapsed;
    printf("Size mixes: %d threads, %llu phases of %zu allocations, %.3f s: %.0f malloc+free per "
           "second\n",
           nt, (unsigned long long)phases, phase_ops, elapsed, rate);
    printf("RESULT name=mix seconds=%g threads=%d phase_ops=%zu seed=%llu phases=%llu ops=%llu "
           "ops_per_s=%.0f elapsed_s=%.3f peak_rss_kib=%ld\n",
           seconds, nt, phase_ops, (unsigned long long)seed, (unsigned long long)phases,
           (unsigned long long)ops, rate, elapsed, bench_peak_rss_kib());
    return 0;
}
