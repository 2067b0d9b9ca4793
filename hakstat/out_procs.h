/* out_procs.h: the non-interactive outputs of a group of processes (-p with several
 * PIDs, or --tree): the sum as one process, a row per command name and one per
 * process, in batch text, JSON and OpenMetrics. */
#ifndef HS_OUT_PROCS_H
#define HS_OUT_PROCS_H

#include <stdio.h>

#include "options.h"
#include "procs.h"

/* Text: the summary of the sum, then the commands' table and the processes' (all of
 * them up to HS_OUT_PROCS_ROWS, else the running ones). */
#define HS_OUT_PROCS_ROWS 50
void out_procs_text(FILE *f, const hs_group_t *g, const hs_opts_t *o);
/* One JSON document: "processes", "commands" and "totals" (hakstat(1), JSON). */
void out_procs_json(FILE *f, const hs_group_t *g, const hs_opts_t *o);
/* OpenMetrics: every counter, one sample per process, ending in "# EOF". */
void out_procs_prom(FILE *f, const hs_group_t *g);

/* A row per command name: processes, running, and summed counts. */
typedef struct hs_cmd_s {
    char comm[HK_STATS_COMM_LEN + 1];
    int procs, running;
    hs_counts_t n, prev;
} hs_cmd_t;
/* The group's commands, most mallocs first; the count, or -1 (out of memory). */
int out_procs_commands(const hs_group_t *g, hs_cmd_t **out);

#endif /* HS_OUT_PROCS_H */
