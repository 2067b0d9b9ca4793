/* report.c: the exit reports ([MALLOC] count=20,480, avg_cycles=2,476 and the rest), written to stderr with write(2) from stack
 * buffers. HAKMEM_TINY_PROFILE=1 prints cycles per operation kind; HAKMEM_TINY_FAST_STATS=1
 * prints cache refills, drains and hit rate, per thread as each thread exits and in
 * total at process exit. */
#include "config.h"

#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

typedef struct line_s {
    char buf[256];
    size_t len;
} line_t;

static void put(line_t *l, const char *s)
{
    while (*s && l->len < sizeof(l->buf) - 1)
        l->buf[l->len++] = *s++;
    l->buf[l->len] = '\0';
}

static void put_u64(line_t *l, uint64_t v)
{
    char num[32];
    hk_util_fmt_u64(num, v, true);
    put(l, num);
}

/* num/den as a percentage with two decimals, "n/a" when den is 0. */
static void put_pct(line_t *l, uint64_t num, uint64_t den)
{
    if (den == 0) {
        put(l, "n/a");
        return;
    }
    uint64_t bp = (uint64_t)((num * 10000.0) / den + 0.5);
    char num_s[32];
    hk_util_fmt_u64(num_s, bp / 100, false);
    put(l, num_s);
    put(l, ".");
    put(l, bp % 100 < 10 ? "0" : "");
    hk_util_fmt_u64(num_s, bp % 100, false);
    put(l, num_s);
    put(l, "%");
}

static void emit(line_t *l)
{
    put(l, "\n");
    hk_util_write_str(2, l->buf);
}

static void profile_line(const char *tag, uint64_t count, uint64_t samples, uint64_t cycles)
{
    line_t l = {.len = 0};
    put(&l, tag);
    put(&l, " count=");
    put_u64(&l, count);
    put(&l, ", avg_cycles=");
    if (samples)
        put_u64(&l, (cycles + samples / 2) / samples);
    else
        put(&l, "n/a");
    if (samples != count) {
        put(&l, ", timed=");
        put_u64(&l, samples);
    }
    emit(&l);
}

static void report_profile(const hk_stat_counters_t *t)
{
    const uint64_t *c = t->c;
    profile_line("[MALLOC]", c[HK_STAT_malloc], c[HK_STAT_prof_malloc_n],
                 c[HK_STAT_prof_malloc_cyc]);
    profile_line("[FREE]", c[HK_STAT_free], c[HK_STAT_prof_free_n], c[HK_STAT_prof_free_cyc]);
    profile_line("[REFILL]", c[HK_STAT_refills], c[HK_STAT_prof_refill_n],
                 c[HK_STAT_prof_refill_cyc]);
    profile_line("[REMOTE]", c[HK_STAT_remote_free], c[HK_STAT_prof_remote_n],
                 c[HK_STAT_prof_remote_cyc]);
}

/* One FAST_STATS line. Small allocations are those that went to a thread cache; the
 * refill rate is refills per small allocation, the hit rate the share of small
 * allocations served without a refill. */
static void fast_stats_line(const char *who, uint64_t tid, const hk_stat_counters_t *t)
{
    const uint64_t *c = t->c;
    uint64_t small = c[HK_STAT_malloc] - c[HK_STAT_large_alloc];
    line_t l = {.len = 0};
    put(&l, "[FAST_STATS] ");
    put(&l, who);
    if (tid) {
        char num[32];
        hk_util_fmt_u64(num, tid, false);
        put(&l, "=");
        put(&l, num);
    }
    put(&l, " mallocs=");
    put_u64(&l, c[HK_STAT_malloc]);
    put(&l, " frees=");
    put_u64(&l, c[HK_STAT_free]);
    put(&l, " refills=");
    put_u64(&l, c[HK_STAT_refills]);
    put(&l, " drains=");
    put_u64(&l, c[HK_STAT_drains]);
    put(&l, " refill_blocks=");
    put_u64(&l, c[HK_STAT_refill_blocks]);
    put(&l, " refill_rate=");
    put_pct(&l, c[HK_STAT_refills], small);
    put(&l, " hit_rate=");
    put_pct(&l, small - (c[HK_STAT_fast_miss] < small ? c[HK_STAT_fast_miss] : small), small);
    put(&l, " remote_frees=");
    put_u64(&l, c[HK_STAT_remote_free]);
    emit(&l);
}

void hk_report_thread_exit(const hk_stat_counters_t *t)
{
    if (hk_opt.fast_stats) fast_stats_line("thread", (uint64_t)syscall(SYS_gettid), t);
}

void hk_report_at_exit(void)
{
    if (!hk_opt.fast_stats && !hk_opt.tiny_profile) return;
    hk_stat_counters_t total;
    hk_stats_totals(&total);
    if (hk_opt.fast_stats) {
        if (hk_tls != &hk_heap_empty)
            fast_stats_line("thread", (uint64_t)syscall(SYS_gettid), hk_tls->ctr);
        fast_stats_line("total", 0, &total);
    }
    if (hk_opt.tiny_profile) report_profile(&total);
}
