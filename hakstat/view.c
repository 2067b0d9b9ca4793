/* view.c: the interactive screen. The loop samples (hs_snap_take) and builds the model,
 * the summary (hs_table_summary) and the current view's sorted rows (hs_table_build,
 * hs_table_sort), only when a sample arrives or the view, its sort or rates/totals
 * change; frames only paint the model, never reading the segment or computing a figure.
 * Keys come from the single table in keys.h.
 *
 * Layout, top to bottom: summary lines, the ops/s sparkline, the column heading
 * (reverse video, sort column marked), the rows, and one status line. When the terminal
 * is short the sparkline goes first, then summary lines, so that a few rows stay. */
#include "config.h"

#include "view.h"

#include <errno.h>
#include <langinfo.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <wchar.h>

#include "clock.h"
#include "keys.h"
#include "screen.h"
#include "snap.h"
#include "table.h"

#define VIEW_MIN_COLS    60
#define VIEW_MIN_LINES   10
#define VIEW_MIN_ROWS    3   /* rows kept visible before summary lines are dropped */
#define VIEW_SPARK_LEN   60  /* ops/s values kept for the sparkline */
#define VIEW_PROF_PERIOD 256 /* what P asks for: time one call in this many */
#define VIEW_MSG_SECONDS 4.0 /* how long a status message stays */
#define VIEW_MAX_WAIT_MS 500 /* longest getch wait, so signals are seen soon */

/* A ring of the last VIEW_SPARK_LEN values of one figure, for a sparkline. */
typedef struct spark_s {
    double v[VIEW_SPARK_LEN];
    int n, head;
} spark_t;

/* The sparklines, top to bottom: label, and whether the values are bytes. */
enum { SPARK_OPS, SPARK_RSS, SPARK_LIVE, VIEW_NSPARKS };
static const struct {
    const char *label;
    bool bytes;
} spark_kind[VIEW_NSPARKS] = {{"ops/s ", false}, {"rss   ", true}, {"live  ", true}};

/* What the frames show, built from the snapshots (model_build) when a sample arrives or
 * the view, its sort or rates/totals change; a frame only paints it, so a paused screen
 * or a key that only scrolls reads and symbolizes nothing. */
typedef struct model_s {
    bool built;       /* false: build before the next frame */
    bool have_table;  /* false without a snapshot, or out of memory */
    hs_table_t table; /* the rows of the current view, sorted */
    int sort;         /* the table's sort column */
    char summary[HS_SUMMARY_LINES][HS_SUMMARY_LEN];
    int nsum;
} model_t;

/* Everything the screen remembers between frames. Figures live only in the snapshots
 * and the model built from them. */
typedef struct view_s {
    hs_seg_t *seg;
    hs_snap_t now, prev;
    bool has_now, has_prev;
    double last_sample; /* CLOCK_MONOTONIC seconds of the last sampling attempt */
    long samples;       /* snapshots taken */
    long count;         /* stop after this many intervals, 0 = never */

    enum hs_view view;
    int sort_col[HS_VIEW_COUNT]; /* -1: the view's default */
    bool invert[HS_VIEW_COUNT];
    int scroll;  /* first row shown */
    int hscroll; /* columns skipped after the first (which never scrolls) */
    int page;    /* rows shown by the last frame, for PgUp/PgDn */

    bool totals, paused, exited, help, utf8;
    bool help_fits; /* the last help frame showed every line */
    int help_scroll;
    double delay;

    spark_t spark[VIEW_NSPARKS]; /* ops/s, RSS, live bytes */

    char msg[256]; /* transient status message */
    bool msg_error;
    double msg_until;
    char failure[256]; /* why sampling fails while the process still runs */

    bool prompt; /* typing a refresh interval (d) */
    char input[16];
    int input_len;

    model_t model;
} view_t;

static void set_msg(view_t *v, bool error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_msg(view_t *v, bool error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->msg, sizeof(v->msg), fmt, ap);
    va_end(ap);
    v->msg_error = error;
    v->msg_until = hs_mono() + VIEW_MSG_SECONDS;
}

/* Copy a string, cut to fit. */
static void copy_str(char *dst, size_t len, const char *src)
{
    size_t n = strnlen(src, len - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* ---------------------------------------------------------------------------------------
 * Sampling
 * ------------------------------------------------------------------------------------- */

static void spark_push(spark_t *sp, double value)
{
    sp->v[sp->head] = value;
    sp->head = (sp->head + 1) % VIEW_SPARK_LEN;
    if (sp->n < VIEW_SPARK_LEN) sp->n++;
}

/* The i-th newest sparkline value (0 = newest). */
static double spark_get(const spark_t *sp, int i)
{
    return sp->v[(sp->head - 1 - i + 2 * VIEW_SPARK_LEN) % VIEW_SPARK_LEN];
}

/* Take a snapshot; the previous one is kept for rates. A failure or a dead process
 * stops sampling and keeps the last figures on screen. */
static void sample(view_t *v)
{
    v->last_sample = hs_mono();
    hs_snap_t s;
    hs_snap_want_sites(v->view == HS_VIEW_SITES || v->view == HS_VIEW_GROWTH ||
                       v->view == HS_VIEW_STACK);
    int status = hs_snap_take(v->seg, &s);
    if (status != HS_OK) {
        if (!hs_seg_alive(v->seg)) {
            v->exited = true;
        } else {
            copy_str(v->failure, sizeof(v->failure), v->seg->error);
        }
        return;
    }
    v->failure[0] = '\0';
    if (v->has_prev) hs_snap_free(&v->prev);
    v->prev = v->now;
    v->has_prev = v->has_now;
    v->now = s;
    v->has_now = true;
    v->samples++;
    v->model.built = false;
    if (!s.alive) v->exited = true;

    if (v->has_prev && v->now.t > v->prev.t) {
        hs_metrics_t m;
        hs_snap_metrics(v->seg, &v->now.total, &v->prev.total, v->now.t - v->prev.t,
                        hs_snap_uptime(&v->now), &m);
        double ops =
            (isnan(m.malloc_rate) ? 0 : m.malloc_rate) + (isnan(m.free_rate) ? 0 : m.free_rate);
        spark_push(&v->spark[SPARK_OPS], ops > 0 ? ops : 0);
    }
    hs_memory_t mem;
    hs_snap_memory(v->seg, &v->now, &mem);
    spark_push(&v->spark[SPARK_RSS], (double)mem.rss);
    spark_push(&v->spark[SPARK_LIVE], (double)mem.in_use);
}

/* ---------------------------------------------------------------------------------------
 * Drawing helpers
 * ------------------------------------------------------------------------------------- */

/* Print at most `width` columns of `s` at (y, x); never past the right edge. */
static void put(int y, int x, const char *s, int width)
{
    int cols = getmaxx(stdscr);
    if (x >= cols || width <= 0) return;
    if (x + width > cols) width = cols - x;
    mvaddnstr(y, x, s, width);
}

/* A short mark that may hold a multibyte character (put() counts bytes): drawn whole
 * when its first column is on the screen; callers leave room for the rest. */
static void put_mark(int y, int x, const char *mark)
{
    if (x >= 0 && x < getmaxx(stdscr)) mvaddstr(y, x, mark);
}

/* Fill a whole line with the current attributes (for the reverse-video heading). */
static void fill_line(int y)
{
    int cols = getmaxx(stdscr);
    move(y, 0);
    for (int x = 0; x < cols; x++)
        addch(' ');
}

/* Centre `text` on the screen, wrapped at spaces to the screen's width. */
static void draw_centered(const char *text)
{
    int lines, cols;
    getmaxyx(stdscr, lines, cols);
    if (cols < 1 || lines < 1) return;
    char wrapped[8][128];
    int n = 0;
    const char *p = text;
    while (*p && n < 8) {
        while (*p == ' ')
            p++;
        int len = (int)strlen(p);
        int take = len;
        if (take > cols) {
            take = cols;
            while (take > 0 && p[take] != ' ')
                take--;
            if (take == 0) take = cols; /* one word longer than the line: cut it */
        }
        if (take > (int)sizeof(wrapped[0]) - 1) take = (int)sizeof(wrapped[0]) - 1;
        memcpy(wrapped[n], p, (size_t)take);
        wrapped[n][take] = '\0';
        while (take > 0 && wrapped[n][take - 1] == ' ')
            wrapped[n][--take] = '\0';
        n++;
        p += take;
    }
    int y0 = (lines - n) / 2;
    if (y0 < 0) y0 = 0;
    for (int i = 0; i < n && y0 + i < lines; i++) {
        int len = (int)strlen(wrapped[i]);
        int x = (cols - len) / 2;
        put(y0 + i, x < 0 ? 0 : x, wrapped[i], cols);
    }
}

/* One sparkline: the newest value at the right, scaled to the largest value shown, then
 * the newest and the largest. Block characters in a UTF-8 locale, _.-=# otherwise. When
 * the line is too short for both the values and 8 columns of bars, the values go. */
static void draw_spark(const view_t *v, int which, int y)
{
    static const wchar_t blocks[] = L"\u2581\u2582\u2583\u2584\u2585\u2586\u2587\u2588";
    static const char ascii[] = "_.-=#";
    const spark_t *sp = &v->spark[which];
    int cols = getmaxx(stdscr);
    char now[32] = "-", max[32] = "-";
    double top = 0;
    if (sp->n > 0) {
        for (int i = 0; i < sp->n; i++)
            if (spark_get(sp, i) > top) top = spark_get(sp, i);
        if (spark_kind[which].bytes) {
            hs_table_fmt_bytes(now, sizeof(now), spark_get(sp, 0));
            hs_table_fmt_bytes(max, sizeof(max), top);
        } else {
            hs_table_fmt_count(now, sizeof(now), spark_get(sp, 0));
            hs_table_fmt_count(max, sizeof(max), top);
        }
    }
    const char *label = spark_kind[which].label;
    int lx = (int)strlen(label);
    char tail[96];
    snprintf(tail, sizeof(tail), " now %s  max %s", now, max);
    int width = cols - lx - (int)strlen(tail);
    if (width < 8) {
        tail[0] = '\0';
        width = cols - lx;
    }
    if (width > VIEW_SPARK_LEN) width = VIEW_SPARK_LEN;
    if (width < 0) width = 0;

    attron(A_BOLD);
    put(y, 0, label, lx);
    attroff(A_BOLD);
    int shown = sp->n < width ? sp->n : width;
    int nlevels = v->utf8 ? 8 : 5;
    wchar_t wline[VIEW_SPARK_LEN + 1];
    char line[VIEW_SPARK_LEN + 1];
    for (int i = 0; i < width; i++) {
        int age = width - 1 - i; /* values older to the left */
        int level = -1;
        if (age < shown) {
            double val = spark_get(sp, age);
            level = top > 0 ? (int)(val / top * nlevels) : 0;
            if (level >= nlevels) level = nlevels - 1;
            if (level < 0) level = 0;
        }
        /* levels index the set in use: 8 blocks in UTF-8, 5 ASCII marks otherwise */
        if (v->utf8)
            wline[i] = level < 0 ? L' ' : blocks[level];
        else
            line[i] = level < 0 ? ' ' : ascii[level];
    }
    wline[width] = L'\0';
    line[width] = '\0';
    if (width > 0) {
        if (v->utf8)
            mvaddnwstr(y, lx, wline, width);
        else
            put(y, lx, line, width);
    }
    put(y, lx + width, tail, (int)strlen(tail));
}

/* Append `line` to out[n..] as screen lines of at most `cols` columns, broken only
 * between fields (which the summary separates by two spaces), continuation lines
 * indented by two; a field wider than the screen alone is cut. Returns the new count. */
#define VIEW_WRAP_LINES (HS_SUMMARY_LINES * 4)
static int wrap_fields(const char *line, int cols, char out[][HS_SUMMARY_LEN], int n)
{
    const char *p = line;
    while (*p && n < VIEW_WRAP_LINES) {
        int indent = p == line ? 0 : 2, len = 0;
        char *o = out[n];
        memset(o, ' ', (size_t)indent);
        const char *q = p;
        /* Take whole fields while they fit. */
        while (*q) {
            const char *end = strstr(q, "  ");
            int flen = end ? (int)(end - q) : (int)strlen(q);
            if (len > 0 && indent + len + 2 + flen > cols) break;
            if (len > 0) {
                memcpy(o + indent + len, "  ", 2);
                len += 2;
            }
            int room = HS_SUMMARY_LEN - 1 - indent - len;
            if (flen > room) flen = room;
            memcpy(o + indent + len, q, (size_t)flen);
            len += flen;
            q += flen;
            while (*q == ' ')
                q++;
            if (!end) break;
        }
        o[indent + len] = '\0';
        n++;
        p = q;
    }
    return n;
}

/* Column layout of one frame. A numeric column is as wide as its heading (plus the sort
 * marker) and its widest cell, so no number is ever cut; a text column keeps its
 * table width and its cells are cut to it with a mark. Only whole columns are shown:
 * those that do not fit after the horizontal scroll are left out from the right, and
 * `dropped` says how many, for the heading's mark. */
typedef struct layout_s {
    int width[HS_TABLE_MAX_COLS];
    int x[HS_TABLE_MAX_COLS]; /* -1: not shown */
    int dropped;              /* columns right of the shown ones that did not fit */
    char mark[16];            /* "+N>" at the heading's end when some were dropped */
} layout_t;

static int place(const hs_table_t *t, int hscroll, int cols, layout_t *l)
{
    for (int c = 0; c < t->ncols; c++)
        l->x[c] = -1;
    l->x[0] = 0;
    int x = l->width[0], dropped = 0;
    for (int c = 1 + hscroll; c < t->ncols; c++) {
        if (dropped == 0 && x + 1 + l->width[c] <= cols) {
            l->x[c] = x + 1;
            x += 1 + l->width[c];
        } else {
            dropped++;
        }
    }
    return dropped;
}

static void layout(const view_t *v, const hs_table_t *t, int hscroll, int cols, layout_t *l)
{
    for (int c = 0; c < t->ncols; c++) {
        int w = (int)strlen(t->cols[c].name) + 1;
        if (t->cols[c].width > w) w = t->cols[c].width;
        for (int r = 0; t->cols[c].numeric && r < t->nrows; r++) {
            int len = (int)strnlen(t->rows[r].cell[c], HS_CELL_LEN);
            if (len > w) w = len;
        }
        l->width[c] = w;
    }
    l->dropped = 0;
    l->mark[0] = '\0';
    if (t->ncols == 0) return;
    int dropped = place(t, hscroll, cols, l);
    if (dropped == 0) return;
    /* Room for the mark, which may leave out one more column. */
    snprintf(l->mark, sizeof(l->mark), "+%d%s", t->ncols, v->utf8 ? "\u00bb" : ">");
    int mark_cols = (int)strlen(l->mark) - (v->utf8 ? 1 : 0) + 1;
    l->dropped = place(t, hscroll, cols - mark_cols, l);
    snprintf(l->mark, sizeof(l->mark), "+%d%s", l->dropped, v->utf8 ? "\u00bb" : ">");
}

/* A cell: numbers right-aligned and whole (the layout made room); text cut to the
 * column with an ellipsis when longer. */
static void draw_cell(const view_t *v, int y, const layout_t *l, int c, const char *text,
                      bool numeric)
{
    int len = (int)strnlen(text, HS_CELL_LEN), w = l->width[c];
    int x = l->x[c];
    if (numeric || len <= w) {
        if (numeric && len < w) x += w - len;
        put(y, x, text, w - (x - l->x[c]));
        return;
    }
    put(y, x, text, w - 1);
    put_mark(y, x + w - 1, v->utf8 ? "\u2026" : "~");
}

/* hs_table_sort puts numbers in descending order and text in ascending order, unless
 * inverted. */
static bool descending(const view_t *v, const hs_table_t *t, int col)
{
    return t->cols[col].numeric != v->invert[v->view];
}

static void draw_heading(const view_t *v, const hs_table_t *t, const layout_t *l, int y, int sort)
{
    attron(A_REVERSE);
    fill_line(y);
    for (int c = 0; c < t->ncols; c++) {
        if (l->x[c] < 0) continue;
        char text[64];
        if (c == sort) {
            const char *mark =
                descending(v, t, c) ? (v->utf8 ? "\u25bc" : "v") : (v->utf8 ? "\u25b2" : "^");
            snprintf(text, sizeof(text), "%s%s", mark, t->cols[c].name);
        } else {
            snprintf(text, sizeof(text), "%s", t->cols[c].name);
        }
        int len = (int)strlen(t->cols[c].name) + (c == sort);
        int x = l->x[c];
        if (t->cols[c].numeric && len < l->width[c]) x += l->width[c] - len;
        if (c == sort) attron(A_BOLD);
        /* the marker is one column but may be several bytes: give put() the bytes */
        put(y, x, text, (int)strlen(text));
        if (c == sort) attroff(A_BOLD);
    }
    if (l->dropped) {
        int cols = getmaxx(stdscr), w = (int)strlen(l->mark) - (v->utf8 ? 1 : 0);
        attron(A_BOLD);
        put_mark(y, cols - w, l->mark);
        attroff(A_BOLD);
    }
    attroff(A_REVERSE);
}

/* A notice that takes the whole status line: the process's end, the interval prompt,
 * a message or a failure. False when there is none. */
static bool draw_notice(const view_t *v, int y, int cols)
{
    char buf[512];
    if (v->exited) {
        snprintf(buf, sizeof(buf), " process %d (%s) exited %s press q to quit ", (int)v->seg->pid,
                 v->seg->comm, v->utf8 ? "\u2014" : "-");
        attron(A_REVERSE | A_BOLD);
        fill_line(y);
        put(y, 0, buf, (int)strlen(buf));
        attroff(A_REVERSE | A_BOLD);
        return true;
    }
    if (v->prompt) {
        snprintf(buf, sizeof(buf), "refresh interval in seconds (%.1f to %.0f): %s", HS_DELAY_MIN,
                 HS_DELAY_MAX, v->input);
        attron(A_BOLD);
        put(y, 0, buf, cols);
        attroff(A_BOLD);
        move(y, (int)strlen(buf) < cols ? (int)strlen(buf) : cols - 1);
        return true;
    }
    if (v->msg[0] && hs_mono() < v->msg_until) {
        attron(v->msg_error ? A_REVERSE | A_BOLD : A_BOLD);
        put(y, 0, v->msg, cols);
        attroff(A_REVERSE | A_BOLD);
        return true;
    }
    if (v->failure[0]) {
        attron(A_REVERSE | A_BOLD);
        put(y, 0, v->failure, cols);
        attroff(A_REVERSE | A_BOLD);
        return true;
    }
    return false;
}

/* The views (all when they fit, else the current one), then the state, a piece at a
 * time while whole pieces fit; the key hint last, when there is room. */
static void draw_state(const view_t *v, const hs_table_t *t, int sort, int shown, int y, int cols)
{
    char buf[512], piece[5][96];
    int np = 0;
    if (v->paused) snprintf(piece[np++], sizeof(piece[0]), "| PAUSED ");
    if (v->totals)
        snprintf(piece[np++], sizeof(piece[0]), "| totals ");
    else
        snprintf(piece[np++], sizeof(piece[0]), "| rate/s, %gs ", v->delay);
    if (t != NULL && sort >= 0 && sort < t->ncols)
        snprintf(piece[np++], sizeof(piece[0]), "| sort %s %s ", t->cols[sort].name,
                 descending(v, t, sort) ? "desc" : "asc");
    if (t != NULL && shown < t->nrows)
        snprintf(piece[np++], sizeof(piece[0]), "| %d-%d/%d ", t->nrows ? v->scroll + 1 : 0,
                 v->scroll + shown, t->nrows);
    int state_len = 0;
    for (int i = 0; i < np; i++)
        state_len += (int)strlen(piece[i]);
    char tabs[128];
    int m = 0;
    for (int i = 0; i < HS_VIEW_COUNT; i++)
        m += snprintf(tabs + m, sizeof(tabs) - (size_t)m, i == (int)v->view ? "[%d %s] " : "%d %s ",
                      i + 1, hs_table_view_name((enum hs_view)i));
    if (m + state_len > cols)
        snprintf(tabs, sizeof(tabs), "[%d %s] ", (int)v->view + 1, hs_table_view_name(v->view));
    int len = snprintf(buf, sizeof(buf), "%s", tabs);
    for (int i = 0; i < np; i++) {
        int plen = (int)strlen(piece[i]);
        if (len + plen > cols) break;
        len += snprintf(buf + len, sizeof(buf) - (size_t)len, "%s", piece[i]);
    }
    put(y, 0, buf, cols);
    const char *hint = "h help  q quit";
    int hx = cols - (int)strlen(hint);
    if (hx > len + 1) {
        attron(A_BOLD);
        put(y, hx, hint, (int)strlen(hint));
        attroff(A_BOLD);
    }
}

/* The status line: exit notice, prompt, message, or the state and a key hint. */
static void draw_status(const view_t *v, const hs_table_t *t, int sort, int shown)
{
    int lines, cols;
    getmaxyx(stdscr, lines, cols);
    if (!draw_notice(v, lines - 1, cols)) draw_state(v, t, sort, shown, lines - 1, cols);
}

/* The help text: every key of keys.h, then the columns of the current view. */
#define VIEW_HELP_LINES (HS_KEY_NONE + HS_TABLE_MAX_COLS + 4)
typedef struct help_s {
    char line[VIEW_HELP_LINES][160];
    bool bold[VIEW_HELP_LINES];
    int n;
} help_t;

static void help_add(help_t *h, bool bold, const char *left, const char *right)
{
    if (h->n >= VIEW_HELP_LINES) return;
    if (right != NULL)
        snprintf(h->line[h->n], sizeof(h->line[0]), "  %-10s %s", left, right);
    else
        snprintf(h->line[h->n], sizeof(h->line[0]), "%s", left);
    h->bold[h->n++] = bold;
}

static void help_build(const view_t *v, help_t *h)
{
    char buf[128];
    h->n = 0;
    snprintf(buf, sizeof(buf), "hakstat %s: keys", PACKAGE_VERSION);
    help_add(h, true, buf, NULL);
    for (int i = 0; i < HS_KEY_NONE; i++)
        help_add(h, false, hs_keys[i].label, hs_keys[i].help);
    help_add(h, false, "", NULL);
    snprintf(buf, sizeof(buf), "columns of the %s view:", hs_table_view_name(v->view));
    help_add(h, true, buf, NULL);
    int ncols = 0;
    const hs_col_t *c = hs_table_cols(v->view, &ncols);
    for (int i = 0; c != NULL && i < ncols; i++)
        help_add(h, false, c[i].name, c[i].doc);
}

/* Help fills the screen above a footer; when it does not fit, the scrolling keys page
 * through it and any other key returns. */
static void draw_help(view_t *v)
{
    int lines, cols;
    getmaxyx(stdscr, lines, cols);
    help_t h;
    help_build(v, &h);
    int room = lines - 1;
    if (v->help_scroll > h.n - room) v->help_scroll = h.n - room;
    if (v->help_scroll < 0) v->help_scroll = 0;
    for (int y = 0; y < room && v->help_scroll + y < h.n; y++) {
        int i = v->help_scroll + y;
        if (h.bold[i]) attron(A_BOLD);
        put(y, 0, h.line[i], cols);
        if (h.bold[i]) attroff(A_BOLD);
    }
    char foot[128];
    if (h.n > room)
        snprintf(foot, sizeof(foot),
                 "lines %d-%d of %d: Up/Down/PgUp/PgDn scroll, any other key "
                 "returns",
                 v->help_scroll + 1, v->help_scroll + room, h.n);
    else
        snprintf(foot, sizeof(foot), "press any key to return");
    v->help_fits = h.n <= room;
    attron(A_REVERSE);
    fill_line(lines - 1);
    put(lines - 1, 0, foot, cols);
    attroff(A_REVERSE);
}

static int sort_column(const view_t *v, const hs_table_t *t)
{
    int c = v->sort_col[v->view];
    if (c < 0 || c >= t->ncols) c = hs_table_default_sort(v->view);
    if (c < 0 || c >= t->ncols) c = 0;
    return c;
}

/* The model from the current snapshots: the summary and the current view's sorted rows. */
static void model_build(view_t *v)
{
    model_t *m = &v->model;
    if (m->have_table) hs_table_free(&m->table);
    memset(m, 0, sizeof(*m));
    m->built = true;
    if (!v->has_now) return;
    const hs_snap_t *prev = v->has_prev ? &v->prev : NULL;
    int n = hs_table_summary(m->summary, v->seg, &v->now, prev, v->totals);
    m->nsum = n < 0 ? 0 : n > HS_SUMMARY_LINES ? HS_SUMMARY_LINES : n;
    if (hs_table_build(&m->table, v->view, v->seg, &v->now, prev, v->totals) != 0) {
        set_msg(v, true, "out of memory building the table");
        return;
    }
    m->have_table = true;
    m->sort = sort_column(v, &m->table);
    hs_table_sort(&m->table, m->sort, v->invert[v->view]);
}

static void model_free(model_t *m)
{
    if (m->have_table) hs_table_free(&m->table);
    m->have_table = false;
}

/* The lines above the table: the summary wrapped to the width, then as many sparklines
 * as fit, keeping the status line, the heading and a few rows. Returns the next line. */
static int draw_top(const view_t *v, int lines, int cols)
{
    const model_t *m = &v->model;
    char wrapped[VIEW_WRAP_LINES][HS_SUMMARY_LEN];
    int nwrap = 0;
    for (int i = 0; i < m->nsum; i++)
        nwrap = wrap_fields(m->summary[i], cols, wrapped, nwrap);
    int nrows = m->have_table ? m->table.nrows : 0;
    int keep = nrows < VIEW_MIN_ROWS ? nrows : VIEW_MIN_ROWS;
    int top = lines - 2 - keep;
    if (nwrap > top) nwrap = top;
    int nspark = top - nwrap;
    if (nspark > VIEW_NSPARKS) nspark = VIEW_NSPARKS;
    if (nspark < 0) nspark = 0;

    int y = 0;
    for (int i = 0; i < nwrap; i++)
        put(y++, 0, wrapped[i], cols);
    if (!v->has_now) put(y++, 0, v->failure[0] ? v->failure : "waiting for a snapshot", cols);
    for (int i = 0; i < nspark; i++)
        draw_spark(v, i, y++);
    return y;
}

/* The heading and the rows that fit from line y, scrolled. Returns the rows shown. */
static int draw_rows(view_t *v, int y, int lines, int cols)
{
    const hs_table_t *t = &v->model.table;
    if (v->hscroll > t->ncols - 2) v->hscroll = t->ncols > 2 ? t->ncols - 2 : 0;
    if (v->hscroll < 0) v->hscroll = 0;
    layout_t l;
    layout(v, t, v->hscroll, cols, &l);
    draw_heading(v, t, &l, y++, v->model.sort);
    int room = lines - 1 - y, shown = 0;
    if (room < 0) room = 0;
    v->page = room;
    if (v->scroll > t->nrows - room) v->scroll = t->nrows - room;
    if (v->scroll < 0) v->scroll = 0;
    if (t->nrows == 0 && room > 0)
        put(y, 0,
            v->view >= HS_VIEW_SITES ? "(no sampled allocation sites yet)"
                                     : "(nothing to show in this view yet)",
            cols);
    for (int r = v->scroll; r < t->nrows && shown < room; r++, shown++) {
        for (int c = 0; c < t->ncols; c++)
            if (l.x[c] >= 0) draw_cell(v, y, &l, c, t->rows[r].cell[c], t->cols[c].numeric);
        y++;
    }
    return shown;
}

/* Paint one frame of the model (or help, or the too-small notice). */
static void draw(view_t *v)
{
    int lines, cols;
    getmaxyx(stdscr, lines, cols);
    erase();
    curs_set(v->prompt ? 1 : 0);
    if (cols < VIEW_MIN_COLS || lines < VIEW_MIN_LINES) {
        char buf[128];
        snprintf(buf, sizeof(buf), "hakstat: terminal too small (need %dx%d, have %dx%d)",
                 VIEW_MIN_COLS, VIEW_MIN_LINES, cols, lines);
        draw_centered(buf);
    } else if (v->help) {
        draw_help(v);
    } else {
        int y = draw_top(v, lines, cols);
        const model_t *m = &v->model;
        int shown = m->have_table ? draw_rows(v, y, lines, cols) : 0;
        draw_status(v, m->have_table ? &m->table : NULL, m->sort, shown);
    }
    wnoutrefresh(stdscr);
    doupdate();
}

/* ---------------------------------------------------------------------------------------
 * Keys
 * ------------------------------------------------------------------------------------- */

static void set_view(view_t *v, enum hs_view view)
{
    if (view != v->view) {
        v->view = view;
        v->model.built = false;
        v->scroll = 0;
        v->hscroll = 0;
        if (view >= HS_VIEW_SITES && view != HS_VIEW_MEMORY && !v->paused)
            v->last_sample = 0; /* sample now: the last snapshot may lack the site table */
    }
}

static void set_delay(view_t *v, double delay)
{
    delay = hs_delay_clamp(delay);
    v->delay = delay;
    set_msg(v, false, "refresh every %g s", delay);
}

static void move_sort(view_t *v, int step)
{
    int ncols = 0;
    hs_table_cols(v->view, &ncols);
    if (ncols <= 0) return;
    int c = v->sort_col[v->view];
    if (c < 0 || c >= ncols) c = hs_table_default_sort(v->view);
    if (c < 0 || c >= ncols) c = 0;
    v->sort_col[v->view] = (c + step + ncols) % ncols;
    v->scroll = 0;
    v->model.built = false;
}

static void toggle_profiling(view_t *v)
{
    /* A request not yet honoured counts as the state, so P twice undoes it. */
    bool on = false;
    if (v->has_now)
        on = v->now.control != v->now.prof_period ? v->now.control != 0 : v->now.prof_period != 0;
    uint64_t period = on ? 0 : VIEW_PROF_PERIOD;
    if (hs_seg_set_profiling(v->seg, period) != HS_OK) {
        set_msg(v, true, "%s", v->seg->error);
        return;
    }
    if (v->has_now) v->now.control = period;
    if (period)
        set_msg(v, false, "asked process %d to time 1 call in %d", (int)v->seg->pid,
                VIEW_PROF_PERIOD);
    else
        set_msg(v, false, "asked process %d to stop cycle profiling", (int)v->seg->pid);
}

/* Typing a refresh interval: digits and a point, Backspace, Enter, Escape. */
static void prompt_key(view_t *v, int ch)
{
    if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
        v->prompt = false;
        char *end = NULL;
        errno = 0;
        double d = strtod(v->input, &end);
        if (v->input_len == 0) return;
        if (errno || end == v->input || *end != '\0' || !hs_delay_valid(d)) {
            set_msg(v, true, "refresh interval must be %.1f to %.0f seconds, not \"%s\"",
                    HS_DELAY_MIN, HS_DELAY_MAX, v->input);
            return;
        }
        set_delay(v, d);
    } else if (ch == 27) {
        v->prompt = false;
    } else if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
        if (v->input_len > 0) v->input[--v->input_len] = '\0';
    } else if (((ch >= '0' && ch <= '9') || ch == '.') &&
               v->input_len < (int)sizeof(v->input) - 1) {
        v->input[v->input_len++] = (char)ch;
        v->input[v->input_len] = '\0';
    }
}

/* The keys' actions, one handler for each group of keys.h, dispatched by key_handlers.
 * A handler returns false when the screen should close. */
typedef bool key_fn(view_t *v, enum hs_key_action a);

static bool key_quit(view_t *v, enum hs_key_action a)
{
    (void)v;
    (void)a;
    return false;
}

static bool key_help(view_t *v, enum hs_key_action a)
{
    (void)a;
    v->help = true;
    v->help_scroll = 0;
    return true;
}

static bool key_pause(view_t *v, enum hs_key_action a)
{
    (void)a;
    if (v->exited) return true;
    v->paused = !v->paused;
    if (!v->paused) v->last_sample = 0; /* sample now */
    set_msg(v, false, v->paused ? "paused: space resumes" : "resumed");
    return true;
}

/* The view keys of keys.h are in the order of enum hs_view. */
_Static_assert(HS_KEY_VIEW_STACK - HS_KEY_VIEW_THREADS == HS_VIEW_STACK - HS_VIEW_THREADS,
               "keys.h lists one key per view, in the order of enum hs_view");

static bool key_view(view_t *v, enum hs_key_action a)
{
    int n = HS_VIEW_COUNT, view = (int)a - HS_KEY_VIEW_THREADS + HS_VIEW_THREADS;
    if (a == HS_KEY_VIEW_NEXT) view = ((int)v->view + 1) % n;
    if (a == HS_KEY_VIEW_PREV) view = ((int)v->view + n - 1) % n;
    set_view(v, (enum hs_view)view);
    return true;
}

static bool key_sort(view_t *v, enum hs_key_action a)
{
    if (a == HS_KEY_SORT_INVERT) {
        v->invert[v->view] = !v->invert[v->view];
        v->scroll = 0;
        v->model.built = false;
    } else {
        move_sort(v, a == HS_KEY_SORT_PREV ? -1 : 1);
    }
    return true;
}

static bool key_rates(view_t *v, enum hs_key_action a)
{
    (void)a;
    v->totals = !v->totals;
    v->model.built = false;
    set_msg(v, false, v->totals ? "showing totals since start" : "showing rates per second");
    return true;
}

static bool key_delay(view_t *v, enum hs_key_action a)
{
    if (a == HS_KEY_FASTER || a == HS_KEY_SLOWER) {
        set_delay(v, a == HS_KEY_FASTER ? v->delay / 2 : v->delay * 2);
    } else {
        v->prompt = true;
        v->input[0] = '\0';
        v->input_len = 0;
    }
    return true;
}

static bool key_profile(view_t *v, enum hs_key_action a)
{
    (void)a;
    toggle_profiling(v);
    return true;
}

/* Scrolling; the next frame clamps what runs past the end. */
static bool key_scroll(view_t *v, enum hs_key_action a)
{
    int page = v->page > 1 ? v->page - 1 : 1;
    if (a == HS_KEY_UP || a == HS_KEY_DOWN) v->scroll += a == HS_KEY_UP ? -1 : 1;
    if (a == HS_KEY_PAGE_UP || a == HS_KEY_PAGE_DOWN)
        v->scroll += a == HS_KEY_PAGE_UP ? -page : page;
    if (a == HS_KEY_TOP || a == HS_KEY_BOTTOM) v->scroll = a == HS_KEY_TOP ? 0 : 1 << 30;
    if (a == HS_KEY_LEFT && v->hscroll > 0) v->hscroll--;
    if (a == HS_KEY_RIGHT) v->hscroll++;
    if (v->scroll < 0) v->scroll = 0;
    return true;
}

static bool key_redraw(view_t *v, enum hs_key_action a)
{
    (void)v;
    (void)a;
    clearok(curscr, TRUE);
    return true;
}

static key_fn *const key_handlers[HS_KEY_NONE] = {
    [HS_KEY_QUIT] = key_quit,         [HS_KEY_HELP] = key_help,
    [HS_KEY_PAUSE] = key_pause,       [HS_KEY_VIEW_THREADS] = key_view,
    [HS_KEY_VIEW_CLASSES] = key_view, [HS_KEY_VIEW_TOTALS] = key_view,
    [HS_KEY_VIEW_SITES] = key_view,   [HS_KEY_VIEW_MEMORY] = key_view,
    [HS_KEY_VIEW_GROWTH] = key_view,  [HS_KEY_VIEW_STACK] = key_view,
    [HS_KEY_VIEW_NEXT] = key_view,    [HS_KEY_VIEW_PREV] = key_view,
    [HS_KEY_SORT_PREV] = key_sort,    [HS_KEY_SORT_NEXT] = key_sort,
    [HS_KEY_SORT_INVERT] = key_sort,  [HS_KEY_RATES] = key_rates,
    [HS_KEY_FASTER] = key_delay,      [HS_KEY_SLOWER] = key_delay,
    [HS_KEY_DELAY] = key_delay,       [HS_KEY_PROFILE] = key_profile,
    [HS_KEY_UP] = key_scroll,         [HS_KEY_DOWN] = key_scroll,
    [HS_KEY_PAGE_UP] = key_scroll,    [HS_KEY_PAGE_DOWN] = key_scroll,
    [HS_KEY_TOP] = key_scroll,        [HS_KEY_BOTTOM] = key_scroll,
    [HS_KEY_LEFT] = key_scroll,       [HS_KEY_RIGHT] = key_scroll,
    [HS_KEY_REDRAW] = key_redraw,
};

/* While help shows, any key closes it, but the scrolling keys page a long one. */
static void help_key(view_t *v, enum hs_key_action a)
{
    int page = getmaxy(stdscr) - 2;
    if (v->help_fits) a = HS_KEY_NONE;
    if (a == HS_KEY_UP || a == HS_KEY_DOWN)
        v->help_scroll += a == HS_KEY_UP ? -1 : 1;
    else if (a == HS_KEY_PAGE_UP || a == HS_KEY_PAGE_DOWN)
        v->help_scroll += a == HS_KEY_PAGE_UP ? -page : page;
    else if (a == HS_KEY_TOP || a == HS_KEY_BOTTOM)
        v->help_scroll = a == HS_KEY_TOP ? 0 : 1 << 30; /* clamped when drawn */
    else
        v->help = false;
}

/* Handle one key. Returns false when the screen should close. */
static bool handle_key(view_t *v, int ch)
{
    if (ch == KEY_RESIZE) return true; /* the next frame reads the new size */
    if (v->prompt) {
        prompt_key(v, ch);
        return true;
    }
    enum hs_key_action a = hs_key_action(ch);
    if (v->help) {
        help_key(v, a);
        return true;
    }
    return a == HS_KEY_NONE || key_handlers[a](v, a);
}

/* ---------------------------------------------------------------------------------------
 * The loop
 * ------------------------------------------------------------------------------------- */

static void view_init(view_t *v, hs_seg_t *seg, const hs_opts_t *opts)
{
    memset(v, 0, sizeof(*v));
    v->seg = seg;
    v->view = opts->view < HS_VIEW_COUNT ? opts->view : HS_VIEW_THREADS;
    v->totals = opts->totals;
    v->delay = hs_delay_clamp(opts->delay > 0 ? opts->delay : 1.0);
    v->count = opts->count > 0 ? opts->count : 0;
    for (int i = 0; i < HS_VIEW_COUNT; i++) {
        v->sort_col[i] = -1;
        if (opts->sort[0] == '\0') continue;
        int ncols = 0;
        const hs_col_t *cols = hs_table_cols((enum hs_view)i, &ncols);
        for (int c = 0; cols != NULL && c < ncols; c++)
            if (strcasecmp(cols[c].name, opts->sort) == 0) v->sort_col[i] = c;
    }
    const char *codeset = nl_langinfo(CODESET);
    v->utf8 = codeset != NULL && strcmp(codeset, "UTF-8") == 0;
}

/* The last frame, as text: read back from the screen before endwin (which gives the
 * terminal its old contents back) to print after it, so a run that ends by -n leaves
 * its last screen visible. NULL when out of memory. */
static wchar_t *frame_save(int *rows, int *cols)
{
    getmaxyx(stdscr, *rows, *cols);
    if (*rows <= 0 || *cols <= 0) return NULL;
    wchar_t *text = calloc((size_t)*rows * (size_t)(*cols + 1), sizeof(wchar_t));
    if (!text) return NULL;
    for (int y = 0; y < *rows; y++)
        if (mvinnwstr(y, 0, text + (size_t)y * (size_t)(*cols + 1), *cols) == ERR)
            text[(size_t)y * (size_t)(*cols + 1)] = L'\0';
    return text;
}

static void frame_print(wchar_t *text, int rows, int cols)
{
    int last = rows - 1; /* trailing blank lines are left out */
    for (; last >= 0; last--) {
        const wchar_t *line = text + (size_t)last * (size_t)(cols + 1);
        if (wcsspn(line, L" ") != wcslen(line)) break;
    }
    for (int y = 0; y <= last; y++) {
        wchar_t *line = text + (size_t)y * (size_t)(cols + 1);
        size_t n = wcslen(line);
        while (n && line[n - 1] == L' ')
            line[--n] = L'\0';
        printf("%ls\n", line);
    }
    fflush(stdout);
    free(text);
}

int view_run(hs_seg_t *seg, const hs_opts_t *opts)
{
    SCREEN *screen = hs_screen_open();
    if (screen == NULL) return HS_ERR_SYSTEM;
    view_t v;
    view_init(&v, seg, opts); /* after the locale is set: it reads the codeset */

    sample(&v);
    int status = HS_OK;
    bool counted_out = false;
    while (!hs_screen_stop) {
        double now = hs_mono();
        bool sampling = !v.paused && !v.exited;
        if (sampling && now >= v.last_sample + v.delay) {
            if (v.count > 0 && v.samples > v.count) {
                counted_out = true;
                break;
            }
            sample(&v);
            now = hs_mono();
        }
        if (!v.model.built) model_build(&v);
        draw(&v);

        int wait_ms = VIEW_MAX_WAIT_MS;
        if (sampling) {
            double left = (v.last_sample + v.delay - now) * 1000;
            if (left < wait_ms) wait_ms = left > 0 ? (int)ceil(left) : 0;
        }
        if (v.msg[0] && v.msg_until > now && (v.msg_until - now) * 1000 < wait_ms)
            wait_ms = (int)ceil((v.msg_until - now) * 1000);
        timeout(wait_ms);
        int ch = getch();
        if (ch == ERR) continue;
        if (!handle_key(&v, ch)) break;
    }

    int rows = 0, cols = 0;
    wchar_t *frame = counted_out ? frame_save(&rows, &cols) : NULL;
    hs_screen_close(screen);
    if (frame) frame_print(frame, rows, cols);
    model_free(&v.model);
    if (v.has_prev) hs_snap_free(&v.prev);
    if (v.has_now) hs_snap_free(&v.now);
    return status;
}
