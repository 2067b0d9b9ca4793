/* out_prom.c: OpenMetrics text format, for node_exporter's textfile collector and
 * Prometheus. One family per counter, HELP and TYPE from the segment's descriptors,
 * samples labelled by pid, command and thread. */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "out.h"
#include "sym.h"

/* Label values escape backslash, double quote and newline. */
static void label(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            fprintf(f, "\\%c", *s);
        else if (*s == '\n')
            fputs("\\n", f);
        else
            fputc(*s, f);
    }
    fputc('"', f);
}

static void labels(FILE *f, const hs_seg_t *seg, const char *thread, uint64_t tid)
{
    fprintf(f, "{pid=\"%d\",command=", (int)seg->pid);
    label(f, seg->comm);
    if (thread) {
        fputs(",thread=", f);
        label(f, thread);
        fprintf(f, ",tid=\"%llu\"", (unsigned long long)tid);
    }
    fputc('}', f);
}

void out_prom(FILE *f, const hs_seg_t *seg, const hs_snap_t *now)
{
    for (uint32_t i = 0; i < seg->ncounters; i++) {
        const hk_stat_desc_t *d = &seg->desc[i];
        bool gauge = hs_snap_is_gauge(seg, i);
        char name[64];
        snprintf(name, sizeof(name), "hakmem_%s", d->name);
        for (char *p = name; *p; p++)
            if (!isalnum((unsigned char)*p) && *p != '_') *p = '_';
        fprintf(f, "# TYPE %s %s\n", name, gauge ? "gauge" : "counter");
        fprintf(f, "# HELP %s %s (%s)\n", name, d->doc, d->unit);
        const char *suffix = gauge ? "" : "_total";
        for (uint32_t t = 0; t < now->nthreads; t++) {
            fprintf(f, "%s%s", name, suffix);
            labels(f, seg, now->threads[t].name[0] ? now->threads[t].name : "?",
                   now->threads[t].tid);
            if (gauge)
                fprintf(f, " %lld\n", (long long)(int64_t)now->threads[t].n.c[i]);
            else
                fprintf(f, " %llu\n", (unsigned long long)now->threads[t].n.c[i]);
        }
        fprintf(f, "%s%s", name, suffix);
        labels(f, seg, "exited", 0);
        if (gauge)
            fprintf(f, " %lld\n", (long long)(int64_t)now->retired.c[i]);
        else
            fprintf(f, " %llu\n", (unsigned long long)now->retired.c[i]);
    }
    /* Sampled allocation sites: one series per site, labelled by function and object. */
    hs_site_t *sites = NULL;
    int n = hs_snap_sites(now, &sites);
    if (n > 0) {
        fputs("# TYPE hakmem_site_samples counter\n", f);
        fputs("# HELP hakmem_site_samples sampled allocations at a call site (samples)\n", f);
        for (int i = 0; i < n; i++) {
            char func[256], object[512];
            hs_sym_site(seg->pid, sites[i].addr, func, sizeof(func), object, sizeof(object));
            fprintf(f, "hakmem_site_samples_total{pid=\"%d\",command=", (int)seg->pid);
            label(f, seg->comm);
            fputs(",function=", f);
            label(f, func);
            fputs(",object=", f);
            label(f, object);
            fprintf(f, "} %llu\n", (unsigned long long)sites[i].samples);
        }
    }
    free(sites);
    fputs("# EOF\n", f);
    fflush(f);
}
