/* scrape.c: one exporter scrape over every readable segment (scrape.h). */
#include "config.h"

#include "scrape.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct listing_s {
    hs_seg_entry_t *v;
    int n;
} listing_t;

static void collect(const hs_seg_entry_t *e, void *arg)
{
    listing_t *l = arg;
    if (l->n < HS_SEG_LIST_MAX) l->v[l->n++] = *e;
}

/* The kept series of the process an entry names, made on first sight; NULL when out of
 * memory. */
static hs_prom_proc_t *proc_for(hs_scrape_t *s, const hs_seg_t *seg)
{
    for (int i = 0; i < s->nprocs; i++)
        if (s->procs[i]->pid == seg->pid && s->procs[i]->start_time == seg->start_time)
            return s->procs[i];
    if (s->nprocs == s->cap) {
        int cap = s->cap ? s->cap * 2 : 16;
        hs_prom_proc_t **v = realloc(s->procs, (size_t)cap * sizeof(*v));
        if (!v) return NULL;
        s->procs = v;
        s->cap = cap;
    }
    hs_prom_proc_t *p = malloc(sizeof(*p));
    if (!p || !hs_prom_proc_init(p, seg, s->per_tid)) {
        free(p);
        return NULL;
    }
    s->procs[s->nprocs++] = p;
    return p;
}

/* Read one entry into its series; false when it was left out. */
static bool read_entry(hs_scrape_t *s, const hs_seg_entry_t *e)
{
    static hs_seg_t seg; /* large: one, reused */
    if (e->stale || e->foreign || !e->readable) return false;
    if (hs_seg_open_entry(&seg, e) != HS_OK) return false;
    bool ok = false;
    hs_snap_t snap;
    if (hs_snap_take(&seg, &snap) == HS_OK) {
        hs_prom_proc_t *p = snap.alive ? proc_for(s, &seg) : NULL;
        ok = p && hs_prom_proc_update(p, &seg, &snap);
        hs_snap_free(&snap);
    }
    hs_seg_close(&seg);
    return ok;
}

/* Processes not seen this time have exited (or became unreadable): their series go. */
static void drop_unseen(hs_scrape_t *s)
{
    int kept = 0;
    for (int i = 0; i < s->nprocs; i++) {
        if (s->procs[i]->seen) {
            s->procs[kept++] = s->procs[i];
        } else {
            hs_prom_proc_free(s->procs[i]);
            free(s->procs[i]);
        }
    }
    s->nprocs = kept;
}

char *hs_scrape(hs_scrape_t *s, enum hs_prom_format format, size_t *len)
{
    static hs_seg_entry_t entries[HS_SEG_LIST_MAX];
    listing_t l = {entries, 0};
    hs_seg_skipped_t skipped;
    if (hs_seg_list(collect, &l, &skipped) < 0) return NULL;
    for (int i = 0; i < s->nprocs; i++)
        s->procs[i]->seen = false;
    unsigned left_out = skipped.dirs + skipped.files + skipped.more;
    for (int i = 0; i < l.n; i++)
        if (!read_entry(s, &l.v[i]) && !l.v[i].stale) left_out++;
    drop_unseen(s);

    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    if (!f) return NULL;
    hs_prom_doc_t d = {format, (const hs_prom_proc_t *const *)s->procs, s->nprocs, left_out, NULL,
                       NULL};
    out_prom_doc(f, &d);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

void hs_scrape_free(hs_scrape_t *s)
{
    for (int i = 0; i < s->nprocs; i++) {
        hs_prom_proc_free(s->procs[i]);
        free(s->procs[i]);
    }
    free(s->procs);
    memset(s, 0, sizeof(*s));
}
