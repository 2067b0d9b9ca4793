/* table.c: rows, columns and summary lines of hakstat's views. */
#include "config.h"

#include "table.h"

#include "sym.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---------------------------------------------------------------------------------------
 * Number formatting
 * ------------------------------------------------------------------------------------- */
void hs_table_fmt_count(char *buf, size_t len, double v)
{
    if (isnan(v)) {
        snprintf(buf, len, "-");
        return;
    }
    static const char suffix[] = " kMGTPE";
    int i = 0;
    while (fabs(v) >= 1000 && i < 6) {
        v /= 1000;
        i++;
    }
    if (i == 0)
        snprintf(buf, len, v == floor(v) ? "%.0f" : "%.1f", v);
    else
        snprintf(buf, len,
                 fabs(v) < 10    ? "%.2f%c"
                 : fabs(v) < 100 ? "%.1f%c"
                                 : "%.0f%c",
                 v, suffix[i]);
}

void hs_table_fmt_bytes(char *buf, size_t len, double v)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    int i = 0;
    while (fabs(v) >= 1024 && i < 5) {
        v /= 1024;
        i++;
    }
    snprintf(buf, len, i == 0 ? "%.0f%s" : "%.1f%s", v, units[i]);
}

void hs_table_fmt_pct(char *buf, size_t len, double ratio)
{
    if (isnan(ratio))
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%.2f%%", ratio * 100);
}

static void fmt_cycles(char *buf, size_t len, double c)
{
    if (isnan(c))
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%.0f", c);
}

/* ---------------------------------------------------------------------------------------
 * Columns
 * ------------------------------------------------------------------------------------- */
enum {
    T_TID,
    T_NAME,
    T_MALLOC,
    T_FREE,
    T_BYTES,
    T_REFILL,
    T_REMOTE,
    T_COVER,
    T_HIT,
    T_CYC_M,
    T_CYC_F,
    T_CYC_R
};
static const hs_col_t thread_cols[] = {
    [T_TID] = {"TID", 8, true, "kernel thread id"},
    [T_NAME] = {"NAME", 16, false, "thread name"},
    [T_MALLOC] = {"MALLOC", 8, true, "blocks allocated (per second, or total)"},
    [T_FREE] = {"FREE", 8, true, "blocks freed"},
    [T_BYTES] = {"BYTES", 9, true, "bytes requested"},
    [T_REFILL] = {"REFILL", 7, true, "thread-cache refills"},
    [T_REMOTE] = {"REMOTE", 7, true, "frees of blocks other threads own"},
    [T_COVER] = {"COVER%", 7, true, "allocations in size classes (cache path)"},
    [T_HIT] = {"HIT%", 7, true, "cache-path allocations served without a refill"},
    [T_CYC_M] = {"CYC_M", 6, true, "average cycles per timed malloc"},
    [T_CYC_F] = {"CYC_F", 6, true, "average cycles per timed free"},
    [T_CYC_R] = {"CYC_RF", 6, true, "average cycles per timed refill"},
};

enum { C_CLASS, C_SIZE, C_ALLOC, C_FREE, C_LIVE, C_LIVE_BYTES, C_SHARE };
static const hs_col_t class_cols[] = {
    [C_CLASS] = {"CLASS", 5, true, "size class index"},
    [C_SIZE] = {"SIZE", 7, true, "block size of the class in bytes"},
    [C_ALLOC] = {"ALLOC", 8, true, "blocks allocated (per second, or total)"},
    [C_FREE] = {"FREE", 8, true, "blocks freed"},
    [C_LIVE] = {"LIVE", 9, true, "blocks allocated and not yet freed"},
    [C_LIVE_BYTES] = {"LIVE_BYTES", 10, true, "bytes in live blocks"},
    [C_SHARE] = {"SHARE%", 7, true, "share of allocations"},
};

enum { M_CLASS, M_SIZE, M_SLABS, M_BLOCKS, M_LIVE, M_CACHED, M_FREE, M_BYTES, M_UTIL };
static const hs_col_t memory_cols[] = {
    [M_CLASS] = {"CLASS", 5, true, "size class index"},
    [M_SIZE] = {"SIZE", 7, true, "block size of the class in bytes"},
    [M_SLABS] = {"SLABS", 6, true, "slabs of the class"},
    [M_BLOCKS] = {"BLOCKS", 8, true, "blocks those slabs hold"},
    [M_LIVE] = {"LIVE", 8, true, "blocks the program holds"},
    [M_CACHED] = {"CACHED", 8, true,
                  "blocks out of slabs but not live: thread caches, remote frees"},
    [M_FREE] = {"FREE", 8, true, "blocks free in slabs"},
    [M_BYTES] = {"SLAB_BYTES", 10, true, "bytes of the class's slabs (blocks times size)"},
    [M_UTIL] = {"UTIL%", 7, true, "live blocks as a share of the slabs' blocks"},
};

enum { K_NAME, K_TOTAL, K_RATE, K_UNIT, K_DOC };
static const hs_col_t total_cols[] = {
    [K_NAME] = {"COUNTER", 16, false, "counter name, as in the segment"},
    [K_TOTAL] = {"TOTAL", 12, true, "value over all threads, exited ones included"},
    [K_RATE] = {"PER_S", 10, true, "change per second"},
    [K_UNIT] = {"UNIT", 8, false, "unit"},
    [K_DOC] = {"DESCRIPTION", 40, false, "what it counts"},
};

const hs_col_t *hs_table_cols(enum hs_view view, int *ncols)
{
    switch (view) {
    case HS_VIEW_SITES:
    case HS_VIEW_GROWTH:
    case HS_VIEW_STACK:
        return hs_table_site_cols(view, ncols);
    case HS_VIEW_CLASSES:
        *ncols = (int)(sizeof(class_cols) / sizeof(class_cols[0]));
        return class_cols;
    case HS_VIEW_TOTALS:
        *ncols = (int)(sizeof(total_cols) / sizeof(total_cols[0]));
        return total_cols;
    case HS_VIEW_MEMORY:
        *ncols = (int)(sizeof(memory_cols) / sizeof(memory_cols[0]));
        return memory_cols;
    default:
        *ncols = (int)(sizeof(thread_cols) / sizeof(thread_cols[0]));
        return thread_cols;
    }
}

const char *hs_table_view_name(enum hs_view view)
{
    static const char *const names[] = {"threads", "classes", "totals", "sites",
                                        "memory",  "growth",  "stack"};
    _Static_assert(sizeof(names) / sizeof(names[0]) == HS_VIEW_COUNT, "a name per view");
    return view < HS_VIEW_COUNT ? names[view] : "?";
}

int hs_table_default_sort(enum hs_view view)
{
    return view == HS_VIEW_THREADS   ? T_MALLOC
           : view == HS_VIEW_CLASSES ? C_ALLOC
           : view == HS_VIEW_TOTALS  ? K_NAME
           : view == HS_VIEW_MEMORY  ? M_BYTES
                                     : hs_table_site_default_sort(view);
}

int hs_table_col(const hs_table_t *t, const char *name)
{
    for (int i = 0; i < t->ncols; i++)
        if (strcasecmp(t->cols[i].name, name) == 0) return i;
    return -1;
}

/* ---------------------------------------------------------------------------------------
 * Rows
 * ------------------------------------------------------------------------------------- */
static void cell_num(hs_row_t *r, int col, double v)
{
    r->val[col] = v;
    hs_table_fmt_count(r->cell[col], HS_CELL_LEN, v);
}

void hs_table_cell_num(hs_row_t *r, int col, double v)
{
    cell_num(r, col, v);
}

/* Text whole when it fits the cell, else cut and ending in "~" (the screen cuts again to
 * its column's width, with its own mark). */
void hs_table_cell_text(hs_row_t *r, int col, const char *s)
{
    size_t n = strlen(s);
    if (n < HS_CELL_LEN) {
        memcpy(r->cell[col], s, n + 1);
        return;
    }
    memcpy(r->cell[col], s, HS_CELL_LEN - 2);
    r->cell[col][HS_CELL_LEN - 2] = '~';
    r->cell[col][HS_CELL_LEN - 1] = '\0';
}

static void cell_pct(hs_row_t *r, int col, double v)
{
    r->val[col] = v;
    hs_table_fmt_pct(r->cell[col], HS_CELL_LEN, v);
}

static void cell_cyc(hs_row_t *r, int col, double v)
{
    r->val[col] = v;
    fmt_cycles(r->cell[col], HS_CELL_LEN, v);
}

/* Rates over the interval, or totals (as rates over 1 s) when asked or when there is
 * no earlier figure for this thread. */
static void thread_row(hs_row_t *r, const hs_seg_t *seg, const hs_snap_t *now,
                       const hs_snap_t *prev, const hs_thread_t *t, bool totals)
{
    const hs_thread_t *p = totals ? NULL : hs_snap_find(prev, t);
    hs_metrics_t m, all;
    double dt = p ? now->t - prev->t : 0;
    double age = now->now_ns > t->start_ns ? (double)(now->now_ns - t->start_ns) / 1e9 : 1;
    hs_snap_metrics(seg, &t->n, p ? &p->n : NULL, dt, totals ? 1 : age, &m);
    hs_snap_metrics(seg, &t->n, NULL, 0, 1, &all);
    r->val[T_TID] = (double)t->tid;
    snprintf(r->cell[T_TID], HS_CELL_LEN, "%llu", (unsigned long long)t->tid);
    hs_table_cell_text(r, T_NAME, t->name[0] ? t->name : "?");
    hs_table_cell_num(r, T_MALLOC, m.malloc_rate);
    hs_table_cell_num(r, T_FREE, m.free_rate);
    r->val[T_BYTES] = m.bytes_rate;
    hs_table_fmt_bytes(r->cell[T_BYTES], HS_CELL_LEN, m.bytes_rate);
    cell_num(r, T_REFILL, m.refill_rate);
    cell_num(r, T_REMOTE, m.remote_rate);
    cell_pct(r, T_COVER, isnan(m.coverage) ? all.coverage : m.coverage);
    cell_pct(r, T_HIT, isnan(m.hit_rate) ? all.hit_rate : m.hit_rate);
    /* Cycles of this interval only: "-" when none was timed in it (hakstat(1)). */
    cell_cyc(r, T_CYC_M, m.cyc_malloc);
    cell_cyc(r, T_CYC_F, m.cyc_free);
    cell_cyc(r, T_CYC_R, m.cyc_refill);
}

/* One row per class with slabs or live blocks; "-" where the header has no memory
 * by class (every ABI 2 writer's has; a truncated one may not). */
static void memory_rows(hs_table_t *t, const hs_seg_t *seg, const hs_snap_t *now)
{
    hs_memory_t m;
    hs_snap_memory(seg, now, &m);
    for (int c = 0; c < HK_STATS_NCLASSES; c++) {
        const hs_class_mem_t *k = &m.cls[c];
        if (k->slabs == 0 && k->live == 0) continue;
        hs_row_t *r = &t->rows[t->nrows++];
        r->val[M_CLASS] = c;
        snprintf(r->cell[M_CLASS], HS_CELL_LEN, "%d", c);
        r->val[M_SIZE] = seg->class_size[c];
        snprintf(r->cell[M_SIZE], HS_CELL_LEN, "%u", seg->class_size[c]);
        double nan = NAN;
        hs_table_cell_num(r, M_SLABS, m.known ? (double)k->slabs : nan);
        hs_table_cell_num(r, M_BLOCKS, m.known ? (double)k->blocks : nan);
        hs_table_cell_num(r, M_LIVE, (double)k->live);
        hs_table_cell_num(r, M_CACHED, m.known ? (double)k->cached : nan);
        hs_table_cell_num(r, M_FREE, m.known ? (double)k->free : nan);
        r->val[M_BYTES] = m.known ? (double)k->blocks * seg->class_size[c] : nan;
        if (m.known)
            hs_table_fmt_bytes(r->cell[M_BYTES], HS_CELL_LEN, r->val[M_BYTES]);
        else
            snprintf(r->cell[M_BYTES], HS_CELL_LEN, "-");
        cell_pct(r, M_UTIL, k->util);
    }
}

int hs_table_build(hs_table_t *t, enum hs_view view, const hs_seg_t *seg, const hs_snap_t *now,
                   const hs_snap_t *prev, bool totals)
{
    memset(t, 0, sizeof(*t));
    t->view = view;
    t->cols = hs_table_cols(view, &t->ncols);
    double dt = prev && !totals ? now->t - prev->t : 0;
    if (view == HS_VIEW_SITES || view == HS_VIEW_GROWTH || view == HS_VIEW_STACK)
        return hs_table_site_rows(t, seg, now, dt > 0 ? prev : NULL);
    size_t cap = view == HS_VIEW_THREADS                             ? now->nthreads
                 : view == HS_VIEW_CLASSES || view == HS_VIEW_MEMORY ? HK_STATS_NCLASSES
                                                                     : seg->ncounters;
    t->rows = calloc(cap ? cap : 1, sizeof(hs_row_t));
    if (t->rows == NULL) return -1;

    if (view == HS_VIEW_MEMORY) {
        memory_rows(t, seg, now);
    } else if (view == HS_VIEW_THREADS) {
        for (uint32_t i = 0; i < now->nthreads; i++)
            thread_row(&t->rows[t->nrows++], seg, now, prev, &now->threads[i], totals);
    } else if (view == HS_VIEW_CLASSES) {
        uint64_t all = 0;
        for (int c = 0; c < HK_STATS_NCLASSES; c++)
            all += now->total.class_alloc[c];
        for (int c = 0; c < HK_STATS_NCLASSES; c++) {
            const hs_counts_t *n = &now->total, *p = dt > 0 ? &prev->total : NULL;
            uint64_t a = n->class_alloc[c], f = n->class_free[c];
            if (a == 0 && f == 0) continue;
            hs_row_t *r = &t->rows[t->nrows++];
            double div = dt > 0 ? dt : 1;
            r->val[C_CLASS] = c;
            snprintf(r->cell[C_CLASS], HS_CELL_LEN, "%d", c);
            r->val[C_SIZE] = seg->class_size[c];
            snprintf(r->cell[C_SIZE], HS_CELL_LEN, "%u", seg->class_size[c]);
            cell_num(r, C_ALLOC, (double)(a - (p ? p->class_alloc[c] : 0)) / div);
            cell_num(r, C_FREE, (double)(f - (p ? p->class_free[c] : 0)) / div);
            double live = a > f ? (double)(a - f) : 0;
            cell_num(r, C_LIVE, live);
            r->val[C_LIVE_BYTES] = live * seg->class_size[c];
            hs_table_fmt_bytes(r->cell[C_LIVE_BYTES], HS_CELL_LEN, r->val[C_LIVE_BYTES]);
            cell_pct(r, C_SHARE, all ? (double)a / (double)all : NAN);
        }
    } else {
        for (uint32_t i = 0; i < seg->ncounters; i++) {
            hs_row_t *r = &t->rows[t->nrows++];
            snprintf(r->cell[K_NAME], HS_CELL_LEN, "%s", seg->desc[i].name);
            uint64_t v = now->total.c[i];
            bool gauge = hs_snap_is_gauge(seg, i);
            cell_num(r, K_TOTAL, gauge ? (double)(int64_t)v : (double)v);
            double rate = dt > 0 ? (double)(int64_t)(v - prev->total.c[i]) / dt : NAN;
            cell_num(r, K_RATE, rate);
            snprintf(r->cell[K_UNIT], HS_CELL_LEN, "%s", seg->desc[i].unit);
            hs_table_cell_text(r, K_DOC, seg->desc[i].doc);
            r->val[K_NAME] = i;
        }
    }
    return 0;
}

void hs_table_free(hs_table_t *t)
{
    free(t->rows);
    t->rows = NULL;
    t->nrows = 0;
}

static int sort_col;
static bool sort_invert, sort_numeric;

/* NaN ("-") sorts last either way. */
static int row_cmp(const void *a, const void *b)
{
    const hs_row_t *x = a, *y = b;
    int r;
    if (sort_numeric) {
        double u = x->val[sort_col], v = y->val[sort_col];
        if (isnan(u) || isnan(v)) return isnan(u) - isnan(v);
        r = u < v ? 1 : u > v ? -1 : 0;
    } else {
        r = strcmp(x->cell[sort_col], y->cell[sort_col]);
    }
    return sort_invert ? -r : r;
}

void hs_table_sort(hs_table_t *t, int col, bool invert)
{
    if (col < 0 || col >= t->ncols) return;
    sort_col = col;
    sort_invert = invert;
    sort_numeric = t->cols[col].numeric;
    qsort(t->rows, (size_t)t->nrows, sizeof(hs_row_t), row_cmp);
}

/* ---------------------------------------------------------------------------------------
 * Summary
 * ------------------------------------------------------------------------------------- */
static void cyc_part(char *buf, size_t len, const char *what, const hs_snap_t *now, double c)
{
    if (isnan(c)) {
        snprintf(buf, len, "%s -", what);
        return;
    }
    double ns = hs_snap_cycles_to_ns(now, c);
    if (isnan(ns))
        snprintf(buf, len, "%s %.0f", what, c);
    else
        snprintf(buf, len, "%s %.0f (%.1fns)", what, c, ns);
}

/* The cycles line. Rates show this interval's timed calls only: with profiling off, or
 * nothing timed since the last refresh, a dash and the reason, never older figures. */
static void cycles_line(char *line, const hs_snap_t *now, const hs_metrics_t *m, bool rates,
                        double dt)
{
    char cm[48], cf[48], cr[48], cx[48], why[96] = "";
    bool off = now->prof_period == 0;
    bool none =
        isnan(m->cyc_malloc) && isnan(m->cyc_free) && isnan(m->cyc_refill) && isnan(m->cyc_remote);
    if (rates && off) {
        snprintf(line, HS_SUMMARY_LEN, "cycles/op: - (profiling off; P or --profile turns it on)");
        return;
    }
    if (rates && none)
        snprintf(why, sizeof(why), "  (none timed in the last %.1fs at 1/%llu calls)", dt,
                 (unsigned long long)now->prof_period);
    else if (!rates && off)
        snprintf(why, sizeof(why),
                 none ? "  (profiling off)" : "  (since start; profiling off now)");
    cyc_part(cm, sizeof(cm), "malloc", now, m->cyc_malloc);
    cyc_part(cf, sizeof(cf), "free", now, m->cyc_free);
    cyc_part(cr, sizeof(cr), "refill", now, m->cyc_refill);
    cyc_part(cx, sizeof(cx), "remote", now, m->cyc_remote);
    snprintf(line, HS_SUMMARY_LEN, "cycles/op: %s  %s  %s  %s%s", cm, cf, cr, cx, why);
}

/* Threads started, exited and heaps adopted: per second over the interval, or totals. */
static void threads_line(char *line, const hs_snap_t *now, const hs_snap_t *prev, bool rates)
{
    if (!now->has_tail) {
        snprintf(line, HS_SUMMARY_LEN, "threads: started - exited - (the writer does not count)");
        return;
    }
    double dt = rates ? now->t - prev->t : 1;
    const uint64_t cur[3] = {now->threads_started, now->threads_exited, now->heaps_adopted};
    const uint64_t old[3] = {rates ? prev->threads_started : 0, rates ? prev->threads_exited : 0,
                             rates ? prev->heaps_adopted : 0};
    char v[3][32];
    for (int i = 0; i < 3; i++)
        hs_table_fmt_count(v[i], sizeof(v[i]),
                           cur[i] >= old[i] ? (double)(cur[i] - old[i]) / dt : 0);
    char all[32];
    hs_table_fmt_count(all, sizeof(all), (double)now->threads_started);
    snprintf(line, HS_SUMMARY_LEN,
             "threads%s: started %s  exited %s  heaps adopted %s  (%s since start)",
             rates ? "/s" : "", v[0], v[1], v[2], all);
}

static void memory_line(char *line, const hs_seg_t *seg, const hs_snap_t *now)
{
    hs_memory_t m;
    hs_snap_memory(seg, now, &m);
    char rss[32] = "-", mapped[32], used[32], cached[32] = "-", sfree[32] = "-", large[32],
         frag[32];
    if (m.rss) hs_table_fmt_bytes(rss, sizeof(rss), (double)m.rss);
    hs_table_fmt_bytes(mapped, sizeof(mapped), (double)m.mapped);
    hs_table_fmt_bytes(used, sizeof(used), (double)m.in_use);
    if (m.known) {
        hs_table_fmt_bytes(cached, sizeof(cached), (double)m.thread_cached);
        hs_table_fmt_bytes(sfree, sizeof(sfree), (double)m.slab_free);
    }
    hs_table_fmt_bytes(large, sizeof(large), (double)m.large_bytes);
    hs_table_fmt_pct(frag, sizeof(frag), m.fragmentation);
    snprintf(line, HS_SUMMARY_LEN,
             "memory: rss %s  mapped %s  in use %s  cached %s  slab free %s  large %s  frag %s",
             rss, mapped, used, cached, sfree, large, frag);
}

int hs_table_summary(char lines[HS_SUMMARY_LINES][HS_SUMMARY_LEN], const hs_seg_t *seg,
                     const hs_snap_t *now, const hs_snap_t *prev, bool totals)
{
    hs_metrics_t m;
    bool rates = prev && !totals && now->t > prev->t;
    double up = hs_snap_uptime(now), dt = rates ? now->t - prev->t : 0;
    hs_snap_metrics(seg, &now->total, rates ? &prev->total : NULL, dt, up > 0 ? up : 1, &m);
    hs_metrics_t all;
    hs_snap_metrics(seg, &now->total, NULL, 0, up > 0 ? up : 1, &all);
    char a[32], b[32], c[32], d[32], e[32];
    int n = 0;
    unsigned long long upi = (unsigned long long)up;
    char prof[48], unslotted[48] = "";
    if (now->prof_period)
        snprintf(prof, sizeof(prof), "profiling 1/%llu calls",
                 (unsigned long long)now->prof_period);
    else
        snprintf(prof, sizeof(prof), "profiling off");
    if (now->unslotted)
        snprintf(unslotted, sizeof(unslotted), " (+%llu unslotted)",
                 (unsigned long long)now->unslotted);
    snprintf(lines[n++], HS_SUMMARY_LEN, "%s (pid %d)  up %llu:%02llu:%02llu  threads %u%s  %s  %s",
             seg->comm, (int)seg->pid, upi / 3600, upi / 60 % 60, upi % 60, now->nthreads,
             unslotted, prof, rates ? "rates per second" : "averages since start");
    hs_table_fmt_count(a, sizeof(a), m.malloc_rate);
    hs_table_fmt_count(b, sizeof(b), m.free_rate);
    hs_table_fmt_bytes(c, sizeof(c), m.bytes_rate);
    hs_table_fmt_count(d, sizeof(d), m.remote_rate);
    hs_table_fmt_count(e, sizeof(e), m.large_rate);
    snprintf(lines[n++], HS_SUMMARY_LEN,
             "malloc/s %s  free/s %s  bytes/s %s  remote frees/s %s  large/s %s", a, b, c, d, e);
    threads_line(lines[n++], now, prev, rates);
    hs_table_fmt_pct(a, sizeof(a), isnan(m.coverage) ? all.coverage : m.coverage);
    hs_table_fmt_pct(b, sizeof(b), isnan(m.hit_rate) ? all.hit_rate : m.hit_rate);
    hs_table_fmt_count(c, sizeof(c), m.refill_rate);
    snprintf(d, sizeof(d), isnan(all.blocks_per_refill) ? "-" : "%.1f", all.blocks_per_refill);
    snprintf(lines[n++], HS_SUMMARY_LEN,
             "fast path: coverage %s  hit rate %s  refills/s %s  blocks/refill %s", a, b, c, d);
    cycles_line(lines[n++], now, rates ? &m : &all, rates, dt);
    memory_line(lines[n++], seg, now);
    return n;
}
