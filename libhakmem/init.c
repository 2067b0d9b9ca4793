/* init.c: process start, fork and exit. Initialisation allocates nothing, so it may run
 * inside the first malloc call, whoever makes it; what may allocate (registering fork
 * handlers) waits for the library constructor. */
#include "config.h"

#include <sched.h>
#include <stdlib.h>

#include "internal.h"
#include "lock.h"

_Atomic int hk_init_state; /* 0 not started, 1 running, 2 done */

void hk_process_init(void)
{
    int expected = 0;
    if (!atomic_compare_exchange_strong(&hk_init_state, &expected, 1)) {
        while (atomic_load_explicit(&hk_init_state, memory_order_acquire) != 2)
            sched_yield();
        return;
    }
    hk_options_init();
    hk_prof_init();
    hk_stats_init();
    hk_thread_key_init();
    atomic_store_explicit(&hk_init_state, 2, memory_order_release);
}

/* ---------------------------------------------------------------------------------------
 * Fork: take every allocator lock before fork, in the one order used everywhere (heaps,
 * then stats, then sites), so that no other thread holds one at the fork; both processes then let
 * them go. A fork() from a signal handler may have interrupted this thread inside the
 * allocator, even holding a lock: such a lock is left as it is (it cannot be held by
 * anyone else), and the child, told by hk_inside, gives up what may be half-updated.
 * ------------------------------------------------------------------------------------- */
__thread uint32_t hk_inside __attribute__((tls_model("initial-exec")));

/* Which locks each fork in progress on this thread took, TOOK_BITS a fork: a fork from a
 * signal handler that interrupted a fork nests inside it, and must not undo its record. */
static __thread uint32_t fork_took __attribute__((tls_model("initial-exec")));
#define TOOK_HEAPS 1u
#define TOOK_STATS 2u
#define TOOK_SITES 4u
#define TOOK_BITS  3 /* bits per fork in fork_took */

static void prefork(void)
{
    hk_site_fork_prepare(); /* first: stack walks end, which may need a lock taken below */
    uint32_t took = 0;
    if (!hk_lock_held_by_me(&hk_heaps_lock)) {
        hk_lock(&hk_heaps_lock);
        took |= TOOK_HEAPS;
    }
    if (!hk_stats_lock_held_by_me()) {
        hk_stats_lock();
        took |= TOOK_STATS;
    }
    if (!hk_site_lock_held_by_me()) {
        hk_site_lock();
        took |= TOOK_SITES;
    }
    fork_took = fork_took << TOOK_BITS | took;
}

static void postfork_parent(void)
{
    uint32_t took = fork_took & ((1u << TOOK_BITS) - 1);
    fork_took >>= TOOK_BITS;
    if (took & TOOK_SITES) hk_site_unlock();
    if (took & TOOK_STATS) hk_stats_unlock();
    if (took & TOOK_HEAPS) hk_unlock(&hk_heaps_lock);
    hk_site_fork_parent();
}

static void postfork_child(void)
{
    bool torn = hk_inside != 0;
    hk_inside = 0;
    fork_took = 0;
    hk_lock_after_fork_child();
    hk_heap_after_fork_child(torn);
    hk_unwind_fork_child();
    hk_site_fork_child(torn);
    hk_large_fork_child(torn);
    hk_stats_after_fork_child();
}

static void at_exit(void)
{
    hk_report_at_exit();
    hk_stats_retire(); /* before the segment goes: a watcher finds one or the other */
    hk_shm_remove();
}

__attribute__((constructor)) static void hk_constructor(void)
{
    hk_ensure_init();
    pthread_atfork(prefork, postfork_parent, postfork_child);
    atexit(at_exit);
}
