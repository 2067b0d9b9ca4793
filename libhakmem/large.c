/* large.c: blocks bigger than the largest size class, each in a mapping of its own. The
 * mapping is aligned so that hk_segment_of finds its header, whose zeroed page table
 * sends every free of it past the fast path.
 *
 * A freed mapping is kept in the freeing thread's heap (a few, bounded in bytes, each
 * for at most HK_LARGE_DECAY_MS) and handed to the next large allocation it fits, trimmed
 * when much too big: its pages are still resident, so the program neither waits for a
 * map and an unmap nor takes the page faults again. Expired entries are unmapped on the
 * heap's next large call or refill. realloc grows in place when the kernel can, and
 * otherwise moves the pages instead of copying them, reserving room to grow again
 * (address space only: untouched pages cost no memory).
 *
 * Stand-ins (sitetab.c's followed samples of small blocks) are freed by whichever thread
 * frees the block, often not the one that allocated it, and a short-lived thread's cache
 * goes with it: so their mappings are kept process-wide instead, a few, under the site
 * table's lock, and a sampling thread does not map and unmap (an IPI to every CPU the
 * process runs on) at each sample. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "internal.h"

#define HEADER_SIZE hk_align_up(sizeof(hk_segment_t), HK_OS_PAGE)
#define TRIM_SLACK  ((size_t)1 << 20) /* a cached mapping this much too big is trimmed */

/* Offset of the block from the start of its mapping for a given alignment. */
static size_t block_offset(size_t align)
{
    if (align >= HK_SEGMENT_SIZE) return align; /* header in the 4 MiB below the block */
    return hk_align_up(HEADER_SIZE, align > HK_OS_PAGE ? align : HK_OS_PAGE);
}

/* ---------------------------------------------------------------------------------------
 * The cache of freed mappings
 * ------------------------------------------------------------------------------------- */
static void cache_drop(hk_heap_t *h, uint32_t i)
{
    hk_large_cache_t *c = &h->large;
    hk_os_unmap(c->e[i].base, c->e[i].size);
    h->ctr->c[HK_STAT_mapped] -= c->e[i].size;
    c->bytes -= c->e[i].size;
    c->e[i] = c->e[--c->n];
}

static void decay_at(hk_heap_t *h, bool all, uint64_t now)
{
    for (uint32_t i = h->large.n; i-- > 0;)
        if (all || now - h->large.e[i].freed_ms >= HK_LARGE_DECAY_MS) cache_drop(h, i);
}

/* A cached mapping of at least `total` bytes, trimmed to it when much bigger; NULL if
 * none. The smallest that fits wins. */
static char *cache_take(hk_heap_t *h, size_t total, size_t *got)
{
    hk_large_cache_t *c = &h->large;
    uint32_t best = UINT32_MAX;
    for (uint32_t i = 0; i < c->n; i++)
        if (c->e[i].size >= total && (best == UINT32_MAX || c->e[i].size < c->e[best].size))
            best = i;
    if (best == UINT32_MAX) return NULL;
    char *base = c->e[best].base;
    size_t size = c->e[best].size;
    c->bytes -= size;
    c->e[best] = c->e[--c->n];
    if (size - total > TRIM_SLACK && size - total > total / 4) {
        hk_os_unmap(base + total, size - total);
        h->ctr->c[HK_STAT_mapped] -= size - total;
        size = total;
    }
    *got = size;
    return base;
}

/* Keep a freed mapping; false when it is too big to keep. Room is made by unmapping the
 * oldest entries. */
static bool cache_put(hk_heap_t *h, char *base, size_t size)
{
    hk_large_cache_t *c = &h->large;
    if (size > HK_LARGE_CACHE_BYTES / 2) return false;
    uint64_t now = hk_util_now_ms();
    decay_at(h, false, now);
    while (c->n == HK_LARGE_CACHE_SLOTS || c->bytes + size > HK_LARGE_CACHE_BYTES) {
        uint32_t oldest = 0;
        for (uint32_t i = 1; i < c->n; i++)
            if (c->e[i].freed_ms < c->e[oldest].freed_ms) oldest = i;
        cache_drop(h, oldest);
    }
    c->e[c->n].base = base;
    c->e[c->n].size = size;
    c->e[c->n].freed_ms = now;
    c->n++;
    c->bytes += size;
    return true;
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
    for (uint32_t i = 0; i < n; i++) {
        hk_os_unmap(v[i].base, v[i].size);
        h->ctr->c[HK_STAT_mapped] -= v[i].size;
    }
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

/* The expired spares back to the OS. */
static void spare_decay(hk_heap_t *h)
{
    if (atomic_load_explicit(&nspare, memory_order_relaxed) == 0) return;
    struct spare_s old[SPARE_SLOTS];
    hk_site_lock();
    uint32_t n = spare_expired(hk_util_now_ms(), old);
    hk_site_unlock();
    spare_unmap(h, old, n);
}

/* Unmap the heap's cached mappings that have waited longer than HK_LARGE_DECAY_MS
 * (all of them, with `all`), and the process's expired spares: a refill now and then
 * calls it, so that both go after a burst however few large calls or samples follow. */
void hk_large_decay(hk_heap_t *h, bool all)
{
    if (h->large.n) decay_at(h, all, all ? 0 : hk_util_now_ms());
    spare_decay(h);
}

/* A torn fork child (see sitetab.c) may have interrupted an update: it forgets its spares. */
void hk_large_fork_child(bool torn)
{
    if (torn) nspare = 0;
}

/* ---------------------------------------------------------------------------------------
 * Allocation and free
 * ------------------------------------------------------------------------------------- */
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
    if (stand_in)
        base = spare_take(h, total, &have);
    else if (align <= HK_OS_PAGE && h->large.n)
        base = cache_take(h, total, &have);
    bool fresh = base == NULL;
    if (fresh) {
        if ((base = hk_os_map_aligned(total, map_align)) == NULL) return NULL;
        h->ctr->c[HK_STAT_mapped] += total;
    }
    char *p = base + off;
    hk_segment_t *seg = hk_segment_of(p);
    seg->kind = HK_SEG_LARGE;
    seg->map_base = base;
    seg->map_size = have;
    seg->usable = have - off;
    seg->zeroed = fresh;
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
    h->ctr->c[HK_STAT_free]++;
    h->ctr->c[HK_STAT_free_slow]++;
    h->ctr->c[HK_STAT_large_bytes] -= seg->usable;
    char *base = seg->map_base;
    size_t size = seg->map_size;
    if (cls < HK_NCLASSES ? spare_put(h, base, size) : cache_put(h, base, size)) return;
    h->ctr->c[HK_STAT_mapped] -= size;
    hk_os_unmap(base, size);
}

/* A block hk_large_alloc just mapped for sitetab.c, never handed out: back, uncounted
 * (no large_alloc was counted for it). */
void hk_large_discard(hk_heap_t *h, hk_segment_t *seg)
{
    h->ctr->c[HK_STAT_large_bytes] -= seg->usable;
    if (spare_put(h, seg->map_base, seg->map_size)) return;
    h->ctr->c[HK_STAT_mapped] -= seg->map_size;
    hk_os_unmap(seg->map_base, seg->map_size);
}

size_t hk_large_usable(const void *p)
{
    return hk_segment_of(p)->usable;
}

bool hk_large_zeroed(const void *p)
{
    return hk_segment_of(p)->zeroed;
}

/* Resize a large block to `size` (> HK_SMALL_MAX). Returns the block, maybe moved, or
 * NULL with the old block untouched. A block keeps its mapping while the new size fits
 * and uses at least half of it. */
void *hk_large_realloc(hk_heap_t *h, void *p, size_t size)
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
    if (total < old_total) {
        hk_os_unmap(base + total, old_total - total);
    } else {
        /* Room to grow again: half as much again, up to 64 MiB more. */
        size_t room = old_total / 2 < ((size_t)64 << 20) ? old_total / 2 : (size_t)64 << 20;
        size_t roomy = hk_align_up(total > old_total + room ? total : old_total + room, HK_OS_PAGE);
        if (hk_os_grow_in_place(base, old_total, roomy)) {
            total = roomy;
        } else if (!hk_os_grow_in_place(base, old_total, total)) {
            /* Reserve an aligned range, then move the old pages onto it. The header moves
             * with them, so it only needs its sizes updated. */
            size_t map_align = off >= HK_SEGMENT_SIZE ? off : HK_SEGMENT_SIZE;
            char *dest = hk_os_map_aligned(roomy, map_align);
            if (dest == NULL) return NULL;
            if (!hk_os_remap(base, old_total, roomy, dest)) {
                hk_os_unmap(dest, roomy);
                errno = ENOMEM;
                return NULL;
            }
            total = roomy;
            base = dest;
            p = base + off;
            seg = hk_segment_of(p);
            seg->map_base = base;
        }
    }
    h->ctr->c[HK_STAT_mapped] += total - old_total;
    h->ctr->c[HK_STAT_large_bytes] += (total - off) - seg->usable;
    seg->map_size = total;
    seg->usable = total - off;
    return p;
}
