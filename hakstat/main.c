/* main.c: hakstat's command line: parse options, pick the mode (screen on a terminal,
 * batch text otherwise, JSON or OpenMetrics when asked, or the process list) and run
 * it. Exit statuses are enum hs_status (seg.h), documented in hakstat(1). */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "options.h"
#include "out.h"
#include "out_procs.h"
#include "procs.h"
#include "stack.h"
#include "seg.h"
#include "serve.h"
#include "snap.h"
#include "table.h"
#include "view.h"
#include "view_procs.h"

static const struct {
    int key;
    const char *name, *arg, *help;
} option_table[] = {
#define HS_OPT_ROW(k, n, a, h) {k, n, a, h},
    HS_OPTIONS(HS_OPT_ROW)
#undef HS_OPT_ROW
};
#define NOPTIONS (sizeof(option_table) / sizeof(option_table[0]))

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: hakstat -p PID [options]   watch a process using libhakmem\n"
            "       hakstat -l | --gc           list (or clean up) statistics segments\n"
            "       hakstat --serve [HOST:]PORT serve every process's metrics to Prometheus\n\n");
    for (size_t i = 0; i < NOPTIONS; i++) {
        char left[40];
        snprintf(left, sizeof(left), "-%c, --%s%s%s", option_table[i].key, option_table[i].name,
                 option_table[i].arg ? " " : "", option_table[i].arg ? option_table[i].arg : "");
        fprintf(f, "  %-26s %s\n", left, option_table[i].help);
    }
    fprintf(f, "\nOn a terminal hakstat shows a live screen (press h for its keys); otherwise it\n"
               "prints text. Exit status: 0 ok, 1 usage, 2 no such process, 3 no segment,\n"
               "4 permission denied, 5 unknown segment version, 6 corrupt segment,\n"
               "7 process exited, 8 system error, 9 untrusted segment refused.\n");
}

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "hakstat: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'hakstat --help'.\n");
    return HS_ERR_USAGE;
}

static bool parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || isnan(v)) return false;
    *out = v;
    return true;
}

static bool parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max) return false;
    *out = v;
    return true;
}

/* "PID[,PID...]": each one a number, at most HS_OPTS_MAX_PIDS in all (with earlier -p). */
static int parse_pids(const char *arg, hs_opts_t *o)
{
    char buf[1024];
    if (snprintf(buf, sizeof(buf), "%s", arg) >= (int)sizeof(buf))
        return usage_error("%s", "PID list too long");
    char *save, *tok = strtok_r(buf, ",", &save);
    if (tok == NULL) return usage_error("bad PID '%s'", arg);
    for (; tok; tok = strtok_r(NULL, ",", &save)) {
        long v;
        if (!parse_long(tok, 1, INT32_MAX, &v))
            return usage_error("bad PID '%s' in '%s'", tok, arg);
        if (o->npids == HS_OPTS_MAX_PIDS) return usage_error("more than %d PIDs", HS_OPTS_MAX_PIDS);
        o->pids[o->npids++] = (pid_t)v;
    }
    if (arg[0] == ',' || arg[strlen(arg) - 1] == ',' || strstr(arg, ",,"))
        return usage_error("bad PID list '%s'", arg);
    o->pid = o->pids[0];
    return HS_OK;
}

/* -s names a column of the chosen view; the error lists them. */
static int check_sort(const hs_opts_t *o)
{
    int n;
    const hs_col_t *cols = hs_table_cols(o->view, &n);
    char names[512] = "";
    size_t len = 0;
    for (int i = 0; i < n; i++) {
        if (strcasecmp(cols[i].name, o->sort) == 0) return HS_OK;
        int w = snprintf(names + len, sizeof(names) - len, "%s%s", i ? ", " : "", cols[i].name);
        if (w > 0 && (size_t)w < sizeof(names) - len) len += (size_t)w;
    }
    return usage_error("no column '%s' in this view (%s)", o->sort, names);
}

static int parse_args(int argc, char **argv, hs_opts_t *o)
{
    struct option longs[NOPTIONS + 1];
    char shorts[NOPTIONS * 2 + 2];
    size_t s = 0;
    shorts[s++] = ':';
    for (size_t i = 0; i < NOPTIONS; i++) {
        longs[i] = (struct option){option_table[i].name, option_table[i].arg ? 1 : 0, NULL,
                                   option_table[i].key};
        shorts[s++] = (char)option_table[i].key;
        if (option_table[i].arg) shorts[s++] = ':';
    }
    shorts[s] = '\0';
    longs[NOPTIONS] = (struct option){0};

    memset(o, 0, sizeof(*o));
    o->delay = 1.0;
    o->format = isatty(STDOUT_FILENO) ? HS_FMT_SCREEN : HS_FMT_TEXT;
    bool pid_given = false;
    int c;
    long v;
    opterr = 0;
    while ((c = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
        switch (c) {
        case 'p':
            if (parse_pids(optarg, o) != HS_OK) return HS_ERR_USAGE;
            pid_given = true;
            break;
        case 'T':
            o->tree = true;
            break;
        case 'l':
            o->list = true;
            break;
        case 'G':
            o->gc = o->list = true;
            break;
        case 'b':
            o->format = HS_FMT_TEXT;
            break;
        case 'j':
            o->format = HS_FMT_JSON;
            break;
        case 'o':
            if (!strcmp(optarg, "screen"))
                o->format = HS_FMT_SCREEN;
            else if (!strcmp(optarg, "text"))
                o->format = HS_FMT_TEXT;
            else if (!strcmp(optarg, "json"))
                o->format = HS_FMT_JSON;
            else if (!strcmp(optarg, "openmetrics"))
                o->format = HS_FMT_OPENMETRICS;
            else if (!strcmp(optarg, "prometheus"))
                o->format = HS_FMT_PROMETHEUS;
            else if (!strcmp(optarg, "folded"))
                o->format = HS_FMT_FOLDED;
            else
                return usage_error("unknown output format '%s' (screen, text, json, openmetrics, "
                                   "prometheus)",
                                   optarg);
            break;
        case 'd':
            if (!parse_double(optarg, &o->delay) || !hs_delay_valid(o->delay))
                return usage_error("bad delay '%s' (%.1f to %.0f seconds)", optarg, HS_DELAY_MIN,
                                   HS_DELAY_MAX);
            o->delay_given = true;
            break;
        case 'n':
            if (!parse_long(optarg, 1, 1L << 40, &o->count))
                return usage_error("bad count '%s'", optarg);
            o->count_given = true;
            break;
        case 'v':
            if (!strcmp(optarg, "threads"))
                o->view = HS_VIEW_THREADS;
            else if (!strcmp(optarg, "classes"))
                o->view = HS_VIEW_CLASSES;
            else if (!strcmp(optarg, "totals"))
                o->view = HS_VIEW_TOTALS;
            else if (!strcmp(optarg, "sites"))
                o->view = HS_VIEW_SITES;
            else if (!strcmp(optarg, "memory"))
                o->view = HS_VIEW_MEMORY;
            else if (!strcmp(optarg, "growth"))
                o->view = HS_VIEW_GROWTH;
            else if (!strcmp(optarg, "stack"))
                o->view = HS_VIEW_STACK;
            else
                return usage_error(
                    "unknown view '%s' (threads, classes, totals, sites, memory, growth, stack)",
                    optarg);
            break;
        case 'R':
            if (!parse_long(optarg, 1, HK_SITE_ENTRIES, &v))
                return usage_error("bad site rank '%s' (1 to %d)", optarg, HK_SITE_ENTRIES);
            o->stack_site = (int)v;
            hs_table_set_stack_site(o->stack_site);
            break;
        case 'w':
            if (!strcmp(optarg, "live"))
                o->folded_live = true;
            else if (!strcmp(optarg, "bytes"))
                o->folded_live = false;
            else
                return usage_error("unknown weight '%s' (bytes, live)", optarg);
            break;
        case 'W':
            hs_stack_set_wrappers(optarg);
            break;
        case 's':
            snprintf(o->sort, sizeof(o->sort), "%s", optarg);
            break;
        case 't':
            o->totals = true;
            break;
        case 'I':
            o->per_tid = true;
            break;
        case 'S':
            o->serve = optarg;
            break;
        case 'P':
            if (!parse_long(optarg, 0, 1L << 30, &v))
                return usage_error("bad profiling period '%s'", optarg);
            o->set_profile = true;
            o->profile_period = (uint64_t)v;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        case 'V':
            printf("hakstat %s\n", PACKAGE_VERSION);
            exit(0);
        case ':':
            return usage_error("option '%s' needs an argument", argv[optind - 1]);
        default:
            return usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return usage_error("unexpected argument '%s'", argv[optind]);
    if (o->set_profile && !pid_given) return usage_error("%s", "--profile needs -p PID");
    if (o->serve && (pid_given || o->list))
        return usage_error("%s", "--serve watches every process: no -p or -l");
    if (!o->list && !pid_given && !o->serve) return usage_error("%s", "give -p PID, -l or --serve");
    if (o->tree && !pid_given) return usage_error("%s", "--tree needs -p PID");
    if (o->set_profile && (o->npids > 1 || o->tree))
        return usage_error("%s", "--profile takes one PID, without --tree");
    if (o->sort[0]) return check_sort(o);
    return HS_OK;
}

/* ---------------------------------------------------------------------------------------
 * -l and --gc
 * ------------------------------------------------------------------------------------- */
typedef struct listed_s {
    hs_seg_entry_t e;
    bool ok;           /* first snapshot taken */
    double t;          /* its time */
    hs_counts_t total; /* its totals */
} listed_t;

typedef struct listing_s {
    listed_t *v;
    int n;
} listing_t;

static void collect(const hs_seg_entry_t *e, void *arg)
{
    listing_t *l = arg;
    if (l->n < HS_SEG_LIST_MAX) l->v[l->n++].e = *e;
}

static const char *entry_state(const hs_seg_entry_t *e)
{
    return e->stale ? "stale" : e->foreign ? "foreign" : !e->readable ? "unreadable" : "live";
}

/* --gc: this user's retired records too (and any left half-written), by owner. */
static void remove_record(const char *name, const struct stat *st, void *arg)
{
    (void)st;
    if (strncmp(name, "retired-", 8) != 0 && strncmp(name, "retiring-", 9) != 0) return;
    hs_seg_entry_t e;
    memset(&e, 0, sizeof(e));
    snprintf(e.name, sizeof(e.name), "%s", name);
    e.uid = geteuid();
    if (hs_seg_remove_entry(&e) == 0) ++*(int *)arg;
}

static int remove_records(void)
{
    int n = 0;
    hs_seg_list_user(geteuid(), remove_record, &n);
    return n;
}

static int list_segments(const hs_opts_t *o)
{
    static listed_t v[HS_SEG_LIST_MAX];
    listing_t l = {v, 0};
    hs_seg_skipped_t skipped;
    if (hs_seg_list(collect, &l, &skipped) < 0) {
        fprintf(stderr, "hakstat: cannot read %s: %s\n", hs_seg_dir(), strerror(errno));
        return HS_ERR_SYSTEM;
    }
    if (skipped.dirs || skipped.files || skipped.more) {
        fprintf(stderr,
                "hakstat: skipped %u director%s and %u file%s that fail the ownership checks "
                "(see hakstat(1), SECURITY)",
                skipped.dirs, skipped.dirs == 1 ? "y" : "ies", skipped.files,
                skipped.files == 1 ? "" : "s");
        if (skipped.more)
            fprintf(stderr, ", and %u segments beyond the first %d", skipped.more, HS_SEG_LIST_MAX);
        fputc('\n', stderr);
    }
    if (o->gc) {
        int removed = 0;
        for (int i = 0; i < l.n; i++) {
            hs_seg_entry_t *e = &l.v[i].e;
            /* Only the caller's own files, by their owner (fstatat), root's too: a name
             * proves nothing, and another user's leftovers are theirs to remove. */
            if (!e->stale || e->uid != geteuid()) continue;
            if (hs_seg_remove_entry(e) == 0) {
                removed++;
                e->name[0] = '\0';
            }
        }
        int records = remove_records();
        fprintf(o->format == HS_FMT_JSON ? stderr : stdout,
                "removed %d stale segment%s, %d retired record%s\n", removed,
                removed == 1 ? "" : "s", records, records == 1 ? "" : "s");
    }
    /* Two snapshots of every readable live segment, 200 ms apart, for ops/s. Only the
     * totals are kept in between, so memory does not grow with the segments listed. */
    static hs_seg_t seg;
    hs_snap_t snap;
    for (int i = 0; i < l.n; i++) {
        hs_seg_entry_t *e = &l.v[i].e;
        l.v[i].ok = false;
        if (!e->name[0] || e->stale || e->foreign || !e->readable) continue;
        if (hs_seg_open_entry(&seg, e) != HS_OK) continue;
        if (hs_snap_take(&seg, &snap) == HS_OK) {
            l.v[i].ok = true;
            l.v[i].t = snap.t;
            l.v[i].total = snap.total;
            hs_snap_free(&snap);
        }
        hs_seg_close(&seg);
    }
    struct timespec pause = {0, 200000000};
    nanosleep(&pause, NULL);
    bool json = o->format == HS_FMT_JSON;
    if (json)
        fputs("[", stdout);
    else
        printf("%7s %-10s %7s %10s %9s  %s\n", "PID", "USER", "THREADS", "UPTIME", "OPS/S",
               "COMMAND");
    bool first = true;
    for (int i = 0; i < l.n; i++) {
        const hs_seg_entry_t *e = &l.v[i].e;
        if (!e->name[0]) continue;
        struct passwd *pw = getpwuid(e->uid);
        char user[32];
        snprintf(user, sizeof(user), "%s", pw ? pw->pw_name : "?");
        if (pw == NULL) snprintf(user, sizeof(user), "%u", (unsigned)e->uid);
        double rate = NAN, up = NAN;
        unsigned threads = 0;
        char comm[sizeof(seg.comm)] = "";
        if (l.v[i].ok && hs_seg_open_entry(&seg, e) == HS_OK) {
            if (hs_snap_take(&seg, &snap) == HS_OK) {
                hs_metrics_t m;
                hs_snap_metrics(&seg, &snap.total, &l.v[i].total, snap.t - l.v[i].t, 1, &m);
                rate = m.malloc_rate + m.free_rate;
                up = hs_snap_uptime(&snap);
                threads = snap.nthreads;
                snprintf(comm, sizeof(comm), "%s", seg.comm);
                hs_snap_free(&snap);
            }
            hs_seg_close(&seg);
        }
        const char *state = entry_state(e);
        if (json) {
            printf("%s{\"pid\":%d,\"user\":", first ? "" : ",", (int)e->pid);
            out_json_string(stdout, user);
            printf(",\"state\":\"%s\",\"threads\":%u,\"uptime_s\":", state, threads);
            isnan(up) ? printf("null") : printf("%.1f", up);
            printf(",\"ops_per_s\":");
            isnan(rate) ? printf("null") : printf("%.0f", rate);
            printf(",\"command\":");
            out_json_string(stdout, comm);
            printf(",\"file\":");
            out_json_string(stdout, e->path);
            printf("}");
        } else {
            char r[32], u[32];
            hs_table_fmt_count(r, sizeof(r), rate);
            if (isnan(up))
                snprintf(u, sizeof(u), "-");
            else
                snprintf(u, sizeof(u), "%llu:%02llu:%02llu", (unsigned long long)up / 3600,
                         (unsigned long long)up / 60 % 60, (unsigned long long)up % 60);
            printf("%7d %-10.10s %7u %10s %9s  %s%s\n", (int)e->pid, user, threads, u, r, comm,
                   e->stale       ? "[stale]"
                   : e->foreign   ? "[foreign: not this process's user]"
                   : !e->readable ? "[unreadable]"
                                  : "");
        }
        first = false;
    }
    if (json) fputs("]\n", stdout);
    return HS_OK;
}

/* ---------------------------------------------------------------------------------------
 * Batch, JSON and OpenMetrics
 * ------------------------------------------------------------------------------------- */
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

/* SIGINT, SIGTERM and SIGHUP end the loop: without SA_RESTART a blocked call (a sleep,
 * a write to a full pipe) returns EINTR at once; SA_RESETHAND makes a second signal
 * kill outright, whatever the loop is doing. */
static void catch_signals(void (*handler)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = handler;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

static void sleep_seconds(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - floor(s)) * 1e9)};
    while (!stop && nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* One Prometheus document per interval, from series kept across intervals (so counters
 * stay monotonic when threads exit). A stream of OpenMetrics documents is a sequence
 * of whole documents, each ending in "# EOF"; text-format documents are separated by
 * an empty line. */
static void prom_interval(const hs_seg_t *seg, const hs_snap_t *now, hs_prom_proc_t *proc,
                          const hs_opts_t *o, long i)
{
    if (!hs_prom_proc_update(proc, seg, now)) {
        fprintf(stderr, "hakstat: interval %ld: out of memory\n", i + 1);
        return;
    }
    const hs_prom_proc_t *procs[1] = {proc};
    hs_prom_doc_t d = {o->format == HS_FMT_OPENMETRICS ? HS_PROM_OPENMETRICS : HS_PROM_TEXT,
                       procs,
                       1,
                       0,
                       seg,
                       now};
    if (i > 0 && d.format == HS_PROM_TEXT) fputc('\n', stdout);
    out_prom_doc(stdout, &d);
}

static int run_batch(hs_seg_t *seg, const hs_opts_t *o)
{
    /* JSON and OpenMetrics print one document unless -n or -d asks for more; text runs
     * until the process exits (or -n intervals). */
    bool doc = o->format == HS_FMT_JSON || o->format == HS_FMT_OPENMETRICS ||
               o->format == HS_FMT_PROMETHEUS || o->format == HS_FMT_FOLDED;
    bool once = doc && !o->count_given && !o->delay_given;
    hs_prom_proc_t proc;
    bool prom = o->format == HS_FMT_OPENMETRICS || o->format == HS_FMT_PROMETHEUS;
    if (prom && !hs_prom_proc_init(&proc, seg, o->per_tid)) {
        fprintf(stderr, "hakstat: out of memory\n");
        return HS_ERR_SYSTEM;
    }
    long count = once ? 1 : o->count_given ? o->count : -1;
    hs_snap_t prev, now;
    bool have_prev = false;
    int status = HS_OK;
    catch_signals(on_signal);
    for (long i = 0; (count < 0 || i < count) && !stop; i++) {
        if (i > 0) sleep_seconds(o->delay);
        if (stop) break;
        hs_snap_want_sites(o->format != HS_FMT_TEXT || o->view == HS_VIEW_SITES ||
                           o->view == HS_VIEW_GROWTH || o->view == HS_VIEW_STACK);
        status = hs_snap_take(seg, &now);
        if (status != HS_OK) {
            fprintf(stderr, "hakstat: %s\n", seg->error);
            break;
        }
        /* A busy writer never ends the stream: the interval says what it left out. */
        char note[160];
        hs_snap_busy_note(&now, note, sizeof(note));
        if (note[0]) fprintf(stderr, "hakstat: interval %ld: %s\n", i + 1, note);
        if (o->format == HS_FMT_JSON)
            out_json(stdout, seg, &now, have_prev ? &prev : NULL, o);
        else if (prom)
            prom_interval(seg, &now, &proc, o, i);
        else if (o->format == HS_FMT_FOLDED)
            out_folded(stdout, seg, &now, o->folded_live);
        else
            out_text(stdout, seg, &now, have_prev ? &prev : NULL, o);
        fflush(stdout);
        if (have_prev) hs_snap_free(&prev);
        prev = now;
        have_prev = true;
        if (!now.alive) {
            fprintf(stderr, "hakstat: process %d (%s) exited\n", (int)seg->pid, seg->comm);
            status = HS_ERR_EXITED;
            break;
        }
    }
    if (have_prev) hs_snap_free(&prev);
    if (prom) hs_prom_proc_free(&proc);
    return status;
}

/* -l with -d or -n: the list again every interval, each one headed by its time (text)
 * or one JSON array a line. --gc removes once, before the first. */
static int list_refresh(const hs_opts_t *o)
{
    if (!o->delay_given && !o->count_given) return list_segments(o);
    hs_opts_t each = *o;
    long count = o->count_given ? o->count : -1;
    int status = HS_OK;
    catch_signals(on_signal);
    for (long i = 0; (count < 0 || i < count) && !stop && status == HS_OK; i++) {
        if (i > 0) sleep_seconds(o->delay);
        if (stop) break;
        if (o->format != HS_FMT_JSON) {
            char when[32];
            time_t now = time(NULL);
            struct tm tm;
            localtime_r(&now, &tm);
            strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
            printf("=== %s\n", when);
        }
        status = list_segments(&each);
        each.gc = false;
        fflush(stdout);
    }
    return status;
}

/* Several processes (-p PID,PID or --tree): refreshed like one; a tree is polled for
 * new children between refreshes too, so that short ones are seen running. */
static void sleep_polling(hs_group_t *g, double s)
{
    double slice = g->tree && s > 0.25 ? 0.25 : s;
    for (double left = s; left > 0 && !stop; left -= slice) {
        sleep_seconds(left < slice ? left : slice);
        if (left > slice) hs_group_discover(g);
    }
}

static int run_group(const hs_opts_t *o)
{
    static hs_group_t g;
    int status = hs_group_open(&g, o->pids, o->npids, o->tree);
    for (int i = 0; i < g.nwarn && i < HS_GROUP_MAX_PIDS; i++)
        fprintf(stderr, "hakstat: %s%s\n", g.warn[i], status == HS_OK ? " (left out)" : "");
    if (status != HS_OK) return status;
    if (o->format == HS_FMT_SCREEN) {
        status = view_procs_run(&g, o);
        hs_group_close(&g);
        return status;
    }
    bool prom = o->format == HS_FMT_OPENMETRICS || o->format == HS_FMT_PROMETHEUS;
    bool once = (o->format == HS_FMT_JSON || prom) && !o->count_given && !o->delay_given;
    long count = once ? 1 : o->count_given ? o->count : -1;
    catch_signals(on_signal);
    for (long i = 0; (count < 0 || i < count) && !stop; i++) {
        if (i > 0) sleep_polling(&g, o->delay);
        if (stop) break;
        hs_group_refresh(&g);
        if (o->format == HS_FMT_JSON) {
            out_procs_json(stdout, &g, o);
        } else if (prom) {
            /* a stream as prom_interval writes one (hakstat(1)) */
            if (i > 0 && o->format == HS_FMT_PROMETHEUS) fputc('\n', stdout);
            out_procs_prom(stdout, &g, o->format == HS_FMT_OPENMETRICS);
        } else {
            out_procs_text(stdout, &g, o);
        }
        if (!hs_group_alive(&g)) {
            fprintf(stderr, "hakstat: every process exited\n");
            status = HS_ERR_EXITED;
            break;
        }
    }
    hs_group_close(&g);
    return status;
}

int main(int argc, char **argv)
{
    hs_opts_t o;
    int status = parse_args(argc, argv, &o);
    if (status != HS_OK) return status;
    if (o.list || o.npids > 1 || o.tree) hs_snap_want_sites(false); /* they show no sites */
    if (o.list) return list_refresh(&o);
    if (o.serve) return hs_serve(&o);
    if (o.npids > 1 || o.tree) return run_group(&o);

    hs_seg_t seg;
    bool writable = o.set_profile || o.format == HS_FMT_SCREEN;
    status = hs_seg_open_pid(&seg, o.pid, writable);
    if (status != HS_OK) {
        fprintf(stderr, "hakstat: %s\n", seg.error);
        return status;
    }
    if (o.set_profile) {
        status = hs_seg_set_profiling(&seg, o.profile_period);
        if (status != HS_OK)
            fprintf(stderr, "hakstat: %s\n", seg.error);
        else
            printf("profiling period of process %d set to %llu%s\n", (int)o.pid,
                   (unsigned long long)o.profile_period, o.profile_period ? "" : " (off)");
    } else if (o.format == HS_FMT_SCREEN) {
        status = view_run(&seg, &o);
    } else {
        status = run_batch(&seg, &o);
    }
    hs_seg_close(&seg);
    return status;
}
