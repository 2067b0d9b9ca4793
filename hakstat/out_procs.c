/* out_procs.c: batch text, JSON and OpenMetrics for a group of processes. The sum is
 * drawn as one process by the single-process code (the group's `canon` segment and
 * hs_group_snap), so a group's summary reads like a process's. */
#include "config.h"

#include "out_procs.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "out.h"
#include "table.h"

static int by_malloc(const void *a, const void *b)
{
    const hs_cmd_t *x = a, *y = b;
    uint64_t mx = x->n.c[HK_STAT_malloc], my = y->n.c[HK_STAT_malloc];
    return mx < my ? 1 : mx > my ? -1 : strcmp(x->comm, y->comm);
}

int out_procs_commands(const hs_group_t *g, hs_cmd_t **out)
{
    hs_cmd_t *c = calloc(g->n ? (size_t)g->n : 1, sizeof(*c));
    if (c == NULL) return -1;
    int n = 0;
    for (int i = 0; i < g->n; i++) {
        const hs_proc_t *p = &g->v[i];
        int k = 0;
        while (k < n && strcmp(c[k].comm, p->comm) != 0)
            k++;
        if (k == n) snprintf(c[n++].comm, sizeof(c[0].comm), "%s", p->comm);
        c[k].procs++;
        c[k].running += !hs_proc_exited(p);
        for (int j = 0; j < HK_STAT_NCOUNTERS; j++) {
            c[k].n.c[j] += p->n.c[j];
            c[k].prev.c[j] += p->have_prev ? p->prev.c[j] : 0;
        }
        for (int j = 0; j < HK_STATS_NCLASSES; j++) {
            c[k].n.class_alloc[j] += p->n.class_alloc[j];
            c[k].n.class_free[j] += p->n.class_free[j];
        }
    }
    qsort(c, (size_t)n, sizeof(*c), by_malloc);
    *out = c;
    return n;
}

static int running(const hs_group_t *g)
{
    int r = 0;
    for (int i = 0; i < g->n; i++)
        r += !hs_proc_exited(&g->v[i]);
    return r;
}

/* ---------------------------------------------------------------------------------------
 * Text
 * ------------------------------------------------------------------------------------- */
static void text_counts(FILE *f, const hs_counts_t *n, const hs_counts_t *prev, double dt)
{
    char m[24], fr[24], b[24], r[24];
    hs_table_fmt_count(m, sizeof(m), (double)n->c[HK_STAT_malloc]);
    hs_table_fmt_count(fr, sizeof(fr), (double)n->c[HK_STAT_free]);
    hs_table_fmt_bytes(b, sizeof(b), (double)n->c[HK_STAT_bytes]);
    double rate = NAN;
    if (prev && dt > 0 && n->c[HK_STAT_malloc] >= prev->c[HK_STAT_malloc])
        rate = (double)(n->c[HK_STAT_malloc] - prev->c[HK_STAT_malloc]) / dt;
    hs_table_fmt_count(r, sizeof(r), rate);
    fprintf(f, " %8s %8s %9s %9s", m, fr, b, r);
}

/* The group's two heading lines: who (and for how long), then how many processes. */
static void text_heading(FILE *f, const hs_group_t *g, const hs_snap_t *now)
{
    unsigned long long up = (unsigned long long)hs_snap_uptime(now);
    char prof[48] = "profiling off";
    if (now->prof_period)
        snprintf(prof, sizeof(prof), "profiling 1/%llu calls",
                 (unsigned long long)now->prof_period);
    if (g->tree) {
        fprintf(f, "%s (pid %d) and its descendants", g->canon.comm, (int)g->canon.pid);
    } else {
        fputs("pids", f);
        int named = 0;
        for (int i = 0; i < g->n; i++)
            if (g->v[i].named && named++ < 8)
                fprintf(f, "%c%d", named > 1 ? ',' : ' ', g->v[i].pid);
        if (named > 8) fputs(",...", f);
    }
    fprintf(f, "  up %llu:%02llu:%02llu  threads %u  %s\n", up / 3600, up / 60 % 60, up % 60,
            now->nthreads, prof);
    int r = running(g);
    fprintf(f, "processes: %d in all, %d running, %d exited", g->n, r, g->n - r);
    if (g->dropped) fprintf(f, ", %u more not followed", g->dropped);
    fputc('\n', f);
}

static void text_procs(FILE *f, const hs_group_t *g, double dt)
{
    int r = running(g);
    bool all = g->n <= HS_OUT_PROCS_ROWS;
    fprintf(f, "%7s %7s %-9s %7s %8s %8s %9s %9s  %s\n", "PID", "PPID", "STATE", "THREADS",
            "MALLOC", "FREE", "BYTES", "MALLOC/S", "COMMAND");
    for (int i = 0; i < g->n; i++) {
        const hs_proc_t *p = &g->v[i];
        if (!all && hs_proc_exited(p)) continue;
        fprintf(f, "%7d %7d %-9s %7u", (int)p->pid, (int)p->ppid, hs_proc_state_name(p->state),
                p->nthreads);
        text_counts(f, &p->n, p->have_prev ? &p->prev : NULL, dt);
        fprintf(f, "  %s\n", p->comm[0] ? p->comm : "?");
    }
    if (!all) fprintf(f, "(%d exited processes not listed: -j lists every one)\n", g->n - r);
    if (g->dropped)
        fprintf(f, "(%u more processes not followed: at most %d)\n", g->dropped, HS_GROUP_MAX);
}

void out_procs_text(FILE *f, const hs_group_t *g, const hs_opts_t *o)
{
    hs_snap_t now, prev;
    bool have_prev;
    hs_group_snap(g, &now, &prev, &have_prev);
    char lines[HS_SUMMARY_LINES][HS_SUMMARY_LEN];
    int n = hs_table_summary(lines, &g->canon, &now, have_prev ? &prev : NULL, o->totals);
    char when[32];
    time_t secs = (time_t)(now.now_ns / 1000000000u);
    struct tm tm;
    localtime_r(&secs, &tm);
    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
    fprintf(f, "=== %s %s\n", when, now.alive ? "" : "(every process exited)");
    text_heading(f, g, &now);
    for (int i = 1; i < n; i++) /* the first, one process's heading, is replaced */
        fprintf(f, "%s\n", lines[i]);
    double dt = have_prev ? now.t - prev.t : 0;
    hs_cmd_t *c;
    int nc = out_procs_commands(g, &c);
    fprintf(f, "%-16s %5s %7s %8s %8s %9s %9s\n", "COMMAND", "PROCS", "RUNNING", "MALLOC", "FREE",
            "BYTES", "MALLOC/S");
    for (int i = 0; i < nc; i++) {
        fprintf(f, "%-16.16s %5d %7d", c[i].comm[0] ? c[i].comm : "?", c[i].procs, c[i].running);
        text_counts(f, &c[i].n, have_prev ? &c[i].prev : NULL, dt);
        fputc('\n', f);
    }
    free(c);
    text_procs(f, g, dt);
    fflush(f);
}

/* ---------------------------------------------------------------------------------------
 * JSON
 * ------------------------------------------------------------------------------------- */
static void json_time(FILE *f, const char *key, uint64_t ns)
{
    fprintf(f, ",\"%s\":", key);
    if (ns)
        fprintf(f, "%.3f", (double)ns / 1e9);
    else
        fputs("null", f);
}

static void json_proc(FILE *f, const hs_group_t *g, const hs_proc_t *p, double dt)
{
    fprintf(f, "{\"pid\":%d,\"ppid\":%d,\"command\":", (int)p->pid, (int)p->ppid);
    out_json_string(f, p->comm);
    fprintf(f, ",\"state\":\"%s\",\"exited\":%s,\"named\":%s,\"threads\":%u",
            hs_proc_state_name(p->state), hs_proc_exited(p) ? "true" : "false",
            p->named ? "true" : "false", p->nthreads);
    json_time(f, "start_time", p->start_ns);
    json_time(f, "exit_time", p->exit_ns);
    if (p->state == HS_PROC_NOSEG || (p->state == HS_PROC_GONE && p->why[0])) {
        fputs(",\"why\":", f);
        out_json_string(f, p->why);
    }
    fputc(',', f);
    out_json_counts(f, &g->canon, &p->n);
    fputc(',', f);
    double age =
        p->start_ns && g->now_ns > p->start_ns ? (double)(g->now_ns - p->start_ns) / 1e9 : 1;
    out_json_rates(f, &g->canon, &p->n, p->have_prev ? &p->prev : NULL, p->have_prev ? dt : 0, age);
    fputc('}', f);
}

static void json_commands(FILE *f, const hs_group_t *g, double dt, bool have_prev)
{
    hs_cmd_t *c;
    int nc = out_procs_commands(g, &c);
    fputs(",\"commands\":[", f);
    for (int i = 0; i < nc; i++) {
        fputs(i ? ",{\"command\":" : "{\"command\":", f);
        out_json_string(f, c[i].comm);
        fprintf(f, ",\"processes\":%d,\"running\":%d,", c[i].procs, c[i].running);
        out_json_counts(f, &g->canon, &c[i].n);
        fputc(',', f);
        out_json_rates(f, &g->canon, &c[i].n, have_prev ? &c[i].prev : NULL, have_prev ? dt : 0, 1);
        fputc('}', f);
    }
    fputc(']', f);
    free(c);
}

void out_procs_json(FILE *f, const hs_group_t *g, const hs_opts_t *o)
{
    (void)o;
    hs_snap_t now, prev;
    bool have_prev;
    hs_group_snap(g, &now, &prev, &have_prev);
    double dt = have_prev ? now.t - prev.t : 0, up = hs_snap_uptime(&now);
    fprintf(f, "{\"schema\":%d,\"abi\":\"%d\",\"time\":%.3f,\"tree\":%s,\"pid\":%d,\"command\":",
            HS_JSON_SCHEMA, HK_STATS_ABI_MAJOR, (double)now.now_ns / 1e9,
            g->tree ? "true" : "false", (int)g->canon.pid);
    out_json_string(f, g->canon.comm);
    fprintf(f, ",\"alive\":%s,\"uptime_s\":%.3f,\"interval_s\":", now.alive ? "true" : "false", up);
    dt > 0 ? fprintf(f, "%.3f", dt) : fputs("null", f);
    fprintf(f, ",\"profiling_period\":%llu,\"running\":%d,\"dropped\":%u,\"processes\":[",
            (unsigned long long)now.prof_period, running(g), g->dropped);
    for (int i = 0; i < g->n; i++) {
        if (i) fputc(',', f);
        json_proc(f, g, &g->v[i], dt);
    }
    fputc(']', f);
    json_commands(f, g, dt, have_prev);
    fputs(",\"totals\":{", f);
    out_json_counts(f, &g->canon, &now.total);
    fputc(',', f);
    out_json_rates(f, &g->canon, &now.total, have_prev ? &prev.total : NULL, dt, up > 0 ? up : 1);
    fputs("}}\n", f);
    fflush(f);
}

/* ---------------------------------------------------------------------------------------
 * OpenMetrics
 * ------------------------------------------------------------------------------------- */
void out_procs_prom(FILE *f, const hs_group_t *g, bool openmetrics)
{
    const hs_seg_t *seg = &g->canon;
    for (uint32_t i = 0; i < seg->ncounters; i++) {
        const hk_stat_desc_t *d = &seg->desc[i];
        bool gauge = hs_snap_is_gauge(seg, i);
        char name[64];
        snprintf(name, sizeof(name), "hakmem_%s", d->name);
        for (char *p = name; *p; p++)
            if (!isalnum((unsigned char)*p) && *p != '_') *p = '_';
        /* OpenMetrics declares the family, the text format 0.0.4 the sample's name. */
        const char *suffix = gauge || openmetrics ? "" : "_total";
        fprintf(f, "# HELP %s%s %s (%s)\n", name, suffix, d->doc, d->unit);
        fprintf(f, "# TYPE %s%s %s\n", name, suffix, gauge ? "gauge" : "counter");
        for (int k = 0; k < g->n; k++) {
            const hs_proc_t *p = &g->v[k];
            if (!p->counted) continue;
            fprintf(f, "%s%s{pid=\"%d\",command=", name, gauge ? "" : "_total", (int)p->pid);
            out_prom_label_value(f, p->comm);
            if (gauge)
                fprintf(f, "} %lld\n", (long long)(int64_t)p->n.c[i]);
            else
                fprintf(f, "} %llu\n", (unsigned long long)p->n.c[i]);
        }
    }
    if (openmetrics) fputs("# EOF\n", f);
    fflush(f);
}
