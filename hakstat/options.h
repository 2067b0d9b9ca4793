/* options.h: hakstat's command-line options, once. The getopt strings, --help and the
 * man-page check all come from this table. */
#ifndef HS_OPTIONS_H
#define HS_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* The refresh interval's bounds: -d, the d key and the + and - keys all keep to them. */
#define HS_DELAY_MIN 0.1
#define HS_DELAY_MAX 3600.0

static inline bool hs_delay_valid(double d)
{
    return d >= HS_DELAY_MIN && d <= HS_DELAY_MAX; /* false for NaN */
}

static inline double hs_delay_clamp(double d)
{
    return d < HS_DELAY_MIN ? HS_DELAY_MIN : d > HS_DELAY_MAX ? HS_DELAY_MAX : d;
}

/* X(short, long, handler suffix (main.c: opt_<suffix>), argument name or NULL, help) */
#define HS_OPTIONS(X)                                                                              \
    X('p', "pid", pid, "PID[,PID...]", "watch process PID, or several as one")                     \
    X('T', "tree", tree, NULL, "with -p: follow the processes' descendants, exited ones too")      \
    X('l', "list", list, NULL, "list processes with a hakmem segment (stale ones marked)")         \
    X('G', "gc", gc, NULL, "remove this user's stale segments, then list")                         \
    X('b', "batch", batch, NULL, "print a text block per interval instead of the screen")          \
    X('j', "json", json, NULL, "print JSON documents (one per interval with -n/-d)")               \
    X('o', "output", output, "FORMAT",                                                             \
      "output format: screen, text, json, openmetrics, prometheus or folded")                      \
    X('S', "serve", serve, "[HOST:]PORT", "serve /metrics of every readable process over HTTP")    \
    X('I', "per-tid", per_tid, NULL, "Prometheus series per thread id, not per thread name")       \
    X('d', "delay", delay, "SECONDS", "refresh interval (default 1, 0.1 to 3600)")                 \
    X('n', "count", count, "N", "stop after N intervals")                                          \
    X('v', "view", view, "VIEW", "view: threads, classes, totals, sites, memory, growth or stack") \
    X('R', "site", site, "N", "stack view: only the site ranked N in the growth view")             \
    X('w', "weight", weight, "WHAT",                                                               \
      "folded stacks weighted by bytes (allocated) or live (bytes)")                               \
    X('W', "wrappers", wrappers, "LIST",                                                           \
      "more allocation wrappers, comma separated (NAME or PREFIX*)")                               \
    X('s', "sort", sort, "COLUMN", "sort rows by COLUMN (see the screen's column names)")          \
    X('t', "totals", totals, NULL, "show totals since start instead of rates")                     \
    X('P', "profile", profile, "PERIOD",                                                           \
      "set the process's cycle profiling period (0 = off) and exit")                               \
    X('h', "help", help, NULL, "show this help and exit")                                          \
    X('V', "version", version, NULL, "show the version and exit")

enum hs_format {
    HS_FMT_SCREEN,
    HS_FMT_TEXT,
    HS_FMT_JSON,
    HS_FMT_OPENMETRICS,
    HS_FMT_PROMETHEUS,
    HS_FMT_FOLDED
};
enum hs_view {
    HS_VIEW_THREADS,
    HS_VIEW_CLASSES,
    HS_VIEW_TOTALS,
    HS_VIEW_SITES,
    HS_VIEW_MEMORY,
    HS_VIEW_GROWTH,
    HS_VIEW_STACK,
    HS_VIEW_COUNT
};

#define HS_OPTS_MAX_PIDS 64

typedef struct hs_opts_s {
    pid_t pid; /* the first of pids */
    pid_t pids[HS_OPTS_MAX_PIDS];
    int npids;
    bool tree;
    bool list, gc;
    enum hs_format format;
    double delay; /* seconds */
    long count;   /* intervals, 0 = until the process exits (or q) */
    bool count_given, delay_given;
    enum hs_view view;
    char sort[32]; /* column name, "" = default */
    bool totals;
    bool per_tid;      /* -I */
    const char *serve; /* -S [HOST:]PORT, NULL when not serving */
    bool set_profile;
    uint64_t profile_period;
    bool folded_live; /* -w live */
    int stack_site;   /* -R: rank, 0 = all */
} hs_opts_t;

#endif /* HS_OPTIONS_H */
