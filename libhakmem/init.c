/* init.c: process start, fork and exit. Initialisation allocates nothing, so it may run
 * inside the first malloc call, whoever makes it; what may allocate (registering fork
 * handlers) waits for the library constructor. */
#include "config.h"

#include <sched.h>
#include <stdlib.h>

#include "internal.h"

_Atomic int hk_init_state; /* 0 not started, 1 running, 2 done */

void hk_process_init(void)
{
    int expected = 0;
    if (!atomic_compare_exchange_strong(&hk_init_state, &expected, 1)) {
        while (atomic_load_explicit(&hk_init_state, memory_order_acquire) != 2)
            sched_yield();
        return;
    }
    hk_sizeclass_init();
    for (uint32_t c = 0; c < HK_NCLASSES; c++)
        hk_heap_global.bins[c].max = hk_class_bin_max[c];
    hk_options_init();
    hk_prof_init();
    hk_stats_init();
    hk_thread_key_init();
    atomic_store_explicit(&hk_init_state, 2, memory_order_release);
}

/* ---------------------------------------------------------------------------------------
 * Fork: take every allocator lock before fork, in the one order used everywhere (heaps,
 * then stats), so no other thread holds one at the fork; both processes unlock them.
 * ------------------------------------------------------------------------------------- */
static void prefork(void)
{
    pthread_mutex_lock(&hk_heaps_lock);
    hk_stats_lock();
}

static void postfork_parent(void)
{
    hk_stats_unlock();
    pthread_mutex_unlock(&hk_heaps_lock);
}

static void postfork_child(void)
{
    hk_stats_after_fork_child();
    hk_thread_after_fork_child();
}

static void at_exit(void)
{
    hk_report_at_exit();
    hk_shm_remove();
}

__attribute__((constructor)) static void hk_constructor(void)
{
    hk_ensure_init();
    pthread_atfork(prefork, postfork_parent, postfork_child);
    atexit(at_exit);
}
