/* lock.h: the allocator's locks. A lock word holds its holder's thread id, taken and
 * given back with single atomic instructions, so at any instant the word says whether
 * this thread holds the lock. That is what fork needs: a fork() from a signal handler
 * that interrupted this very thread inside a locked section must not wait for itself
 * (init.c:prefork asks hk_lock_held_by_me), and the child, which has only this thread,
 * starts with every lock free (hk_lock_reset). Waiters sleep on a futex. */
#ifndef HK_LOCK_H
#define HK_LOCK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "types.h"

#define HK_LOCK_WAITERS 0x80000000u /* set when someone may be asleep on the word */

typedef struct hk_lock_s {
    _Atomic uint32_t word; /* 0 free, else the holder's tid, with HK_LOCK_WAITERS */
} hk_lock_t;

#define HK_LOCK_INIT                                                                               \
    {                                                                                              \
        0                                                                                          \
    }

uint32_t hk_lock_self(void); /* this thread's id, cached */
void hk_lock_wait(hk_lock_t *l, uint32_t me);
void hk_lock_wake(hk_lock_t *l);
void hk_lock_after_fork_child(void);

HK_INLINE void hk_lock(hk_lock_t *l)
{
    uint32_t me = hk_lock_self(), free_word = 0;
    if (!atomic_compare_exchange_strong_explicit(&l->word, &free_word, me, memory_order_acquire,
                                                 memory_order_relaxed))
        hk_lock_wait(l, me);
}

HK_INLINE bool hk_trylock(hk_lock_t *l)
{
    uint32_t free_word = 0;
    return atomic_compare_exchange_strong_explicit(&l->word, &free_word, hk_lock_self(),
                                                   memory_order_acquire, memory_order_relaxed);
}

HK_INLINE void hk_unlock(hk_lock_t *l)
{
    if (atomic_exchange_explicit(&l->word, 0, memory_order_release) & HK_LOCK_WAITERS)
        hk_lock_wake(l);
}

HK_INLINE bool hk_lock_held_by_me(hk_lock_t *l)
{
    return (atomic_load_explicit(&l->word, memory_order_relaxed) & ~HK_LOCK_WAITERS) ==
           hk_lock_self();
}

/* In a fork child, whose only thread is the one that forked. */
HK_INLINE void hk_lock_reset(hk_lock_t *l)
{
    atomic_store_explicit(&l->word, 0, memory_order_relaxed);
}

#endif /* HK_LOCK_H */
