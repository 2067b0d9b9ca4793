/* table.h: the rows and columns of each view (threads, size classes, totals, sites, growth,
 * stack) and the
 * summary lines above them, built once from two snapshots so the screen and the batch
 * printer show the same figures. Formatting of cells happens here; drawing does not. */
#ifndef HS_TABLE_H
#define HS_TABLE_H

#include <stdbool.h>

#include "options.h"
#include "snap.h"

#define HS_TABLE_MAX_COLS 12
#define HS_CELL_LEN       96 /* text cells keep whole names; the screen cuts them */

typedef struct hs_col_s {
    const char *name; /* heading, also the --sort key (case-insensitive) */
    int width;        /* characters, right-aligned when numeric */
    bool numeric;
    const char *doc; /* one line, for help */
} hs_col_t;

typedef struct hs_row_s {
    char cell[HS_TABLE_MAX_COLS][HS_CELL_LEN]; /* formatted text */
    double val[HS_TABLE_MAX_COLS];             /* sort value (numeric columns) */
} hs_row_t;

typedef struct hs_table_s {
    enum hs_view view;
    const hs_col_t *cols;
    int ncols;
    hs_row_t *rows;
    int nrows;
} hs_table_t;

/* Build the rows of `view` from `now` (and `prev` for rates; NULL or `totals` shows
 * totals since start). Returns 0, or -1 when out of memory. */
int hs_table_build(hs_table_t *t, enum hs_view view, const hs_seg_t *seg, const hs_snap_t *now,
                   const hs_snap_t *prev, bool totals);
void hs_table_free(hs_table_t *t);

/* Column index by heading (case-insensitive), or -1. */
int hs_table_col(const hs_table_t *t, const char *name);
/* Default sort column of a view. */
int hs_table_default_sort(enum hs_view view);
/* Sort rows by column `col`; numeric columns descending unless `invert`. */
void hs_table_sort(hs_table_t *t, int col, bool invert);

/* The columns of a view, for help text and the man-page check. */
const hs_col_t *hs_table_cols(enum hs_view view, int *ncols);
const char *hs_table_view_name(enum hs_view view);

/* Summary: up to HS_SUMMARY_LINES lines of at most HS_SUMMARY_LEN - 1 characters:
 * process, uptime, threads, malloc/free rates, coverage, hit rate, refills, remote
 * frees, cycles (and ns) per operation, memory. Returns the number of lines. */
#define HS_SUMMARY_LINES 6
#define HS_SUMMARY_LEN   384 /* the longest line (cycles with its reason) fits whole */
int hs_table_summary(char lines[HS_SUMMARY_LINES][HS_SUMMARY_LEN], const hs_seg_t *seg,
                     const hs_snap_t *now, const hs_snap_t *prev, bool totals);

/* The site views (table_sites.c): sites, growth and stack. */
const hs_col_t *hs_table_site_cols(enum hs_view view, int *ncols);
int hs_table_site_default_sort(enum hs_view view);
int hs_table_site_rows(hs_table_t *t, const hs_seg_t *seg, const hs_snap_t *now,
                       const hs_snap_t *prev);
/* Only sites with this rank (1 = the first in the growth view's order) in the stack
 * view; 0 = all. */
void hs_table_set_stack_site(int rank);
void hs_table_cell_num(hs_row_t *r, int col, double v);
/* Text whole when it fits the cell, else cut and ending in "~". */
void hs_table_cell_text(hs_row_t *r, int col, const char *s);

/* Format helpers shared by the outputs: human numbers ("12.3M"), percentages, bytes. */
void hs_table_fmt_count(char *buf, size_t len, double v);
void hs_table_fmt_bytes(char *buf, size_t len, double v);
void hs_table_fmt_pct(char *buf, size_t len, double ratio);

#endif /* HS_TABLE_H */
