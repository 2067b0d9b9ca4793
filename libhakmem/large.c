/* large.c: blocks bigger than the largest size class, each in a range of pages of its
 * own, which starts on a segment boundary so that hk_segment_of finds its header, whose
 * zeroed page table sends every free of it past the fast path.
 *
 * Freed ranges are kept in the freeing thread's heap as runs of resident pages (a few,
 * bounded in bytes, each until HK_LARGE_DECAY_MS after a block last joined it) and cut,
 * moved and put together into the next large blocks (see the cache below): the program
 * neither waits for a map and an unmap nor takes the page faults again. Expired runs
 * are unmapped on the heap's next large free or decay tick (one refill in 64); sweeps
 * give back the pages of heaps whose threads went quiet. realloc grows in place when
 * the kernel can, and otherwise moves the pages instead of copying them, reserving room
 * to grow again (address space only: untouched pages cost no memory).
 *
 * Stand-ins (sitetab.c's followed samples of small blocks) are freed by whichever thread
 * frees the block, often not the one that allocated it, and a short-lived thread's cache
 * goes with it: so their mappings are kept process-wide instead, a few, under the site
 * table's lock, and a sampling thread does not map and unmap (an IPI to every CPU the
 * process runs on) at each sample. */
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <string.h>

#include "internal.h"
#include "lock.h"

#define HEADER_SIZE hk_align_up(sizeof(hk_segment_t), HK_OS_PAGE)
#define MIN_RUN     ((size_t)64 << 10) /* a smaller run is not worth a slot: unmapped */

/* Whether runs that cover several of the kernel's mappings can be moved (os.c probes it
 * on first need): 1 yes, -1 no, 0 not known yet. Where they cannot, runs are never put
 * together (no gathering, no merging), so every mapping stays one of the kernel's. */
_Atomic int hk_large_span_moves;

static bool span_moves(void)
{
    int s = atomic_load_explicit(&hk_large_span_moves, memory_order_relaxed);
    if (s == 0) {
        s = hk_os_moves_span_mappings() ? 1 : -1;
        atomic_store_explicit(&hk_large_span_moves, s, memory_order_relaxed);
    }
    return s > 0;
}

/* Offset of the block from the start of its mapping for a given alignment. */
static size_t block_offset(size_t align)
{
    if (align >= HK_SEGMENT_SIZE) return align; /* header in the 4 MiB below the block */
    return hk_align_up(HEADER_SIZE, align > HK_OS_PAGE ? align : HK_OS_PAGE);
}

/* ---------------------------------------------------------------------------------------
 * Edges: where a block's or a run's range may be split into several of the kernel's
 * mappings. Every move onto part of a range splits the kernel's mapping there, and the
 * kernel does not join the pieces again (their pages were faulted in elsewhere), so a
 * mapping made of moved runs is as many mappings as it has pieces. The edges inside
 * each range are known exactly, and kept few: at most HK_LARGE_EDGES per block or run,
 * and HK_LARGE_EDGE_BUDGET in the whole process, so that the process's mappings stay
 * far from the kernel's limit (vm.max_map_count, 65,530 by default) however long it
 * runs. Ranges are split only at the edges of blocks and runs, so each adds at most its
 * edges plus one mapping.
 * ------------------------------------------------------------------------------------- */
static _Atomic uint64_t edges_in_process; /* every block's and run's edges, summed */

static void edges_count(int64_t delta)
{
    atomic_fetch_add_explicit(&edges_in_process, (uint64_t)delta, memory_order_relaxed);
}

uint64_t hk_large_edges(void)
{
    return atomic_load_explicit(&edges_in_process, memory_order_relaxed);
}

/* Whether `more` edges fit in one range that has `have`, and in the process (checked,
 * then counted: threads at the same moment may pass it by a few edges each). */
static bool edges_room(uint32_t have, uint32_t more)
{
    return have + more <= HK_LARGE_EDGES && hk_large_edges() + more <= HK_LARGE_EDGE_BUDGET;
}

/* Whether a range of `size` bytes may be put together with another: its edges' page
 * offsets must fit in 32 bits (16 TiB). */
static bool edges_span(size_t size)
{
    return size / HK_OS_PAGE < UINT32_MAX / 2;
}

/* A range just mapped, or moved onto a range of its own: one mapping, ends and all. */
#define ONE_MAPPING ((hk_edges_t){.n = 0, .lo = true, .hi = true})

/* The edges of [from, from + len) of a range of `size` bytes whose edges are e, from its
 * own start. */
static hk_edges_t edges_slice(const hk_edges_t *e, size_t size, size_t from, size_t len)
{
    hk_edges_t r = {.n = 0, .lo = from == 0 && e->lo, .hi = from + len == size && e->hi};
    size_t lo = from / HK_OS_PAGE, hi = (from + len) / HK_OS_PAGE;
    for (uint32_t i = 0; i < e->n; i++) {
        if (e->at[i] == lo)
            r.lo = true;
        else if (e->at[i] == hi)
            r.hi = true;
        else if (e->at[i] > lo && e->at[i] < hi)
            r.at[r.n++] = (uint32_t)(e->at[i] - lo);
    }
    return r;
}

/* Whether a range with edges a is followed by one with edges b at a mapping's edge (one
 * of them starts or ends a mapping there) rather than inside one mapping. */
static uint32_t edges_meet(const hk_edges_t *a, const hk_edges_t *b)
{
    return a->hi || b->lo;
}

/* Append to a range of `len` bytes with edges e another with edges tail: the caller has
 * checked edges_room(e->n, tail->n + edges_meet(e, tail)). */
static void edges_append(hk_edges_t *e, size_t len, const hk_edges_t *tail)
{
    hk_assert(e->n + edges_meet(e, tail) + tail->n <= HK_LARGE_EDGES);
    hk_assert(len / HK_OS_PAGE < UINT32_MAX - HK_SEGMENT_SIZE);
    uint32_t at = (uint32_t)(len / HK_OS_PAGE);
    if (edges_meet(e, tail)) e->at[e->n++] = at;
    for (uint32_t i = 0; i < tail->n; i++)
        e->at[e->n++] = at + tail->at[i];
    e->hi = tail->hi;
}

/* ---------------------------------------------------------------------------------------
 * The cache of freed runs
 *
 * A run is a freed block's whole mapping, or what is left of one after blocks were cut
 * from it. A block is served in place by the smallest run that holds it from a segment
 * boundary on (where hk_segment_of finds a header); else its pages are moved, with
 * mremap, onto a fresh aligned range: from that run, or, when no run is big enough, from
 * the biggest runs side by side and the rest of the range left to fault in. Moving pages
 * copies nothing and faults nothing in, so every byte the cache holds can serve any
 * block: new pages are faulted in only when the cache runs short, and the large pages a
 * heap has resident stay close to the most it had in use at once (above it only by what
 * the gather and edge limits leave unmoved). A freed block next to a run joins it.
 * ------------------------------------------------------------------------------------- */
/* Unmap a range of large pages and count it. */
static void unmap_counted(hk_heap_t *h, void *base, size_t size)
{
    hk_os_unmap(base, size);
    h->ctr->c[HK_STAT_mapped] -= size;
}

/* The runs are the owner's but for a sweep (below) by another thread. Neither waits for
 * the other: a call that finds them held does without them (maps fresh pages, unmaps
 * what it frees), so no sweep, and no signal handler interrupting its own thread's
 * call, can stall a call. */
static bool cache_hold(hk_heap_t *h)
{
    uint32_t unheld = 0;
    return atomic_compare_exchange_strong_explicit(&h->large.held, &unheld, 1, memory_order_acquire,
                                                   memory_order_relaxed);
}

static void cache_release(hk_heap_t *h)
{
    atomic_store_explicit(&h->large.held, 0, memory_order_release);
}

static void cache_remove(hk_large_cache_t *c, uint32_t i)
{
    c->bytes -= c->e[i].size;
    edges_count(-(int64_t)c->e[i].edges.n);
    c->e[i] = c->e[--c->n];
}

static void cache_drop(hk_heap_t *h, uint32_t i)
{
    unmap_counted(h, h->large.e[i].base, h->large.e[i].size);
    cache_remove(&h->large, i);
}

static uint32_t smallest(const hk_large_cache_t *c)
{
    uint32_t s = 0;
    for (uint32_t i = 1; i < c->n; i++)
        if (c->e[i].size < c->e[s].size) s = i;
    return s;
}

static void cache_add(hk_large_cache_t *c, char *base, size_t size, uint64_t freed_ms,
                      const hk_edges_t *edges)
{
    c->e[c->n].base = base;
    c->e[c->n].size = size;
    c->e[c->n].freed_ms = freed_ms;
    c->e[c->n].edges = *edges;
    c->n++;
    c->bytes += size;
    edges_count(edges->n);
}

/* Keep a piece of a run that was cut: in a free slot, or in the smallest run's when that
 * is smaller (it is unmapped), else the piece is unmapped. */
static void cache_keep(hk_heap_t *h, char *base, size_t size, uint64_t freed_ms,
                       const hk_edges_t *edges)
{
    hk_large_cache_t *c = &h->large;
    if (size >= MIN_RUN && c->n == HK_LARGE_CACHE_SLOTS && c->e[smallest(c)].size < size)
        cache_drop(h, smallest(c));
    if (size < MIN_RUN || c->n == HK_LARGE_CACHE_SLOTS) {
        unmap_counted(h, base, size);
        return;
    }
    cache_add(c, base, size, freed_ms, edges);
}

/* Run i after [at, at + used) inside it went to a block, whose edges these are: what is
 * left on either side stays, if worth it. */
static hk_edges_t cache_carve(hk_heap_t *h, uint32_t i, char *at, size_t used)
{
    hk_large_cache_t *c = &h->large;
    char *base = c->e[i].base, *end = base + c->e[i].size;
    size_t size = c->e[i].size, front = (size_t)(at - base), back = (size_t)(end - at - used);
    uint64_t freed_ms = c->e[i].freed_ms;
    hk_edges_t edges = c->e[i].edges;
    cache_remove(c, i);
    if (front) {
        hk_edges_t e = edges_slice(&edges, size, 0, front);
        cache_keep(h, base, front, freed_ms, &e);
    }
    if (back) {
        hk_edges_t e = edges_slice(&edges, size, front + used, back);
        cache_keep(h, at + used, back, freed_ms, &e);
    }
    return edges_slice(&edges, size, front, used);
}

static void decay_at(hk_heap_t *h, bool all, uint64_t now)
{
    for (uint32_t i = h->large.n; i-- > 0;)
        if (all || now - h->large.e[i].freed_ms >= HK_LARGE_DECAY_MS) cache_drop(h, i);
}

/* The biggest run with at most `edges` edges; UINT32_MAX if none. */
static uint32_t biggest(const hk_large_cache_t *c, uint32_t edges)
{
    uint32_t b = UINT32_MAX;
    for (uint32_t i = 0; i < c->n; i++)
        if (c->e[i].edges.n <= edges && (b == UINT32_MAX || c->e[i].size > c->e[b].size)) b = i;
    return b;
}

/* Where in run i to start moving pages bound for `to`: the first address at the same
 * offset within the 2 MiB one page table maps as `to`, when at least `need` bytes
 * follow it, else the run's start. Between such addresses mremap moves page tables
 * whole, about ten times faster than page by page. */
#define TABLE_SPAN ((size_t)2 << 20)
static char *move_from(const hk_large_cache_t *c, uint32_t i, const char *to, size_t need)
{
    char *base = c->e[i].base;
    size_t skip = ((uintptr_t)to - (uintptr_t)base) & (TABLE_SPAN - 1);
    return skip < c->e[i].size && c->e[i].size - skip >= need ? base + skip : base;
}

/* Move [from, from + len) of run i, whose edges there are *moved, onto `to`, inside a
 * range this heap mapped; false when the kernel refused. Then the caller maps `to`
 * afresh, and the run is left as it was when the pages were one mapping (such a move
 * fails whole) or else forgotten without unmapping: a move of several mappings may fail
 * halfway, and the holes it left may already belong to someone else. On success *moved
 * is what cache_carve says the moved pages' edges are. */
static bool move_run(hk_heap_t *h, uint32_t i, char *from, size_t len, char *to, hk_edges_t *moved)
{
    hk_large_cache_t *c = &h->large;
    if (hk_os_remap(from, len, len, to)) {
        h->ctr->c[HK_STAT_mapped] -= len; /* `to` was counted when it was mapped */
        *moved = cache_carve(h, i, from, len);
        return true;
    }
    if (moved->n) {
        h->ctr->c[HK_STAT_mapped] -= c->e[i].size;
        cache_remove(c, i);
    }
    return false;
}

/* Pages for a block whose mapping needs `total` bytes, from the cache: a mapping aligned
 * to HK_SEGMENT_SIZE of *got >= total bytes, its header zeroed and its edges in *edges
 * (counted in the process's), or NULL when the cache cannot help or nothing could be
 * mapped. */
static char *cache_take(hk_heap_t *h, size_t total, size_t *got, hk_edges_t *edges)
{
    hk_large_cache_t *c = &h->large;
    uint32_t best = UINT32_MAX, here = UINT32_MAX;
    char *at = NULL;
    for (uint32_t i = 0; i < c->n; i++) {
        if (c->e[i].size < total) continue;
        if (best == UINT32_MAX || c->e[i].size < c->e[best].size) best = i;
        char *b = (char *)hk_align_up((uintptr_t)c->e[i].base, HK_SEGMENT_SIZE);
        if ((size_t)(b - c->e[i].base) <= c->e[i].size - total &&
            (here == UINT32_MAX || c->e[i].size < c->e[here].size)) {
            here = i;
            at = b;
        }
    }
    if (best == UINT32_MAX && !span_moves()) return NULL;
    char *base;
    *edges = ONE_MAPPING;
    if (here != UINT32_MAX) {
        /* In place, at the run's first segment boundary. */
        base = at;
        size_t after = (size_t)(c->e[here].base + c->e[here].size - (at + total));
        *got = after < MIN_RUN ? total + after : total;
        *edges = cache_carve(h, here, at, *got);
        edges_count(edges->n);
    } else {
        if ((base = hk_os_map_aligned(total, HK_SEGMENT_SIZE)) == NULL) return NULL;
        h->ctr->c[HK_STAT_mapped] += total;
        *got = total;
        size_t filled = 0;
        for (uint32_t moves = 0; filled < total && c->n && moves < HK_LARGE_GATHER; moves++) {
            /* The piece's own edges, one where it meets what is in front and one where
             * fresh pages may follow: stop short when they would be too many. */
            if (edges->n + 2 > HK_LARGE_EDGES) break;
            uint32_t i = best != UINT32_MAX ? best : biggest(c, HK_LARGE_EDGES - edges->n - 2);
            if (i == UINT32_MAX) break;
            size_t want = total - filled;
            char *from = best != UINT32_MAX ? move_from(c, i, base, want) : c->e[i].base;
            size_t len = (size_t)(c->e[i].base + c->e[i].size - from);
            if (len > want) len = want;
            hk_edges_t piece =
                edges_slice(&c->e[i].edges, c->e[i].size, (size_t)(from - c->e[i].base), len);
            uint32_t more = piece.n + (filled > 0) + (filled + len < total);
            if (!edges_room(edges->n, more)) break;
            if (!move_run(h, i, from, len, base + filled, &piece)) {
                if (hk_os_map_fixed(base + filled, total - filled)) break;
                unmap_counted(h, base, total); /* out of memory: the moved pages go too */
                edges_count(-(int64_t)edges->n);
                *edges = ONE_MAPPING;
                return NULL;
            }
            piece.lo = piece.hi = true; /* moved: a mapping of its own */
            if (filled) {
                edges_append(edges, filled, &piece);
            } else {
                *edges = piece;
            }
            edges_count(piece.n + (filled > 0));
            filled += len;
        }
        if (filled && filled < total) { /* the fresh pages that follow, room kept above */
            hk_edges_t fresh = ONE_MAPPING;
            edges_append(edges, filled, &fresh);
            edges_count(1);
        }
    }
    memset(base, 0, sizeof(hk_segment_t));
    return base;
}

/* A freed run to the cache, merged with the runs it touches (edges permitting); unmapped
 * when too small or too big to keep. Room is made by unmapping the smallest runs when
 * the slots are full and the oldest when the bytes are. The run's edges are not counted
 * in the process's yet. */
static void cache_put(hk_heap_t *h, char *base, size_t size, const hk_edges_t *edges)
{
    hk_large_cache_t *c = &h->large;
    uint64_t now = hk_util_now_ms();
    hk_edges_t e = *edges;
    decay_at(h, false, now);
    for (uint32_t i = c->n; span_moves() && i-- > 0;) {
        if (!edges_span(size + c->e[i].size)) continue;
        hk_edges_t joined;
        if (c->e[i].base + c->e[i].size == base &&
            edges_room(c->e[i].edges.n, e.n + edges_meet(&c->e[i].edges, &e))) {
            joined = c->e[i].edges;
            edges_append(&joined, c->e[i].size, &e);
            base = c->e[i].base;
        } else if (base + size == c->e[i].base &&
                   edges_room(e.n, c->e[i].edges.n + edges_meet(&e, &c->e[i].edges))) {
            joined = e;
            edges_append(&joined, size, &c->e[i].edges);
        } else {
            continue;
        }
        size += c->e[i].size;
        e = joined;
        cache_remove(c, i);
        i = c->n; /* the grown run may touch one already passed */
    }
    /* Where runs cannot be put together, a big run serves fewer blocks: keep less. The
     * global heap, which serves threads past their teardown, keeps nothing: no later
     * call of theirs would let its runs decay. */
    size_t most = span_moves() ? HK_LARGE_CACHE_BYTES : HK_LARGE_CACHE_BYTES / 4;
    if (h == &hk_heap_global) most = 0;
    if (size < MIN_RUN || size > most / 2) {
        unmap_counted(h, base, size);
        return;
    }
    while (c->n == HK_LARGE_CACHE_SLOTS)
        cache_drop(h, smallest(c));
    while (c->bytes + size > most) {
        uint32_t oldest = 0;
        for (uint32_t i = 1; i < c->n; i++)
            if (c->e[i].freed_ms < c->e[oldest].freed_ms) oldest = i;
        cache_drop(h, oldest);
    }
    cache_add(c, base, size, now, &e);
    c->purged = false;
    atomic_store_explicit(&c->used_ms, now, memory_order_relaxed);
}

/* A freed range to the cache when the caller holds it, else back to the OS. */
static void give_back(hk_heap_t *h, char *base, size_t size, const hk_edges_t *edges, bool held)
{
    if (held) {
        cache_put(h, base, size, edges);
    } else {
        unmap_counted(h, base, size);
    }
}

/* ---------------------------------------------------------------------------------------
 * The stand-ins' spare mappings, process-wide, under hk_site_lock
 * ------------------------------------------------------------------------------------- */
#define SPARE_SLOTS 32

static struct spare_s {
    char *base;
    size_t size;
    uint64_t freed_ms;
} spare[SPARE_SLOTS];
static _Atomic uint32_t nspare; /* read without the lock only to skip an empty check */

/* Take out the spares that have waited longer than HK_LARGE_DECAY_MS (under the lock);
 * returns how many went to out. */
static uint32_t spare_expired(uint64_t now, struct spare_s *out)
{
    uint32_t n = 0;
    for (uint32_t i = nspare; i-- > 0;)
        if (now - spare[i].freed_ms >= HK_LARGE_DECAY_MS) {
            out[n++] = spare[i];
            spare[i] = spare[--nspare];
        }
    return n;
}

static void spare_unmap(hk_heap_t *h, const struct spare_s *v, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        unmap_counted(h, v[i].base, v[i].size);
}

/* A spare mapping of `total` bytes to twice that (a bigger one would keep pages resident
 * that a small block never uses); NULL if none. Expired ones are not handed out but go
 * back to the OS. */
static char *spare_take(hk_heap_t *h, size_t total, size_t *got)
{
    char *base = NULL;
    struct spare_s old[SPARE_SLOTS];
    hk_site_lock();
    uint32_t n = spare_expired(hk_util_now_ms(), old);
    uint32_t best = UINT32_MAX;
    for (uint32_t i = 0; i < nspare; i++)
        if (spare[i].size >= total && spare[i].size / 2 <= total &&
            (best == UINT32_MAX || spare[i].size < spare[best].size))
            best = i;
    if (best != UINT32_MAX) {
        base = spare[best].base;
        *got = spare[best].size;
        spare[best] = spare[--nspare];
    }
    hk_site_unlock();
    spare_unmap(h, old, n);
    return base;
}

/* Keep a stand-in's mapping; false when the spares are full. Expired ones make room
 * first, unmapped after the lock is let go. */
static bool spare_put(hk_heap_t *h, char *base, size_t size)
{
    uint64_t now = hk_util_now_ms();
    struct spare_s old[SPARE_SLOTS];
    bool kept = false;
    hk_site_lock();
    uint32_t n = spare_expired(now, old);
    if (nspare < SPARE_SLOTS) {
        spare[nspare++] = (struct spare_s){base, size, now};
        kept = true;
    }
    hk_site_unlock();
    spare_unmap(h, old, n);
    return kept;
}

/* The expired spares (all of them, with `all`) back to the OS. */
static void spare_decay(hk_heap_t *h, bool all)
{
    if (atomic_load_explicit(&nspare, memory_order_relaxed) == 0) return;
    struct spare_s old[SPARE_SLOTS];
    hk_site_lock();
    uint32_t n = spare_expired(all ? UINT64_MAX : hk_util_now_ms(), old);
    hk_site_unlock();
    spare_unmap(h, old, n);
}

/* ---------------------------------------------------------------------------------------
 * Sweeps: a thread that stops calling the allocator never lets its runs decay, so once a
 * decay period any thread's decay tick gives back the pages of every other heap whose
 * owner has made no large call for that long (madvise: the runs stay, as address space,
 * for the owner to unmap or reuse). The heaps are picked under the heaps' lock and swept
 * after it is let go, each only while its runs can be held.
 * ------------------------------------------------------------------------------------- */
#define SWEEP_HEAPS 64 /* most heaps one sweep looks at */

static _Atomic uint64_t sweep_due_ms;

static void sweep_idle(hk_heap_t *self, uint64_t now)
{
    uint64_t due = atomic_load_explicit(&sweep_due_ms, memory_order_relaxed);
    if (now < due ||
        !atomic_compare_exchange_strong_explicit(&sweep_due_ms, &due, now + HK_LARGE_DECAY_MS,
                                                 memory_order_relaxed, memory_order_relaxed))
        return;
    if (!hk_trylock(&hk_heaps_lock)) { /* self may be the global heap, under it */
        atomic_store_explicit(&sweep_due_ms, due, memory_order_relaxed);
        return;
    }
    hk_heap_t *idle[SWEEP_HEAPS];
    uint32_t n = 0;
    for (hk_heap_t *o = hk_heaps_first(); o && n < SWEEP_HEAPS; o = o->next_all)
        if (o != self) {
            uint64_t used = atomic_load_explicit(&o->large.used_ms, memory_order_relaxed);
            if (used && used + HK_LARGE_DECAY_MS <= now) idle[n++] = o;
        }
    hk_unlock(&hk_heaps_lock);
    for (uint32_t k = 0; k < n; k++) {
        hk_large_cache_t *c = &idle[k]->large;
        if (!cache_hold(idle[k])) continue;
        uint64_t used = atomic_load_explicit(&c->used_ms, memory_order_relaxed);
        if (used == 0 || used + HK_LARGE_DECAY_MS > now) { /* its owner came back */
            cache_release(idle[k]);
            continue;
        }
        for (uint32_t i = 0; !c->purged && i < c->n; i++)
            hk_os_purge(c->e[i].base, c->e[i].size);
        c->purged = true;
        atomic_store_explicit(&c->used_ms, 0, memory_order_relaxed); /* swept: off the list */
        cache_release(idle[k]);
    }
}

/* Unmap the heap's cached runs that have waited longer than HK_LARGE_DECAY_MS (all of
 * them, with `all`) and the process's expired spares, and sweep the quiet heaps: a
 * refill now and then calls it, so that all go after a burst however few large calls
 * or samples follow. */
void hk_large_decay(hk_heap_t *h, bool all)
{
    uint64_t now = hk_util_now_ms();
    if (h->large.n) { /* read unheld only to skip: only a holder writes it, and only the
                         owner, which is here, takes runs out or puts them in */
        bool held = cache_hold(h);
        /* A sweep holds the runs for a madvise at most and waits for nothing: a
         * teardown (`all`) may wait it out. */
        for (int tries = 0; all && !held && tries < 1000; tries++) {
            sched_yield();
            held = cache_hold(h);
        }
        if (held) {
            decay_at(h, all, all ? 0 : now);
            cache_release(h);
        }
    }
    spare_decay(h, false);
    if (!all) sweep_idle(h, now);
}

/* A torn fork child (see sitetab.c) may have interrupted an update: it forgets its
 * spares. The heaps of the other threads, which the child leaves alone (heap.c), stay
 * held for good, so that no sweep reads their runs, which may be torn. Its own heap and
 * the abandoned ones, which its new threads adopt (unless it is torn), may have been
 * held by a sweep, whose thread is gone: a sweep only purges, so they are whole. */
void hk_large_fork_child(bool torn)
{
    if (torn) nspare = 0;
    for (hk_heap_t *h = hk_heaps_first(); h; h = h->next_all) {
        bool usable = h == hk_tls || (!torn && __atomic_load_n(&h->abandoned, __ATOMIC_RELAXED));
        atomic_store_explicit(&h->large.held, !usable, memory_order_relaxed);
        if (!usable) atomic_store_explicit(&h->large.used_ms, 0, memory_order_relaxed);
    }
}

/* ---------------------------------------------------------------------------------------
 * Allocation and free
 * ------------------------------------------------------------------------------------- */
/* A fresh mapping for large pages; when the address space or the commit limit is spent,
 * the heap's cached runs (if the caller holds them) and the spares go back first and it
 * is tried again. */
static char *map_fresh(hk_heap_t *h, size_t size, size_t align, bool held)
{
    char *p = hk_os_map_aligned(size, align);
    if (p == NULL) {
        if (held) decay_at(h, true, 0);
        if (!hk_site_lock_held_by_me()) spare_decay(h, true);
        p = hk_os_map_aligned(size, align);
    }
    if (p) h->ctr->c[HK_STAT_mapped] += size;
    return p;
}

static void *large_alloc(hk_heap_t *h, size_t size, size_t align, bool stand_in)
{
    size_t off = block_offset(align);
    size_t map_align = align > HK_SEGMENT_SIZE ? align : HK_SEGMENT_SIZE;
    if (size > PTRDIFF_MAX - off - map_align) {
        errno = ENOMEM;
        return NULL;
    }
    size_t total = hk_align_up(off + size, HK_OS_PAGE), have = total;
    char *base = NULL;
    hk_edges_t edges = ONE_MAPPING;
    bool held = !stand_in && cache_hold(h);
    if (held && h->large.n)
        atomic_store_explicit(&h->large.used_ms, hk_util_now_ms(), memory_order_relaxed);
    if (stand_in)
        base = spare_take(h, total, &have);
    else if (held && align <= HK_OS_PAGE && h->large.n)
        base = cache_take(h, total, &have, &edges);
    bool fresh = base == NULL;
    if (fresh) {
        edges = ONE_MAPPING;
        base = map_fresh(h, total, map_align, held);
    }
    if (held) cache_release(h);
    if (base == NULL) return NULL;
    char *p = base + off;
    hk_segment_t *seg = hk_segment_of(p);
    seg->kind = HK_SEG_LARGE;
    seg->map_base = base;
    seg->map_size = have;
    seg->usable = have - off;
    seg->zeroed = fresh;
    seg->edges = edges;
    seg->track = 0;
    h->ctr->c[HK_STAT_large_bytes] += seg->usable; /* large_alloc: the caller's to count */
    return p;
}

void *hk_large_alloc(hk_heap_t *h, size_t size, size_t align)
{
    return large_alloc(h, size, align, false);
}

void *hk_large_alloc_stand_in(hk_heap_t *h, size_t size, size_t align)
{
    return large_alloc(h, size, align, true);
}

/* A sampled block that stood in for a small one (sitetab.c) is counted as a free of
 * its class, where its allocation was counted. */
void hk_large_free(hk_heap_t *h, hk_segment_t *seg)
{
    uint32_t cls = seg->track ? seg->track_cls : HK_NCLASSES;
    if (seg->track) hk_site_freed(seg);
    if (cls < HK_NCLASSES)
        h->ctr->class_free[cls]++;
    else
        h->ctr->c[HK_STAT_large_free]++;
    h->ctr->c[HK_STAT_free_slow]++;
    h->ctr->c[HK_STAT_large_bytes] -= seg->usable;
    char *base = seg->map_base;
    size_t size = seg->map_size;
    if (cls >= HK_NCLASSES) {
        hk_edges_t edges = seg->edges;
        edges_count(-(int64_t)edges.n);
        bool held = cache_hold(h);
        give_back(h, base, size, &edges, held);
        if (held) cache_release(h);
    } else if (!spare_put(h, base, size)) {
        unmap_counted(h, base, size);
    }
}

/* A block hk_large_alloc just mapped for sitetab.c, never handed out: back, uncounted
 * (no large_alloc was counted for it). */
void hk_large_discard(hk_heap_t *h, hk_segment_t *seg)
{
    h->ctr->c[HK_STAT_large_bytes] -= seg->usable;
    if (spare_put(h, seg->map_base, seg->map_size)) return;
    unmap_counted(h, seg->map_base, seg->map_size);
}

size_t hk_large_usable(const void *p)
{
    return hk_segment_of(p)->usable;
}

bool hk_large_zeroed(const void *p)
{
    return hk_segment_of(p)->zeroed;
}

/* Grow a block whose mapping is `len` bytes by `need` bytes from the cached run that
 * starts where it ends, if one is big enough and edges permit: in place, its pages
 * resident. The run may be another mapping, so an edge is added there. Returns the
 * bytes the mapping grew by, 0 when no run could serve. */
static size_t absorb_run(hk_heap_t *h, hk_segment_t *seg, size_t len, size_t need)
{
    hk_large_cache_t *c = &h->large;
    char *end = (char *)seg->map_base + len;
    for (uint32_t i = 0; i < c->n; i++) {
        if (c->e[i].base != end) continue;
        if (c->e[i].size < need || !span_moves() || !edges_span(len + c->e[i].size)) return 0;
        size_t take = c->e[i].size - need < MIN_RUN ? c->e[i].size : need;
        hk_edges_t piece = edges_slice(&c->e[i].edges, c->e[i].size, 0, take);
        uint32_t more = piece.n + edges_meet(&seg->edges, &piece);
        if (!edges_room(seg->edges.n, more)) return 0;
        piece = cache_carve(h, i, end, take);
        edges_append(&seg->edges, len, &piece);
        edges_count(more);
        return take;
    }
    return 0;
}

/* hk_large_realloc, `held`: whether it holds the heap's runs. */
static void *large_realloc(hk_heap_t *h, void *p, size_t size, bool held)
{
    hk_segment_t *seg = hk_segment_of(p);
    char *base = seg->map_base;
    size_t off = (size_t)((char *)p - base);
    if (size > PTRDIFF_MAX - off - 2 * HK_SEGMENT_SIZE) {
        errno = ENOMEM;
        return NULL;
    }
    size_t old_total = seg->map_size, total = hk_align_up(off + size, HK_OS_PAGE);
    if (total <= old_total && total >= old_total / 2) return p;
    size_t absorbed = 0;
    if (total < old_total) {
        hk_edges_t tail = edges_slice(&seg->edges, old_total, total, old_total - total);
        edges_count(-(int64_t)seg->edges.n);
        seg->edges = edges_slice(&seg->edges, old_total, 0, total);
        edges_count(seg->edges.n);
        give_back(h, base + total, old_total - total, &tail, held);
    } else if (held && (absorbed = absorb_run(h, seg, old_total, total - old_total)) != 0) {
        total = old_total + absorbed;
    } else {
        /* Room to grow again: half as much again, up to 64 MiB more. */
        size_t room = old_total / 2 < ((size_t)64 << 20) ? old_total / 2 : (size_t)64 << 20;
        size_t roomy = hk_align_up(total > old_total + room ? total : old_total + room, HK_OS_PAGE);
        if (hk_os_grow_in_place(base, old_total, roomy)) {
            total = roomy;
            seg->edges.hi = true;
        } else if (hk_os_grow_in_place(base, old_total, total)) {
            seg->edges.hi = true;
        } else {
            /* Reserve an aligned range and move the old mapping, header first, onto it,
             * grown to fill it. A mapping that may be several of the kernel's is copied
             * instead: those cannot grow, and a move of several may fail halfway, with
             * the block in two places. */
            size_t map_align = off >= HK_SEGMENT_SIZE ? off : HK_SEGMENT_SIZE;
            char *dest = map_fresh(h, roomy, map_align, held);
            if (dest == NULL) return NULL;
            h->ctr->c[HK_STAT_mapped] -= roomy; /* counted below */
            hk_edges_t edges = seg->edges;
            if (seg->edges.n) {
                memcpy(dest, base, old_total);
                h->ctr->c[HK_STAT_mapped] += old_total; /* cache_put counts the old one */
                edges_count(-(int64_t)edges.n);
                give_back(h, base, old_total, &edges, held);
                edges = ONE_MAPPING;
            } else if (hk_os_remap(base, old_total, roomy, dest)) {
                edges = ONE_MAPPING;
            } else if (span_moves() && edges_room(0, 1) && edges_span(roomy) &&
                       hk_os_remap(base, old_total, old_total, dest)) {
                /* Growing while moving counts both ranges against an address-space
                 * limit; a move of the old size does not, and leaves the rest of the
                 * range after it, another mapping. */
                hk_edges_t fresh = ONE_MAPPING;
                edges = ONE_MAPPING;
                edges_append(&edges, old_total, &fresh);
                edges_count(1);
            } else {
                hk_os_unmap(dest, roomy);
                errno = ENOMEM;
                return NULL;
            }
            total = roomy;
            base = dest;
            p = base + off;
            seg = hk_segment_of(p);
            seg->map_base = base;
            seg->edges = edges;
        }
        h->ctr->c[HK_STAT_mapped] += total - old_total;
    }
    h->ctr->c[HK_STAT_large_bytes] += (total - off) - seg->usable;
    seg->map_size = total;
    seg->usable = total - off;
    return p;
}

/* Resize a large block to `size` (> HK_SMALL_MAX). Returns the block, maybe moved, or
 * NULL with the old block untouched. A block keeps its mapping while the new size fits
 * and uses at least half of it; a shrunk block's tail goes to the cache, and a block
 * grows first into the cached run behind it. */
void *hk_large_realloc(hk_heap_t *h, void *p, size_t size)
{
    bool held = cache_hold(h);
    void *q = large_realloc(h, p, size, held);
    if (held) cache_release(h);
    return q;
}
