/* prom.c: folding snapshots into the Prometheus outputs' bounded series (prom.h). */
#include "config.h"

#include "prom.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char exited_name[] = "(exited)", other_name[] = "(other)";

/* Counts of a snapshot's thread by known id. */
static void by_id(const hs_seg_t *seg, const hs_counts_t *n, hs_prom_counts_t *out)
{
    for (int id = 0; id < HK_STAT_NCOUNTERS; id++) {
        int pos = hs_snap_counter_pos(seg, (enum hk_stat_id)id);
        out->c[id] = pos < 0 ? 0 : n->c[pos];
    }
}

static void add(hs_prom_counts_t *dst, const hs_prom_counts_t *src)
{
    for (int id = 0; id < HK_STAT_NCOUNTERS; id++)
        dst->c[id] += src->c[id];
}

bool hs_prom_proc_init(hs_prom_proc_t *p, const hs_seg_t *seg, bool per_tid)
{
    memset(p, 0, sizeof(*p));
    p->pid = seg->pid;
    p->start_time = seg->start_time;
    memcpy(p->comm, seg->comm, sizeof(p->comm));
    p->per_tid = per_tid;
    p->nslots = seg->nslots;
    p->nclasses = seg->nclasses < HK_STATS_NCLASSES ? seg->nclasses : HK_STATS_NCLASSES;
    memcpy(p->class_size, seg->class_size, sizeof(p->class_size));
    if (per_tid) return true;
    p->slots = calloc(p->nslots ? p->nslots : 1, sizeof(*p->slots));
    p->groups = calloc(HS_PROM_GROUPS + 2, sizeof(*p->groups));
    if (!p->slots || !p->groups) {
        hs_prom_proc_free(p);
        return false;
    }
    for (uint32_t s = 0; s < p->nslots; s++)
        p->slots[s].group = -1;
    snprintf(p->groups[0].thread, HS_PROM_GROUP_LEN, "%s", exited_name);
    p->ngroups = 1;
    return true;
}

void hs_prom_proc_free(hs_prom_proc_t *p)
{
    free(p->slots);
    free(p->groups);
    p->slots = NULL;
    p->groups = NULL;
    p->ngroups = 0;
}

/* The series a new thread joins: its name's, while names are fewer than HS_PROM_GROUPS,
 * else "(other)". Group 0 is "(exited)", which no live thread joins. */
static int group_of(hs_prom_proc_t *p, const char *name)
{
    /* The names of the special series are not a thread's: no two series alike. */
    if (!name[0] || !strcmp(name, exited_name) || !strcmp(name, other_name)) name = "?";
    int other = -1;
    for (int g = 1; g < p->ngroups; g++) {
        if (strcmp(p->groups[g].thread, name) == 0) return g;
        if (strcmp(p->groups[g].thread, other_name) == 0) other = g;
    }
    int named = p->ngroups - 1 - (other >= 0);
    if (named >= HS_PROM_GROUPS) {
        if (other >= 0) return other;
        name = other_name;
    }
    hs_prom_group_t *g = &p->groups[p->ngroups];
    memset(g, 0, sizeof(*g));
    snprintf(g->thread, HS_PROM_GROUP_LEN, "%s", name);
    return p->ngroups++;
}

/* Per thread: one series each, plus "(exited)" with the segment's retired counts. */
static bool update_per_tid(hs_prom_proc_t *p, const hs_seg_t *seg, const hs_snap_t *snap)
{
    hs_prom_group_t *g = realloc(p->groups, (snap->nthreads + 1) * sizeof(*g));
    if (!g) return false;
    p->groups = g;
    memset(g, 0, (snap->nthreads + 1) * sizeof(*g));
    snprintf(g[0].thread, HS_PROM_GROUP_LEN, "%s", exited_name);
    by_id(seg, &snap->retired, &g[0].value);
    hs_prom_counts_t spilled;
    by_id(seg, &snap->spilled, &spilled);
    add(&g[0].value, &spilled);
    for (uint32_t t = 0; t < snap->nthreads; t++) {
        const hs_thread_t *th = &snap->threads[t];
        snprintf(g[t + 1].thread, HS_PROM_GROUP_LEN, "%s", th->name[0] ? th->name : "?");
        g[t + 1].tid = th->tid;
        g[t + 1].threads = 1;
        by_id(seg, &th->n, &g[t + 1].value);
    }
    p->ngroups = (int)snap->nthreads + 1;
    return true;
}

/* A slot's thread is gone: its last-seen counts stay with its series. */
static void retire_slot(hs_prom_proc_t *p, hs_prom_slot_t *s)
{
    if (s->group >= 0) add(&p->groups[s->group].carried, &s->c);
    s->group = -1;
}

static void update_by_name(hs_prom_proc_t *p, const hs_seg_t *seg, const hs_snap_t *snap)
{
    for (uint32_t s = 0; s < p->nslots; s++)
        p->slots[s].seen = false;
    for (uint32_t t = 0; t < snap->nthreads; t++) {
        const hs_thread_t *th = &snap->threads[t];
        if (th->slot >= p->nslots) continue;
        hs_prom_slot_t *s = &p->slots[th->slot];
        if (s->group >= 0 && s->gen != th->gen) retire_slot(p, s);
        if (s->group < 0) {
            s->group = group_of(p, th->name);
            s->gen = th->gen;
        }
        s->seen = true;
        by_id(seg, &th->n, &s->c);
    }
    for (uint32_t s = 0; s < p->nslots; s++)
        if (!p->slots[s].seen) retire_slot(p, &p->slots[s]);
    /* Each series: its live threads and what its exited ones carried; "(exited)": the
     * rest of the retired counts (threads never seen, and work after their last scrape). */
    hs_prom_counts_t carried = {{0}};
    for (int g = 0; g < p->ngroups; g++) {
        p->groups[g].value = p->groups[g].carried;
        p->groups[g].threads = 0;
        add(&carried, &p->groups[g].carried);
    }
    for (uint32_t s = 0; s < p->nslots; s++) {
        hs_prom_slot_t *sl = &p->slots[s];
        if (sl->group < 0) continue;
        add(&p->groups[sl->group].value, &sl->c);
        p->groups[sl->group].threads++;
    }
    /* Threads counting in spill blocks have no slot to follow: "(exited)" holds their
     * counts too, which move to the retired ones when they exit, so it stays monotonic. */
    hs_prom_counts_t retired, spilled;
    by_id(seg, &snap->retired, &retired);
    by_id(seg, &snap->spilled, &spilled);
    for (int id = 0; id < HK_STAT_NCOUNTERS; id++)
        p->groups[0].value.c[id] = retired.c[id] + spilled.c[id] - carried.c[id];
}

bool hs_prom_proc_update(hs_prom_proc_t *p, const hs_seg_t *seg, const hs_snap_t *snap)
{
    p->seen = true;
    if (snap->busy_slots || snap->approx_totals) return true;
    p->start_ns = snap->start_ns;
    p->tsc_hz = snap->tsc_hz;
    p->prof_period = snap->prof_period;
    by_id(seg, &snap->total, &p->total);
    p->has_tail = snap->has_tail;
    p->threads_started = snap->threads_started;
    p->threads_exited = snap->threads_exited;
    p->heaps_adopted = snap->heaps_adopted;
    hs_snap_memory(seg, snap, &p->mem);
    for (uint32_t c = 0; c < p->nclasses; c++) {
        p->class_alloc[c] = snap->total.class_alloc[c];
        p->class_free[c] = snap->total.class_free[c];
    }
    if (p->per_tid) return update_per_tid(p, seg, snap);
    update_by_name(p, seg, snap);
    return true;
}
