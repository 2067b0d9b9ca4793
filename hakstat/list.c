/* list.c: hakstat -l and --gc (list.h). Only the totals of the first snapshots are kept
 * while waiting for the second, so memory does not grow with the segments listed. */
#include "config.h"

#include "list.h"

#include <errno.h>
#include <math.h>
#include <pwd.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "snap.h"

/* The first snapshot of each row, by index. */
typedef struct first_s {
    bool ok;
    double t;
    hs_counts_t total;
} first_t;

static void collect(const hs_seg_entry_t *e, void *arg)
{
    hs_listing_t *l = arg;
    if (l->n < HS_SEG_LIST_MAX) l->rows[l->n++].e = *e;
}

static void say_skipped(const hs_seg_skipped_t *s)
{
    if (!s->dirs && !s->files && !s->more) return;
    fprintf(stderr,
            "hakstat: skipped %u director%s and %u file%s that fail the ownership checks "
            "(see hakstat(1), SECURITY)",
            s->dirs, s->dirs == 1 ? "y" : "ies", s->files, s->files == 1 ? "" : "s");
    if (s->more) fprintf(stderr, ", and %u segments beyond the first %d", s->more, HS_SEG_LIST_MAX);
    fputc('\n', stderr);
}

/* --gc: this user's retired records too (and any left half-written), by owner. */
static void remove_record(const char *name, const struct stat *st, void *arg)
{
    (void)st;
    if (strncmp(name, "retired-", 8) != 0 && strncmp(name, "retiring-", 9) != 0) return;
    hs_seg_entry_t e;
    memset(&e, 0, sizeof(e));
    snprintf(e.name, sizeof(e.name), "%s", name);
    e.uid = geteuid();
    if (hs_seg_remove_entry(&e) == 0) ++*(int *)arg;
}

/* Only the caller's own files, by their owner (fstatat), root's too: a name proves
 * nothing, and another user's leftovers are theirs to remove. Removed rows go. */
static void remove_stale(hs_listing_t *l, FILE *note)
{
    int removed = 0, records = 0, kept = 0;
    for (int i = 0; i < l->n; i++) {
        hs_seg_entry_t *e = &l->rows[i].e;
        if (e->stale && e->uid == geteuid() && hs_seg_remove_entry(e) == 0)
            removed++;
        else
            l->rows[kept++] = l->rows[i];
    }
    l->n = kept;
    hs_seg_list_user(geteuid(), remove_record, &records);
    fprintf(note, "removed %d stale segment%s, %d retired record%s\n", removed,
            removed == 1 ? "" : "s", records, records == 1 ? "" : "s");
}

static bool snapshot_wanted(const hs_seg_entry_t *e)
{
    return !e->stale && !e->foreign && e->readable;
}

/* The segment both snapshots read through: large, so one, reused. Each snapshot opens
 * and closes it before it returns, so it is never open twice. */
static hs_seg_t snapshot_seg;

static void first_snapshot(const hs_seg_entry_t *e, first_t *f)
{
    hs_snap_t snap;
    f->ok = false;
    if (!snapshot_wanted(e) || hs_seg_open_entry(&snapshot_seg, e) != HS_OK) return;
    if (hs_snap_take(&snapshot_seg, &snap) == HS_OK) {
        f->ok = true;
        f->t = snap.t;
        f->total = snap.total;
        hs_snap_free(&snap);
    }
    hs_seg_close(&snapshot_seg);
}

/* The row's figures from a second snapshot and the first. */
static void second_snapshot(hs_list_row_t *r, const first_t *f)
{
    hs_snap_t snap;
    if (!f->ok || hs_seg_open_entry(&snapshot_seg, &r->e) != HS_OK) return;
    if (hs_snap_take(&snapshot_seg, &snap) == HS_OK) {
        hs_metrics_t m;
        hs_snap_metrics(&snapshot_seg, &snap.total, &f->total, snap.t - f->t, 1, &m);
        r->ops_rate = m.malloc_rate + m.free_rate;
        r->uptime_s = hs_snap_uptime(&snap);
        r->threads = snap.nthreads;
        snprintf(r->comm, sizeof(r->comm), "%s", snapshot_seg.comm);
        hs_snap_free(&snap);
    }
    hs_seg_close(&snapshot_seg);
}

static void describe(hs_list_row_t *r)
{
    const hs_seg_entry_t *e = &r->e;
    struct passwd *pw = getpwuid(e->uid);
    if (pw)
        snprintf(r->user, sizeof(r->user), "%s", pw->pw_name);
    else
        snprintf(r->user, sizeof(r->user), "%u", (unsigned)e->uid);
    r->state = e->stale ? "stale" : e->foreign ? "foreign" : !e->readable ? "unreadable" : "live";
    r->threads = 0;
    r->uptime_s = r->ops_rate = NAN;
    r->comm[0] = '\0';
}

int hs_list_take(hs_listing_t *l, bool gc, FILE *gc_note)
{
    static first_t first[HS_SEG_LIST_MAX];
    hs_seg_skipped_t skipped;
    l->n = 0;
    if (hs_seg_list(collect, l, &skipped) < 0) {
        fprintf(stderr, "hakstat: cannot read %s: %s\n", hs_seg_dir(), strerror(errno));
        return HS_ERR_SYSTEM;
    }
    say_skipped(&skipped);
    if (gc) remove_stale(l, gc_note);
    for (int i = 0; i < l->n; i++)
        first_snapshot(&l->rows[i].e, &first[i]);
    struct timespec pause = {0, 200000000};
    nanosleep(&pause, NULL);
    for (int i = 0; i < l->n; i++) {
        describe(&l->rows[i]);
        second_snapshot(&l->rows[i], &first[i]);
    }
    return HS_OK;
}
