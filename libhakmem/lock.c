/* lock.c: the contended half of lock.h, and the thread ids the lock words hold. */
#include "config.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lock.h"

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static __thread uint32_t self_tid __attribute__((tls_model("initial-exec")));

uint32_t hk_lock_self(void)
{
    uint32_t t = self_tid;
    if (hk_unlikely(t == 0)) self_tid = t = (uint32_t)syscall(SYS_gettid);
    return t;
}

/* A fork child is a new thread id; its lock words are reset, so nothing holds the old. */
void hk_lock_after_fork_child(void)
{
    self_tid = (uint32_t)syscall(SYS_gettid);
}

/* Sleep until the lock can be taken. A word taken here keeps HK_LOCK_WAITERS set, since
 * other sleepers may remain: the cost is at most one needless wake at unlock. */
HK_NOINLINE void hk_lock_wait(hk_lock_t *l, uint32_t me)
{
    for (int spin = 0;; spin++) {
        uint32_t w = atomic_load_explicit(&l->word, memory_order_relaxed);
        if (w == 0) {
            uint32_t want = spin < 64 ? me : me | HK_LOCK_WAITERS;
            if (atomic_compare_exchange_weak_explicit(&l->word, &w, want, memory_order_acquire,
                                                      memory_order_relaxed))
                return;
            continue;
        }
        if (spin < 64) {
            cpu_relax();
            continue;
        }
        if (!(w & HK_LOCK_WAITERS) &&
            !atomic_compare_exchange_weak_explicit(&l->word, &w, w | HK_LOCK_WAITERS,
                                                   memory_order_relaxed, memory_order_relaxed))
            continue;
        syscall(SYS_futex, &l->word, FUTEX_WAIT_PRIVATE, w | HK_LOCK_WAITERS, NULL, NULL, 0);
    }
}

void hk_lock_wake(hk_lock_t *l)
{
    syscall(SYS_futex, &l->word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}
