/* sweep: realloc growth and large blocks, where the allocator meets the kernel.
 *
 *     sweep [SECONDS]
 *
 * Half of SECONDS (at least one pass) goes to each phase:
 *
 * (a) realloc growth. One pass grows a buffer from 16 B to 64 MiB by factors of 1.5,
 *     then another from 4 KiB to 1 MiB by steps of 4 KiB (a log or string builder),
 *     writing one byte in every new 4 KiB page and checking that the bytes written before
 *     survived each move. Each realloc is one operation.
 * (b) large blocks. One pass walks the sizes 64 KiB, 128 KiB, ..., 64 MiB and the odd
 *     sizes 1.5 times each of those plus 123 bytes, keeping the 3 most recent blocks
 *     alive: malloc a block, write one byte in each of its pages, free the oldest. Each
 *     malloc+free is one operation.
 *
 * Both are dominated by mmap/munmap/mremap, page faults and whatever the allocator keeps
 * cached; peak RSS tells how much it holds on to.
 *
 * Output ends with
 *     RESULT name=sweep seconds=S realloc_ops=.. realloc_ops_per_s=.. large_ops=..
 *            large_ops_per_s=.. peak_rss_kib=..
 * (on one line). */
#include "bench.h"

#define KIB     ((size_t)1024)
#define MIB     (KIB * KIB)
#define PAGE    (4 * KIB)
#define LIVE    3 /* large blocks alive at once */
#define LARGE_N 22

/* Write a byte derived from its offset at every page boundary in [from, to). */
static void touch(char *p, size_t from, size_t to)
{
    for (size_t off = (from + PAGE - 1) / PAGE * PAGE; off < to; off += PAGE)
        p[off] = (char)(off / PAGE);
}

static void check(const char *p, size_t upto, size_t size)
{
    size_t off = (upto - 1) / PAGE * PAGE;
    if (upto > 0 && p[off] != (char)(off / PAGE))
        bench_die("sweep: realloc to %zu bytes lost data at offset %zu", size, off);
}

/* Grow one buffer from `from` to at most `to` bytes; returns the number of reallocs. */
static uint64_t grow(size_t from, size_t to, double factor, size_t step)
{
    uint64_t ops = 0;
    size_t size = from;
    char *p = bench_xmalloc(size);
    touch(p, 0, size);
    for (;;) {
        size_t next = factor > 1 ? (size_t)((double)size * factor) : size + step;
        if (next > to) break;
        char *q = realloc(p, next);
        if (q == NULL) bench_die("sweep: realloc(%zu) failed", next);
        check(q, size, next);
        touch(q, size, next);
        p = q;
        size = next;
        ops++;
    }
    free(p);
    return ops;
}

static uint64_t realloc_pass(void)
{
    return grow(16, 64 * MIB, 1.5, 0) + grow(PAGE, MIB, 0, PAGE);
}

static uint64_t large_pass(void)
{
    static size_t sizes[LARGE_N];
    char *live[LIVE] = {0};
    if (sizes[0] == 0) {
        for (int i = 0; i < LARGE_N / 2; i++) {
            sizes[2 * i] = 64 * KIB << i;
            sizes[2 * i + 1] = (64 * KIB << i) / 2 * 3 + 123;
        }
    }
    for (int i = 0; i < LARGE_N; i++) {
        char *p = bench_xmalloc(sizes[i]);
        touch(p, 0, sizes[i]);
        bench_escape(p);
        free(live[i % LIVE]);
        live[i % LIVE] = p;
    }
    for (int i = 0; i < LIVE; i++)
        free(live[i]);
    return LARGE_N;
}

int main(int argc, char **argv)
{
    if (argc > 2 || (argc > 1 && argv[1][0] == '-')) {
        fprintf(stderr, "usage: %s [SECONDS]\n  default: 1\n", argv[0]);
        return 2;
    }
    double seconds = bench_arg(argc, argv, 1, "SECONDS", 1, 0, 86400);

    uint64_t rops = 0, lops = 0;
    double t0 = bench_now(), t1, t2;
    do {
        rops += realloc_pass();
        t1 = bench_now();
    } while (t1 - t0 < seconds / 2);
    do {
        lops += large_pass();
        t2 = bench_now();
    } while (t2 - t1 < seconds / 2);

    double rrate = (double)rops / (t1 - t0), lrate = (double)lops / (t2 - t1);
    printf("realloc growth 16 B..64 MiB x1.5 and 4 KiB..1 MiB +4 KiB: %.0f reallocs per second\n",
           rrate);
    printf("large blocks 64 KiB..64 MiB, %d alive: %.0f malloc+free per second\n", LIVE, lrate);
    printf("RESULT name=sweep seconds=%g realloc_ops=%llu realloc_ops_per_s=%.0f large_ops=%llu "
           "large_ops_per_s=%.0f peak_rss_kib=%ld\n",
           seconds, (unsigned long long)rops, rrate, (unsigned long long)lops, lrate,
           bench_peak_rss_kib());
    return 0;
}
