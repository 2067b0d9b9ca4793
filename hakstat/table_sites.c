/* table_sites.c: the views of sampled allocation sites. `sites`: what each site
 * allocates; `growth`: what each holds (estimated live bytes, growth per second), the
 * leaks first; `stack`: every frame of each site's stack, the site frame marked, in the
 * growth view's order. A site is named by its first frame outside libhakmem and the
 * allocation wrappers (stack.c). */
#include "config.h"

#include "stack.h"
#include "table.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { S_FUNC, S_OBJECT, S_SAMPLES, S_ALLOCS, S_BYTES, S_AVG, S_THREADS, S_AGE, S_LIVE };
static const hs_col_t site_cols[] = {
    [S_FUNC] = {"FUNCTION", 32, false, "the site: first frame outside the allocation wrappers"},
    [S_OBJECT] = {"OBJECT", 20, false, "executable or shared library"},
    [S_SAMPLES] = {"SAMPLES", 8, true, "sampled allocations (per second, or total)"},
    [S_ALLOCS] = {"ALLOCS", 8, true, "estimated allocations"},
    [S_BYTES] = {"BYTES", 9, true, "estimated bytes allocated"},
    [S_AVG] = {"AVG_SIZE", 8, true, "estimated average allocation size"},
    [S_THREADS] = {"THREADS", 7, true, "live threads that allocated here"},
    [S_AGE] = {"SEEN_S", 7, true, "seconds since the site entered the tables"},
    [S_LIVE] = {"LIVE_BYTES", 10, true, "estimated bytes allocated here and not yet freed"},
};

enum { G_FUNC, G_SOURCE, G_LIVE, G_BLOCKS, G_GROWTH, G_OLD, G_SAMPLES, G_OBJECT };
static const hs_col_t growth_cols[] = {
    [G_FUNC] = {"FUNCTION", 32, false, "the site: first frame outside the allocation wrappers"},
    [G_SOURCE] = {"SOURCE", 20, false, "file:line of the site, from DWARF; ? without"},
    [G_LIVE] = {"LIVE_BYTES", 10, true, "estimated bytes allocated here and not yet freed"},
    [G_BLOCKS] = {"LIVE_BLOCKS", 11, true, "estimated blocks allocated here and not yet freed"},
    [G_GROWTH] = {"GROWTH_S", 9, true, "change of LIVE_BYTES per second"},
    [G_OLD] = {"OLD%", 5, true, "share of the live sampled blocks older than 10 s"},
    [G_SAMPLES] = {"SAMPLES", 8, true, "sampled allocations since the site was first seen"},
    [G_OBJECT] = {"OBJECT", 20, false, "executable or shared library"},
};

enum { K_SITE, K_FRAME, K_FUNC, K_SOURCE, K_OBJECT };
static const hs_col_t stack_cols[] = {
    [K_SITE] = {"SITE", 4, true, "the site's rank in the growth view"},
    [K_FRAME] = {"FRAME", 5, false, "frame number from the allocating call; * marks the site"},
    [K_FUNC] = {"FUNCTION", 40, false, "function (demangled) +offset, or object+offset"},
    [K_SOURCE] = {"SOURCE", 24, false, "file:line from DWARF; ? without"},
    [K_OBJECT] = {"OBJECT", 24, false, "executable or shared library"},
};

#define NCOLS(a) ((int)(sizeof(a) / sizeof((a)[0])))

static int stack_site_rank;

void hs_table_set_stack_site(int rank)
{
    stack_site_rank = rank;
}

const hs_col_t *hs_table_site_cols(enum hs_view view, int *ncols)
{
    if (view == HS_VIEW_GROWTH) {
        *ncols = NCOLS(growth_cols);
        return growth_cols;
    }
    if (view == HS_VIEW_STACK) {
        *ncols = NCOLS(stack_cols);
        return stack_cols;
    }
    *ncols = NCOLS(site_cols);
    return site_cols;
}

int hs_table_site_default_sort(enum hs_view view)
{
    return view == HS_VIEW_GROWTH ? G_LIVE : view == HS_VIEW_STACK ? -1 : S_BYTES;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static void source_cell(char *cell, const hs_frame_t *f)
{
    if (f->line > 0)
        snprintf(cell, HS_CELL_LEN, "%.36s:%d", base_name(f->file), f->line);
    else
        snprintf(cell, HS_CELL_LEN, "?");
}

static void sites_row(hs_row_t *r, const hs_snap_t *now, const hs_site_t *s, const hs_site_t *p,
                      double dt, const hs_stack_t *st)
{
    const hs_frame_t *f = &st->frames[st->site];
    hs_site_rates_t rate = hs_stack_rates(s, p, dt);
    hs_table_cell_text(r, S_FUNC, f->label);
    hs_table_cell_text(r, S_OBJECT, base_name(f->object));
    hs_table_cell_num(r, S_SAMPLES, rate.samples);
    hs_table_cell_num(r, S_ALLOCS, rate.allocs);
    r->val[S_BYTES] = rate.bytes;
    hs_table_fmt_bytes(r->cell[S_BYTES], HS_CELL_LEN, r->val[S_BYTES]);
    hs_table_cell_num(r, S_AVG, rate.allocs > 0 ? rate.bytes / rate.allocs : NAN);
    hs_table_cell_num(r, S_THREADS, s->threads);
    double age =
        now->tsc_hz && s->first_tsc >= now->start_tsc
            ? hs_snap_uptime(now) - (double)(s->first_tsc - now->start_tsc) / (double)now->tsc_hz
            : NAN;
    hs_table_cell_num(r, S_AGE, age < 0 ? 0 : age);
    r->val[S_LIVE] = s->has_live ? (double)s->est_live_bytes : NAN;
    hs_table_fmt_bytes(r->cell[S_LIVE], HS_CELL_LEN, r->val[S_LIVE]);
}

static void growth_row(hs_row_t *r, const hs_site_t *s, const hs_site_t *p, double dt,
                       const hs_stack_t *st)
{
    const hs_frame_t *f = &st->frames[st->site];
    hs_table_cell_text(r, G_FUNC, f->label);
    source_cell(r->cell[G_SOURCE], f);
    r->val[G_LIVE] = s->has_live ? (double)s->est_live_bytes : NAN;
    hs_table_fmt_bytes(r->cell[G_LIVE], HS_CELL_LEN, r->val[G_LIVE]);
    hs_table_cell_num(r, G_BLOCKS, s->has_live ? (double)s->est_live_blocks : NAN);
    r->val[G_GROWTH] = hs_stack_growth(s, p, dt);
    hs_table_fmt_bytes(r->cell[G_GROWTH], HS_CELL_LEN, r->val[G_GROWTH]);
    uint64_t old = 0, all = 0;
    for (int b = 0; b < HS_AGE_BUCKETS; b++) {
        all += s->age[b];
        if (hs_age_edges[b] > 10) old += s->age[b];
    }
    r->val[G_OLD] = all ? (double)old / (double)all : NAN;
    hs_table_fmt_pct(r->cell[G_OLD], HS_CELL_LEN, r->val[G_OLD]);
    hs_table_cell_num(r, G_SAMPLES, (double)s->samples);
    hs_table_cell_text(r, G_OBJECT, base_name(f->object));
}

static int stack_rows(hs_table_t *t, int rank, const hs_stack_t *st)
{
    for (uint32_t i = 0; i < st->depth; i++) {
        hs_row_t *r = &t->rows[t->nrows++];
        const hs_frame_t *f = &st->frames[i];
        hs_table_cell_num(r, K_SITE, rank);
        snprintf(r->cell[K_FRAME], HS_CELL_LEN, "%s#%u", i == st->site ? "*" : "", i);
        hs_table_cell_text(r, K_FUNC, f->label);
        source_cell(r->cell[K_SOURCE], f);
        hs_table_cell_text(r, K_OBJECT, base_name(f->object));
    }
    return 0;
}

/* Growth order: estimated live bytes, then growth, both descending. */
static int by_live(const void *a, const void *b)
{
    const hs_site_t *x = a, *y = b;
    if (x->est_live_bytes != y->est_live_bytes)
        return x->est_live_bytes < y->est_live_bytes ? 1 : -1;
    double gx = hs_stack_growth(x, NULL, 0), gy = hs_stack_growth(y, NULL, 0);
    return gx < gy ? 1 : gx > gy ? -1 : 0;
}

int hs_table_site_rows(hs_table_t *t, const hs_seg_t *seg, const hs_snap_t *now,
                       const hs_snap_t *prev)
{
    hs_site_t *cur = NULL, *old = NULL;
    int n = hs_snap_sites(now, &cur), m = prev ? hs_snap_sites(prev, &old) : 0;
    size_t per = t->view == HS_VIEW_STACK ? HK_SITE_FRAMES : 1;
    if (n < 0 || m < 0 || (t->rows = calloc(n ? (size_t)n * per : 1, sizeof(hs_row_t))) == NULL) {
        free(cur);
        free(old);
        return -1;
    }
    if (t->view != HS_VIEW_SITES) qsort(cur, (size_t)n, sizeof(*cur), by_live);
    double dt = prev ? now->t - prev->t : 0;
    static hs_stack_t st; /* large: kept out of the stack */
    for (int i = 0; i < n; i++) {
        const hs_site_t *s = &cur[i], *p = hs_stack_find(old, m, s);
        if (t->view == HS_VIEW_STACK && stack_site_rank && stack_site_rank != i + 1) continue;
        hs_stack_resolve(seg, s, &st);
        if (t->view == HS_VIEW_STACK)
            stack_rows(t, i + 1, &st);
        else if (t->view == HS_VIEW_GROWTH)
            growth_row(&t->rows[t->nrows++], s, p, dt, &st);
        else
            sites_row(&t->rows[t->nrows++], now, s, p, dt, &st);
    }
    free(cur);
    free(old);
    return 0;
}
