/* out_prom.c: OpenMetrics text format, for node_exporter's textfile collector and
 * Prometheus. One family per counter, HELP and TYPE from the segment's descriptors,
 * samples labelled by pid, command and thread. */
#include "config.h"

#include <ctype.h>
#include <math.h>
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

/* One process-wide sample of family `name`, with its TYPE and HELP. */
static void family(FILE *f, const hs_seg_t *seg, const char *name, bool gauge, const char *help,
                   double v)
{
    fprintf(f, "# TYPE %s %s\n# HELP %s %s\n%s%s", name, gauge ? "gauge" : "counter", name, help,
            name, gauge ? "" : "_total");
    labels(f, seg, NULL, 0);
    fprintf(f, " %.17g\n", v);
}

/* The process's thread figures and memory (hakstat(1) defines each). */
static void process_figures(FILE *f, const hs_seg_t *seg, const hs_snap_t *now)
{
    if (now->has_tail) {
        family(f, seg, "hakmem_threads_started", false, "threads that took a heap (threads)",
               (double)now->threads_started);
        family(f, seg, "hakmem_threads_exited", false,
               "threads that gave their heap back (threads)", (double)now->threads_exited);
        family(f, seg, "hakmem_heaps_adopted", false,
               "thread starts that reused an exited thread's heap (heaps)",
               (double)now->heaps_adopted);
    }
    hs_memory_t m;
    hs_snap_memory(seg, now, &m);
    if (m.rss)
        family(f, seg, "hakmem_memory_rss_bytes", true, "resident memory of the process (bytes)",
               (double)m.rss);
    family(f, seg, "hakmem_memory_mapped_bytes", true, "memory the allocator has mapped (bytes)",
           (double)m.mapped);
    family(f, seg, "hakmem_memory_in_use_bytes", true,
           "bytes in live blocks, small by class size and large (bytes)", (double)m.in_use);
    family(f, seg, "hakmem_memory_large_bytes", true, "bytes in live large blocks (bytes)",
           (double)m.large_bytes);
    if (!m.known) return;
    family(f, seg, "hakmem_memory_thread_cached_bytes", true,
           "bytes of blocks out of slabs but not live: caches, remote frees (bytes)",
           (double)m.thread_cached);
    family(f, seg, "hakmem_memory_slab_free_bytes", true, "bytes of free blocks in slabs (bytes)",
           (double)m.slab_free);
    if (!isnan(m.fragmentation))
        family(f, seg, "hakmem_memory_fragmentation_ratio", true,
               "share of slab and large bytes not live (ratio)", m.fragmentation);
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
        for (int k = 0; k < 2; k++) {
            const hs_counts_t *n = k == 0 ? &now->retired : &now->spilled;
            if (k == 1 && now->nspilled == 0) continue;
            fprintf(f, "%s%s", name, suffix);
            labels(f, seg, k == 0 ? "exited" : "unslotted", 0);
            if (gauge)
                fprintf(f, " %lld\n", (long long)(int64_t)n->c[i]);
            else
                fprintf(f, " %llu\n", (unsigned long long)n->c[i]);
        }
    }
    process_figures(f, seg, now);
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
