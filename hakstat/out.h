/* out.h: the non-interactive outputs: batch text, JSON, the Prometheus formats and folded
 * stacks. Each prints one interval from the model (two snapshots); none knows about terminals. */
#ifndef HS_OUT_H
#define HS_OUT_H

#include <stdio.h>

#include "list.h"
#include "options.h"
#include "prom.h"
#include "snap.h"

#define HS_JSON_SCHEMA 1

/* Batch text: the summary and the chosen view's table. */
void out_text(FILE *f, const hs_seg_t *seg, const hs_snap_t *now, const hs_snap_t *prev,
              const hs_opts_t *o);
/* One JSON document on one line. */
void out_json(FILE *f, const hs_seg_t *seg, const hs_snap_t *now, const hs_snap_t *prev,
              const hs_opts_t *o);
/* A Prometheus document of the bounded series of some processes (prom.h): the text
 * format 0.0.4, or OpenMetrics 1.0 ending in "# EOF". Sites are listed for site_seg's
 * process when site_seg and site_snap are given. */
enum hs_prom_format { HS_PROM_TEXT, HS_PROM_OPENMETRICS };
typedef struct hs_prom_doc_s {
    enum hs_prom_format format;
    const hs_prom_proc_t *const *procs;
    int nprocs;
    unsigned skipped; /* segments left out (hakmem_exporter_skipped_segments) */
    const hs_seg_t *site_seg;
    const hs_snap_t *site_snap;
} hs_prom_doc_t;
void out_prom_doc(FILE *f, const hs_prom_doc_t *d);
/* One process's OpenMetrics document, with its sites, from one snapshot. */
void out_prom(FILE *f, const hs_seg_t *seg, const hs_snap_t *now);
/* Every counter of `n` by name and the derived figures; the "rates" object. */
void out_json_counts(FILE *f, const hs_seg_t *seg, const hs_counts_t *n);
void out_json_rates(FILE *f, const hs_seg_t *seg, const hs_counts_t *now, const hs_counts_t *prev,
                    double dt, double age);

/* Folded stacks (flame graphs), weighted by estimated bytes or, with `live`, live bytes. */
void out_folded(FILE *f, const hs_seg_t *seg, const hs_snap_t *now, bool live);
/* hakstat -l: a table with a line per segment, or one JSON array on one line. */
void out_list_text(FILE *f, const hs_listing_t *l);
void out_list_json(FILE *f, const hs_listing_t *l);

/* JSON string literal with escapes. */
void out_json_string(FILE *f, const char *s);
/* A Prometheus label value, quoted and escaped. */
void out_prom_label_value(FILE *f, const char *s);

#endif /* HS_OUT_H */
