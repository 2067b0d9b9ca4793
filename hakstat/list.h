/* list.h: hakstat -l and --gc: the segments under the directory, each with its owner,
 * state and, when readable and live, figures from two snapshots; the printers are
 * out_list_text and out_list_json (out.h). */
#ifndef HS_LIST_H
#define HS_LIST_H

#include <stdbool.h>
#include <stdio.h>

#include "seg.h"

typedef struct hs_list_row_s {
    hs_seg_entry_t e;
    char user[32];     /* the owner's name, or uid */
    const char *state; /* "live", "stale", "foreign" or "unreadable" */
    unsigned threads;
    double uptime_s, ops_rate; /* NAN when not known */
    char comm[HK_STATS_COMM_LEN + 1];
} hs_list_row_t;

typedef struct hs_listing_s {
    hs_list_row_t rows[HS_SEG_LIST_MAX];
    int n;
} hs_listing_t;

/* Fill `l`: what the directory holds (skipped entries noted on stderr), stale segments
 * and retired records of this user removed first with `gc` (the counts said on
 * `gc_note`), then two snapshots of each live readable segment, 200 ms apart, for its
 * rate. HS_OK, or HS_ERR_SYSTEM (said on stderr) when the directory cannot be read. */
int hs_list_take(hs_listing_t *l, bool gc, FILE *gc_note);

#endif /* HS_LIST_H */
