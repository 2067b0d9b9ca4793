/* remote-free.c: cross-thread free stress. Threads allocate blocks of random sizes
 * (deterministic xorshift seeds), fill them with a pattern derived from (thread, index,
 * size), and trade them through a shared array of slots by atomic exchange, so most
 * blocks are verified and freed by another thread. Threads are torn down and recreated in
 * rounds, so blocks of dead threads are freed by new ones. Time-bounded; not a benchmark. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "hakmem.h"

#include "../tap.h"
#include "../testutil.h"

#define NTHREADS   4
#define ROUNDS     3
#define NSLOTS     4096
#define SECONDS    2.4     /* all rounds together */
#define MAX_OPS    1000000 /* per thread and round, in case the clock misbehaves */
#define LARGE_SIZE (256 * 1024)

/* The descriptor travelling with each block; itself allocated, so it is freed remotely
 * too. `check` protects the other fields. */
struct ticket {
    unsigned char *block;
    size_t size;
    uint32_t thread; /* global thread number: round * NTHREADS + i */
    uint32_t round;
    uint64_t index;
    uint64_t check;
};

static _Atomic(struct ticket *) slots[NSLOTS];
static atomic_ulong n_alloc, n_null, n_bad_ticket, n_bad_block;
static atomic_ulong n_free_local, n_free_remote, n_free_orphan, n_large;
static double deadline;

static uint64_t block_seed(const struct ticket *t)
{
    return tu_mix(tu_mix(t->thread, t->index), t->size);
}

static uint64_t ticket_check(const struct ticket *t)
{
    return tu_mix(block_seed(t), (uintptr_t)t->block ^ ((uint64_t)t->round << 48));
}

/* Sizes: mostly small, some medium, a few up to 64 KiB, and one in a thousand large. */
static size_t random_size(uint64_t *rng)
{
    uint64_t r = tu_rand(rng);
    unsigned pick = (unsigned)(r % 1000);
    r >>= 10;
    if (pick < 700) return 1 + r % 256;
    if (pick < 950) return 257 + r % 3840;
    if (pick < 999) return 4097 + r % 61440;
    return LARGE_SIZE + r % (2u << 20);
}

/* Verify a ticket and its block, then free both. `me` is the freeing thread. */
static void retire(struct ticket *t, uint32_t me, uint32_t round)
{
    if (t->check != ticket_check(t)) {
        atomic_fetch_add(&n_bad_ticket, 1);
        return; /* the block pointer cannot be trusted */
    }
    if (tu_check(t->block, t->size, block_seed(t)) != SIZE_MAX) atomic_fetch_add(&n_bad_block, 1);
    if (t->thread == me)
        atomic_fetch_add(&n_free_local, 1);
    else
        atomic_fetch_add(&n_free_remote, 1);
    if (t->round < round) atomic_fetch_add(&n_free_orphan, 1);
    free(t->block);
    free(t);
}

struct worker {
    pthread_t tid;
    uint32_t id;
    uint32_t round;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    uint64_t rng = tu_mix(w->id, 0xC0FFEE) | 1;
    for (uint64_t i = 0; i < MAX_OPS; i++) {
        if ((i & 255) == 0 && tu_now() > deadline) break;
        struct ticket *t = malloc(sizeof *t);
        size_t size = random_size(&rng);
        unsigned char *b = t ? malloc(size) : NULL;
        if (!b) {
            atomic_fetch_add(&n_null, 1);
            free(t);
            continue;
        }
        atomic_fetch_add(&n_alloc, 1);
        if (size >= LARGE_SIZE) atomic_fetch_add(&n_large, 1);
        *t = (struct ticket){b, size, w->id, w->round, i, 0};
        t->check = ticket_check(t);
        tu_fill(b, size, block_seed(t));
        uint64_t r = tu_rand(&rng);
        if (r % 8 == 0) {
            retire(t, w->id, w->round); /* a plain local free now and then */
            continue;
        }
        struct ticket *old = atomic_exchange(&slots[(r >> 8) % NSLOTS], t);
        if (old) retire(old, w->id, w->round);
    }
    return NULL;
}

int main(void)
{
    tap_plan(8);
    double start = tu_now();
    int create_failed = 0;
    for (uint32_t round = 0; round < ROUNDS; round++) {
        struct worker w[NTHREADS];
        deadline = start + SECONDS * (round + 1) / ROUNDS;
        for (uint32_t i = 0; i < NTHREADS; i++) {
            w[i] = (struct worker){.id = round * NTHREADS + i, .round = round};
            if (pthread_create(&w[i].tid, NULL, worker_main, &w[i]) != 0) {
                create_failed++;
                w[i].tid = pthread_self();
            }
        }
        for (uint32_t i = 0; i < NTHREADS; i++)
            if (!pthread_equal(w[i].tid, pthread_self())) pthread_join(w[i].tid, NULL);
    }
    for (size_t s = 0; s < NSLOTS; s++) {
        struct ticket *t = atomic_exchange(&slots[s], NULL);
        if (t) retire(t, UINT32_MAX, ROUNDS);
    }
    unsigned long freed = n_free_local + n_free_remote;
    tap_diag("%.2f s: %lu blocks (%lu large), %lu freed by another thread, %lu by the owner, "
             "%lu after their owner exited",
             tu_now() - start, (unsigned long)n_alloc, (unsigned long)n_large,
             (unsigned long)n_free_remote, (unsigned long)n_free_local,
             (unsigned long)n_free_orphan);
    TAP_EQ_U64(create_failed, 0, "all %d threads started", NTHREADS * ROUNDS);
    TAP_EQ_U64(n_null, 0, "no allocation failed");
    TAP_EQ_U64(n_bad_ticket, 0, "no ticket was corrupted");
    TAP_EQ_U64(n_bad_block, 0, "no block's pattern was corrupted before its free");
    TAP_EQ_U64(freed, n_alloc, "every block was freed exactly once");
    TAP_GE_U64(n_free_remote, n_alloc / 4,
               "at least a quarter of the blocks were freed by another thread");
    TAP_GE_U64(n_free_orphan, 1, "blocks of exited threads were freed by later threads");
    TAP_EQ_I64(hak_check(), 0, "hak_check finds this thread's heap consistent at the end");
    return tap_done();
}
