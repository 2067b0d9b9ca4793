/* stress: sampled blocks under threads, for stress.sh (run with a small
 * HAKMEM_SITE_SAMPLE, so that many blocks are sampled and served from their own
 * mappings). Four threads allocate by every entry point, fill each block with a pattern
 * of its own, check it before they realloc (grow and shrink), free_sized or free it, and
 * check alignment, zeroing and malloc_usable_size; the main thread forks children that
 * check and free the blocks they inherit and allocate anew. Exits 0 when every check
 * held, else prints what failed. */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* C23; glibc 2.36 has none, libhakmem has it: weak, so the program links without. */
void free_sized(void *p, size_t size) __attribute__((weak));

#define THREADS 4
#define SLOTS   256
#define OPS     40000

typedef struct {
    unsigned char *p;
    size_t size;
    unsigned char tag;
} block_t;

static atomic_int failures;
static block_t shared[SLOTS]; /* the main thread's, inherited by the children */

static void fail(const char *what, size_t size)
{
    if (atomic_fetch_add(&failures, 1) < 10) fprintf(stderr, "stress: %s (size %zu)\n", what, size);
}

static uint64_t next(uint64_t *s)
{
    *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
    return *s;
}

static size_t pick_size(uint64_t *rng)
{
    uint64_t r = next(rng);
    switch (r % 4) {
    case 0:
        return 1 + r % 64;
    case 1:
        return 1 + r % 4096;
    case 2:
        return 1 + r % 70000;
    default:
        return 100000 + r % 300000;
    }
}

static void fill(block_t *b)
{
    for (size_t i = 0; i + 1 < b->size; i += 61)
        b->p[i] = (unsigned char)(b->tag + i);
    b->p[b->size - 1] = b->tag;
}

static int intact(const block_t *b, size_t upto)
{
    for (size_t i = 0; i < upto && i + 1 < b->size; i += 61)
        if (b->p[i] != (unsigned char)(b->tag + i)) return 0;
    return upto < b->size || b->p[b->size - 1] == b->tag;
}

static void release(block_t *b, uint64_t *rng)
{
    if (b->p == NULL) return;
    if (!intact(b, b->size)) fail("block corrupted before free", b->size);
    if ((next(rng) & 1) && free_sized)
        free_sized(b->p, b->size);
    else
        free(b->p);
    b->p = NULL;
}

static void make(block_t *b, uint64_t *rng)
{
    size_t size = pick_size(rng), align = (size_t)16 << (next(rng) % 13); /* up to 64 KiB */
    void *p = NULL;
    switch (next(rng) % 4) {
    case 0:
        p = malloc(size);
        break;
    case 1:
        p = calloc(1, size);
        if (p)
            for (size_t i = 0; i < size; i += 97)
                if (((unsigned char *)p)[i]) fail("calloc block not zero", size);
        break;
    case 2:
        if (posix_memalign(&p, align, size) != 0) p = NULL;
        if (p && (uintptr_t)p % align) fail("posix_memalign misaligned", size);
        break;
    default:
        p = memalign(align, size);
        if (p && (uintptr_t)p % align) fail("memalign misaligned", size);
        break;
    }
    if (p == NULL) {
        fail("allocation failed", size);
        return;
    }
    size_t usable = malloc_usable_size(p);
    if (usable < size) fail("malloc_usable_size below the size asked", size);
    memset((char *)p + size, 0x5c, usable - size); /* all of it is ours */
    *b = (block_t){p, size, (unsigned char)next(rng)};
    fill(b);
}

static void resize(block_t *b, uint64_t *rng)
{
    size_t size = pick_size(rng), keep = size < b->size ? size : b->size;
    unsigned char *q = realloc(b->p, size);
    if (q == NULL) {
        fail("realloc failed", size);
        return;
    }
    b->p = q;
    block_t old = *b;
    if (!intact(&old, keep)) fail("realloc lost the contents", size);
    b->size = size;
    fill(b);
}

static void churn(block_t *slots, uint64_t seed, int ops)
{
    uint64_t rng = seed;
    for (int i = 0; i < ops; i++) {
        block_t *b = &slots[next(&rng) % SLOTS];
        if (b->p == NULL)
            make(b, &rng);
        else if (next(&rng) % 3 == 0)
            resize(b, &rng);
        else
            release(b, &rng);
    }
}

static void *thread_main(void *arg)
{
    static _Thread_local block_t mine[SLOTS];
    churn(mine, (uint64_t)(uintptr_t)arg * 0x9e3779b97f4a7c15ull + 1, OPS);
    uint64_t rng = 7;
    for (int i = 0; i < SLOTS; i++)
        release(&mine[i], &rng);
    return NULL;
}

/* A child checks and frees what it inherited, allocates anew, and exits. */
static int child(void)
{
    uint64_t rng = 99;
    for (int i = 0; i < SLOTS; i++)
        release(&shared[i], &rng);
    churn(shared, 12345, 2000);
    for (int i = 0; i < SLOTS; i++)
        release(&shared[i], &rng);
    return atomic_load(&failures) ? 1 : 0;
}

int main(void)
{
    pthread_t t[THREADS];
    for (long i = 0; i < THREADS; i++)
        if (pthread_create(&t[i], NULL, thread_main, (void *)(i + 1)) != 0) return 2;
    int bad_children = 0;
    for (int f = 0; f < 8; f++) {
        churn(shared, 1000 + (uint64_t)f, 2000);
        pid_t pid = fork();
        if (pid == 0) _exit(child());
        int status = 0;
        if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
            WEXITSTATUS(status) != 0)
            bad_children++;
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    uint64_t rng = 5;
    for (int i = 0; i < SLOTS; i++)
        release(&shared[i], &rng);
    if (bad_children) fprintf(stderr, "stress: %d children failed\n", bad_children);
    printf("failures %d children_failed %d\n", atomic_load(&failures), bad_children);
    return atomic_load(&failures) || bad_children;
}
