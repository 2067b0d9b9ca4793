/* leak: one site that leaks and three that churn, all through allocation wrappers as
 * real programs have them (zmalloc as Redis's, xmalloc as GNU's, calling it), for
 * growth.sh. leak_site keeps every block: LEAK_BLOCKS of LEAK_SIZE bytes. The churning
 * sites allocate ten times as much and free it: at once (churn_now), from a small
 * window (churn_window, by realloc), and in another thread (churn_thread). Prints
 * "ready LEAKED" (the bytes leaked) when done, then waits until standard input closes.
 * Run with libhakmem preloaded; built without the tests' library. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LEAK_BLOCKS 32768
#define LEAK_SIZE   1024
#define ROUNDS      LEAK_BLOCKS

void *zmalloc(size_t size);
void *xmalloc(size_t size);
void leak_site(int i);
void churn_now(void);
void churn_window(int i);

__attribute__((noinline)) void *zmalloc(size_t size)
{
    void *p = malloc(size);
    if (p == NULL) abort();
    return p;
}

__attribute__((noinline)) void *xmalloc(size_t size)
{
    void *p = zmalloc(size);
    memset(p, 0, size < 16 ? size : 16);
    return p;
}

static void *kept[LEAK_BLOCKS];

__attribute__((noinline)) void leak_site(int i)
{
    kept[i] = xmalloc(LEAK_SIZE);
}

__attribute__((noinline)) void churn_now(void)
{
    for (int k = 0; k < 4; k++) {
        char *p = zmalloc(1500);
        p[0] = 1;
        free(p);
    }
}

static void *window[64];

__attribute__((noinline)) void churn_window(int i)
{
    int w = i % 64;
    free(window[w]);
    window[w] = xmalloc(2048);
    window[w] = realloc(window[w], 3000);
}

static void *churn_thread(void *arg)
{
    (void)arg;
    for (int i = 0; i < ROUNDS * 4; i++) {
        void *p = xmalloc(800);
        free(p);
    }
    return NULL;
}

int main(void)
{
    pthread_t t;
    if (pthread_create(&t, NULL, churn_thread, NULL) != 0) return 1;
    for (int i = 0; i < ROUNDS; i++) {
        leak_site(i);
        churn_now();
        churn_window(i);
    }
    pthread_join(t, NULL);
    for (int w = 0; w < 64; w++)
        free(window[w]);
    printf("ready %ld\n", (long)LEAK_BLOCKS * LEAK_SIZE);
    fflush(stdout);
    char c;
    while (read(0, &c, 1) > 0) {
    }
    return kept[0] == NULL;
}
