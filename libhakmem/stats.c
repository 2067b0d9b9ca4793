/* stats.c: where each thread's counters live and what happens to them when the thread
 * exits: they are folded into the process totals, so nothing is ever lost. */
#include "config.h"

#include <string.h>

#include "internal.h"

static pthread_mutex_t stats_lock = PTHREAD_MUTEX_INITIALIZER;
static hk_stat_counters_t retired; /* counts of threads that have exited */

static void counters_add(hk_stat_counters_t *dst, const hk_stat_counters_t *src)
{
    for (int i = 0; i < HK_STAT_NCOUNTERS; i++) dst->c[i] += src->c[i];
    for (int i = 0; i < HK_NCLASSES; i++) {
        dst->class_alloc[i] += src->class_alloc[i];
        dst->class_free[i] += src->class_free[i];
    }
}

void hk_stats_thread_start(hk_heap_t *h)
{
    memset(&h->own, 0, sizeof(h->own));
    h->ctr = &h->own;
}

void hk_stats_thread_end(hk_heap_t *h)
{
    pthread_mutex_lock(&stats_lock);
    counters_add(&retired, h->ctr);
    memset(h->ctr, 0, sizeof(*h->ctr));
    pthread_mutex_unlock(&stats_lock);
}

/* Sum of exited threads, live threads and the global heap. Live threads keep counting
 * while this runs, so the sum is a moment's approximation, exact once they stop. */
void hk_stats_totals(hk_stat_counters_t *out)
{
    pthread_mutex_lock(&stats_lock);
    *out = retired;
    pthread_mutex_unlock(&stats_lock);
    for (hk_heap_t *h = hk_heaps_first(); h; h = h->next_all)
        if (!h->abandoned) counters_add(out, h->ctr);
    counters_add(out, hk_heap_global.ctr);
}

void hk_stats_after_fork_child(void)
{
    pthread_mutex_init(&stats_lock, NULL);
}
