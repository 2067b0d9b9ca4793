/* out.h: the non-interactive outputs: batch text, JSON, OpenMetrics and folded stacks. Each prints
 * one interval from the model (two snapshots); none knows about terminals. */
#ifndef HS_OUT_H
#define HS_OUT_H

#include <stdio.h>

#include "options.h"
#include "snap.h"

#define HS_JSON_SCHEMA 1

/* Batch text: the summary and the chosen view's table. */
void out_text(FILE *f, const hs_seg_t *seg, const hs_snap_t *now, const hs_snap_t *prev,
              const hs_opts_t *o);
/* One JSON document on one line. */
void out_json(FILE *f, const hs_seg_t *seg, const hs_snap_t *now, const hs_snap_t *prev,
              const hs_opts_t *o);
/* OpenMetrics text exposition, ending in "# EOF". */
void out_prom(FILE *f, const hs_seg_t *seg, const hs_snap_t *now);
/* Every counter of `n` by name and the derived figures; the "rates" object. */
void out_json_counts(FILE *f, const hs_seg_t *seg, const hs_counts_t *n);
void out_json_rates(FILE *f, const hs_seg_t *seg, const hs_counts_t *now, const hs_counts_t *prev,
                    double dt, double age);
/* Folded stacks (flame graphs), weighted by estimated bytes or, with `live`, live bytes. */
void out_folded(FILE *f, const hs_seg_t *seg, const hs_snap_t *now, bool live);
/* JSON string literal with escapes. */
void out_json_string(FILE *f, const char *s);

#endif /* HS_OUT_H */
