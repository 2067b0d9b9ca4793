/* out_text.c: batch output for logs: a time-stamped summary and the view's table, once
 * per interval, plain text. */
#include "config.h"

#include <math.h>
#include <string.h>
#include <time.h>

#include "out.h"
#include "table.h"

void out_text(FILE *f, const hs_seg_t *seg, const hs_snap_t *now, const hs_snap_t *prev,
              const hs_opts_t *o)
{
    char lines[HS_SUMMARY_LINES][HS_SUMMARY_LEN];
    int n = hs_table_summary(lines, seg, now, prev, o->totals);
    char when[32];
    time_t secs = (time_t)(now->now_ns / 1000000000u);
    struct tm tm;
    localtime_r(&secs, &tm);
    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
    fprintf(f, "=== %s %s\n", when, now->alive ? "" : "(process exited)");
    for (int i = 0; i < n; i++)
        fprintf(f, "%s\n", lines[i]);

    hs_table_t t;
    if (hs_table_build(&t, o->view, seg, now, prev, o->totals) != 0) return;
    int col = o->sort[0] ? hs_table_col(&t, o->sort) : -1;
    hs_table_sort(&t, col >= 0 ? col : hs_table_default_sort(o->view), false);
    for (int c = 0; c < t.ncols; c++)
        fprintf(f, t.cols[c].numeric ? "%*s " : "%-*s ", t.cols[c].width, t.cols[c].name);
    fputc('\n', f);
    for (int r = 0; r < t.nrows; r++) {
        for (int c = 0; c < t.ncols; c++) {
            const char *cell = t.rows[r].cell[c];
            int w = t.cols[c].width, len = (int)strlen(cell);
            if (t.cols[c].numeric || len <= w)
                fprintf(f, t.cols[c].numeric ? "%*s " : "%-*s ", w, cell);
            else /* text longer than its column: cut, and say so */
                fprintf(f, "%.*s~ ", w - 1, cell);
        }
        fputc('\n', f);
    }
    hs_table_free(&t);
    fflush(f);
}

static const char *list_mark(const hs_seg_entry_t *e)
{
    return e->stale       ? "[stale]"
           : e->foreign   ? "[foreign: not this process's user]"
           : !e->readable ? "[unreadable]"
                          : "";
}

void out_list_text(FILE *f, const hs_listing_t *l)
{
    fprintf(f, "%7s %-10s %7s %10s %9s  %s\n", "PID", "USER", "THREADS", "UPTIME", "OPS/S",
            "COMMAND");
    for (int i = 0; i < l->n; i++) {
        const hs_list_row_t *r = &l->rows[i];
        char rate[32], up[32] = "-";
        hs_table_fmt_count(rate, sizeof(rate), r->ops_rate);
        if (!isnan(r->uptime_s)) {
            unsigned long long s = (unsigned long long)r->uptime_s;
            snprintf(up, sizeof(up), "%llu:%02llu:%02llu", s / 3600, s / 60 % 60, s % 60);
        }
        fprintf(f, "%7d %-10.10s %7u %10s %9s  %s%s\n", (int)r->e.pid, r->user, r->threads, up,
                rate, r->comm, list_mark(&r->e));
    }
}
