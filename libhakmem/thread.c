/* thread.c: thread lifecycle. A thread takes a heap on its first allocation (heap.c:
 * one an exited thread left, or a new one) and gives it back from a TLS destructor:
 * torn down, its counts published, then abandoned for the next thread. After that the
 * thread allocates from the locked global heap. */
#include "config.h"

#include "internal.h"

static __thread bool hk_tls_exited __attribute__((tls_model("initial-exec")));
static pthread_key_t thread_key;

bool hk_thread_exited(void)
{
    return hk_tls_exited;
}

hk_heap_t *hk_thread_heap(void)
{
    hk_heap_t *h = hk_tls;
    if (h != &hk_heap_empty) return h;
    if (hk_tls_exited) return NULL;
    hk_ensure_init();
    bool adopted;
    if ((h = hk_heap_adopt(&adopted)) == NULL) return NULL;
    hk_stats_thread_start(h, adopted);
    hk_tls = h;
    pthread_setspecific(thread_key, h);
    return h;
}

static void thread_exit(void *arg)
{
    hk_heap_t *h = arg;
    if (h == NULL || h != hk_tls) return;
    HK_ENTER();
    /* From here on this thread allocates from the locked global heap. */
    hk_tls = &hk_heap_empty;
    hk_tls_exited = true;
    hk_heap_teardown(h, HK_TEARDOWN_EXIT);
    hk_report_thread_exit(h->ctr);
    hk_stats_thread_end(h);
    hk_heap_abandon(h);
    HK_LEAVE();
}

void hk_thread_key_init(void)
{
    pthread_key_create(&thread_key, thread_exit);
}
