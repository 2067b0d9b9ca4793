/* out_json.c: one JSON document per interval, on one line, for scripts. The schema
 * (documented in hakstat(1)) carries its own version, "schema". Counters appear under
 * the names the segment's descriptors give them, so new counters need no change here. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "out.h"
#include "stack.h"
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

/* Threads started and exited, heaps adopted (null for a header without them), with
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

static void frame_json(FILE *f, const hs_frame_t *fr)
{
    fprintf(f, "{\"addr\":\"0x%llx\",\"function\":", (unsigned long long)fr->addr);
    out_json_string(f, fr->label);
    fputs(",\"name\":", f);
    out_json_string(f, fr->name);
    fputs(",\"object\":", f);
    out_json_string(f, fr->object);
    fputs(",\"file\":", f);
    if (fr->line > 0)
        out_json_string(f, fr->file);
    else
        fputs("null", f);
    fputs(",\"line\":", f);
    if (fr->line > 0)
        fprintf(f, "%d", fr->line);
    else
        fputs("null", f);
    fputc('}', f);
}

/* Counts in buckets: [{"le":edge,"blocks":n},...], the last edge null (infinite). */
static void buckets(FILE *f, const char *key, const char *edge, const uint64_t *n, int nb,
                    double first, double factor)
{
    fprintf(f, ",\"%s\":[", key);
    double e = first;
    for (int b = 0; b < nb; b++, e *= factor) {
        fprintf(f, "%s{\"%s\":", b ? "," : "", edge);
        if (b == nb - 1)
            fputs("null", f);
        else
            fprintf(f, "%.6g", e);
        fprintf(f, ",\"blocks\":%llu}", (unsigned long long)n[b]);
    }
    fputc(']', f);
}

/* What the process-wide table knows of a site: live figures, ages, lifetimes, growth. */
static void site_live(FILE *f, const hs_site_t *s, const hs_site_t *p, double dt)
{
    fprintf(f,
            ",\"live_bytes\":%llu,\"live_blocks\":%llu,\"sampled_live_bytes\":%llu,"
            "\"sampled_live_blocks\":%llu,\"freed_samples\":%llu,\"untracked_samples\":%llu,",
            (unsigned long long)s->est_live_bytes, (unsigned long long)s->est_live_blocks,
            (unsigned long long)s->live_bytes, (unsigned long long)s->live_blocks,
            (unsigned long long)s->freed, (unsigned long long)s->untracked);
    num(f, "first_seen_s", s->first_s);
    fputc(',', f);
    num(f, "growth_bytes_per_s", hs_stack_growth(s, p, dt));
    fputs(",\"age_buckets\":[", f);
    for (int b = 0; b < HS_AGE_BUCKETS; b++) {
        fprintf(f, "%s{\"le_s\":", b ? "," : "");
        if (isinf(hs_age_edges[b]))
            fputs("null", f);
        else
            fprintf(f, "%g", hs_age_edges[b]);
        fprintf(f, ",\"blocks\":%llu}", (unsigned long long)s->age[b]);
    }
    fputc(']', f);
    buckets(f, "lifetime_buckets", "lt_us", s->life, HK_SITE_LIFE, 4, 4);
}

/* Sampled allocation sites, most estimated bytes first (from a writer without the
 * process-wide table: most samples first, one frame each, no live figures). A site is
 * named by its first frame outside libhakmem and the allocation wrappers. */
static void sites(FILE *f, const hs_seg_t *seg, const hs_snap_t *now, const hs_snap_t *prev)
{
    hs_site_t *cur = NULL, *old = NULL;
    int n = hs_snap_sites(now, &cur), m = prev ? hs_snap_sites(prev, &old) : 0;
    double dt = prev ? now->t - prev->t : 0;
    static hs_stack_t st;
    fprintf(f, "\"site_period\":%llu,\"sites\":[", (unsigned long long)now->site_period);
    for (int i = 0; i < n; i++) {
        const hs_site_t *s = &cur[i], *p = hs_stack_find(old, m, s);
        hs_stack_resolve(seg, s, &st);
        const hs_frame_t *site = &st.frames[st.site];
        fprintf(f, "%s{\"addr\":\"0x%llx\",\"function\":", i ? "," : "",
                (unsigned long long)site->addr);
        out_json_string(f, site->label);
        fputs(",\"object\":", f);
        out_json_string(f, site->object);
        fputs(",\"file\":", f);
        if (site->line > 0)
            out_json_string(f, site->file);
        else
            fputs("null", f);
        fprintf(f, ",\"line\":");
        if (site->line > 0)
            fprintf(f, "%d", site->line);
        else
            fputs("null", f);
        fprintf(f, ",\"site_frame\":%u", st.site);
        fprintf(f,
                ",\"samples\":%llu,\"est_allocs\":%llu,\"est_bytes\":%llu,\"sampled_bytes\":%llu,",
                (unsigned long long)s->samples, (unsigned long long)s->est_allocs,
                (unsigned long long)s->est_bytes, (unsigned long long)s->bytes);
        num(f, "avg_size", s->est_allocs ? (double)s->est_bytes / (double)s->est_allocs : NAN);
        fprintf(f, ",\"threads\":%u", s->threads);
        if (dt > 0) {
            hs_site_rates_t rate = hs_stack_rates(s, p, dt);
            fputc(',', f);
            num(f, "samples_per_s", rate.samples);
            fputc(',', f);
            num(f, "allocs_per_s", rate.allocs);
            fputc(',', f);
            num(f, "bytes_per_s", rate.bytes);
        }
        if (s->has_live) site_live(f, s, p, dt);
        fputs(",\"stack\":[", f);
        for (uint32_t k = 0; k < st.depth; k++) {
            if (k) fputc(',', f);
            frame_json(f, &st.frames[k]);
        }
        fputs("]}", f);
    }
    fputs("]", f);
    free(cur);
    free(old);
}

/* Lifetimes of freed sampled blocks per size class (and above them), process-wide. */
static void lifetimes(FILE *f, const hs_seg_t *seg, const hs_snap_t *now)
{
    const hk_stat_sitetab_t *t = now->sitetab;
    if (t == NULL) return;
    fprintf(f, ",\"site_table\":{\"tracked\":%llu,\"untracked\":%llu,\"dropped\":%llu",
            (unsigned long long)t->tracked, (unsigned long long)t->untracked,
            (unsigned long long)t->dropped);
    fputs(",\"class_lifetimes\":[", f);
    bool first = true;
    for (int c = 0; c <= HK_STATS_NCLASSES; c++) {
        const uint64_t *life = c < HK_STATS_NCLASSES ? t->class_life[c] : t->large_life;
        uint64_t all = 0;
        for (int b = 0; b < HK_SITE_LIFE; b++)
            all += life[b];
        if (all == 0) continue;
        fprintf(f, "%s{\"class\":", first ? "" : ",");
        if (c < HK_STATS_NCLASSES)
            fprintf(f, "%d,\"size\":%u", c, seg->class_size[c]);
        else
            fputs("null,\"size\":null", f);
        buckets(f, "lifetime_buckets", "lt_us", life, HK_SITE_LIFE, 4, 4);
        fputc('}', f);
        first = false;
    }
    fputs("]}", f);
}

/* What each counter is: "counters":[{name, unit, doc}, ...], */
static void descriptors(FILE *f, const hs_seg_t *seg)
{
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
    fputs("],", f);
}

/* "threads":[...]: each slotted thread's counters, and its rates over the interval
 * when it was there at its start, else since the thread began. */
static void threads(FILE *f, const hs_seg_t *seg, const hs_snap_t *now, const hs_snap_t *prev,
                    double dt)
{
    fputs("\"threads\":[", f);
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
    fputc(']', f);
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

    descriptors(f, seg);
    threads(f, seg, now, prev, dt);
    fputs(",\"retired\":{", f);
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
    lifetimes(f, seg, now);
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

void out_list_json(FILE *f, const hs_listing_t *l)
{
    fputc('[', f);
    for (int i = 0; i < l->n; i++) {
        const hs_list_row_t *r = &l->rows[i];
        fprintf(f, "%s{\"pid\":%d,\"user\":", i ? "," : "", (int)r->e.pid);
        out_json_string(f, r->user);
        fprintf(f, ",\"state\":\"%s\",\"threads\":%u,\"uptime_s\":", r->state, r->threads);
        isnan(r->uptime_s) ? fputs("null", f) : fprintf(f, "%.1f", r->uptime_s);
        fputs(",\"ops_per_s\":", f);
        isnan(r->ops_rate) ? fputs("null", f) : fprintf(f, "%.0f", r->ops_rate);
        fputs(",\"command\":", f);
        out_json_string(f, r->comm);
        fputs(",\"file\":", f);
        out_json_string(f, r->e.path);
        fputc('}', f);
    }
    fputs("]\n", f);
}
