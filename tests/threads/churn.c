/* churn.c: thousands of short-lived threads. Each allocates about 100 blocks of various
 * sizes and exits: (a) after freeing half, leaving the rest to the main thread; (b)
 * holding all of them; (c) after freeing blocks the main thread allocated for it. All
 * blocks are verified, and the resident set must stay bounded: per-thread state has to be
 * recycled when a thread exits, not leaked. */
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

#define WAVE        8
#define BLOCKS      100
#define MAX_GROW_KB (64 * 1024) /* allowed RSS growth over the baseline */

enum mode { LEAVE_HALF, LEAVE_ALL, FREE_GIVEN };

struct job {
    pthread_t tid;
    enum mode mode;
    uint32_t id;
    void *blocks[BLOCKS]; /* out: blocks left to the main thread; in: blocks to free */
    size_t sizes[BLOCKS];
};

static atomic_ulong n_null, n_bad;

static size_t job_size(uint32_t id, int i)
{
    uint64_t r = tu_mix(id, (uint64_t)i);
    return (r % 32 == 0) ? 1 + (r >> 8) % 16384 : 1 + (r >> 8) % 1024;
}

static void *job_main(void *arg)
{
    struct job *j = arg;
    if (j->mode == FREE_GIVEN) {
        for (int i = 0; i < BLOCKS; i++) {
            if (j->blocks[i] &&
                tu_check(j->blocks[i], j->sizes[i], tu_mix(j->id, ~(uint64_t)i)) != SIZE_MAX)
                atomic_fetch_add(&n_bad, 1);
            free(j->blocks[i]);
            j->blocks[i] = NULL;
        }
    }
    for (int i = 0; i < BLOCKS; i++) {
        size_t n = job_size(j->id, i);
        void *p = malloc(n);
        if (!p) {
            atomic_fetch_add(&n_null, 1);
            j->blocks[i] = NULL;
            continue;
        }
        tu_fill(p, n, tu_mix(j->id, (uint64_t)i));
        j->blocks[i] = p;
        j->sizes[i] = n;
    }
    for (int i = 0; i < BLOCKS; i++) {
        int keep = j->mode == LEAVE_ALL || (j->mode == LEAVE_HALF && i % 2);
        if (keep || !j->blocks[i]) continue;
        if (tu_check(j->blocks[i], j->sizes[i], tu_mix(j->id, (uint64_t)i)) != SIZE_MAX)
            atomic_fetch_add(&n_bad, 1);
        free(j->blocks[i]);
        j->blocks[i] = NULL;
    }
    return NULL;
}

/* Run `nthreads` threads of one mode in waves; the main thread frees what they leave.
 * Returns the number of threads that could not be created. */
static unsigned run_phase(enum mode mode, unsigned nthreads, uint32_t *next_id)
{
    static struct job jobs[WAVE];
    unsigned failed = 0;
    for (unsigned done = 0; done < nthreads; done += WAVE) {
        for (int w = 0; w < WAVE; w++) {
            struct job *j = &jobs[w];
            j->mode = mode;
            j->id = (*next_id)++;
            for (int i = 0; i < BLOCKS; i++) {
                j->blocks[i] = NULL;
                if (mode != FREE_GIVEN) continue;
                j->sizes[i] = job_size(j->id, i);
                j->blocks[i] = malloc(j->sizes[i]);
                if (j->blocks[i]) tu_fill(j->blocks[i], j->sizes[i], tu_mix(j->id, ~(uint64_t)i));
            }
            if (pthread_create(&j->tid, NULL, job_main, j) != 0) {
                failed++;
                j->tid = pthread_self();
                for (int i = 0; i < BLOCKS; i++)
                    free(j->blocks[i]);
            }
        }
        for (int w = 0; w < WAVE; w++) {
            struct job *j = &jobs[w];
            if (pthread_equal(j->tid, pthread_self())) continue;
            pthread_join(j->tid, NULL);
            for (int i = 0; i < BLOCKS; i++) {
                if (!j->blocks[i]) continue;
                if (tu_check(j->blocks[i], j->sizes[i], tu_mix(j->id, (uint64_t)i)) != SIZE_MAX)
                    atomic_fetch_add(&n_bad, 1);
                free(j->blocks[i]);
            }
        }
    }
    return failed;
}

int main(void)
{
    static const struct {
        enum mode mode;
        unsigned threads;
        const char *what;
    } phases[] = {
        {LEAVE_HALF, 5000, "threads free half their blocks, main frees the rest"},
        {LEAVE_ALL, 1000, "threads exit holding all their blocks"},
        {FREE_GIVEN, 1000, "threads free blocks the main thread allocated"},
    };
    enum { NPHASES = sizeof phases / sizeof phases[0] };
    tap_plan(2 * NPHASES + 2 + 1);
    uint32_t next_id = 1;

    /* Warm up (thread stacks cached by libc, allocator initialised) before the baseline. */
    run_phase(LEAVE_HALF, 2 * WAVE, &next_id);
    long base = tu_rss_kib();
    tap_ok(base > 0, "VmRSS readable from /proc/self/status (%ld KiB)", base);
    double start = tu_now();
    for (int ph = 0; ph < NPHASES; ph++) {
        unsigned failed = run_phase(phases[ph].mode, phases[ph].threads, &next_id);
        long rss = tu_rss_kib();
        TAP_EQ_U64(failed, 0, "%u threads: %s", phases[ph].threads, phases[ph].what);
        TAP_LE_I64(rss - base, MAX_GROW_KB, "RSS grew by %ld KiB over the baseline (limit %d MiB)",
                   rss - base, MAX_GROW_KB / 1024);
    }
    tap_diag("%u threads in %.2f s", next_id - 1, tu_now() - start);
    tap_ok(n_null == 0 && n_bad == 0, "no allocation failed (%lu) and no block was corrupted (%lu)",
           (unsigned long)n_null, (unsigned long)n_bad);
    TAP_EQ_I64(hak_check(), 0, "hak_check finds this thread's heap consistent at the end");
    return tap_done();
}
