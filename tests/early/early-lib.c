/* early-lib.c: a shared library whose constructor allocates before libhakmem has
 * initialised itself, as p11-kit's does (newlocale -> malloc(232)) in every program that
 * links gnutls. Under LD_PRELOAD the preloaded library's constructor runs last, just
 * before main, so this one runs first. It also keeps blocks for main to check and free
 * after libhakmem's initialisation, and starts a thread that allocates while the
 * constructors are still running. */
#include <pthread.h>

#include "exercise.h"

ex_result_t early_ctor_result, early_thread_result;
void *early_kept[EX_NSIZES];

static void *thread_main(void *arg)
{
    ex_run(&early_thread_result, 0x7417);
    return arg;
}

__attribute__((constructor)) static void early_ctor(void)
{
    /* The very first call of the process may be this one, of p11-kit's size. */
    for (size_t i = 0; i < EX_NSIZES; i++) {
        early_kept[i] = malloc(ex_sizes[i]);
        tu_fill(early_kept[i], ex_sizes[i], 1000 + i);
    }
    ex_run(&early_ctor_result, 0xc7);
    pthread_t t;
    if (pthread_create(&t, NULL, thread_main, NULL) == 0)
        pthread_join(t, NULL);
    else
        ex_check(&early_thread_result, 0, "pthread_create in a constructor failed", 0);
}
