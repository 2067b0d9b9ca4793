/* report.c: the exit reports ([MALLOC] count=20,480, avg_cycles=2,476 and the rest), written to
 * stderr with write(2) from stack buffers. HAKMEM_TINY_PROFILE=1 prints cycles per operation kind;
 * HAKMEM_TINY_FAST_STATS=1 prints cache refills, drains and hit rate, per thread as each thread
 * exits and in total at process exit. */
#include "config.h"

#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

/* num/den as a percentage with two decimals, "n/a" when den is 0. */
static void put_pct(hk_strbuf_t *l, uint64_t num, uint64_t den)
{
    if (den == 0) {
        hk_strbuf_put(l, "n/a");
        return;
    }
    uint64_t bp = (uint64_t)((num * 10000.0) / den + 0.5);
    hk_strbuf_put_u64(l, bp / 100, false);
    hk_strbuf_put(l, bp % 100 < 10 ? ".0" : ".");
    hk_strbuf_put_u64(l, bp % 100, false);
    hk_strbuf_put(l, "%");
}

static void profile_line(const char *tag, uint64_t count, uint64_t samples, uint64_t cycles)
{
    char buf[256];
    hk_strbuf_t l = HK_STRBUF(buf);
    hk_strbuf_put(&l, tag);
    hk_strbuf_put(&l, " count=");
    hk_strbuf_put_u64(&l, count, true);
    hk_strbuf_put(&l, ", avg_cycles=");
    if (samples)
        hk_strbuf_put_u64(&l, (cycles + samples / 2) / samples, true);
    else
        hk_strbuf_put(&l, "n/a");
    if (samples != count) {
        hk_strbuf_put(&l, ", timed=");
        hk_strbuf_put_u64(&l, samples, true);
    }
    hk_strbuf_write_line(&l, 2);
}

static void report_profile(const hk_stat_counters_t *t)
{
    const uint64_t *c = t->c;
    profile_line("[MALLOC]", hk_stats_mallocs(t), c[HK_STAT_prof_malloc_n],
                 c[HK_STAT_prof_malloc_cyc]);
    profile_line("[FREE]", hk_stats_frees(t), c[HK_STAT_prof_free_n], c[HK_STAT_prof_free_cyc]);
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
    uint64_t mallocs = hk_stats_mallocs(t), small = mallocs - c[HK_STAT_large_alloc];
    char buf[256];
    hk_strbuf_t l = HK_STRBUF(buf);
    hk_strbuf_put(&l, "[FAST_STATS] ");
    hk_strbuf_put(&l, who);
    if (tid) {
        hk_strbuf_put(&l, "=");
        hk_strbuf_put_u64(&l, tid, false);
    }
    hk_strbuf_put(&l, " mallocs=");
    hk_strbuf_put_u64(&l, mallocs, true);
    hk_strbuf_put(&l, " frees=");
    hk_strbuf_put_u64(&l, hk_stats_frees(t), true);
    hk_strbuf_put(&l, " refills=");
    hk_strbuf_put_u64(&l, c[HK_STAT_refills], true);
    hk_strbuf_put(&l, " drains=");
    hk_strbuf_put_u64(&l, c[HK_STAT_drains], true);
    hk_strbuf_put(&l, " refill_blocks=");
    hk_strbuf_put_u64(&l, c[HK_STAT_refill_blocks], true);
    hk_strbuf_put(&l, " refill_rate=");
    put_pct(&l, c[HK_STAT_refills], small);
    hk_strbuf_put(&l, " hit_rate=");
    put_pct(&l, small - (c[HK_STAT_fast_miss] < small ? c[HK_STAT_fast_miss] : small), small);
    hk_strbuf_put(&l, " remote_frees=");
    hk_strbuf_put_u64(&l, c[HK_STAT_remote_free], true);
    hk_strbuf_write_line(&l, 2);
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
