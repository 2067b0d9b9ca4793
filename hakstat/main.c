/* main.c: hakstat's command line: parse options, pick the mode (screen on a terminal,
 * batch text otherwise, JSON or OpenMetrics when asked, or the process list) and run
 * it. Exit statuses are enum hs_status (seg.h), documented in hakstat(1). */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "list.h"
#include "options.h"
#include "out.h"
#include "out_procs.h"
#include "procs.h"
#include "screen.h"
#include "stack.h"
#include "seg.h"
#include "serve.h"
#include "snap.h"
#include "table.h"
#include "view.h"
#include "view_procs.h"

/* One option's effect on the options; HS_OK, or a usage error already reported. */
typedef int opt_fn(hs_opts_t *o, const char *arg);

#define HS_OPT_DECLARE(k, n, id, a, h) static opt_fn opt_##id;
HS_OPTIONS(HS_OPT_DECLARE)
#undef HS_OPT_DECLARE

static const struct {
    int key;
    const char *name, *arg, *help;
    opt_fn *apply;
} option_table[] = {
#define HS_OPT_ROW(k, n, id, a, h) {k, n, a, h, opt_##id},
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

/* The tail of every usage error. */
static void try_help(void)
{
    fprintf(stderr, "Try 'hakstat --help'.\n");
}

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "hakstat: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    try_help();
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

/* The index of `arg` among n names, or -1 with a usage error that lists them. */
static int pick(const char *what, const char *arg, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(arg, names[i]) == 0) return i;
    fprintf(stderr, "hakstat: unknown %s '%s' (", what, arg);
    for (int i = 0; i < n; i++)
        fprintf(stderr, "%s%s", i ? ", " : "", names[i]);
    fprintf(stderr, ")\n");
    try_help();
    return -1;
}

/* "PID[,PID...]": each one a number, at most HS_OPTS_MAX_PIDS in all (with earlier -p). */
static int opt_pid(hs_opts_t *o, const char *arg)
{
    for (const char *p = arg;; p++) {
        size_t len = strcspn(p, ",");
        char *end;
        errno = 0;
        long v = *p >= '0' && *p <= '9' ? strtol(p, &end, 10) : 0;
        if (errno || v < 1 || v > INT32_MAX || end != p + len)
            return usage_error("bad PID '%.*s' in '%s'", (int)len, p, arg);
        if (o->npids == HS_OPTS_MAX_PIDS) return usage_error("more than %d PIDs", HS_OPTS_MAX_PIDS);
        o->pids[o->npids++] = (pid_t)v;
        p += len;
        if (*p == '\0') break;
    }
    o->pid = o->pids[0];
    return HS_OK;
}

static int opt_tree(hs_opts_t *o, const char *arg)
{
    (void)arg;
    o->tree = true;
    return HS_OK;
}

static int opt_list(hs_opts_t *o, const char *arg)
{
    (void)arg;
    o->list = true;
    return HS_OK;
}

static int opt_gc(hs_opts_t *o, const char *arg)
{
    (void)arg;
    o->gc = o->list = true;
    return HS_OK;
}

static int opt_batch(hs_opts_t *o, const char *arg)
{
    (void)arg;
    o->format = HS_FMT_TEXT;
    return HS_OK;
}

static int opt_json(hs_opts_t *o, const char *arg)
{
    (void)arg;
    o->format = HS_FMT_JSON;
    return HS_OK;
}

static int opt_output(hs_opts_t *o, const char *arg)
{
    static const char *const names[] = {[HS_FMT_SCREEN] = "screen",
                                        [HS_FMT_TEXT] = "text",
                                        [HS_FMT_JSON] = "json",
                                        [HS_FMT_OPENMETRICS] = "openmetrics",
                                        [HS_FMT_PROMETHEUS] = "prometheus",
                                        [HS_FMT_FOLDED] = "folded"};
    int i = pick("output format", arg, names, (int)(sizeof(names) / sizeof(names[0])));
    if (i < 0) return HS_ERR_USAGE;
    o->format = (enum hs_format)i;
    return HS_OK;
}

static int opt_serve(hs_opts_t *o, const char *arg)
{
    o->serve = arg;
    return HS_OK;
}

static int opt_per_tid(hs_opts_t *o, const char *arg)
{
    (void)arg;
    o->per_tid = true;
    return HS_OK;
}

static int opt_delay(hs_opts_t *o, const char *arg)
{
    if (!parse_double(arg, &o->delay) || !hs_delay_valid(o->delay))
        return usage_error("bad delay '%s' (%.1f to %.0f seconds)", arg, HS_DELAY_MIN,
                           HS_DELAY_MAX);
    o->delay_given = true;
    return HS_OK;
}

static int opt_count(hs_opts_t *o, const char *arg)
{
    if (!parse_long(arg, 1, 1L << 40, &o->count)) return usage_error("bad count '%s'", arg);
    o->count_given = true;
    return HS_OK;
}

static int opt_view(hs_opts_t *o, const char *arg)
{
    const char *names[HS_VIEW_COUNT];
    for (int i = 0; i < HS_VIEW_COUNT; i++)
        names[i] = hs_table_view_name((enum hs_view)i);
    int i = pick("view", arg, names, HS_VIEW_COUNT);
    if (i < 0) return HS_ERR_USAGE;
    o->view = (enum hs_view)i;
    return HS_OK;
}

static int opt_site(hs_opts_t *o, const char *arg)
{
    long v;
    if (!parse_long(arg, 1, HK_SITE_ENTRIES, &v))
        return usage_error("bad site rank '%s' (1 to %d)", arg, HK_SITE_ENTRIES);
    o->stack_site = (int)v;
    hs_table_set_stack_site(o->stack_site);
    return HS_OK;
}

static int opt_weight(hs_opts_t *o, const char *arg)
{
    static const char *const names[] = {"bytes", "live"};
    int i = pick("weight", arg, names, 2);
    if (i < 0) return HS_ERR_USAGE;
    o->folded_live = i == 1;
    return HS_OK;
}

static int opt_wrappers(hs_opts_t *o, const char *arg)
{
    (void)o;
    hs_stack_set_wrappers(arg);
    return HS_OK;
}

/* -s names a column of the chosen view, checked once the view is known (check_sort). */
static int opt_sort(hs_opts_t *o, const char *arg)
{
    if (strlen(arg) >= sizeof(o->sort)) return usage_error("no column '%s' in any view", arg);
    snprintf(o->sort, sizeof(o->sort), "%s", arg);
    return HS_OK;
}

static int opt_totals(hs_opts_t *o, const char *arg)
{
    (void)arg;
    o->totals = true;
    return HS_OK;
}

static int opt_profile(hs_opts_t *o, const char *arg)
{
    long v;
    if (!parse_long(arg, 0, 1L << 30, &v)) return usage_error("bad profiling period '%s'", arg);
    o->set_profile = true;
    o->profile_period = (uint64_t)v;
    return HS_OK;
}

static int opt_help(hs_opts_t *o, const char *arg)
{
    (void)o;
    (void)arg;
    usage(stdout);
    exit(0);
}

static int opt_version(hs_opts_t *o, const char *arg)
{
    (void)o;
    (void)arg;
    printf("hakstat %s\n", PACKAGE_VERSION);
    exit(0);
}

/* The error lists the columns of the chosen view. */
static int check_sort(const hs_opts_t *o)
{
    int n;
    const hs_col_t *cols = hs_table_cols(o->view, &n);
    for (int i = 0; i < n; i++)
        if (strcasecmp(cols[i].name, o->sort) == 0) return HS_OK;
    fprintf(stderr, "hakstat: no column '%s' in this view (", o->sort);
    for (int i = 0; i < n; i++)
        fprintf(stderr, "%s%s", i ? ", " : "", cols[i].name);
    fprintf(stderr, ")\n");
    try_help();
    return HS_ERR_USAGE;
}

/* Options that make sense only together, or never together. */
static int check_combination(const hs_opts_t *o)
{
    bool pid_given = o->npids > 0;
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

/* getopt_long's tables from option_table, then each option applied by its handler. */
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
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
        if (c == ':') return usage_error("option '%s' needs an argument", argv[optind - 1]);
        size_t i = 0;
        while (i < NOPTIONS && option_table[i].key != c)
            i++;
        if (i == NOPTIONS) return usage_error("unknown option '%s'", argv[optind - 1]);
        if (option_table[i].apply(o, optarg) != HS_OK) return HS_ERR_USAGE;
    }
    if (optind < argc) return usage_error("unexpected argument '%s'", argv[optind]);
    return check_combination(o);
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

/* SIGINT, SIGTERM and SIGHUP end the loop; a second one kills outright (SA_RESETHAND,
 * hs_catch_signals). The screens install their own, in hs_screen_open. */
static void catch_signals(void)
{
    hs_catch_signals(on_signal, SA_RESETHAND);
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
    catch_signals();
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

/* One listing, printed. */
static int list_once(const hs_opts_t *o, bool gc)
{
    static hs_listing_t l;
    bool json = o->format == HS_FMT_JSON;
    int status = hs_list_take(&l, gc, json ? stderr : stdout);
    if (status != HS_OK) return status;
    if (json)
        out_list_json(stdout, &l);
    else
        out_list_text(stdout, &l);
    return HS_OK;
}

/* -l with -d or -n: the list again every interval, each one headed by its time (text)
 * or one JSON array a line. --gc removes once, before the first. */
static int list_refresh(const hs_opts_t *o)
{
    if (!o->delay_given && !o->count_given) return list_once(o, o->gc);
    long count = o->count_given ? o->count : -1;
    int status = HS_OK;
    catch_signals();
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
        status = list_once(o, o->gc && i == 0);
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
    catch_signals();
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
