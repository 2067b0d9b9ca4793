/* out_prom.c: the Prometheus text format 0.0.4 and OpenMetrics 1.0 documents, from the
 * bounded series of prom.h. Every family, with its name, type, help and scope, is one
 * row of `families`; the segment's counters are its first rows, so a counter added to
 * HK_STAT_COUNTERS is exported without a change here. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "out.h"
#include "sym.h"

enum scope {
    SCOPE_GROUP,    /* per series of threads: pid, command, thread (and tid) */
    SCOPE_PROCESS,  /* per process: pid, command */
    SCOPE_CLASS,    /* per process and size class: pid, command, class, size */
    SCOPE_EXPORTER, /* once per document */
};

typedef struct family_s {
    const char *name, *help;
    bool counter;
    enum scope scope;
    int id; /* enum hk_stat_id of a segment counter, or -1 */
    long double (*value)(const hs_prom_proc_t *p, const hs_prom_group_t *g, uint32_t cls,
                         const hs_prom_doc_t *d);
} family_t;

static long double v_threads(const hs_prom_proc_t *p, const hs_prom_group_t *g, uint32_t c,
                             const hs_prom_doc_t *d)
{
    return g->threads;
}

static long double v_start(const hs_prom_proc_t *p, const hs_prom_group_t *g, uint32_t c,
                           const hs_prom_doc_t *d)
{
    return (long double)p->start_ns / 1e9L;
}

static long double v_period(const hs_prom_proc_t *p, const hs_prom_group_t *g, uint32_t c,
                            const hs_prom_doc_t *d)
{
    return p->prof_period;
}

static long double v_tsc(const hs_prom_proc_t *p, const hs_prom_group_t *g, uint32_t c,
                         const hs_prom_doc_t *d)
{
    return p->tsc_hz;
}

static long double v_class_live(const hs_prom_proc_t *p, const hs_prom_group_t *g, uint32_t c,
                                const hs_prom_doc_t *d)
{
    return (long double)(int64_t)(p->class_alloc[c] - p->class_free[c]);
}

static long double v_class_allocs(const hs_prom_proc_t *p, const hs_prom_group_t *g, uint32_t c,
                                  const hs_prom_doc_t *d)
{
    return p->class_alloc[c];
}

static long double v_in_use(const hs_prom_proc_t *p, const hs_prom_group_t *g, uint32_t c,
                            const hs_prom_doc_t *d)
{
    long double bytes = 0;
    for (uint32_t i = 0; i < p->nclasses; i++)
        bytes += (long double)(int64_t)(p->class_alloc[i] - p->class_free[i]) * p->class_size[i];
    return bytes;
}

static long double v_large_live(const hs_prom_proc_t *p, const hs_prom_group_t *g, uint32_t c,
                                const hs_prom_doc_t *d)
{
    return (long double)(int64_t)(p->total.c[HK_STAT_large_alloc] - p->total.c[HK_STAT_large_free]);
}

/* The thread figures and memory of hakstat(1) MEMORY; NaN (no sample) when the writer
 * does not publish them. */
static long double v_tail(const hs_prom_proc_t *p, uint64_t v)
{
    return p->has_tail ? (long double)v : NAN;
}

static long double v_started(const hs_prom_proc_t *p, const hs_prom_group_t *g, uint32_t c,
                             const hs_prom_doc_t *d)
{
    return v_tail(p, p->threads_started);
}

static long double v_exited(const hs_prom_proc_t *p, const hs_prom_group_t *g, uint32_t c,
                            const hs_prom_doc_t *d)
{
    return v_tail(p, p->threads_exited);
}

static long double v_adopted(const hs_prom_proc_t *p, const hs_prom_group_t *g, uint32_t c,
                             const hs_prom_doc_t *d)
{
    return v_tail(p, p->heaps_adopted);
}

static long double v_rss(const hs_prom_proc_t *p, const hs_prom_group_t *g, uint32_t c,
                         const hs_prom_doc_t *d)
{
    return p->mem.rss ? (long double)p->mem.rss : NAN;
}

static long double v_mapped(const hs_prom_proc_t *p, const hs_prom_group_t *g, uint32_t c,
                            const hs_prom_doc_t *d)
{
    return (long double)p->mem.mapped;
}

static long double v_mem_in_use(const hs_prom_proc_t *p, const hs_prom_group_t *g, uint32_t c,
                                const hs_prom_doc_t *d)
{
    return (long double)p->mem.in_use;
}

static long double v_large_bytes(const hs_prom_proc_t *p, const hs_prom_group_t *g, uint32_t c,
                                 const hs_prom_doc_t *d)
{
    return (long double)p->mem.large_bytes;
}

static long double v_cached(const hs_prom_proc_t *p, const hs_prom_group_t *g, uint32_t c,
                            const hs_prom_doc_t *d)
{
    return p->mem.known ? (long double)p->mem.thread_cached : NAN;
}

static long double v_slab_free(const hs_prom_proc_t *p, const hs_prom_group_t *g, uint32_t c,
                               const hs_prom_doc_t *d)
{
    return p->mem.known ? (long double)p->mem.slab_free : NAN;
}

static long double v_frag(const hs_prom_proc_t *p, const hs_prom_group_t *g, uint32_t c,
                          const hs_prom_doc_t *d)
{
    return p->mem.known ? (long double)p->mem.fragmentation : NAN;
}

static long double v_procs(const hs_prom_proc_t *p, const hs_prom_group_t *g, uint32_t c,
                           const hs_prom_doc_t *d)
{
    return d->nprocs;
}

static long double v_skipped(const hs_prom_proc_t *p, const hs_prom_group_t *g, uint32_t c,
                             const hs_prom_doc_t *d)
{
    return d->skipped;
}

static const family_t families[] = {
#define HS_FAMILY(n, u, doc)                                                                       \
    {#n, doc " (" u ")", !HS_STAT_IS_GAUGE(HK_STAT_##n), SCOPE_GROUP, HK_STAT_##n, NULL},
    HK_STAT_COUNTERS(HS_FAMILY)
#undef HS_FAMILY
        {"threads", "live threads in the series (threads)", false, SCOPE_GROUP, -1, v_threads},
    {"process_start_time_seconds", "when the process started, since the epoch (seconds)", false,
     SCOPE_PROCESS, -1, v_start},
    {"profile_period", "one call in this many is timed with RDTSC, 0 = off (calls)", false,
     SCOPE_PROCESS, -1, v_period},
    {"tsc_hertz", "measured TSC frequency, to turn cycles into time (hertz)", false, SCOPE_PROCESS,
     -1, v_tsc},
    {"small_in_use_bytes", "bytes in live small blocks, by class size (bytes)", false,
     SCOPE_PROCESS, -1, v_in_use},
    {"large_live_blocks", "large blocks mapped and not yet freed (blocks)", false, SCOPE_PROCESS,
     -1, v_large_live},
    {"threads_started", "threads that took a heap (threads)", true, SCOPE_PROCESS, -1, v_started},
    {"threads_exited", "threads that gave their heap back (threads)", true, SCOPE_PROCESS, -1,
     v_exited},
    {"heaps_adopted", "thread starts that reused an exited thread's heap (heaps)", true,
     SCOPE_PROCESS, -1, v_adopted},
    {"memory_rss_bytes", "resident memory of the process (bytes)", false, SCOPE_PROCESS, -1, v_rss},
    {"memory_mapped_bytes", "memory the allocator has mapped (bytes)", false, SCOPE_PROCESS, -1,
     v_mapped},
    {"memory_in_use_bytes", "bytes in live blocks, small by class size and large (bytes)", false,
     SCOPE_PROCESS, -1, v_mem_in_use},
    {"memory_large_bytes", "bytes in live large blocks (bytes)", false, SCOPE_PROCESS, -1,
     v_large_bytes},
    {"memory_thread_cached_bytes",
     "bytes of blocks out of slabs but not live: caches, remote frees (bytes)", false,
     SCOPE_PROCESS, -1, v_cached},
    {"memory_slab_free_bytes", "bytes of free blocks in slabs (bytes)", false, SCOPE_PROCESS, -1,
     v_slab_free},
    {"memory_fragmentation_ratio", "share of slab and large bytes not live (ratio)", false,
     SCOPE_PROCESS, -1, v_frag},
    {"class_allocs", "blocks allocated in the size class (blocks)", true, SCOPE_CLASS, -1,
     v_class_allocs},
    {"class_live_blocks", "blocks of the size class allocated and not freed (blocks)", false,
     SCOPE_CLASS, -1, v_class_live},
    {"exporter_processes", "processes in this document (processes)", false, SCOPE_EXPORTER, -1,
     v_procs},
    {"exporter_skipped_segments",
     "segments left out: unreadable, another user's, or failing the checks (segments)", false,
     SCOPE_EXPORTER, -1, v_skipped},
};
#define NFAMILIES (sizeof(families) / sizeof(families[0]))

/* Label values escape backslash, double quote and newline (both formats). */
void out_prom_label_value(FILE *f, const char *s)
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

static void label(FILE *f, const char *name, const char *s)
{
    fprintf(f, "%s=", name);
    out_prom_label_value(f, s);
}

static void number(FILE *f, long double v)
{
    if (isnan(v))
        fputs(" NaN\n", f);
    else if (v == floorl(v) && fabsl(v) < 1e19L)
        fprintf(f, " %.0Lf\n", v);
    else
        fprintf(f, " %.17Lg\n", v);
}

/* "# TYPE" and "# HELP": OpenMetrics names the family without "_total", the text
 * format names it as its samples are named. */
static void header(FILE *f, const hs_prom_doc_t *d, const char *name, const char *help,
                   bool counter)
{
    const char *kind = counter ? "counter" : "gauge";
    if (d->format == HS_PROM_OPENMETRICS) {
        fprintf(f, "# TYPE hakmem_%s %s\n# HELP hakmem_%s %s\n", name, kind, name, help);
    } else {
        const char *suffix = counter ? "_total" : "";
        fprintf(f, "# HELP hakmem_%s%s %s\n# TYPE hakmem_%s%s %s\n", name, suffix, help, name,
                suffix, kind);
    }
}

static void sample_start(FILE *f, const family_t *fam, const hs_prom_proc_t *p)
{
    fprintf(f, "hakmem_%s%s", fam->name, fam->counter ? "_total" : "");
    if (fam->scope == SCOPE_EXPORTER) return;
    fprintf(f, "{pid=\"%d\",", (int)p->pid);
    label(f, "command", p->comm);
}

static void family_samples(FILE *f, const hs_prom_doc_t *d, const family_t *fam,
                           const hs_prom_proc_t *p)
{
    if (fam->scope == SCOPE_PROCESS) {
        long double v = fam->value(p, NULL, 0, d);
        if (isnan(v)) return; /* not published by this writer, or no bytes yet */
        sample_start(f, fam, p);
        fputc('}', f);
        number(f, v);
    } else if (fam->scope == SCOPE_CLASS) {
        for (uint32_t c = 0; c < p->nclasses; c++) {
            if (!p->class_alloc[c]) continue;
            sample_start(f, fam, p);
            fprintf(f, ",class=\"%u\",size=\"%u\"}", c, p->class_size[c]);
            number(f, fam->value(p, NULL, c, d));
        }
    } else {
        for (int g = 0; g < p->ngroups; g++) {
            const hs_prom_group_t *gr = &p->groups[g];
            sample_start(f, fam, p);
            fputc(',', f);
            label(f, "thread", gr->thread);
            if (p->per_tid) fprintf(f, ",tid=\"%llu\"", (unsigned long long)gr->tid);
            fputc('}', f);
            if (fam->value)
                number(f, fam->value(p, gr, 0, d));
            else if (fam->counter)
                fprintf(f, " %llu\n", (unsigned long long)gr->value.c[fam->id]);
            else
                fprintf(f, " %lld\n", (long long)(int64_t)gr->value.c[fam->id]);
        }
    }
}

/* Sampled allocation sites of one process, one series per site address. */
static void sites(FILE *f, const hs_prom_doc_t *d)
{
    hs_site_t *v = NULL;
    int n = hs_snap_sites(d->site_snap, &v);
    if (n > 0) {
        header(f, d, "site_samples", "sampled allocations at a call site (samples)", true);
        for (int i = 0; i < n; i++) {
            char func[256], object[512], addr[24];
            hs_sym_site(d->site_seg->pid, v[i].addr, func, sizeof(func), object, sizeof(object));
            snprintf(addr, sizeof(addr), "0x%llx", (unsigned long long)v[i].addr);
            fprintf(f, "hakmem_site_samples_total{pid=\"%d\",", (int)d->site_seg->pid);
            label(f, "command", d->site_seg->comm);
            fputc(',', f);
            label(f, "function", func);
            fputc(',', f);
            label(f, "object", object);
            fprintf(f, ",addr=\"%s\"} %llu\n", addr, (unsigned long long)v[i].samples);
        }
    }
    free(v);
}

void out_prom_doc(FILE *f, const hs_prom_doc_t *d)
{
    for (size_t i = 0; i < NFAMILIES; i++) {
        const family_t *fam = &families[i];
        header(f, d, fam->name, fam->help, fam->counter);
        if (fam->scope == SCOPE_EXPORTER) {
            sample_start(f, fam, NULL);
            number(f, fam->value(NULL, NULL, 0, d));
            continue;
        }
        for (int p = 0; p < d->nprocs; p++)
            family_samples(f, d, fam, d->procs[p]);
    }
    if (d->site_seg && d->site_snap) sites(f, d);
    if (d->format == HS_PROM_OPENMETRICS) fputs("# EOF\n", f);
}

void out_prom(FILE *f, const hs_seg_t *seg, const hs_snap_t *now)
{
    hs_prom_proc_t p;
    if (!hs_prom_proc_init(&p, seg, false)) return;
    if (hs_prom_proc_update(&p, seg, now)) {
        const hs_prom_proc_t *procs[1] = {&p};
        hs_prom_doc_t d = {HS_PROM_OPENMETRICS, procs, 1, 0, seg, now};
        out_prom_doc(f, &d);
    }
    hs_prom_proc_free(&p);
    fflush(f);
}
