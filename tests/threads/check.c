/* check.c: hak_check() on heaps in real use. Worker threads allocate many sizes, free
 * their own blocks and each other's, and each finds its heap consistent before it exits;
 * threads that then adopt the abandoned heaps find them consistent too, and so does the
 * main thread after hak_collect. In a child process a block freed twice is found, and
 * described on stderr. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "hakmem.h"

#include "../tap.h"
#include "../testutil.h"

#define NT     4
#define NBLK   4000
#define HANDED 1000

static pthread_barrier_t barrier;
static void *handoff[NT][HANDED]; /* row i: blocks thread i allocated for thread i + 1 */
static int problems[NT], adopted_problems[NT];

static size_t size_of(uint64_t *seed)
{
    uint64_t r = tu_rand(seed);
    switch (r % 8) {
    case 0:
        return 1 + (size_t)(r >> 8) % 200000; /* sometimes large */
    case 1:
    case 2:
        return 1 + (size_t)(r >> 8) % 16384;
    default:
        return 1 + (size_t)(r >> 8) % 512;
    }
}

static void *worker(void *arg)
{
    int id = (int)(intptr_t)arg;
    uint64_t seed = tu_mix(0xc0ffee, (uint64_t)id);
    void *mine[NBLK];
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < NBLK; i++)
            mine[i] = malloc(size_of(&seed));
        for (int i = 0; i < NBLK; i += 2)
            free(mine[i]);
        for (int i = 1; i < NBLK; i += 2)
            free(mine[i]);
    }
    for (int i = 0; i < HANDED; i++)
        handoff[id][i] = malloc(size_of(&seed));
    pthread_barrier_wait(&barrier);
    int from = (id + NT - 1) % NT; /* free what the previous thread allocated */
    for (int i = 0; i < HANDED; i++)
        free(handoff[from][i]);
    problems[id] = hak_check();
    return NULL;
}

static void *adopter(void *arg)
{
    int id = (int)(intptr_t)arg;
    free(tu_launder(malloc(48))); /* takes over an abandoned heap */
    adopted_problems[id] = hak_check();
    return NULL;
}

/* In a child, with stderr on a pipe: free one block twice and run the checker. Returns
 * the child's count of problems (-1 if it died) and what it wrote in `text`. */
static int double_free_child(char *text, size_t cap)
{
    int fds[2];
    if (pipe(fds) != 0) tap_bail("pipe failed");
    pid_t pid = fork();
    if (pid < 0) tap_bail("fork failed");
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        void *p = tu_launder(malloc(64));
        void *volatile again = p; /* hides the second free from -Wuse-after-free */
        free(p);
        free(again);
        int n = hak_check();
        _exit(n > 100 ? 100 : n);
    }
    close(fds[1]);
    size_t len = 0;
    ssize_t r;
    while (len < cap - 1 && (r = read(fds[0], text + len, cap - 1 - len)) > 0)
        len += (size_t)r;
    text[len] = '\0';
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int main(void)
{
    tap_plan(6);
    pthread_t t[NT];
    pthread_barrier_init(&barrier, NULL, NT);
    for (int i = 0; i < NT; i++)
        pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i);
    for (int i = 0; i < NT; i++)
        pthread_join(t[i], NULL);
    int sum = 0;
    for (int i = 0; i < NT; i++)
        sum += problems[i];
    TAP_EQ_I64(sum, 0, "%d workers that freed each other's blocks find their heaps consistent", NT);

    for (int i = 0; i < NT; i++)
        pthread_create(&t[i], NULL, adopter, (void *)(intptr_t)i);
    for (int i = 0; i < NT; i++)
        pthread_join(t[i], NULL);
    sum = 0;
    for (int i = 0; i < NT; i++)
        sum += adopted_problems[i];
    TAP_EQ_I64(sum, 0, "threads that adopt the abandoned heaps find them consistent");

    TAP_EQ_I64(hak_check(), 0, "the main thread's heap is consistent");
    hak_collect();
    TAP_EQ_I64(hak_check(), 0, "... and after hak_collect");

    char text[4096];
    int n = double_free_child(text, sizeof text);
    TAP_GE_U64((uint64_t)(n < 0 ? 0 : n), 1, "a block freed twice is found (%d problems)", n);
    tap_ok(strstr(text, "hakmem: heap check:") != NULL, "... and described on stderr");
    if (text[0]) tap_diag("child wrote: %.200s", text);
    return tap_done();
}
