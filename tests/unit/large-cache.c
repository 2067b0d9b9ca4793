/* large-cache.c (unit): freed large blocks as runs of resident pages (large.c). A block is
 * carved in place from a run at its first segment boundary, the rest kept on both sides;
 * moved from an unaligned run; gathered from several runs side by side when no run holds
 * it; grown by realloc into the run behind it, and copied when it may span several
 * mappings. After every step the cache keeps its invariants (no overlap, no run under
 * 64 KiB, `bytes` the sum, at most the slots) and every live block keeps its contents.
 * Edges (where the kernel's mappings split a range) are exact: the process's count is
 * every block's and run's, and /proc/self/maps never holds more than one mapping per
 * block or run plus the edges. The same random workload runs with runs of several
 * mappings movable (where the kernel moves them) and not (Linux before 6.17): then no
 * block or run ever has an edge. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "unit.h"

#define MIB ((size_t)1 << 20)

static hk_heap_t *h;

static hk_segment_t *seg_of(void *p)
{
    return hk_segment_of(p);
}

static void *big(size_t size)
{
    void *p = hk_large_alloc(h, size, 0);
    if (p == NULL) tap_bail("hk_large_alloc(%zu) failed", size);
    return p;
}

static void drop(void *p)
{
    hk_large_free(h, seg_of(p));
}

/* Whether edges e are well formed for a range of `size` bytes; a diagnostic if not. */
static int edges_bad(const hk_edges_t *e, size_t size, const char *what)
{
    int bad = e->n > HK_LARGE_EDGES;
    for (uint32_t i = 0; !bad && i < e->n; i++)
        bad = e->at[i] == 0 || e->at[i] >= size / HK_OS_PAGE || (i && e->at[i] <= e->at[i - 1]);
    if (bad) tap_diag("%s: %u edges out of order or range", what, e->n);
    return bad;
}

/* The cache's invariants; returns how many fail (each with a diagnostic). */
static int cache_bad(void)
{
    const hk_large_cache_t *c = &h->large;
    int bad = 0;
    size_t sum = 0;
    if (c->n > HK_LARGE_CACHE_SLOTS) bad++, tap_diag("%u runs", c->n);
    for (uint32_t i = 0; i < c->n; i++) {
        sum += c->e[i].size;
        if (c->e[i].size < ((size_t)64 << 10) || (uintptr_t)c->e[i].base % HK_OS_PAGE ||
            c->e[i].size % HK_OS_PAGE)
            bad++, tap_diag("run %u: %p + %zu", i, (void *)c->e[i].base, c->e[i].size);
        bad += edges_bad(&c->e[i].edges, c->e[i].size, "run");
        for (uint32_t j = 0; j < i; j++)
            if (c->e[i].base < c->e[j].base + c->e[j].size &&
                c->e[j].base < c->e[i].base + c->e[i].size)
                bad++, tap_diag("runs %u and %u overlap", i, j);
    }
    if (sum != c->bytes) bad++, tap_diag("bytes %zu, runs sum to %zu", c->bytes, sum);
    size_t most = hk_large_span_moves > 0 ? HK_LARGE_CACHE_BYTES : HK_LARGE_CACHE_BYTES / 4;
    if (c->bytes > most) bad++, tap_diag("bytes %zu over the bound", c->bytes);
    for (uint32_t i = 0; i < c->n; i++)
        if (c->e[i].size > most / 2) bad++, tap_diag("run %u over half the bound", i);
    return bad;
}

static uint64_t cache_edges(void)
{
    uint64_t n = 0;
    for (uint32_t i = 0; i < h->large.n; i++)
        n += h->large.e[i].edges.n;
    return n;
}

/* Lines of /proc/self/maps: the kernel's mappings of this process. */
static long mappings(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (f == NULL) tap_bail("cannot read /proc/self/maps");
    long n = 0;
    for (int ch; (ch = getc(f)) != EOF;)
        n += ch == '\n';
    fclose(f);
    return n;
}

static long minflt(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_minflt;
}

static void fill(char *p, size_t n, unsigned seed)
{
    for (size_t off = 0; off < n; off += 512)
        p[off] = (char)(seed + off / 512);
    p[n - 1] = (char)seed;
}

/* The first bad offset of the first `upto` bytes of a block that fill() gave n bytes;
 * SIZE_MAX when all are as written. */
static size_t check_upto(const char *p, size_t upto, size_t n, unsigned seed)
{
    for (size_t off = 0; off < upto && off + 1 < n; off += 512)
        if (p[off] != (char)(seed + off / 512)) return off;
    return upto < n || p[n - 1] == (char)seed ? SIZE_MAX : n - 1;
}

static size_t check(const char *p, size_t n, unsigned seed)
{
    return check_upto(p, n, n, seed);
}

/* Shapes whose placement is known. */
static void placements(bool movable)
{
    hk_large_decay(h, true);
    char *a = big(8 * MIB);
    fill(a, 8 * MIB, 1);
    drop(a);
    char *b = big(1 * MIB);
    TAP_EQ_U64((uintptr_t)b, (uintptr_t)a, "a block is carved in place from a freed run's front");
    char *c = big(2 * MIB);
    TAP_EQ_U64((uintptr_t)seg_of(c), (uintptr_t)seg_of(a) + 4 * MIB,
               "the next one at the run's first segment boundary, in place");
    TAP_EQ_U64(h->large.n, 2, "both sides of it stay cached");
    TAP_EQ_U64(cache_bad(), 0, "the cache keeps its invariants");
    long f0 = minflt();
    memset(c, 7, 2 * MIB);
    TAP_LE_U64((uint64_t)(minflt() - f0), 8, "a carved block's pages are still resident");

    /* Grow b into the run behind it: same address, contents kept. */
    fill(b, 1 * MIB, 2);
    char *b2 = hk_large_realloc(h, b, 2 * MIB);
    TAP_EQ_U64((uintptr_t)b2 == (uintptr_t)b, movable,
               "realloc grows into the cached run behind it where runs move, else moves");
    TAP_EQ_U64(check(b2, 1 * MIB, 2), SIZE_MAX, "...keeping the contents");
    TAP_EQ_U64(seg_of(b2)->edges.n, 0, "...and, its own run being the same mapping, no edge");
    /* Past what is cached behind it: moved or copied, contents kept. */
    fill(b2, 2 * MIB, 3);
    char *b3 = hk_large_realloc(h, b2, 12 * MIB);
    TAP_EQ_U64(b3 != NULL && check(b3, 2 * MIB, 3) == SIZE_MAX, 1,
               "realloc past the cached run keeps the contents");
    TAP_EQ_U64(seg_of(b3)->edges.n, 0, "a moved or copied block is one mapping");
    fill(b3, 12 * MIB, 4);
    char *b4 = hk_large_realloc(h, b3, 3 * MIB);
    TAP_EQ_U64((uintptr_t)b4, (uintptr_t)b3, "realloc shrinks in place");
    TAP_EQ_U64(check_upto(b4, 3 * MIB, 12 * MIB, 4), SIZE_MAX, "...keeping the contents");
    drop(b4);
    drop(c);
    TAP_EQ_U64(cache_bad(), 0, "the cache keeps its invariants after realloc");

    /* Two runs too small alone, not side by side: gathered (where runs move), or fresh. */
    hk_large_decay(h, true);
    char *x = big(3 * MIB), *gap = big(1 * MIB), *y = big(3 * MIB);
    memset(x, 1, 3 * MIB);
    memset(y, 2, 3 * MIB);
    drop(x);
    drop(y);
    size_t cached = h->large.bytes;
    f0 = minflt();
    char *z = hk_large_alloc(h, 5 * MIB, 0);
    memset(z, 3, 5 * MIB);
    long faults = minflt() - f0;
    if (movable) {
        TAP_EQ_U64(cached - h->large.bytes, seg_of(z)->map_size,
                   "a block no run holds takes all its pages from the runs");
        TAP_LE_U64((uint64_t)faults, 64, "...so writing it faults almost nothing in (%ld)", faults);
        TAP_EQ_U64(seg_of(z)->edges.n, 1, "...and is two mappings, with one edge between");
    } else {
        TAP_EQ_U64(h->large.bytes, cached, "no run is put together with another");
        TAP_GE_U64((uint64_t)faults, 64, "...the block is fresh (%ld faults)", faults);
        TAP_EQ_U64(seg_of(z)->edges.n, 0, "...and one mapping");
    }
    TAP_EQ_U64(((char *)z)[0] == 3 && ((char *)z)[5 * MIB - 1] == 3, 1, "the block is usable");
    drop(z);
    drop(gap);
    TAP_EQ_U64(cache_bad(), 0, "the cache keeps its invariants after a gather");
    hk_large_decay(h, true);
    TAP_EQ_U64(h->large.n + h->large.bytes, 0, "a full decay empties the cache");
}

/* Random sizes, malloc, realloc up and down and free, every block checked. */
static void workload(bool movable, uint64_t seed)
{
    enum { LIVE = 24 };
    char *live[LIVE] = {0};
    size_t size[LIVE] = {0};
    uint64_t rng = seed;
    int bad = 0, inv = 0, edges = 0, counted = 0;
    long maps = 0, bound = 0, base = mappings();
    for (int i = 0; i < 3000; i++) {
        uint32_t k = (uint32_t)(hk_rand(&rng) % LIVE);
        if (live[k] && check(live[k], size[k], (unsigned)size[k]) != SIZE_MAX) bad++;
        size_t s = HK_SMALL_MAX + 1 + (size_t)(hk_rand(&rng) % ((size_t)1 << (17 + i % 8)));
        if (live[k] && (i & 1)) {
            char *q = hk_large_realloc(h, live[k], s);
            if (q == NULL) tap_bail("realloc to %zu failed", s);
            if (check_upto(q, s < size[k] ? s : size[k], size[k], (unsigned)size[k]) != SIZE_MAX)
                bad++;
            live[k] = q;
        } else {
            if (live[k]) drop(live[k]);
            live[k] = big(s);
        }
        size[k] = s;
        fill(live[k], s, (unsigned)s);
        inv += cache_bad() + edges_bad(&seg_of(live[k])->edges, seg_of(live[k])->map_size, "block");
        uint64_t sum = cache_edges();
        for (int j = 0; j < LIVE; j++)
            sum += live[j] ? seg_of(live[j])->edges.n : 0;
        edges |= sum != 0;
        counted += sum != hk_large_edges();
        if (i % 500 == 499) { /* each block and run adds at most its edges plus one */
            long now = mappings(), most = base + LIVE + (long)h->large.n + (long)sum;
            if (maps == 0 || now - most > maps - bound) maps = now, bound = most;
        }
    }
    for (int k = 0; k < LIVE; k++) {
        if (check(live[k], size[k], (unsigned)size[k]) != SIZE_MAX) bad++;
        drop(live[k]);
    }
    inv += cache_bad();
    TAP_EQ_U64(bad, 0, "3,000 random large mallocs, reallocs and frees keep every block intact");
    TAP_EQ_U64(inv, 0, "...and the cache its invariants at every step");
    TAP_EQ_U64(counted, 0, "...and the process's edge count is every block's and run's summed");
    TAP_LE_U64((uint64_t)maps, (uint64_t)bound,
               "...and the kernel's mappings stay within one per block or run plus the edges "
               "(%ld, at most %ld)",
               maps, bound);
    if (!movable) TAP_EQ_U64(edges, 0, "...and no block or run has an edge");
    hk_large_decay(h, true);
}

int main(void)
{
    h = unit_heap();
    bool can = hk_os_moves_span_mappings();
    tap_diag("this kernel %s runs of several mappings", can ? "moves" : "does not move");
    tap_plan((can ? 2 : 1) * 23 + 1);
    for (int mode = can ? 1 : 0; mode >= 0; mode--) {
        atomic_store(&hk_large_span_moves, mode ? 1 : -1);
        tap_diag("runs of several mappings %s", mode ? "movable" : "not movable");
        placements(mode);
        workload(mode, 42 + (uint64_t)mode);
    }
    return tap_done();
}
