/* procs.c: a group of processes: the named ones, and in a tree every descendant.
 *
 * Finding a tree's processes. Running children are found by reading the parent field
 * of /proc/PID/stat of every process (a child of a member whose start is not earlier
 * than its parent's is a member). Children too short to be seen running leave a
 * retired record (hakmem_stats.h) that names their parent; a process ended by a signal
 * or by _exit leaves its stale segment instead, whose header names it too. Both are
 * read from the per-user directories of the members' users only.
 *
 * Trust: a record or stale segment is believed only when it lies in the directory of a
 * user the process it joins ran as: its parent's, for one never seen running, or its
 * own as seen while it ran. Another user can plant files in their own directory only,
 * so they can add figures to a tree only under a member of theirs. */
#include "config.h"

#include "procs.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"

#define SCAN_MAX 65536 /* /proc entries looked at per scan */
#define SEEN_MAX 8192  /* record and segment files remembered */

static const hk_stat_desc_t known[] = {
#define HS_DESC(n, u, d) {#n, u, d},
    HK_STAT_COUNTERS(HS_DESC)
#undef HS_DESC
};

const char *hs_proc_state_name(enum hs_proc_state s)
{
    static const char *const names[] = {"live", "nosegment", "exited", "killed", "gone"};
    return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

bool hs_proc_exited(const hs_proc_t *p)
{
    return p->state == HS_PROC_EXITED || p->state == HS_PROC_KILLED || p->state == HS_PROC_GONE;
}

void hs_group_to_canon(const hs_seg_t *seg, const hs_counts_t *in, hs_counts_t *out)
{
    memset(out, 0, sizeof(*out));
    for (int id = 0; id < HK_STAT_NCOUNTERS; id++) {
        int pos = hs_snap_counter_pos(seg, (enum hk_stat_id)id);
        if (pos >= 0) out->c[id] = in->c[pos];
    }
    memcpy(out->class_alloc, in->class_alloc, sizeof(out->class_alloc));
    memcpy(out->class_free, in->class_free, sizeof(out->class_free));
}

static void counts_add(hs_counts_t *dst, const hs_counts_t *src)
{
    for (int i = 0; i < HK_STAT_NCOUNTERS; i++)
        dst->c[i] += src->c[i];
    for (int i = 0; i < HK_STATS_NCLASSES; i++) {
        dst->class_alloc[i] += src->class_alloc[i];
        dst->class_free[i] += src->class_free[i];
    }
}

static void canon_init(hs_seg_t *c)
{
    memset(c, 0, sizeof(*c));
    c->fd = -1;
    c->ncounters = HK_STAT_NCOUNTERS;
    c->nclasses = HK_STATS_NCLASSES;
    memcpy(c->desc, known, sizeof(known));
}

/* ---------------------------------------------------------------------------------------
 * Members
 * ------------------------------------------------------------------------------------- */
static hs_proc_t *find(const hs_group_t *g, pid_t pid, uint64_t start)
{
    for (int i = 0; i < g->n; i++)
        if (g->v[i].pid == pid && g->v[i].start_time == start) return &g->v[i];
    return NULL;
}

static hs_proc_t *add(hs_group_t *g, pid_t pid, pid_t ppid, uint64_t start)
{
    if (g->n >= HS_GROUP_MAX) {
        g->dropped++;
        return NULL;
    }
    if (g->n == g->cap) {
        int cap = g->cap ? g->cap * 2 : 16;
        hs_proc_t *v = realloc(g->v, (size_t)cap * sizeof(*v));
        if (v == NULL) {
            g->dropped++;
            return NULL;
        }
        g->v = v;
        g->cap = cap;
    }
    hs_proc_t *p = &g->v[g->n++];
    memset(p, 0, sizeof(*p));
    p->pid = pid;
    p->ppid = ppid;
    p->start_time = start;
    p->uids[0] = p->uids[1] = (uid_t)-1;
    p->state = HS_PROC_NOSEG;
    return p;
}

static bool has_uid(const hs_proc_t *p, uid_t uid)
{
    return uid != (uid_t)-1 && (p->uids[0] == uid || p->uids[1] == uid);
}

/* Take the counts of a snapshot (or record) of `seg` as the process's latest. */
static void take_counts(hs_group_t *g, hs_proc_t *p, const hs_seg_t *seg, const hs_snap_t *snap)
{
    hs_counts_t c;
    hs_group_to_canon(seg, &snap->total, &c);
    p->n = c;
    p->counted = true;
    p->nthreads = snap->nthreads;
    p->start_ns = snap->start_ns;
    p->tsc_hz = snap->tsc_hz;
    p->prof_period = snap->prof_period;
    snprintf(p->comm, sizeof(p->comm), "%s", seg->comm);
    if (g->canon.class_size[1] == 0)
        memcpy(g->canon.class_size, seg->class_size, sizeof(g->canon.class_size));
}

/* Read an open segment (or record) whole; false when it cannot be read. */
static bool read_seg(hs_group_t *g, hs_proc_t *p, hs_seg_t *seg)
{
    hs_snap_t snap;
    if (hs_snap_take(seg, &snap) != HS_OK) return false;
    take_counts(g, p, seg, &snap);
    hs_snap_free(&snap);
    return true;
}

static void close_seg(hs_proc_t *p)
{
    if (p->seg == NULL) return;
    hs_seg_close(p->seg);
    free(p->seg);
    p->seg = NULL;
}

/* Open the segment of a running member; NOSEG with the reason when there is none. */
static void try_open(hs_group_t *g, hs_proc_t *p)
{
    close_seg(p);
    hs_seg_t *seg = malloc(sizeof(*seg));
    if (seg == NULL) return;
    int status = hs_seg_open_pid(seg, p->pid, false);
    if (status == HS_OK && seg->start_time == p->start_time) {
        p->seg = seg;
        p->state = HS_PROC_LIVE;
        if (!read_seg(g, p, seg)) close_seg(p), p->state = HS_PROC_NOSEG;
        return;
    }
    if (status == HS_OK) hs_seg_close(seg);
    snprintf(p->why, sizeof(p->why), "%.159s", seg->error);
    free(seg);
    p->state = HS_PROC_NOSEG;
}

/* The running process's uids and command from /proc, when it is still the same one. */
static void proc_identity(hs_proc_t *p)
{
    uid_t r, e;
    if (hs_seg_proc_uids(p->pid, &r, &e)) {
        p->uids[0] = r;
        p->uids[1] = e;
    }
    char path[64], buf[64];
    snprintf(path, sizeof(path), "/proc/%d/comm", (int)p->pid);
    ssize_t n = hs_seg_read_proc(path, buf, sizeof(buf));
    if (n > 0 && !p->comm[0]) {
        for (ssize_t i = 0; i < n; i++)
            buf[i] = buf[i] == '\n' ? '\0' : isprint((unsigned char)buf[i]) ? buf[i] : '?';
        snprintf(p->comm, sizeof(p->comm), "%s", buf);
    }
}

int hs_group_open(hs_group_t *g, const pid_t *pids, int npids, bool tree)
{
    memset(g, 0, sizeof(*g));
    canon_init(&g->canon);
    g->tree = tree;
    int first_error = HS_OK;
    for (int i = 0; i < npids; i++) {
        uint64_t start = hs_seg_proc_start_time(pids[i]);
        char *warn = g->warn[g->nwarn < HS_GROUP_MAX_PIDS ? g->nwarn : HS_GROUP_MAX_PIDS - 1];
        if (start == 0) {
            snprintf(warn, sizeof(g->warn[0]), "no process with PID %d", (int)pids[i]);
            g->nwarn++;
            if (first_error == HS_OK) first_error = HS_ERR_NOPROC;
            continue;
        }
        if (find(g, pids[i], start)) continue;
        hs_proc_t *p = add(g, pids[i], 0, start);
        if (p == NULL) break;
        p->named = true;
        proc_identity(p);
        try_open(g, p);
        if (p->state != HS_PROC_LIVE && !tree) {
            snprintf(warn, sizeof(g->warn[0]), "%s", p->why);
            g->nwarn++;
            if (first_error == HS_OK) first_error = HS_ERR_NOSEG;
            g->n--;
            continue;
        }
        if (g->root_start == 0 || start < g->root_start) g->root_start = start;
        if (g->canon.pid == 0) {
            g->canon.pid = p->pid;
            snprintf(g->canon.comm, sizeof(g->canon.comm), "%s", p->comm);
        }
    }
    if (g->n == 0) return first_error == HS_OK ? HS_ERR_NOPROC : first_error;
    if (tree) hs_group_discover(g);
    return HS_OK;
}

void hs_group_close(hs_group_t *g)
{
    for (int i = 0; i < g->n; i++)
        close_seg(&g->v[i]);
    free(g->v);
    free(g->seen);
    g->v = NULL;
    g->seen = NULL;
    g->n = g->nseen = 0;
}

/* ---------------------------------------------------------------------------------------
 * Exits: a member that is gone leaves its record, or a stale segment, or nothing
 * ------------------------------------------------------------------------------------- */
/* The k-th of the names a process's record may take (hakmem_stats.h). */
static void record_name(pid_t pid, int k, char *buf, size_t len)
{
    snprintf(buf, len, "retired-%u",
             (unsigned)(((unsigned)pid + (unsigned)k) % HK_STATS_RETIRED_NAMES));
}

/* The member's own record, at any of its names, in the directory of a user it ran as. */
static bool read_own_record(hs_group_t *g, hs_proc_t *p)
{
    char name[48];
    for (int i = 0; i < 2; i++) {
        if (p->uids[i] == (uid_t)-1 || (i == 1 && p->uids[1] == p->uids[0])) continue;
        for (int k = 0; k < HK_STATS_RETIRED_PROBES; k++) {
            record_name(p->pid, k, name, sizeof(name));
            hs_seg_t rec;
            if (hs_seg_open_record(&rec, p->uids[i], name) != HS_OK) continue;
            bool ours =
                rec.pid == p->pid && rec.start_time == p->start_time && read_seg(g, p, &rec);
            if (ours) p->exit_ns = rec.exit_ns;
            hs_seg_close(&rec);
            if (ours) return true;
        }
    }
    return false;
}

static void finish(hs_group_t *g, hs_proc_t *p)
{
    if (read_own_record(g, p)) {
        p->state = HS_PROC_EXITED;
    } else {
        /* Killed, or left through _exit: a segment still linked is stale, and final. */
        struct stat st;
        if (p->seg && fstat(p->seg->fd, &st) == 0 && st.st_nlink > 0) read_seg(g, p, p->seg);
        p->state = p->counted ? HS_PROC_KILLED : HS_PROC_GONE;
    }
    p->nthreads = 0;
    close_seg(p);
}

/* One member's new counts. A segment unlinked under a running process was replaced by
 * its exec'd image's: what the old image counted becomes the base of the new one's. */
static void update(hs_group_t *g, hs_proc_t *p)
{
    if (p->state == HS_PROC_NOSEG) {
        if (!hs_seg_proc_running(p->pid, p->start_time))
            finish(g, p);
        else
            try_open(g, p);
        return;
    }
    if (p->state != HS_PROC_LIVE) return;
    struct stat st;
    bool replaced = fstat(p->seg->fd, &st) == 0 && st.st_nlink == 0;
    if (!hs_seg_alive(p->seg)) {
        finish(g, p);
    } else if (replaced) {
        close_seg(p);
        try_open(g, p);
    } else if (!read_seg(g, p, p->seg)) {
        snprintf(p->why, sizeof(p->why), "%.159s", p->seg->error);
        close_seg(p);
        p->state = HS_PROC_NOSEG;
    }
}

/* ---------------------------------------------------------------------------------------
 * A tree's running processes, from /proc
 * ------------------------------------------------------------------------------------- */
typedef struct ent_s {
    pid_t pid, ppid;
    uint64_t start;
} ent_t;

/* The parent and start time of process pid. */
static bool read_stat(pid_t pid, ent_t *e)
{
    char path[64], buf[1024];
    hk_proc_stat_t st;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if (hs_seg_read_proc(path, buf, sizeof(buf)) <= 0 || hk_stats_parse_proc_stat(buf, &st) < 0)
        return false;
    e->pid = pid;
    e->ppid = (pid_t)st.ppid;
    e->start = st.start_time;
    return e->start != 0;
}

static int scan_proc(ent_t *out, int max)
{
    DIR *d = opendir("/proc");
    if (d == NULL) return 0;
    int n = 0;
    struct dirent *de;
    while (n < max && (de = readdir(d)) != NULL) {
        char *end;
        long pid = strtol(de->d_name, &end, 10);
        if (*end || pid <= 0 || pid > INT32_MAX) continue;
        if (read_stat((pid_t)pid, &out[n])) n++;
    }
    closedir(d);
    return n;
}

/* The running member with this pid that could be the parent of a process started at
 * `start`. */
static hs_proc_t *running_parent(const hs_group_t *g, pid_t ppid, uint64_t start)
{
    for (int i = 0; i < g->n; i++) {
        hs_proc_t *p = &g->v[i];
        if (p->pid == ppid && !hs_proc_exited(p) && p->start_time <= start) return p;
    }
    return NULL;
}

void hs_group_discover(hs_group_t *g)
{
    if (!g->tree) return;
    ent_t *e = malloc(SCAN_MAX * sizeof(*e));
    if (e == NULL) return;
    int n = scan_proc(e, SCAN_MAX);
    /* Until nothing joins: a grandchild may be listed before its parent. */
    for (bool grew = true; grew;) {
        grew = false;
        for (int i = 0; i < n; i++) {
            if (e[i].pid == 0 || find(g, e[i].pid, e[i].start)) continue;
            if (running_parent(g, e[i].ppid, e[i].start) == NULL) continue;
            hs_proc_t *p = add(g, e[i].pid, e[i].ppid, e[i].start);
            e[i].pid = 0;
            if (p == NULL) continue;
            proc_identity(p);
            if (p->uids[0] == (uid_t)-1) { /* gone already: it ran as its parent did */
                const hs_proc_t *parent = running_parent(g, e[i].ppid, e[i].start);
                p->uids[0] = parent->uids[0];
                p->uids[1] = parent->uids[1];
            }
            try_open(g, p);
            grew = true;
        }
    }
    free(e);
}

/* ---------------------------------------------------------------------------------------
 * A tree's processes that were never seen running: records and stale segments
 * ------------------------------------------------------------------------------------- */
typedef struct scan_s {
    hs_group_t *g;
    uid_t uid;
} scan_t;

static bool parse_seg_name(const char *name, pid_t *pid, uint64_t *start)
{
    char *end;
    errno = 0;
    unsigned long p = strtoul(name, &end, 10);
    if (end == name || *end != '.' || p == 0 || p > INT32_MAX) return false;
    const char *s = end + 1;
    *start = strtoull(s, &end, 10);
    *pid = (pid_t)p;
    return end != s && *end == '\0' && errno == 0;
}

/* Open what `s` names: the record, or the stale segment. */
static int open_seen(const hs_seen_t *s, const char *name, hs_seg_t *seg)
{
    if (!s->segment) return hs_seg_open_record(seg, s->uid, name);
    hs_seg_entry_t e;
    memset(&e, 0, sizeof(e));
    snprintf(e.name, sizeof(e.name), "%s", name);
    e.uid = s->uid;
    e.pid = s->pid;
    e.start_time = s->start_time;
    e.stale = true;
    return hs_seg_open_entry(seg, &e);
}

/* A file first met in a scan: what process it is about, and whose child. Segments of
 * running processes are not these: the /proc scan finds those. */
static void remember(hs_group_t *g, uid_t uid, const char *name, const struct stat *st)
{
    hs_seen_t s = {.ino = st->st_ino,
                   .mtime_ns = (uint64_t)st->st_mtim.tv_sec * 1000000000u + st->st_mtim.tv_nsec,
                   .uid = uid};
    pid_t pid;
    uint64_t start;
    if (parse_seg_name(name, &pid, &start)) {
        if (hs_seg_proc_running(pid, start) || find(g, pid, start)) return;
        s.segment = true;
        s.pid = pid;
        s.start_time = start;
    } else {
        char *end = NULL;
        unsigned long slot = strncmp(name, "retired-", 8) == 0 ? strtoul(name + 8, &end, 10) : 0;
        if (strncmp(name, "retired-", 8) != 0 || end == name + 8 || *end ||
            slot >= HK_STATS_RETIRED_NAMES)
            return;
        s.slot = (unsigned)slot;
    }
    hs_seg_t seg;
    if (open_seen(&s, name, &seg) != HS_OK) return;
    /* A record lies at one of its writer's names (hakmem_stats.h), a segment at its own:
     * what lies elsewhere was not written by the library. */
    bool ok = s.segment && seg.pid == s.pid && seg.start_time == s.start_time;
    for (int k = 0; !s.segment && k < HK_STATS_RETIRED_PROBES && seg.pid > 0; k++)
        ok |= ((unsigned)seg.pid + (unsigned)k) % HK_STATS_RETIRED_NAMES == s.slot;
    s.pid = seg.pid;
    s.start_time = seg.start_time;
    s.ppid = seg.ppid;
    hs_seg_close(&seg);
    if (!ok || s.ppid == 0) return;
    if (g->nseen == SEEN_MAX) g->nseen = 0; /* forget all: they are read again */
    if (g->seen == NULL && (g->seen = malloc(SEEN_MAX * sizeof(*g->seen))) == NULL) return;
    g->seen[g->nseen++] = s;
}

static void scan_file(const char *name, const struct stat *st, void *arg)
{
    scan_t *sc = arg;
    remember(sc->g, sc->uid, name, st);
}

/* The member that `s` may join: its parent, run by the user whose directory holds it. */
static hs_proc_t *parent_of(const hs_group_t *g, const hs_seen_t *s)
{
    hs_proc_t *best = NULL;
    for (int i = 0; i < g->n; i++) {
        hs_proc_t *p = &g->v[i];
        if (p->pid == s->ppid && p->start_time <= s->start_time && has_uid(p, s->uid) &&
            (best == NULL || p->start_time > best->start_time))
            best = p;
    }
    return best;
}

static bool join(hs_group_t *g, hs_seen_t *s, const char *name)
{
    hs_proc_t *parent = parent_of(g, s);
    if (parent == NULL || s->start_time < g->root_start) return false;
    s->used = true;
    hs_seg_t seg;
    if (open_seen(s, name, &seg) != HS_OK) return false;
    if (seg.pid != s->pid || seg.start_time != s->start_time || seg.ppid != s->ppid) {
        hs_seg_close(&seg); /* replaced since the scan: the next one reads it afresh */
        s->used = false;
        return false;
    }
    hs_proc_t *p = add(g, s->pid, s->ppid, s->start_time);
    if (p) {
        p->uids[0] = p->uids[1] = s->uid;
        if (read_seg(g, p, &seg)) {
            p->state = s->segment ? HS_PROC_KILLED : HS_PROC_EXITED;
            p->exit_ns = seg.exit_ns;
            p->nthreads = 0;
        } else {
            p->state = HS_PROC_GONE;
        }
    }
    hs_seg_close(&seg);
    return p != NULL;
}

static void scan_records(hs_group_t *g)
{
    uid_t uids[HS_GROUP_MAX_UIDS];
    int nu = 0;
    for (int i = 0; i < g->n; i++)
        for (int k = 0; k < 2; k++) {
            uid_t u = g->v[i].uids[k];
            bool have = u == (uid_t)-1;
            for (int j = 0; j < nu && !have; j++)
                have = uids[j] == u;
            if (!have && nu < HS_GROUP_MAX_UIDS) uids[nu++] = u;
        }
    /* Every file is read again at every scan: an inode number and a coarse mtime do not
     * tell a new record from one read before (tmpfs and ext4 reuse both). At most 512
     * records and HS_SEG_LIST_MAX names per user. */
    g->nseen = 0;
    for (int i = 0; i < nu; i++) {
        scan_t sc = {g, uids[i]};
        hs_seg_list_user(uids[i], scan_file, &sc);
    }
    for (bool grew = true; grew;) {
        grew = false;
        for (int i = 0; i < g->nseen; i++) {
            hs_seen_t *s = &g->seen[i];
            if (s->used || find(g, s->pid, s->start_time)) continue;
            char name[64];
            if (s->segment)
                snprintf(name, sizeof(name), "%d.%llu", (int)s->pid,
                         (unsigned long long)s->start_time);
            else
                snprintf(name, sizeof(name), "retired-%u", s->slot);
            grew |= join(g, s, name);
        }
    }
}

/* ---------------------------------------------------------------------------------------
 * Refresh and the sum
 * ------------------------------------------------------------------------------------- */
void hs_group_refresh(hs_group_t *g)
{
    for (int i = 0; i < g->n; i++) {
        g->v[i].prev = g->v[i].n;
        g->v[i].have_prev = g->v[i].counted;
    }
    g->prev_t = g->t;
    hs_group_discover(g);
    for (int i = 0; i < g->n; i++)
        update(g, &g->v[i]);
    if (g->tree) scan_records(g);
    for (int i = 0; i < g->n; i++) /* the group is named after its first, as it runs now */
        if (g->v[i].pid == g->canon.pid && g->v[i].named && g->v[i].comm[0])
            snprintf(g->canon.comm, sizeof(g->canon.comm), "%s", g->v[i].comm);
    g->t = hs_mono();
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    g->now_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

bool hs_group_alive(const hs_group_t *g)
{
    for (int i = 0; i < g->n; i++)
        if (!hs_proc_exited(&g->v[i])) return true;
    return false;
}

void hs_group_snap(const hs_group_t *g, hs_snap_t *now, hs_snap_t *prev, bool *have_prev)
{
    memset(now, 0, sizeof(*now));
    memset(prev, 0, sizeof(*prev));
    *have_prev = g->prev_t > 0;
    for (int i = 0; i < g->n; i++) {
        const hs_proc_t *p = &g->v[i];
        if (!p->counted) continue;
        counts_add(&now->total, &p->n);
        if (hs_proc_exited(p)) {
            /* An exited process holds no memory: its counts stay, its level goes. */
            counts_add(&now->retired, &p->n);
            now->total.c[HK_STAT_mapped] -= p->n.c[HK_STAT_mapped];
            for (int c = 0; c < HK_STATS_NCLASSES; c++)
                if (p->n.class_alloc[c] > p->n.class_free[c])
                    now->total.class_free[c] += p->n.class_alloc[c] - p->n.class_free[c];
        }
        if (p->have_prev) counts_add(&prev->total, &p->prev);
        now->nthreads += p->nthreads;
        if (now->tsc_hz == 0) now->tsc_hz = p->tsc_hz;
        if (p->named && (now->start_ns == 0 || p->start_ns < now->start_ns))
            now->start_ns = p->start_ns;
        if (p->named && !hs_proc_exited(p)) now->prof_period = p->prof_period;
    }
    now->t = g->t;
    now->now_ns = g->now_ns;
    now->alive = hs_group_alive(g);
    prev->t = g->prev_t;
    prev->start_ns = now->start_ns;
    prev->tsc_hz = now->tsc_hz;
}
