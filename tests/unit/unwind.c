/* unwind.c (unit): hk_unwind's stacks against glibc's backtrace() (libgcc's unwinder)
 * through a chain of calls compiled without frame pointers, in the main thread and in a
 * thread with a small stack; the `first_kept` cut; a frame with no unwind information at
 * all (machine code mapped at run time, with a frame pointer) passed through by the
 * frame-pointer walk; the cached walk of sampled sites (rule cache and memo) giving the
 * same frames; a deep recursion cut at the limit; and nothing read outside the stack (the
 * walk ends cleanly at the outermost frame); where the stack's bounds come from (the maps
 * file once in the main thread, the thread pointer in other threads, the maps file again
 * for a coroutine whose range up to the thread pointer cannot all be read); and a fork child
 * that inherited the loader's lock held (forked inside dl_iterate_phdr's callback) walking
 * the same frames without waiting for that lock. */
#include "config.h"

#include <execinfo.h>
#include <link.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include "internal.h"

#include "../tap.h"

#define DEPTH 16

typedef struct result_s {
    void *ours[DEPTH], *theirs[DEPTH];
    int n_ours, n_theirs;
} result_t;

static volatile int sink;

/* The innermost call: both unwinders from the same frame. */
__attribute__((noinline)) static void leaf(result_t *r)
{
    r->n_ours = hk_unwind(r->ours, DEPTH, NULL);
    r->n_theirs = backtrace(r->theirs, DEPTH);
    sink++;
}

__attribute__((noinline, optimize("omit-frame-pointer"))) static void c3(result_t *r)
{
    leaf(r);
    sink++;
}

__attribute__((noinline, optimize("omit-frame-pointer"))) static void c2(result_t *r)
{
    char pad[100];
    memset(pad, sink, sizeof pad);
    c3(r);
    sink += pad[7];
}

__attribute__((noinline, optimize("omit-frame-pointer"))) static void c1(result_t *r)
{
    c2(r);
    sink++;
}

/* The cached walk (hk_unwind_from, as sampled sites use it) against the plain one, from
 * the same function: its rule cache filled on the first walk, its memo used on the next,
 * and the memo refused when a caller differs though the registers are the same. */
static hk_unwind_cache_t cache;

typedef struct cached_s {
    void *plain[DEPTH], *first[DEPTH], *again[DEPTH];
    int n_plain, n_first, n_again;
} cached_t;

__attribute__((noinline)) static void cached_leaf(cached_t *r)
{
    hk_unwind_ctx_t here;
    HK_UNWIND_HERE(&here);
    r->n_first = hk_unwind_from(&cache, &here, r->first, DEPTH, NULL);
    r->n_again = hk_unwind_from(&cache, &here, r->again, DEPTH, NULL);
    r->n_plain = hk_unwind(r->plain, DEPTH, NULL);
    sink++;
}

__attribute__((noinline, optimize("omit-frame-pointer"))) static void via_a(cached_t *r)
{
    cached_leaf(r);
    sink++;
}

__attribute__((noinline, optimize("omit-frame-pointer"))) static void via_b(cached_t *r)
{
    cached_leaf(r);
    sink += 2;
}

/* Whether the cached walks match the plain one, which starts a frame lower (in
 * hk_unwind, so its first address is the return into cached_leaf). */
static bool cached_agree(const cached_t *r)
{
    if (r->n_first != r->n_plain - 1 || r->n_again != r->n_first || r->n_first < 3) return false;
    for (int i = 0; i < r->n_first; i++)
        if (r->first[i] != r->plain[i + 1] || r->again[i] != r->plain[i + 1]) return false;
    return true;
}

/* Frames after the first (whose return addresses differ: one call site each) agree. */
static int agree(const result_t *r, int want)
{
    int n = 0;
    for (int i = 1; i < r->n_ours && i < r->n_theirs && i < want; i++)
        if (r->ours[i] == r->theirs[i]) n++;
    return n;
}

static void *thread_main(void *arg)
{
    c1(arg);
    return NULL;
}

/* A coroutine's stack (64 KiB) mapped just below a thread's own (256 KiB, given to
 * pthread_attr_setstack, so glibc puts the thread pointer at its top), with or without
 * an unreadable page between: the walk from the coroutine must take the coroutine's
 * mapping from the maps file when the range up to the thread pointer has a hole, and may
 * take that range when all of it can be read. */
#define CO_STACK     (64 * 1024)
#define THREAD_STACK (256 * 1024)
typedef struct coroutine_s {
    ucontext_t back, co;
    result_t r;
    uint64_t maps_reads; /* how many walks read the maps file meanwhile */
} coroutine_t;

static coroutine_t *co_now;

static void coroutine_main(void)
{
    c1(&co_now->r);
}

static void *coroutine_thread(void *arg)
{
    coroutine_t *co = arg;
    uint64_t before = __atomic_load_n(&hk_unwind_maps_reads, __ATOMIC_RELAXED);
    swapcontext(&co->back, &co->co);
    co->maps_reads = __atomic_load_n(&hk_unwind_maps_reads, __ATOMIC_RELAXED) - before;
    return NULL;
}

static bool run_coroutine(bool hole, coroutine_t *co)
{
    size_t gap = hole ? 4096 : 0, total = CO_STACK + gap + THREAD_STACK;
    char *m = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED || (hole && mprotect(m + CO_STACK, gap, PROT_NONE) != 0)) return false;
    memset(co, 0, sizeof *co);
    co_now = co;
    getcontext(&co->co);
    co->co.uc_stack.ss_sp = m;
    co->co.uc_stack.ss_size = CO_STACK;
    co->co.uc_link = &co->back;
    makecontext(&co->co, coroutine_main, 0);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstack(&attr, m + CO_STACK + gap, THREAD_STACK);
    pthread_t th;
    bool ok = pthread_create(&th, &attr, coroutine_thread, co) == 0 && pthread_join(th, NULL) == 0;
    munmap(m, total);
    return ok;
}

__attribute__((noinline)) static void recurse(int depth, result_t *r)
{
    if (depth == 0)
        leaf(r);
    else
        recurse(depth - 1, r);
    sink++;
}

/* Inside dl_iterate_phdr, which holds the loader's lock: a child forked here has it held
 * for good. The child makes cached walks past a recheck of the loader's objects, then
 * walks from c1 as main did (exit 0 when its frames are main's walk's, leaf to c1 and
 * main's callers, with this callback and dl_iterate_phdr in place of the return into
 * main), and an alarm ends it if a walk waits for the lock. */
static int fork_in_loader(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)info, (void)size;
    const result_t *parent = arg;
    pid_t pid = fork();
    if (pid == 0) {
        alarm(10);
        hk_unwind_fork_child(); /* as libhakmem's own fork handler does */
        cached_t ca = {0};
        for (int i = 0; i < HK_UNWIND_RECHECK; i++) /* cached walks: their recheck comes */
            via_a(&ca);
        if (!cached_agree(&ca)) _exit(2);
        result_t r = {0};
        c1(&r);
        int extra = r.n_ours - parent->n_ours; /* this callback and dl_iterate_phdr, at least */
        bool same = extra >= 2 && parent->n_ours >= 6 && r.n_ours < DEPTH;
        for (int i = 0; same && i < parent->n_ours; i++) {
            if (i == 4) continue; /* main's return address: the child's callers differ here */
            same = r.ours[i < 4 ? i : i + extra] == parent->ours[i];
        }
        _exit(same ? 0 : 1);
    }
    int st = -1;
    if (pid > 0) waitpid(pid, &st, 0);
    return st;
}

int main(void)
{
    tap_plan(14);
    result_t r = {0};
    c1(&r);
    tap_diag("main thread: %d frames ours, %d backtrace()", r.n_ours, r.n_theirs);
    int common = r.n_ours < r.n_theirs ? r.n_ours : r.n_theirs;
    TAP_EQ_U64((uint64_t)agree(&r, DEPTH), (uint64_t)common - 1,
               "every frame above leaf has backtrace()'s return address (c3, c2, c1, main, libc)");
    TAP_GE_U64((uint64_t)r.n_ours, 5, "the walk reaches main (%d frames)", r.n_ours);

    result_t again = {0};
    uint64_t main_reads = hk_unwind_maps_reads;
    c1(&again);
    tap_ok(main_reads == 1 && hk_unwind_maps_reads == 1 && again.n_ours == r.n_ours,
           "the main thread reads the maps file once (%" PRIu64 " reads), then keeps its stack",
           hk_unwind_maps_reads);

    result_t t = {0};
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    pthread_t th;
    pthread_create(&th, &attr, thread_main, &t);
    pthread_join(th, NULL);
    TAP_GE_U64((uint64_t)agree(&t, 5), 4, "in a thread with a 64 KiB stack, the same");
    TAP_EQ_U64(hk_unwind_maps_reads, 1,
               "a thread's stack is found below its thread pointer, not in the maps file");

    coroutine_t co;
    bool ran = run_coroutine(true, &co);
    tap_ok(ran && agree(&co.r, 4) >= 3 && co.maps_reads == 1,
           "a coroutine below its thread's stack, an unreadable page between: its own mapping "
           "from the maps file (%d frames, %" PRIu64 " read)",
           co.r.n_ours, co.maps_reads);
    ran = run_coroutine(false, &co);
    tap_ok(ran && agree(&co.r, 4) >= 3 && co.maps_reads == 0,
           "the same with every page up to the thread pointer readable: no maps file (%d frames)",
           co.r.n_ours);

    /* first_kept: the walk starts at the frame whose return address that is. */
    void *out[DEPTH];
    int n = hk_unwind(out, DEPTH, r.ours[2]);
    TAP_EQ_PTR(n > 0 ? out[0] : NULL, r.ours[2], "first_kept cuts the frames below it");
    void *bogus = (void *)0x12345;
    n = hk_unwind(out, DEPTH, bogus);
    tap_ok(n == 1 && out[0] == bogus, "a first_kept not on the stack gives that address alone");

    /* A frame without unwind information: push rbp; mov rsp,rbp; call *rsi; pop rbp; ret */
    static const unsigned char code[] = {0x55, 0x48, 0x89, 0xe5, 0xff, 0xd6, 0x5d, 0xc3};
    unsigned char *jit =
        mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memcpy(jit, code, sizeof code);
    result_t j = {0};
    ((void (*)(result_t *, void (*)(result_t *)))jit)(&j, leaf);
    int past = 0;
    for (int i = 0; i < j.n_ours; i++)
        if ((unsigned char *)j.ours[i] == jit + 6) past = i;
    tap_ok(past > 0 && j.n_ours > past + 1,
           "through a frame with no unwind information, by its frame pointer (%d frames)",
           j.n_ours);
    munmap(jit, 4096);

    cached_t ca = {0}, cb = {0};
    via_a(&ca);
    tap_ok(cached_agree(&ca), "the cached walk and its memo give the plain walk's frames (%d)",
           ca.n_plain);
    via_b(&cb);
    tap_ok(cached_agree(&cb) && cb.again[0] != ca.again[0],
           "a different caller at the same depth is not taken from the memo");

    result_t d = {0};
    recurse(100, &d);
    TAP_EQ_U64((uint64_t)d.n_ours, DEPTH, "a deep recursion is cut at the limit");

    int st = dl_iterate_phdr(fork_in_loader, &r);
    tap_ok(WIFEXITED(st) && WEXITSTATUS(st) == 0,
           "a child forked holding the loader's lock walks the same frames, without it "
           "(status %#x)",
           (unsigned)st);
    return tap_done();
}
