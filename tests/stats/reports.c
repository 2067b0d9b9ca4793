/* reports.c: the exit reports. A helper run of this program does a known workload: thread
 * W mallocs and frees 20,480 blocks, thread R allocates 100 blocks that thread F frees
 * (remote frees). Under HAKMEM_TINY_PROFILE=1 and HAKMEM_TINY_FAST_STATS=1 its standard
 * error must hold only report lines of the documented formats (thousands grouped with
 * commas), one FAST_STATS line per exiting thread with that thread's exact counts, the
 * process totals, and the four profile lines, whose counts agree with the totals line.
 * Each variable alone prints only its own lines; neither prints nothing. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <regex.h>
#include <stdatomic.h>

#include "../tap.h"
#include "../testutil.h"
#include "stats-util.h"

#define W_ROUNDS    20
#define W_BATCH     1024
#define W_SIZE      64
#define N_REMOTE    100
#define REMOTE_SIZE 48

/* ---------------------------------------------------------------------------------------
 * The helper: the workload, then the thread ids on stdout
 * ------------------------------------------------------------------------------------- */
static pid_t tid_w, tid_r, tid_f;
static void *handoff[N_REMOTE];
static atomic_int handed;
static atomic_ulong helper_bad;

static void *w_main(void *arg)
{
    tid_w = st_gettid();
    void *p[W_BATCH];
    for (int r = 0; r < W_ROUNDS; r++) {
        for (int i = 0; i < W_BATCH; i++) {
            p[i] = malloc(W_SIZE);
            if (p[i] == NULL)
                atomic_fetch_add(&helper_bad, 1);
            else
                tu_fill(p[i], W_SIZE, (uint64_t)(r * W_BATCH + i));
        }
        for (int i = 0; i < W_BATCH; i++) {
            if (p[i] && tu_check(p[i], W_SIZE, (uint64_t)(r * W_BATCH + i)) != SIZE_MAX)
                atomic_fetch_add(&helper_bad, 1);
            free(p[i]);
        }
    }
    return arg;
}

static void *r_main(void *arg)
{
    tid_r = st_gettid();
    for (int i = 0; i < N_REMOTE; i++) {
        handoff[i] = malloc(REMOTE_SIZE);
        if (handoff[i]) tu_fill(handoff[i], REMOTE_SIZE, (uint64_t)i);
    }
    atomic_store(&handed, 1);
    while (atomic_load(&handed) != 2)
        sched_yield(); /* R lives until F is done */
    return arg;
}

static void *f_main(void *arg)
{
    tid_f = st_gettid();
    while (atomic_load(&handed) != 1)
        sched_yield();
    for (int i = 0; i < N_REMOTE; i++) {
        if (handoff[i] == NULL || tu_check(handoff[i], REMOTE_SIZE, (uint64_t)i) != SIZE_MAX)
            atomic_fetch_add(&helper_bad, 1);
        free(handoff[i]);
    }
    return arg;
}

static int helper(void)
{
    free(tu_launder(malloc(16))); /* the main thread has a heap, so it reports too */
    pthread_t w, r, f;
    pthread_create(&w, NULL, w_main, NULL);
    pthread_join(w, NULL);
    pthread_create(&r, NULL, r_main, NULL);
    pthread_create(&f, NULL, f_main, NULL);
    pthread_join(f, NULL);
    atomic_store(&handed, 2);
    pthread_join(r, NULL);
    char buf[256];
    int n = snprintf(buf, sizeof buf, "pid=%d\nw=%d\nr=%d\nf=%d\nbad=%lu\n", (int)getpid(),
                     (int)tid_w, (int)tid_r, (int)tid_f, (unsigned long)atomic_load(&helper_bad));
    tap_write(buf, (size_t)n);
    return 0;
}

/* ---------------------------------------------------------------------------------------
 * Parsing the reports
 * ------------------------------------------------------------------------------------- */
#define NUM "(0|[1-9][0-9]{0,2}(,[0-9]{3})*)"
#define PCT "([0-9]{1,3}\\.[0-9]{2}%|n/a)"
#define FAST_TAIL                                                                                  \
    " mallocs=" NUM " frees=" NUM " refills=" NUM " drains=" NUM " refill_blocks=" NUM             \
    " refill_rate=" PCT " hit_rate=" PCT " remote_frees=" NUM "$"

static const char re_thread_src[] = "^\\[FAST_STATS\\] thread=[1-9][0-9]*" FAST_TAIL;
static const char re_total_src[] = "^\\[FAST_STATS\\] total" FAST_TAIL;
static const char re_prof_src[] =
    "^\\[(MALLOC|FREE|REFILL|REMOTE)\\] count=" NUM ", avg_cycles=(" NUM "|n/a)(, timed=" NUM ")?$";
static regex_t re_thread, re_total, re_prof;

/* The number after "key=" in line (commas dropped); -1 if absent, -2 for "n/a". For
 * percentages, hundredths of a percent. */
static long long field(const char *line, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "%s=", key);
    const char *p = strstr(line, pat);
    if (p == NULL) return -1;
    p += strlen(pat);
    if (strncmp(p, "n/a", 3) == 0) return -2;
    long long v = 0;
    bool pct = false;
    for (; *p; p++) {
        if (*p >= '0' && *p <= '9')
            v = v * 10 + (*p - '0');
        else if (*p == ',' && p[1] >= '0' && p[1] <= '9')
            continue;
        else if (*p == '.')
            pct = true;
        else
            break;
    }
    (void)pct;
    return v;
}

/* The raw text of key's value (up to a space or comma-space), for exact-format checks. */
static void raw_field(const char *line, const char *key, char *out, size_t cap)
{
    char pat[64];
    snprintf(pat, sizeof pat, "%s=", key);
    const char *p = strstr(line, pat);
    out[0] = '\0';
    if (p == NULL) return;
    p += strlen(pat);
    size_t n = 0;
    while (p[n] && p[n] != ' ' && p[n] != '\n' && !(p[n] == ',' && p[n + 1] == ' ') && n + 1 < cap)
        n++;
    memcpy(out, p, n);
    out[n] = '\0';
}

struct report {
    int nlines, bad_lines;
    char first_bad[200];
    const char *thread_line[8];
    long long thread_tid[8];
    int nthreads;
    const char *total;
    const char *prof[4]; /* MALLOC FREE REFILL REMOTE */
    int prof_count[4];
    int prof_pos[4], total_pos, last_thread_pos;
};

static const char *prof_tags[4] = {"[MALLOC]", "[FREE]", "[REFILL]", "[REMOTE]"};

/* Split err into lines in place and classify each. */
static void parse(char *err, struct report *r)
{
    memset(r, 0, sizeof *r);
    r->total_pos = -1;
    r->last_thread_pos = -1;
    for (int i = 0; i < 4; i++)
        r->prof_pos[i] = -1;
    for (char *line = err; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = '\0';
        int pos = r->nlines++;
        if (regexec(&re_thread, line, 0, NULL, 0) == 0) {
            if (r->nthreads < 8) {
                r->thread_line[r->nthreads] = line;
                r->thread_tid[r->nthreads] = field(line, "thread");
                r->nthreads++;
            }
            r->last_thread_pos = pos;
        } else if (regexec(&re_total, line, 0, NULL, 0) == 0) {
            if (r->total == NULL)
                r->total = line;
            else
                r->bad_lines++;
            r->total_pos = pos;
        } else if (regexec(&re_prof, line, 0, NULL, 0) == 0) {
            for (int i = 0; i < 4; i++)
                if (strncmp(line, prof_tags[i], strlen(prof_tags[i])) == 0) {
                    r->prof[i] = line;
                    r->prof_count[i]++;
                    r->prof_pos[i] = pos;
                }
        } else {
            if (r->bad_lines++ == 0) snprintf(r->first_bad, sizeof r->first_bad, "%.190s", line);
        }
        line = nl ? nl + 1 : NULL;
    }
}

static const char *thread_line(const struct report *r, long long tid)
{
    for (int i = 0; i < r->nthreads; i++)
        if (r->thread_tid[i] == tid) return r->thread_line[i];
    return NULL;
}

/* Echo a helper's stderr as TAP diagnostics. */
static void dump(const char *text)
{
    for (const char *line = text; line && *line;) {
        const char *nl = strchr(line, '\n');
        int len = nl ? (int)(nl - line) : (int)strlen(line);
        tap_diag("  | %.*s", len, line);
        line = nl ? nl + 1 : NULL;
    }
}

static int run_helper(const char *const *env, char *out, size_t oc, char *err, size_t ec)
{
    st_spawn_t sp = {.mode = "helper", .env = env, .in_fd = -1};
    return st_run(sp, 30, out, oc, err, ec);
}

#define N_FULL_CHECKS 30

static void check_full(void)
{
    static char out[4096], err[65536];
    /* No site samples: a followed sample's free is no remote free (hakmem(3)), and the
     * remote counts below are exact. */
    static const char *const env[] = {"HAKMEM_TINY_PROFILE=1", "HAKMEM_TINY_FAST_STATS=1",
                                      "HAKMEM_SITE_SAMPLE=0", NULL};
    int status = run_helper(env, out, sizeof out, err, sizeof err);
    static char copy[sizeof err];
    memcpy(copy, err, sizeof err);
    if (!tap_ok(status == 0, "helper with both reports exits 0 (status %d)", status)) dump(copy);
    long long pid = st_kv(out, "pid", -1), w = st_kv(out, "w", -1), rr = st_kv(out, "r", -1),
              f = st_kv(out, "f", -1);
    TAP_EQ_I64(st_kv(out, "bad", -1), 0, "helper's blocks were all intact");
    struct report r;
    parse(err, &r);
    if (!TAP_EQ_I64(r.bad_lines, 0,
                    "every stderr line is a report line of the documented format")) {
        tap_diag("  first odd line: '%s'", r.first_bad);
        dump(copy);
    }
    TAP_EQ_I64(r.nthreads, 4, "one FAST_STATS thread line per thread (3 workers + main)");
    tap_ok(r.total != NULL, "one FAST_STATS total line");
    tap_ok(r.last_thread_pos < r.total_pos, "thread lines come before the total");
    for (int i = 0; i < 4; i++)
        TAP_EQ_I64(r.prof_count[i], 1, "exactly one %s line", prof_tags[i]);
    tap_ok(r.total_pos < r.prof_pos[0] && r.prof_pos[0] < r.prof_pos[1] &&
               r.prof_pos[1] < r.prof_pos[2] && r.prof_pos[2] < r.prof_pos[3],
           "profile lines follow in order MALLOC, FREE, REFILL, REMOTE");

    const char *lw = thread_line(&r, w), *lf = thread_line(&r, f), *lr = thread_line(&r, rr),
               *lm = thread_line(&r, pid);
    tap_ok(lw && lf && lr && lm, "lines for W, R, F and the main thread (thread=pid)");
    const char *dummy = "";
    if (!lw) lw = dummy;
    if (!lf) lf = dummy;
    if (!lr) lr = dummy;
    char raw[64];
    raw_field(lw, "mallocs", raw, sizeof raw);
    tap_ok(strcmp(raw, "20,480") == 0, "W: mallocs=20,480 exactly, grouped (got '%s')", raw);
    TAP_EQ_I64(field(lw, "frees"), W_ROUNDS * W_BATCH, "W: frees");
    TAP_EQ_I64(field(lw, "remote_frees"), 0, "W: remote_frees=0");
    long long rate = 0, hit = 0;
    char rr_s[32], hr_s[32];
    raw_field(lw, "refill_rate", rr_s, sizeof rr_s);
    raw_field(lw, "hit_rate", hr_s, sizeof hr_s);
    rate = field(lw, "refill_rate");
    hit = field(lw, "hit_rate");
    tap_ok(rate >= 0 && hit >= 0 && rate + hit >= 9998 && rate + hit <= 10002,
           "W: refill_rate + hit_rate = 100%% (%s + %s): every miss is one refill", rr_s, hr_s);
    long long refills = field(lw, "refills");
    long long want_rate = (refills * 1000000 / (W_ROUNDS * W_BATCH) + 50) / 100;
    tap_ok(rate >= want_rate - 1 && rate <= want_rate + 1,
           "W: refill_rate %s is refills / mallocs (%lld refills)", rr_s, refills);
    TAP_EQ_I64(field(lr, "mallocs"), N_REMOTE, "R: mallocs");
    TAP_EQ_I64(field(lr, "frees"), 0, "R: frees=0");
    TAP_EQ_I64(field(lf, "mallocs"), 0, "F: mallocs=0");
    TAP_EQ_I64(field(lf, "frees"), N_REMOTE, "F: frees");
    TAP_EQ_I64(field(lf, "remote_frees"), N_REMOTE, "F: remote_frees");
    raw_field(lf, "refill_rate", rr_s, sizeof rr_s);
    raw_field(lf, "hit_rate", hr_s, sizeof hr_s);
    tap_ok(!strcmp(rr_s, "n/a") && !strcmp(hr_s, "n/a"),
           "F (no allocations): refill_rate=n/a hit_rate=n/a (got %s, %s)", rr_s, hr_s);

    const char *t = r.total ? r.total : dummy;
    const char *pm = r.prof[0] ? r.prof[0] : dummy, *pf = r.prof[1] ? r.prof[1] : dummy,
               *pr = r.prof[2] ? r.prof[2] : dummy, *pq = r.prof[3] ? r.prof[3] : dummy;
    long long min_m = W_ROUNDS * W_BATCH + N_REMOTE;
    TAP_LE_I64(min_m, field(t, "mallocs"), "total mallocs include the workload's");
    TAP_EQ_I64(field(pm, "count"), field(t, "mallocs"), "[MALLOC] count equals total mallocs");
    TAP_EQ_I64(field(pf, "count"), field(t, "frees"), "[FREE] count equals total frees");
    TAP_EQ_I64(field(pr, "count"), field(t, "refills"), "[REFILL] count equals total refills");
    TAP_EQ_I64(field(pq, "count"), field(t, "remote_frees"),
               "[REMOTE] count equals total remote_frees");
    TAP_LE_I64(N_REMOTE, field(pq, "count"), "[REMOTE] count includes F's remote frees");
    /* Every call is timed under HAKMEM_TINY_PROFILE=1: averages are numbers, and sane. */
    bool sane = true;
    for (int i = 0; i < 4; i++) {
        const char *l = r.prof[i] ? r.prof[i] : dummy;
        long long avg = field(l, "avg_cycles"), timed = field(l, "timed");
        long long count = field(l, "count");
        if (avg <= 0 || avg >= 1000000 || (timed != -1 && (timed <= 0 || timed > count))) {
            sane = false;
            tap_diag("  odd: %s", l);
        }
    }
    tap_ok(sane, "profile averages are numbers in (0, 1e6) cycles; timed= <= count");
}

/* Lines of each kind in a run's stderr: [0] FAST_STATS, [1] profile, [2] other. */
static void kinds(const char *const *env, int out[3], int *status)
{
    static char err[65536];
    *status = run_helper(env, NULL, 0, err, sizeof err);
    out[0] = out[1] = out[2] = 0;
    for (char *line = err; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = '\0';
        if (!strncmp(line, "[FAST_STATS]", 12))
            out[0]++;
        else if (regexec(&re_prof, line, 0, NULL, 0) == 0)
            out[1]++;
        else
            out[2]++;
        line = nl ? nl + 1 : NULL;
    }
}

#define N_KIND_CHECKS 9

static void check_kinds(void)
{
    int k[3], status;
    static const char *const prof_only[] = {"HAKMEM_TINY_PROFILE=1", NULL};
    static const char *const fast_only[] = {"HAKMEM_TINY_FAST_STATS=1", NULL};
    kinds(prof_only, k, &status);
    TAP_EQ_I64(status, 0, "profile only: exits 0");
    tap_ok(k[0] == 0 && k[1] == 4 && k[2] == 0,
           "profile only: the 4 profile lines and nothing else (%d/%d/%d)", k[0], k[1], k[2]);
    kinds(fast_only, k, &status);
    TAP_EQ_I64(status, 0, "fast stats only: exits 0");
    tap_ok(k[0] == 5 && k[1] == 0 && k[2] == 0,
           "fast stats only: 4 thread lines + total, nothing else (%d/%d/%d)", k[0], k[1], k[2]);
    kinds(NULL, k, &status);
    TAP_EQ_I64(status, 0, "no report variables: exits 0");
    tap_ok(k[0] + k[1] + k[2] == 0, "no report variables: stderr is empty (%d/%d/%d)", k[0], k[1],
           k[2]);
    static const char *const off[] = {"HAKMEM_TINY_PROFILE=0", "HAKMEM_TINY_FAST_STATS=off", NULL};
    kinds(off, k, &status);
    TAP_EQ_I64(status, 0, "reports set to 0/off: exits 0");
    tap_ok(k[0] + k[1] + k[2] == 0, "reports set to 0/off: stderr is empty");
    static const char *const stats_off[] = {"HAKMEM_STATS=0", "HAKMEM_TINY_FAST_STATS=1", NULL};
    kinds(stats_off, k, &status);
    tap_ok(status == 0 && k[0] == 5 && k[2] == 0,
           "without a segment (HAKMEM_STATS=0) the reports still work (%d lines)", k[0]);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "helper") == 0) return helper();
    st_reexec_clean(argv, NULL);
    if (regcomp(&re_thread, re_thread_src, REG_EXTENDED | REG_NOSUB) ||
        regcomp(&re_total, re_total_src, REG_EXTENDED | REG_NOSUB) ||
        regcomp(&re_prof, re_prof_src, REG_EXTENDED | REG_NOSUB))
        tap_bail("regcomp failed");
    tap_plan(N_FULL_CHECKS + N_KIND_CHECKS);
    check_full();
    check_kinds();
    return tap_done();
}
