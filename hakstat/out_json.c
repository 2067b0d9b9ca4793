/* out_json.c: one JSON document per interval, on one line, for scripts. The schema
 * (documented in hakstat(1)) carries its own version, "schema". Counters appear under
 * the names the segment's descriptors give them, so new counters need no change here. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "out.h"
#include "sym.h"
#include "table.h"

void out_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20 || ch > 0x7e)
            fprintf(f, "\\u%04x", ch); /* bytes of unknown encoding, as Latin-1 */
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

static void num(FILE *f, const char *key, double v)
{
    fprintf(f, "\"%s\":", key);
    if (isnan(v) || isinf(v))
        fputs("null", f);
    else
        fprintf(f, "%.6g", v);
}

/* "key":value pairs, comma-separated. */
static void nums(FILE *f, const char *const *keys, const double *vals, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (i) fputc(',', f);
        num(f, keys[i], vals[i]);
    }
}

/* Every counter of `n` by descriptor name, then the derived ones. */
static void counters(FILE *f, const hs_seg_t *seg, const hs_counts_t *n)
{
    for (uint32_t i = 0; i < seg->ncounters; i++) {
        out_json_string(f, seg->desc[i].name);
        if (hs_snap_is_gauge(seg, i))
            fprintf(f, ":%lld,", (long long)(int64_t)n->c[i]);
        else
            fprintf(f, ":%llu,", (unsigned long long)n->c[i]);
    }
    hs_metrics_t m;
    hs_snap_metrics(seg, n, NULL, 0, 1, &m);
    fprintf(f, "\"fast_hits\":%llu,", (unsigned long long)m.fast_hits);
    static const char *const keys[] = {"coverage",        "hit_rate",          "avg_cycles_malloc",
                                       "avg_cycles_free", "avg_cycles_refill", "avg_cycles_remote"};
    const double vals[] = {m.coverage, m.hit_rate,   m.cyc_malloc,
                           m.cyc_free, m.cyc_refill, m.cyc_remote};
    nums(f, keys, vals, sizeof(vals) / sizeof(vals[0]));
}

/* Threads started and exited, heaps adopted (ABI 1.1 writers; null otherwise), with
 * rates per second when there is an interval. */
static void lifecycle(FILE *f, const hs_snap_t *now, const hs_snap_t *prev, double dt)
{
    static const char *const keys[] = {"threads_started", "threads_exited", "heaps_adopted"};
    const uint64_t cur[3] = {now->threads_started, now->threads_exited, now->heaps_adopted};
    const uint64_t old[3] = {prev ? prev->threads_started : 0, prev ? prev->threads_exited : 0,
                             prev ? prev->heaps_adopted : 0};
    for (int i = 0; i < 3; i++) {
        if (now->has_tail)
            fprintf(f, ",\"%s\":%llu", keys[i], (unsigned long long)cur[i]);
        else
            fprintf(f, ",\"%s\":null", keys[i]);
        char key[48];
        snprintf(key, sizeof(key), "%s_per_s", keys[i]);
        fputc(',', f);
        num(f, key,
            now->has_tail && prev && dt > 0 && cur[i] >= old[i] ? (double)(cur[i] - old[i]) / dt
                                                                : NAN);
    }
}

/* The top-level "memory" object, each member defined in hakstat(1). */
static void memory(FILE *f, const hs_seg_t *seg, const hs_snap_t *now)
{
    hs_memory_t m;
    hs_snap_memory(seg, now, &m);
    fputs("\"memory\":{", f);
    if (m.rss)
        fprintf(f, "\"rss\":%llu", (unsigned long long)m.rss);
    else
        fputs("\"rss\":null", f);
    fprintf(f, ",\"mapped\":%lld,\"in_use\":%llu", (long long)m.mapped,
            (unsigned long long)m.in_use);
    if (m.known)
        fprintf(f, ",\"thread_cached\":%llu,\"slab_free\":%llu",
                (unsigned long long)m.thread_cached, (unsigned long long)m.slab_free);
    else
        fputs(",\"thread_cached\":null,\"slab_free\":null", f);
    fprintf(f, ",\"large_bytes\":%llu,", (unsigned long long)m.large_bytes);
    num(f, "fragmentation", m.fragmentation);
    fputs("},", f);
}

/* One class: counts, and where the writer publishes them, its slabs and blocks. */
static void class_entry(FILE *f, const hs_seg_t *seg, const hs_snap_t *now, const hs_memory_t *m,
                        int c)
{
    uint64_t a = now->total.class_alloc[c], fr = now->total.class_free[c];
    const hs_class_mem_t *k = &m->cls[c];
    fprintf(f, "{\"class\":%d,\"size\":%u,\"alloc\":%llu,\"free\":%llu,\"live\":%llu", c,
            seg->class_size[c], (unsigned long long)a, (unsigned long long)fr,
            (unsigned long long)(a > fr ? a - fr : 0));
    if (m->known) {
        fprintf(f,
                ",\"slabs\":%llu,\"blocks\":%llu,\"cached\":%llu,\"slab_free\":%llu,"
                "\"slab_bytes\":%llu,",
                (unsigned long long)k->slabs, (unsigned long long)k->blocks,
                (unsigned long long)k->cached, (unsigned long long)k->free,
                (unsigned long long)(k->blocks * seg->class_size[c]));
        num(f, "utilisation", k->util);
    }
    fputc('}', f);
}

static void rates(FILE *f, const hs_seg_t *seg, const hs_counts_t *now, const hs_counts_t *prev,
                  double dt, double age)
{
    hs_metrics_t m;
    hs_snap_metrics(seg, now, prev, dt, age, &m);
    static const char *const keys[] = {"malloc_per_s", "free_per_s", "bytes_per_s", "refills_per_s",
                                       "remote_free_per_s"};
    const double vals[] = {m.malloc_rate, m.free_rate, m.bytes_rate, m.refill_rate, m.remote_rate};
    fputs("\"rates\":{", f);
    nums(f, keys, vals, sizeof(vals) / sizeof(vals[0]));
    fputc('}', f);
}

/* Sampled allocation sites, most samples first, named with the symbolizer. Estimated
 * bytes are samples times the sampling period; allocations are the weighted count. */
static void sites(FILE *f, const hs_seg_t *seg, const hs_snap_t *now, const hs_snap_t *prev)
{
    hs_site_t *cur = NULL, *old = NULL;
    int n = hs_snap_sites(now, &cur), m = prev ? hs_snap_sites(prev, &old) : 0;
    double dt = prev ? now->t - prev->t : 0;
    fprintf(f, "\"site_period\":%llu,\"sites\":[", (unsigned long long)now->site_period);
    for (int i = 0; i < n; i++) {
        const hs_site_t *s = &cur[i], *p = NULL;
        for (int j = 0; j < m && p == NULL; j++)
            if (old[j].addr == s->addr) p = &old[j];
        char func[256], object[512];
        hs_sym_site(seg->pid, s->addr, func, sizeof(func), object, sizeof(object));
        double est_bytes = (double)s->samples * (double)now->site_period;
        fprintf(f, "%s{\"addr\":\"0x%llx\",\"function\":", i ? "," : "",
                (unsigned long long)s->addr);
        out_json_string(f, func);
        fputs(",\"object\":", f);
        out_json_string(f, object);
        fprintf(f,
                ",\"samples\":%llu,\"est_allocs\":%llu,\"est_bytes\":%.0f,\"sampled_bytes\":%llu,",
                (unsigned long long)s->samples, (unsigned long long)s->est_allocs, est_bytes,
                (unsigned long long)s->bytes);
        num(f, "avg_size", s->est_allocs ? est_bytes / (double)s->est_allocs : NAN);
        fprintf(f, ",\"threads\":%u", s->threads);
        if (dt > 0) {
            double ds = (double)(s->samples - (p ? p->samples : 0));
            double da = (double)(s->est_allocs - (p ? p->est_allocs : 0));
            fputc(',', f);
            num(f, "samples_per_s", ds / dt);
            fputc(',', f);
            num(f, "allocs_per_s", da / dt);
            fputc(',', f);
            num(f, "bytes_per_s", ds * (double)now->site_period / dt);
        }
        fputc('}', f);
    }
    fputs("]", f);
    free(cur);
    free(old);
}

void out_json(FILE *f, const hs_seg_t *seg, const hs_snap_t *now, const hs_snap_t *prev,
              const hs_opts_t *o)
{
    (void)o;
    double dt = prev ? now->t - prev->t : 0;
    double up = hs_snap_uptime(now);
    fprintf(f,
            "{\"schema\":%d,\"abi\":\"%d\",\"time\":%.3f,\"pid\":%d,\"command\":", HS_JSON_SCHEMA,
            HK_STATS_ABI_MAJOR, (double)now->now_ns / 1e9, (int)seg->pid);
    out_json_string(f, seg->comm);
    fprintf(f, ",\"alive\":%s,", now->alive ? "true" : "false");
    num(f, "uptime_s", up);
    fprintf(f, ",\"interval_s\":");
    if (dt > 0)
        fprintf(f, "%.3f", dt);
    else
        fputs("null", f);
    fprintf(f,
            ",\"tsc_hz\":%llu,\"profiling_period\":%llu,\"unslotted_threads\":%llu,"
            "\"spilled_threads\":%u,",
            (unsigned long long)now->tsc_hz, (unsigned long long)now->prof_period,
            (unsigned long long)now->unslotted, now->nspilled);
    memory(f, seg, now);

    fputs("\"counters\":[", f);
    for (uint32_t i = 0; i < seg->ncounters; i++) {
        fputs(i ? ",{\"name\":" : "{\"name\":", f);
        out_json_string(f, seg->desc[i].name);
        fputs(",\"unit\":", f);
        out_json_string(f, seg->desc[i].unit);
        fputs(",\"doc\":", f);
        out_json_string(f, seg->desc[i].doc);
        fputc('}', f);
    }
    fputs("],\"threads\":[", f);
    for (uint32_t i = 0; i < now->nthreads; i++) {
        const hs_thread_t *t = &now->threads[i];
        const hs_thread_t *p = hs_snap_find(prev, t);
        double age = now->now_ns > t->start_ns ? (double)(now->now_ns - t->start_ns) / 1e9 : 1;
        fprintf(f, "%s{\"tid\":%llu,\"name\":", i ? "," : "", (unsigned long long)t->tid);
        out_json_string(f, t->name);
        fprintf(f, ",\"slot\":%u,\"gen\":%llu,", t->slot, (unsigned long long)t->gen);
        counters(f, seg, &t->n);
        fputc(',', f);
        rates(f, seg, &t->n, p ? &p->n : NULL, p ? dt : 0, age);
        fputc('}', f);
    }
    fputs("],\"retired\":{", f);
    counters(f, seg, &now->retired);
    fputs("},\"totals\":{", f);
    counters(f, seg, &now->total);
    fputc(',', f);
    rates(f, seg, &now->total, prev ? &prev->total : NULL, dt, up > 0 ? up : 1);
    hs_metrics_t m;
    hs_snap_metrics(seg, &now->total, NULL, 0, 1, &m);
    fprintf(f, ",\"in_use_bytes\":%llu,\"live_large_blocks\":%llu", (unsigned long long)m.in_use,
            (unsigned long long)m.live_large);
    lifecycle(f, now, prev, dt);
    fputs("},\"classes\":[", f);
    hs_memory_t mem;
    hs_snap_memory(seg, now, &mem);
    for (int c = 0; c < HK_STATS_NCLASSES; c++) {
        if (c) fputc(',', f);
        class_entry(f, seg, now, &mem, c);
    }
    fputs("],", f);
    sites(f, seg, now, prev);
    fputs("}\n", f);
    fflush(f);
}

/* For outputs of several processes (out_procs.c): the same members as a process's. */
void out_json_counts(FILE *f, const hs_seg_t *seg, const hs_counts_t *n)
{
    counters(f, seg, n);
}

void out_json_rates(FILE *f, const hs_seg_t *seg, const hs_counts_t *now, const hs_counts_t *prev,
                    double dt, double age)
{
    rates(f, seg, now, prev, dt, age);
}
