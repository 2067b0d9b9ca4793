/* reader.c: hakstat's segment reader (hakstat/seg.c, snap.c) on crafted files. The
 * segment is untrusted input, so every file here is built by the test: a valid one laid
 * out as hakmem_stats.h describes (any number of counters, so that writers newer and
 * older than this reader can be imitated), then broken in every way the reader has to
 * notice: truncated, wrong magic, newer ABI, absurd counts, sizes and offsets,
 * unterminated and unprintable strings, special files, a file that shrinks after it was
 * opened, a writer changing slots while snapshots are taken, and a couple of thousand
 * random mutations that go through every table, the summary and every output format.
 * Surviving them is part of the assertion; the rest checks statuses and figures. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "out.h"
#include "seg.h"
#include "snap.h"
#include "table.h"
#include "../tap.h"
#include "../testutil.h"

#define NSLOTS   4
#define NO_PID   0x7ffffff0 /* above any pid_max: no process, no /proc entry */
#define OUR_NAME "hs-reader"

static char dir[256];
static char seg_path[320];
static unsigned file_no;

static const char *const known[] = {
#define RT_NAME(n, u, d) #n,
    HK_STAT_COUNTERS(RT_NAME)
#undef RT_NAME
};
static const char *const known_unit[] = {
#define RT_UNIT(n, u, d) u,
    HK_STAT_COUNTERS(RT_UNIT)
#undef RT_UNIT
};

/* ---------------------------------------------------------------------------------------
 * Building segment images
 * ------------------------------------------------------------------------------------- */
typedef struct img_s {
    unsigned char *p;
    size_t size;
    uint32_t n; /* counters of the imitated writer */
    size_t header_size, desc_off, slot_off, slot_size;
    uint32_t nslots;
} img_t;

static size_t align_up(size_t v, size_t a)
{
    return (v + a - 1) / a * a;
}

static void put64(img_t *im, size_t off, uint64_t v)
{
    memcpy(im->p + off, &v, 8);
}

static hk_stats_header_t *hdr(img_t *im)
{
    return (hk_stats_header_t *)im->p;
}

/* Offsets of counters laid out as the writer's hk_stat_counters_t with im->n counters. */
static size_t ctr_off(const img_t *im, size_t base, uint32_t i)
{
    return base + 8u * i;
}
static size_t class_alloc_off(const img_t *im, size_t base, uint32_t c)
{
    return base + 8u * (im->n + c);
}
static size_t class_free_off(const img_t *im, size_t base, uint32_t c)
{
    return base + 8u * (im->n + HK_STATS_NCLASSES + c);
}
static size_t slot_base(const img_t *im, uint32_t k)
{
    return im->slot_off + (size_t)k * im->slot_size;
}
static size_t slot_ctr(const img_t *im, uint32_t k)
{
    return slot_base(im, k) + offsetof(hk_stat_slot_t, ctr);
}
static size_t slot_sites(const img_t *im, uint32_t k)
{
    return slot_ctr(im, k) + 8u * (im->n + 2u * HK_STATS_NCLASSES);
}

/* Values written into the valid image. Slot k counter i, class c; retired as slot -1. */
static uint64_t val_c(int k, uint32_t i)
{
    return (uint64_t)(k + 2) * 100000u + i;
}
static uint64_t val_ca(int k, uint32_t c)
{
    return (uint64_t)(k + 2) * 1000u + c;
}
static uint64_t val_cf(int k, uint32_t c)
{
    return (uint64_t)(k + 2) * 1000u + c / 2;
}
/* What a reader shows for counter i of slot k: as written, but for the malloc and free
 * totals, which it adds up from the classes and the large blocks whatever the words
 * hold (ABI 2 writers leave them 0; the image has other values there). */
static uint64_t want_c(int k, uint32_t i)
{
    if (i != HK_STAT_malloc && i != HK_STAT_free) return val_c(k, i);
    uint64_t sum = val_c(k, i == HK_STAT_malloc ? HK_STAT_large_alloc : HK_STAT_large_free);
    for (uint32_t c = 0; c < HK_STATS_NCLASSES; c++)
        sum += i == HK_STAT_malloc ? val_ca(k, c) : val_cf(k, c);
    return sum;
}

static pid_t gettid_(void)
{
    return (pid_t)syscall(SYS_gettid);
}

static void test_site_fn(void) {}

/* A valid segment of a writer with `n` counters (the first min(n, 27) named as this
 * reader knows them, the rest "future_N"), NSLOTS slots: slots 0 and 2 live (slot 0 is
 * this thread, slot 2 a tid that does not exist), slot 1 never used, slot 3 released. */
static void build(img_t *im, uint32_t n, pid_t pid)
{
    memset(im, 0, sizeof(*im));
    im->n = n;
    im->nslots = NSLOTS;
    im->header_size = offsetof(hk_stats_header_t, retired) + 8u * (n + 2u * HK_STATS_NCLASSES);
    im->desc_off = align_up(im->header_size, 64);
    im->slot_off = align_up(im->desc_off + (size_t)n * sizeof(hk_stat_desc_t), 64);
    im->slot_size = offsetof(hk_stat_slot_t, ctr) + 8u * (n + 2u * HK_STATS_NCLASSES) + 8 +
                    sizeof(hk_stat_site_t) * HK_STATS_NSITES;
    im->size = align_up(im->slot_off + NSLOTS * im->slot_size, 4096);
    im->p = calloc(1, im->size + 4096);
    if (im->p == NULL) tap_bail("out of memory");

    hk_stats_header_t *h = hdr(im);
    h->magic = HK_STATS_MAGIC;
    h->abi_major = HK_STATS_ABI_MAJOR;
    h->abi_minor = HK_STATS_ABI_MINOR;
    h->header_size = (uint32_t)im->header_size;
    h->desc_size = sizeof(hk_stat_desc_t);
    h->slot_size = (uint32_t)im->slot_size;
    h->nslots = NSLOTS;
    h->ncounters = n;
    h->nclasses = HK_STATS_NCLASSES;
    h->file_size = im->size;
    h->desc_offset = im->desc_off;
    h->slot_offset = im->slot_off;
    h->pid = pid;
    h->start_time = 4242;
    h->start_ns = 1000000000ull * 1700000000ull;
    snprintf(h->comm, sizeof(h->comm), "hs-crafted");
    h->tsc_hz = 2000000000ull;
    h->flags = HK_STATS_F_PROF_BUILT;
    h->control = 256;
    h->prof_period = 128;
    h->retired_gen = 6;
    h->site_period = 4096;
    h->start_tsc = 1000;
    h->unslotted = 3;
    for (uint32_t c = 0; c < HK_STATS_NCLASSES; c++)
        h->class_size[c] = 16 * (c + 1);

    size_t rbase = offsetof(hk_stats_header_t, retired);
    for (uint32_t i = 0; i < n; i++)
        put64(im, ctr_off(im, rbase, i), val_c(-1, i));
    for (uint32_t c = 0; c < HK_STATS_NCLASSES; c++) {
        put64(im, class_alloc_off(im, rbase, c), val_ca(-1, c));
        put64(im, class_free_off(im, rbase, c), val_cf(-1, c));
    }

    hk_stat_desc_t *d = (hk_stat_desc_t *)(im->p + im->desc_off);
    for (uint32_t i = 0; i < n; i++) {
        if (i < HK_STAT_NCOUNTERS) {
            snprintf(d[i].name, sizeof(d[i].name), "%s", known[i]);
            snprintf(d[i].unit, sizeof(d[i].unit), "%s", known_unit[i]);
        } else {
            if (snprintf(d[i].name, sizeof(d[i].name), "future_%u", i) >= (int)sizeof(d[i].name))
                tap_bail("counter %u: name too long", i);
            snprintf(d[i].unit, sizeof(d[i].unit), "things");
        }
        snprintf(d[i].doc, sizeof(d[i].doc), "counter number %u", i);
    }

    for (uint32_t k = 0; k < NSLOTS; k++) {
        size_t b = slot_base(im, k);
        bool live = k == 0 || k == 2;
        put64(im, b + offsetof(hk_stat_slot_t, gen), k == 1 ? 0 : 2 * (k + 1));
        put64(im, b + offsetof(hk_stat_slot_t, state), live ? HK_SLOT_LIVE : HK_SLOT_FREE);
        put64(im, b + offsetof(hk_stat_slot_t, tid), k == 0 ? (uint64_t)gettid_() : NO_PID - k);
        put64(im, b + offsetof(hk_stat_slot_t, start_ns), h->start_ns + k);
        if (!live) continue;
        for (uint32_t i = 0; i < n; i++)
            put64(im, ctr_off(im, slot_ctr(im, k), i), val_c((int)k, i));
        for (uint32_t c = 0; c < HK_STATS_NCLASSES; c++) {
            put64(im, class_alloc_off(im, slot_ctr(im, k), c), val_ca((int)k, c));
            put64(im, class_free_off(im, slot_ctr(im, k), c), val_cf((int)k, c));
        }
        /* one site shared by both live threads, one of this slot's own */
        size_t s = slot_sites(im, k);
        put64(im, s, 4); /* sites_gen */
        hk_stat_site_t site[2] = {
            /* a return address lies after a call, inside the function: never its start */
            {(uint64_t)(uintptr_t)&test_site_fn + 1, 3 + k, 30 + k, 300 + k, 1000 + k},
            {0x1000 + k, 1, 1, 8, 1000},
        };
        memcpy(im->p + s + 8, site, sizeof(site));
    }
}

static void img_free(img_t *im)
{
    free(im->p);
    im->p = NULL;
}

static void write_file(const char *path, const void *p, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) tap_bail("cannot create %s: %s", path, strerror(errno));
    const unsigned char *b = p;
    while (len > 0) {
        ssize_t w = write(fd, b, len);
        if (w <= 0) tap_bail("cannot write %s: %s", path, strerror(errno));
        b += w;
        len -= (size_t)w;
    }
    close(fd);
}

/* Write the first `len` bytes of the image to a new file; returns its path. */
static const char *put_file(const img_t *im, size_t len)
{
    snprintf(seg_path, sizeof(seg_path), "%s/seg.%u", dir, file_no++);
    write_file(seg_path, im->p, len);
    return seg_path;
}

/* Open `len` bytes of the image (and take a snapshot when it opens); returns the
 * open status, the snapshot's in *snap_status (-1 when not taken). */
static int try_img(const img_t *im, size_t len, hs_seg_t *seg, int *snap_status)
{
    const char *path = put_file(im, len);
    int st = hs_seg_open_path(seg, path, false);
    *snap_status = -1;
    if (st == HS_OK) {
        hs_snap_t snap;
        *snap_status = hs_snap_take(seg, &snap);
        if (*snap_status == HS_OK) hs_snap_free(&snap);
        hs_seg_close(seg);
    }
    unlink(path);
    return st;
}

/* Whether n bytes are well-formed UTF-8 (no overlong forms, surrogates or code points
 * above U+10FFFF). */
static bool valid_utf8(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        size_t len = c < 0x80             ? 1
                     : (c & 0xe0) == 0xc0 ? 2
                     : (c & 0xf0) == 0xe0 ? 3
                     : (c & 0xf8) == 0xf0 ? 4
                                          : 0;
        if (len == 0 || i + len > n) return false;
        uint32_t cp = len == 1 ? c : c & (0x7f >> len);
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return false;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
        i += len;
    }
    return true;
}

static bool printable(const char *s, size_t max)
{
    size_t len = strnlen(s, max + 1);
    if (len > max) return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f) return false;
    return true;
}

/* ---------------------------------------------------------------------------------------
 * The valid segment, and writers newer and older than this reader
 * ------------------------------------------------------------------------------------- */
static void test_valid(void)
{
    img_t im;
    build(&im, HK_STAT_NCOUNTERS, getpid());
    hs_seg_t seg;
    const char *path = put_file(&im, im.size);
    int st = hs_seg_open_path(&seg, path, false);
    if (!tap_ok(st == HS_OK, "valid segment opens")) tap_diag("status %d: %s", st, seg.error);
    if (st != HS_OK) tap_bail("cannot go on without a valid segment");
    tap_ok(seg.pid == getpid() && seg.start_time == 4242 && seg.nslots == NSLOTS &&
               seg.ncounters == HK_STAT_NCOUNTERS && seg.nclasses == HK_STATS_NCLASSES &&
               seg.slot_size == im.slot_size && seg.slot_offset == im.slot_off &&
               seg.desc_offset == im.desc_off && seg.site_period == 4096 && seg.size == im.size,
           "geometry as written (pid, start time, slots, counters, classes, offsets)");
    TAP_EQ_U64(seg.sites_offset, offsetof(hk_stat_slot_t, sites_gen), "sites found in each slot");
    tap_ok(strcmp(seg.comm, "hs-crafted") == 0, "command name as written ('%s')", seg.comm);
    bool desc_ok = true;
    for (uint32_t i = 0; i < HK_STAT_NCOUNTERS; i++)
        desc_ok &=
            strcmp(seg.desc[i].name, known[i]) == 0 && strcmp(seg.desc[i].unit, known_unit[i]) == 0;
    tap_ok(desc_ok && strcmp(seg.desc[3].doc, "counter number 3") == 0,
           "counter descriptors as written");
    bool cls = true;
    for (uint32_t c = 0; c < HK_STATS_NCLASSES; c++)
        cls &= seg.class_size[c] == 16 * (c + 1);
    tap_ok(cls, "class sizes as written");

    hs_snap_t s, s2;
    st = hs_snap_take(&seg, &s);
    if (!tap_ok(st == HS_OK, "snapshot of the valid segment")) tap_diag("%s", seg.error);
    if (st != HS_OK) tap_bail("cannot go on without a snapshot");
    TAP_EQ_U64(s.nthreads, 2, "two live slots give two threads");
    tap_ok(s.threads[0].slot == 0 && s.threads[0].gen == 2 &&
               s.threads[0].tid == (uint64_t)gettid_() && s.threads[1].slot == 2 &&
               s.threads[1].gen == 6 && s.threads[1].tid == NO_PID - 2 &&
               s.threads[1].start_ns == 1000000000ull * 1700000000ull + 2,
           "threads: slot, gen, tid and start time as written");
    tap_ok(strcmp(s.threads[0].name, OUR_NAME) == 0 && s.threads[1].name[0] == '\0',
           "thread names from /proc ('%s', '' for a tid that does not exist)", s.threads[0].name);
    bool figures = true;
    for (uint32_t i = 0; i < HK_STAT_NCOUNTERS; i++)
        figures &= s.threads[0].n.c[i] == want_c(0, i) && s.threads[1].n.c[i] == want_c(2, i) &&
                   s.retired.c[i] == want_c(-1, i) &&
                   s.total.c[i] == want_c(0, i) + want_c(2, i) + want_c(-1, i);
    for (uint32_t c = 0; c < HK_STATS_NCLASSES; c++)
        figures &= s.threads[1].n.class_alloc[c] == val_ca(2, c) &&
                   s.threads[1].n.class_free[c] == val_cf(2, c) &&
                   s.retired.class_alloc[c] == val_ca(-1, c) &&
                   s.total.class_free[c] == val_cf(0, c) + val_cf(2, c) + val_cf(-1, c);
    tap_ok(figures, "every counter and class figure as written, malloc and free the classes' "
                    "sums; totals = retired + threads");
    TAP_EQ_U64(hs_snap_get(&seg, &s.total, HK_STAT_remote_free),
               val_c(0, HK_STAT_remote_free) + val_c(2, HK_STAT_remote_free) +
                   val_c(-1, HK_STAT_remote_free),
               "hs_snap_get finds a counter by name");
    tap_ok(s.tsc_hz == 2000000000ull && s.prof_period == 128 && s.control == 256 &&
               s.unslotted == 3 && s.site_period == 4096 && s.start_tsc == 1000 &&
               s.start_ns == 1000000000ull * 1700000000ull && s.alive == false,
           "header figures as written; a segment whose start time is not ours is not alive");

    hs_site_t *sites = NULL;
    int ns = hs_snap_sites(&s, &sites);
    tap_ok(ns == 3 && sites[0].addr == (uint64_t)(uintptr_t)&test_site_fn + 1 &&
               sites[0].samples == 3 + 5 && sites[0].est_allocs == 30 + 32 && sites[0].threads == 2,
           "sites merged over threads by address, most samples first (%d sites)", ns);
    free(sites);

    st = hs_snap_take(&seg, &s2);
    tap_ok(st == HS_OK && s2.t >= s.t, "a second snapshot");
    hs_table_t t;
    int rows[HS_VIEW_COUNT] = {0};
    bool built = true;
    for (int v = 0; v < HS_VIEW_COUNT; v++) {
        built &= hs_table_build(&t, (enum hs_view)v, &seg, &s2, &s, false) == 0;
        rows[v] = t.nrows;
        if (v == HS_VIEW_SITES && t.nrows > 0)
            built &= strncmp(t.rows[0].cell[0], "test_site_fn", 12) == 0;
        hs_table_free(&t);
    }
    tap_ok(built && rows[HS_VIEW_THREADS] == 2 && rows[HS_VIEW_CLASSES] == HK_STATS_NCLASSES &&
               rows[HS_VIEW_TOTALS] == HK_STAT_NCOUNTERS && rows[HS_VIEW_SITES] == 3,
           "tables: 2 threads, %d classes, %d counters, 3 sites named by symbol (%d %d %d %d)",
           HK_STATS_NCLASSES, HK_STAT_NCOUNTERS, rows[0], rows[1], rows[2], rows[3]);
    char lines[HS_SUMMARY_LINES][HS_SUMMARY_LEN];
    int nl = hs_table_summary(lines, &seg, &s2, &s, false);
    tap_ok(nl >= 4 && strstr(lines[0], "hs-crafted") != NULL &&
               strstr(lines[0], "profiling 1/128") != NULL,
           "summary names the command and the profiling period: %s", nl > 0 ? lines[0] : "");
    hs_snap_free(&s2);
    hs_snap_free(&s);
    hs_seg_close(&seg);
    unlink(path);
    img_free(&im);
}

/* Writers with more counters (a newer minor version appends them) and with fewer, and
 * one whose counters come in another order: all are read by descriptor name. */
static void test_other_writers(void)
{
    img_t im;
    hs_seg_t seg;
    hs_snap_t s;

    build(&im, HK_STAT_NCOUNTERS + 3, NO_PID);
    hdr(&im)->abi_minor = 9;
    const char *path = put_file(&im, im.size);
    int st = hs_seg_open_path(&seg, path, false);
    int sst = st == HS_OK ? hs_snap_take(&seg, &s) : -1;
    if (sst == HS_OK) {
        uint32_t last = HK_STAT_NCOUNTERS + 2;
        char future[32];
        snprintf(future, sizeof(future), "future_%u", last);
        tap_ok(seg.ncounters == last + 1 && strcmp(seg.desc[last].name, future) == 0 &&
                   s.threads[1].n.c[last] == val_c(2, last) &&
                   s.threads[1].n.class_alloc[5] == val_ca(2, 5) &&
                   hs_snap_get(&seg, &s.total, HK_STAT_free) ==
                       want_c(0, HK_STAT_free) + want_c(2, HK_STAT_free) + want_c(-1, HK_STAT_free),
               "newer writer (ABI 2.9, 3 more counters): its counters and classes read");
        hs_table_t t;
        hs_table_build(&t, HS_VIEW_TOTALS, &seg, &s, NULL, true);
        tap_ok(t.nrows == (int)last + 1, "newer writer: totals table shows all %u counters",
               last + 1);
        hs_table_free(&t);
        hs_snap_free(&s);
    } else {
        tap_ok(0, "newer writer (ABI 2.9, 3 more counters) opens: %d/%d %s", st, sst, seg.error);
        tap_ok(0, "newer writer: totals table");
    }
    if (st == HS_OK) hs_seg_close(&seg);
    unlink(path);
    img_free(&im);

    build(&im, HK_STAT_prof_malloc_n, NO_PID);
    path = put_file(&im, im.size);
    st = hs_seg_open_path(&seg, path, false);
    sst = st == HS_OK ? hs_snap_take(&seg, &s) : -1;
    if (sst == HS_OK) {
        tap_ok(hs_snap_counter_pos(&seg, HK_STAT_prof_malloc_cyc) == -1 &&
                   hs_snap_get(&seg, &s.total, HK_STAT_prof_malloc_cyc) == 0 &&
                   s.threads[0].n.class_free[HK_STATS_NCLASSES - 1] ==
                       val_cf(0, HK_STATS_NCLASSES - 1) &&
                   hs_snap_get(&seg, &s.total, HK_STAT_mapped) == val_c(0, HK_STAT_mapped) +
                                                                      val_c(2, HK_STAT_mapped) +
                                                                      val_c(-1, HK_STAT_mapped),
               "older writer without the profiling counters: they read as 0, the rest as written");
        hs_snap_free(&s);
        hs_seg_close(&seg);
    } else {
        tap_ok(0, "older writer without the profiling counters opens: %d/%d %s", st, sst,
               seg.error);
        if (st == HS_OK) hs_seg_close(&seg);
    }
    unlink(path);
    img_free(&im);

    build(&im, HK_STAT_NCOUNTERS, NO_PID);
    hk_stat_desc_t *d = (hk_stat_desc_t *)(im.p + im.desc_off);
    hk_stat_desc_t tmp = d[HK_STAT_calloc];
    d[HK_STAT_calloc] = d[HK_STAT_realloc];
    d[HK_STAT_realloc] = tmp;
    path = put_file(&im, im.size);
    st = hs_seg_open_path(&seg, path, false);
    sst = st == HS_OK ? hs_snap_take(&seg, &s) : -1;
    if (sst == HS_OK) {
        tap_ok(hs_snap_counter_pos(&seg, HK_STAT_calloc) == HK_STAT_realloc &&
                   hs_snap_get(&seg, &s.threads[0].n, HK_STAT_calloc) == val_c(0, HK_STAT_realloc),
               "counters in another order are found by name");
        hs_snap_free(&s);
        hs_seg_close(&seg);
    } else {
        tap_ok(0, "counters in another order open: %d/%d %s", st, sst, seg.error);
        if (st == HS_OK) hs_seg_close(&seg);
    }
    unlink(path);
    img_free(&im);
}

/* ---------------------------------------------------------------------------------------
 * Truncated files and bad headers
 * ------------------------------------------------------------------------------------- */
static void test_truncated(void)
{
    img_t im;
    build(&im, HK_STAT_NCOUNTERS, NO_PID);
    const struct {
        const char *what;
        size_t len;
    } cut[] = {
        {"empty file", 0},
        {"7 bytes", 7},
        {"100 bytes", 100},
        {"header less one byte", sizeof(hk_stats_header_t) - 1},
        {"in the descriptors", im.desc_off + 5 * sizeof(hk_stat_desc_t) + 3},
        {"in the slots", im.slot_off + im.slot_size + 17},
        {"one byte short", im.size - 1},
    };
    for (size_t i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
        hs_seg_t seg;
        int sst;
        int st = try_img(&im, cut[i].len, &seg, &sst);
        if (!tap_ok(st == HS_ERR_CORRUPT && seg.error[0] != '\0',
                    "truncated, %s (%zu bytes): corrupt", cut[i].what, cut[i].len))
            tap_diag("status %d: %s", st, seg.error);
    }
    /* every length, in steps */
    int bad = 0, tried = 0;
    for (size_t len = 0; len < im.size; len += 13, tried++) {
        hs_seg_t seg;
        int sst;
        int st = try_img(&im, len, &seg, &sst);
        if (st != HS_ERR_CORRUPT) {
            if (bad++ < 3) tap_diag("length %zu: status %d: %s", len, st, seg.error);
        }
    }
    tap_ok(bad == 0, "truncated at %d lengths from 0 to %zu: all corrupt", tried, im.size);
    img_free(&im);
}

enum { F32, F64 };
typedef struct field_case_s {
    const char *what;
    size_t off;
    int width;
    uint64_t value;
    int expect;
    const char *msg; /* expected in seg.error, or NULL */
} field_case_t;

static void test_fields(void)
{
    img_t im;
    build(&im, HK_STAT_NCOUNTERS, NO_PID);
    const uint64_t size = im.size;
#define H(f) offsetof(hk_stats_header_t, f)
    const field_case_t cases[] = {
        {"magic 0", H(magic), F64, 0, HS_ERR_CORRUPT, "bad magic"},
        {"magic one bit off", H(magic), F64, HK_STATS_MAGIC ^ 0x100, HS_ERR_CORRUPT, "bad magic"},
        {"ABI major 3", H(abi_major), F32, 3, HS_ERR_VERSION, "version 3."},
        {"ABI major 1", H(abi_major), F32, 1, HS_ERR_VERSION, "version 1."},
        {"ABI major 0", H(abi_major), F32, 0, HS_ERR_VERSION, NULL},
        {"ABI major 0xffffffff", H(abi_major), F32, 0xffffffff, HS_ERR_VERSION, NULL},
        {"ABI minor 77 (appended fields only)", H(abi_minor), F32, 77, HS_OK, NULL},
        {"header_size 0", H(header_size), F32, 0, HS_ERR_CORRUPT, "header size"},
        {"header_size 16", H(header_size), F32, 16, HS_ERR_CORRUPT, "header size"},
        {"header_size too small for the retired counters", H(header_size), F32, im.header_size - 1,
         HS_ERR_CORRUPT, "header size"},
        {"header_size past the end", H(header_size), F32, size + 1, HS_ERR_CORRUPT, NULL},
        {"header_size 0xffffffff", H(header_size), F32, 0xffffffff, HS_ERR_CORRUPT, NULL},
        {"desc_size 0", H(desc_size), F32, 0, HS_ERR_CORRUPT, NULL},
        {"desc_size 113", H(desc_size), F32, sizeof(hk_stat_desc_t) + 1, HS_ERR_CORRUPT, NULL},
        {"desc_size 0xffffffff", H(desc_size), F32, 0xffffffff, HS_ERR_CORRUPT, NULL},
        {"slot_size 0", H(slot_size), F32, 0, HS_ERR_CORRUPT, NULL},
        {"slot_size too small for the counters", H(slot_size), F32,
         offsetof(hk_stat_slot_t, ctr) + 8u * (HK_STAT_NCOUNTERS + 96) - 1, HS_ERR_CORRUPT, NULL},
        {"slot_size 2^20 + 1", H(slot_size), F32, (1u << 20) + 1, HS_ERR_CORRUPT, NULL},
        {"slot_size 0xffffffff", H(slot_size), F32, 0xffffffff, HS_ERR_CORRUPT, NULL},
        {"nslots 0 (no thread has a slot)", H(nslots), F32, 0, HS_OK, NULL},
        {"nslots 5 (one slot more than the file holds)", H(nslots), F32, NSLOTS + 1, HS_ERR_CORRUPT,
         NULL},
        {"nslots 2^31", H(nslots), F32, 1u << 31, HS_ERR_CORRUPT, NULL},
        {"nslots 0xffffffff", H(nslots), F32, 0xffffffff, HS_ERR_CORRUPT, NULL},
        {"ncounters 0", H(ncounters), F32, 0, HS_ERR_CORRUPT, "counter layout"},
        {"ncounters 10^6", H(ncounters), F32, 1000000, HS_ERR_CORRUPT, "counter layout"},
        {"ncounters 0xffffffff", H(ncounters), F32, 0xffffffff, HS_ERR_CORRUPT, NULL},
        {"ncounters 28 with room for 27", H(ncounters), F32, HK_STAT_NCOUNTERS + 1, HS_ERR_CORRUPT,
         NULL},
        {"nclasses 0", H(nclasses), F32, 0, HS_ERR_CORRUPT, "counter layout"},
        {"nclasses one fewer", H(nclasses), F32, HK_STATS_NCLASSES - 1, HS_ERR_CORRUPT,
         "counter layout"},
        {"nclasses one more", H(nclasses), F32, HK_STATS_NCLASSES + 1, HS_ERR_CORRUPT,
         "counter layout"},
        {"nclasses 48 (ABI 1's)", H(nclasses), F32, 48, HS_ERR_CORRUPT, "counter layout"},
        {"file_size 0", H(file_size), F64, 0, HS_ERR_CORRUPT, NULL},
        {"file_size one less", H(file_size), F64, size - 1, HS_ERR_CORRUPT, NULL},
        {"file_size one more", H(file_size), F64, size + 1, HS_ERR_CORRUPT, NULL},
        {"file_size 2^64-1", H(file_size), F64, UINT64_MAX, HS_ERR_CORRUPT, NULL},
        {"desc_offset 0 (inside the header)", H(desc_offset), F64, 0, HS_ERR_CORRUPT, NULL},
        {"desc_offset at the end", H(desc_offset), F64, size, HS_ERR_CORRUPT, NULL},
        {"desc_offset 16 bytes before the end", H(desc_offset), F64, size - 16, HS_ERR_CORRUPT,
         NULL},
        {"desc_offset 2^64-8 (wraps)", H(desc_offset), F64, UINT64_MAX - 7, HS_ERR_CORRUPT, NULL},
        {"slot_offset 0", H(slot_offset), F64, 0, HS_ERR_CORRUPT, NULL},
        {"slot_offset on the descriptors", H(slot_offset), F64, im.desc_off, HS_ERR_CORRUPT, NULL},
        {"slot_offset at the end", H(slot_offset), F64, size, HS_ERR_CORRUPT, NULL},
        {"slot_offset leaving room for one slot", H(slot_offset), F64, size - im.slot_size,
         HS_ERR_CORRUPT, NULL},
        {"slot_offset 2^64-8 (wraps)", H(slot_offset), F64, UINT64_MAX - 7, HS_ERR_CORRUPT, NULL},
        {"pid 0", H(pid), F64, 0, HS_ERR_CORRUPT, "pid"},
        {"pid -1", H(pid), F64, UINT64_MAX, HS_ERR_CORRUPT, "pid"},
        {"pid 2^40", H(pid), F64, 1ull << 40, HS_ERR_CORRUPT, "pid"},
    };
#undef H
    char reads[16];
    snprintf(reads, sizeof(reads), "%d.x", HK_STATS_ABI_MAJOR);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const field_case_t *c = &cases[i];
        img_t m = im;
        m.p = malloc(im.size);
        if (m.p == NULL) tap_bail("out of memory");
        memcpy(m.p, im.p, im.size);
        if (c->width == F32) {
            uint32_t v = (uint32_t)c->value;
            memcpy(m.p + c->off, &v, 4);
        } else {
            memcpy(m.p + c->off, &c->value, 8);
        }
        hs_seg_t seg;
        int sst;
        int st = try_img(&m, m.size, &seg, &sst);
        bool good = st == c->expect && (st == HS_OK ? sst == HS_OK : seg.error[0] != '\0') &&
                    (c->msg == NULL || strstr(seg.error, c->msg) != NULL);
        if (c->expect == HS_ERR_VERSION && st == HS_ERR_VERSION)
            good &= strstr(seg.error, "version") != NULL && strstr(seg.error, reads) != NULL;
        if (!tap_ok(good, "%s: status %d%s%s", c->what, c->expect, c->msg ? ", says " : "",
                    c->msg ? c->msg : ""))
            tap_diag("got status %d (snapshot %d): %s", st, sst, seg.error);
        else if (c->expect == HS_ERR_VERSION && c->value == 3)
            tap_diag("%s", seg.error);
        free(m.p);
    }
    img_free(&im);
}

/* ---------------------------------------------------------------------------------------
 * Strings
 * ------------------------------------------------------------------------------------- */
static void test_strings(void)
{
    img_t im;
    build(&im, HK_STAT_NCOUNTERS, NO_PID);
    hk_stats_header_t *h = hdr(&im);
    for (int i = 0; i < HK_STATS_COMM_LEN; i++) {
        static const char junk[] = "ab\x01\x1b[2J\n\t\"\\\x7f\xff\xc3";
        h->comm[i] = junk[i % (sizeof(junk) - 1)];
    }
    hk_stat_desc_t *d = (hk_stat_desc_t *)(im.p + im.desc_off);
    memset(d[0].name, 'M', sizeof(d[0].name));    /* no NUL at all */
    memset(d[1].name, '\x1b', sizeof(d[1].name)); /* escapes, no NUL */
    memset(d[2].unit, '\n', sizeof(d[2].unit));
    memset(d[3].doc, '"', sizeof(d[3].doc));
    memset(d[4].doc, '\x80', sizeof(d[4].doc));
    memcpy(d[5].name, "x\"y\\z{a}=b c\n", 14);
    const char *path = put_file(&im, im.size);
    hs_seg_t seg;
    int st = hs_seg_open_path(&seg, path, false);
    if (!tap_ok(st == HS_OK, "unterminated and unprintable strings: segment still opens")) {
        tap_diag("status %d: %s", st, seg.error);
        tap_ok(0, "strings sanitized");
        tap_ok(0, "JSON and OpenMetrics outputs stay printable");
        img_free(&im);
        return;
    }
    bool clean = printable(seg.comm, HK_STATS_COMM_LEN);
    for (uint32_t i = 0; i < seg.ncounters; i++)
        clean &= printable(seg.desc[i].name, HK_STATS_NAME_LEN - 1) &&
                 printable(seg.desc[i].unit, HK_STATS_NAME_LEN - 1) &&
                 printable(seg.desc[i].doc, HK_STATS_DOC_LEN - 1) && seg.desc[i].name[0];
    tap_ok(clean && strlen(seg.comm) == HK_STATS_COMM_LEN &&
               strcmp(seg.desc[0].name, "MMMMMMMMMMMMMMM") == 0,
           "strings NUL-terminated within their fields, control bytes replaced (comm '%.20s...')",
           seg.comm);

    /* The outputs must not pass anything raw either: no control byte but line ends. */
    hs_snap_t s;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    st = hs_snap_take(&seg, &s);
    bool out_ok = st == HS_OK && f != NULL;
    if (out_ok) {
        hs_opts_t o;
        memset(&o, 0, sizeof(o));
        out_json(f, &seg, &s, NULL, &o);
        out_prom(f, &seg, &s);
        out_text(f, &seg, &s, NULL, &o);
        fclose(f);
        f = NULL;
        for (size_t i = 0; i < len; i++)
            if (((unsigned char)buf[i] < 0x20 && buf[i] != '\n') || buf[i] == 0x7f) {
                tap_diag("control byte 0x%02x at %zu", (unsigned char)buf[i], i);
                out_ok = false;
                break;
            }
        hs_snap_free(&s);
    }
    if (f) fclose(f);
    tap_ok(out_ok, "JSON, OpenMetrics and text outputs carry no raw control bytes (%zu bytes)",
           len);
    free(buf);

    /* Thread names come from /proc, where a process may put any byte but NUL: the JSON
     * and OpenMetrics documents must stay valid UTF-8 all the same. */
    hs_seg_close(&seg);
    unlink(path);
    img_t ours;
    build(&ours, HK_STAT_NCOUNTERS, getpid()); /* slot 0 is this thread */
    path = put_file(&ours, ours.size);
    prctl(PR_SET_NAME, "hs\xff\xfe\x7f-bad", 0, 0, 0);
    buf = NULL;
    len = 0;
    f = open_memstream(&buf, &len);
    st = hs_seg_open_path(&seg, path, false);
    if (st == HS_OK) st = hs_snap_take(&seg, &s);
    /* read back with the odd bytes replaced, so every output is plain ASCII */
    out_ok = st == HS_OK && f != NULL &&
             strcmp(s.threads[0].name, "hs??"
                                       "?-bad") == 0;
    if (out_ok) {
        hs_opts_t o;
        memset(&o, 0, sizeof(o));
        out_json(f, &seg, &s, NULL, &o);
        out_prom(f, &seg, &s);
        fclose(f);
        f = NULL;
        out_ok = valid_utf8((const unsigned char *)buf, len);
        hs_snap_free(&s);
    } else {
        tap_diag("could not read this thread's odd name back (status %d)", st);
    }
    if (f) fclose(f);
    prctl(PR_SET_NAME, OUR_NAME, 0, 0, 0);
    tap_ok(out_ok, "a thread named with bytes that are not UTF-8: JSON and OpenMetrics stay UTF-8");
    free(buf);
    hs_seg_close(&seg);
    unlink(path);
    img_free(&ours);

    /* A counter without a name cannot be shown: corrupt. */
    d[6].name[0] = '\0';
    hs_seg_t seg2;
    int sst;
    st = try_img(&im, im.size, &seg2, &sst);
    tap_ok(st == HS_ERR_CORRUPT && strstr(seg2.error, "no name") != NULL,
           "a counter descriptor with an empty name: corrupt (%s)", seg2.error);
    img_free(&im);
}

/* ---------------------------------------------------------------------------------------
 * Special files
 * ------------------------------------------------------------------------------------- */
static void test_special_files(void)
{
    img_t im;
    build(&im, HK_STAT_NCOUNTERS, NO_PID);
    char valid[320], p[320];
    snprintf(valid, sizeof(valid), "%s/valid", dir);
    write_file(valid, im.p, im.size);
    hs_seg_t seg;

    snprintf(p, sizeof(p), "%s/none", dir);
    int st = hs_seg_open_path(&seg, p, false);
    tap_ok(st == HS_ERR_NOSEG, "a missing file: no segment (%d: %s)", st, seg.error);

    snprintf(p, sizeof(p), "%s/adir", dir);
    mkdir(p, 0700);
    st = hs_seg_open_path(&seg, p, false);
    tap_ok(st == HS_ERR_UNSAFE, "a directory: refused (%d: %s)", st, seg.error);
    if (st == HS_OK) hs_seg_close(&seg);
    rmdir(p);

    snprintf(p, sizeof(p), "%s/alink", dir);
    if (symlink(valid, p) != 0) tap_bail("symlink: %s", strerror(errno));
    st = hs_seg_open_path(&seg, p, false);
    tap_ok(st == HS_ERR_UNSAFE, "a symbolic link to a valid segment is not followed (%d: %s)", st,
           seg.error);
    if (st == HS_OK) hs_seg_close(&seg);
    st = hs_seg_open_path(&seg, p, true);
    tap_ok(st != HS_OK, "nor when opened for writing (%d: %s)", st, seg.error);
    if (st == HS_OK) hs_seg_close(&seg);
    unlink(p);

    /* A FIFO with no writer: a blocking open() would wait forever. Tried in a child
     * that an alarm ends, so that this test goes on either way. */
    snprintf(p, sizeof(p), "%s/afifo", dir);
    if (mkfifo(p, 0600) != 0) tap_bail("mkfifo: %s", strerror(errno));
    pid_t child = fork();
    if (child == 0) {
        alarm(2);
        hs_seg_t cs;
        _exit(hs_seg_open_path(&cs, p, false));
    }
    int ws = 0;
    waitpid(child, &ws, 0);
    bool blocked = WIFSIGNALED(ws) && WTERMSIG(ws) == SIGALRM;
    if (!tap_ok(!blocked && WIFEXITED(ws) && WEXITSTATUS(ws) == HS_ERR_UNSAFE,
                "a FIFO is refused without blocking"))
        tap_diag("%s", blocked ? "open() blocked for 2 s until SIGALRM"
                               : "the child ended some other way");
    unlink(p);
    unlink(valid);
    img_free(&im);
}

/* ---------------------------------------------------------------------------------------
 * hs_seg_open_pid and hs_seg_list against a planted directory
 * ------------------------------------------------------------------------------------- */
static int listed, listed_stale, listed_live;
static void on_entry(const hs_seg_entry_t *e, void *arg)
{
    (void)arg;
    listed++;
    if (e->stale) listed_stale++;
    if (!e->stale && e->pid == getpid() && e->uid == geteuid()) listed_live++;
}

/* Open our pid; the status, with the message in *why. */
static int open_ours(hs_seg_t *seg, const char **why)
{
    int st = hs_seg_open_pid(seg, getpid(), false);
    *why = seg->error;
    if (st == HS_OK) hs_seg_close(seg);
    return st;
}

static void test_by_pid(void)
{
    char sdir[300], udir[340];
    snprintf(sdir, sizeof(sdir), "%s/shm", dir);
    mkdir(sdir, 0755);
    setenv("HAKMEM_STATS_DIR", sdir, 1);
    tap_ok(strcmp(hs_seg_dir(), sdir) == 0, "HAKMEM_STATS_DIR names the directory");
    hs_seg_user_dir(geteuid(), udir, sizeof(udir));

    uint64_t start = hs_seg_proc_start_time(getpid());
    img_t im;
    build(&im, HK_STAT_NCOUNTERS, getpid());
    hdr(&im)->start_time = start;
    char ours[400], theirs[360], p[440];
    snprintf(ours, sizeof(ours), "%s/%d.%llu", udir, (int)getpid(), (unsigned long long)start);
    hs_seg_t seg;
    const char *why;
    int st = open_ours(&seg, &why);
    tap_ok(st == HS_ERR_NOSEG && strstr(why, "no hakmem statistics segment") != NULL,
           "no directory for a live pid: no segment (%s)", why);

    mkdir(udir, 0700);
    write_file(ours, im.p, im.size);
    chmod(ours, 0600);
    st = hs_seg_open_pid(&seg, getpid(), false);
    tap_ok(st == HS_OK && seg.pid == getpid(), "our pid's segment opens by pid (%d %s)", st,
           st ? seg.error : "");
    if (st == HS_OK) hs_seg_close(&seg);
    unlink(ours);

    /* A file for our pid in another uid's directory is not ours: never looked at. */
    snprintf(theirs, sizeof(theirs), "%s/hakmem-%u", sdir, (unsigned)geteuid() + 4321);
    mkdir(theirs, 0700);
    snprintf(p, sizeof(p), "%s/%d.%llu", theirs, (int)getpid(), (unsigned long long)start);
    write_file(p, im.p, im.size);
    st = open_ours(&seg, &why);
    tap_ok(st == HS_ERR_NOSEG, "a segment in another uid's directory is not taken (%s)", why);
    unlink(p);

    /* Our directory opened up, or replaced by a link: refused, named. */
    write_file(ours, im.p, im.size);
    chmod(ours, 0600);
    chmod(udir, 0755);
    st = open_ours(&seg, &why);
    tap_ok(st == HS_ERR_UNSAFE && strstr(why, "open to others") != NULL,
           "our directory with mode 0755: refused (%s)", why);
    chmod(udir, 0700);
    char moved[360];
    snprintf(moved, sizeof(moved), "%s.real", udir);
    rename(udir, moved);
    if (symlink(moved, udir) != 0) tap_bail("symlink: %s", strerror(errno));
    st = open_ours(&seg, &why);
    tap_ok(st == HS_ERR_UNSAFE && strstr(why, "symbolic link") != NULL,
           "our directory a symbolic link to a good one: refused (%s)", why);
    unlink(udir);
    rename(moved, udir);

    /* The file itself: open to writers, a link, a FIFO, far too big. */
    chmod(ours, 0622);
    st = open_ours(&seg, &why);
    tap_ok(st == HS_ERR_UNSAFE && strstr(why, "writable by others") != NULL,
           "a segment others may write: refused (%s)", why);
    chmod(ours, 0600);
    rename(ours, p);
    if (symlink(p, ours) != 0) tap_bail("symlink: %s", strerror(errno));
    st = open_ours(&seg, &why);
    tap_ok(st == HS_ERR_UNSAFE && strstr(why, "symbolic link") != NULL,
           "a segment that is a symbolic link: refused (%s)", why);
    unlink(ours);
    unlink(p);
    if (mkfifo(ours, 0600) != 0) tap_bail("mkfifo: %s", strerror(errno));
    st = open_ours(&seg, &why);
    tap_ok(st == HS_ERR_UNSAFE && strstr(why, "not a regular file") != NULL,
           "a FIFO at the name: refused at once, no hang (%s)", why);
    unlink(ours);
    int fd = open(ours, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0 || pwrite(fd, im.p, im.size, 0) != (ssize_t)im.size ||
        ftruncate(fd, (off_t)1 << 30) != 0)
        tap_bail("sparse file: %s", strerror(errno));
    close(fd);
    st = open_ours(&seg, &why);
    tap_ok(st == HS_ERR_CORRUPT && strstr(why, "larger than any segment") != NULL,
           "a 1 GiB sparse file: refused before reading (%s)", why);
    unlink(ours);

    hdr(&im)->start_time = start + 1;
    write_file(ours, im.p, im.size);
    chmod(ours, 0600);
    st = open_ours(&seg, &why);
    tap_ok(st == HS_ERR_UNSAFE && strstr(why, "names process") != NULL,
           "a file whose header names another process: refused (%s)", why);

    pid_t child = fork();
    if (child == 0) _exit(0);
    waitpid(child, NULL, 0);
    st = hs_seg_open_pid(&seg, child, false);
    tap_ok(st == HS_ERR_NOPROC, "a pid that has exited: no such process (%s)", seg.error);

    /* Listing: ours live (its start time matches), a dead pid's file and a file with our
     * pid but an older start time stale, other names ignored; a directory named for
     * another uid but owned by us, and a link in ours, skipped and counted. */
    snprintf(p, sizeof(p), "%s/%d.77", udir, (int)child);
    write_file(p, im.p, 8);
    snprintf(p, sizeof(p), "%s/%d.%llu", udir, (int)getpid(), (unsigned long long)start - 1);
    write_file(p, im.p, 8);
    snprintf(p, sizeof(p), "%s/%d.5", udir, (int)getppid());
    if (symlink(ours, p) != 0) tap_bail("symlink: %s", strerror(errno));
    const char *ignored[] = {"x.1",           "0.5",   "1",    "1.2.3",
                             "99999999999.1", "other", "1.2x", ".sweep"};
    for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", udir, ignored[i]);
        write_file(p, im.p, 8);
    }
    hs_seg_skipped_t sk;
    int n = hs_seg_list(on_entry, NULL, &sk);
    tap_ok(n == 3 && listed == 3 && listed_stale == 2 && listed_live == 1,
           "listing: 3 segment names, 2 stale, ours live, 8 other names ignored (%d %d %d %d)", n,
           listed, listed_stale, listed_live);
    tap_ok(sk.dirs == 1 && sk.files == 1,
           "listing skips a directory not owned by its uid and a link in ours (%u %u)", sk.dirs,
           sk.files);
    unsetenv("HAKMEM_STATS_DIR");
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", sdir);
    if (system(cmd) != 0) tap_diag("could not remove %s", sdir);
    img_free(&im);
}

/* ---------------------------------------------------------------------------------------
 * A file that changes after it was opened
 * ------------------------------------------------------------------------------------- */
static void test_shrink(void)
{
    img_t im;
    build(&im, HK_STAT_NCOUNTERS, NO_PID);
    const char *path = put_file(&im, im.size);
    hs_seg_t seg;
    hs_snap_t s;
    int st = hs_seg_open_path(&seg, path, true);
    if (st != HS_OK) tap_bail("valid segment does not open: %s", seg.error);
    tap_ok(seg.writable, "opened for writing");
    st = hs_seg_set_profiling(&seg, 1024);
    tap_ok(st == HS_OK && hs_snap_take(&seg, &s) == HS_OK && s.control == 1024,
           "hs_seg_set_profiling writes the control word");
    hs_snap_free(&s);

    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (ftruncate(fd, (off_t)(im.size * 2)) != 0) tap_bail("ftruncate: %s", strerror(errno));
    st = hs_snap_take(&seg, &s);
    tap_ok(st == HS_OK && s.nthreads == 2, "file grown after open: snapshot still reads it");
    if (st == HS_OK) hs_snap_free(&s);

    if (ftruncate(fd, (off_t)(im.size / 2)) != 0) tap_bail("ftruncate: %s", strerror(errno));
    st = hs_snap_take(&seg, &s);
    tap_ok(st == HS_ERR_CORRUPT && strstr(seg.error, "shrank") != NULL,
           "file shrunk after open: corrupt, no SIGBUS (%s)", seg.error);
    if (st == HS_OK) hs_snap_free(&s);

    if (ftruncate(fd, 0) != 0 || ftruncate(fd, (off_t)im.size) != 0)
        tap_bail("ftruncate: %s", strerror(errno));
    st = hs_snap_take(&seg, &s);
    tap_ok(st == HS_ERR_CORRUPT && strstr(seg.error, "magic") != NULL,
           "file emptied and regrown with zeros: corrupt (%s)", seg.error);
    if (st == HS_OK) hs_snap_free(&s);

    if (pwrite(fd, im.p, im.size, 0) != (ssize_t)im.size) tap_bail("pwrite");
    uint64_t odd = 7;
    if (pwrite(fd, &odd, 8, (off_t)(im.slot_off + offsetof(hk_stat_slot_t, gen))) != 8)
        tap_bail("pwrite");
    st = hs_snap_take(&seg, &s);
    tap_ok(st == HS_OK && s.busy_slots == 1 && s.nthreads == 1,
           "a slot whose gen stays odd: left out as busy, the other thread shown (%d %s)", st,
           seg.error);
    char note[160] = "";
    if (st == HS_OK) hs_snap_busy_note(&s, note, sizeof(note));
    tap_ok(strstr(note, "1 busy slot skipped") != NULL, "... and the note says so (%s)", note);
    if (st == HS_OK) hs_snap_free(&s);

    if (pwrite(fd, im.p, im.size, 0) != (ssize_t)im.size) tap_bail("pwrite");
    odd = 9;
    if (pwrite(fd, &odd, 8, offsetof(hk_stats_header_t, retired_gen)) != 8) tap_bail("pwrite");
    st = hs_snap_take(&seg, &s);
    tap_ok(st == HS_OK && s.approx_totals && s.nthreads == 2,
           "retired_gen that stays odd: threads shown, totals marked approximate (%d %s)", st,
           seg.error);
    if (st == HS_OK) hs_snap_free(&s);

    close(fd);
    hs_seg_close(&seg);
    unlink(path);
    img_free(&im);
}

/* ---------------------------------------------------------------------------------------
 * A writer changing the segment while snapshots are taken
 * ------------------------------------------------------------------------------------- */
typedef struct writer_s {
    unsigned char *map;
    size_t slot0, retired_gen_at, retired_at;
    atomic_bool stop;
    uint64_t updates;
} writer_t;

static void store64(unsigned char *p, uint64_t v)
{
    __atomic_store_n((uint64_t *)(void *)p, v, __ATOMIC_RELAXED);
}

/* Slot 0 is updated only inside an odd gen, and keeps malloc == free == gen / 2 - 1 (as
 * class 0's allocations and frees, every other class and the large counts 0) and
 * bytes == 64 * malloc; it also leaves (state FREE) and comes back now and then. The
 * retired counters do the same under retired_gen. */
static void *writer_main(void *arg)
{
    writer_t *w = arg;
    unsigned char *slot = w->map + w->slot0;
    unsigned char *ctr = slot + offsetof(hk_stat_slot_t, ctr);
    unsigned char *ret = w->map + w->retired_at;
    uint64_t gen = 2, rgen = 2, k = 0, seed = 0x9e3779b97f4a7c15ull;
    store64(slot + offsetof(hk_stat_slot_t, gen), gen);
    store64(w->map + w->retired_gen_at, rgen);
    while (!atomic_load_explicit(&w->stop, memory_order_relaxed)) {
        k++;
        bool retired = (k & 3) == 0;
        unsigned char *g = retired ? w->map + w->retired_gen_at : slot;
        unsigned char *c = retired ? ret : ctr;
        uint64_t *gv = retired ? &rgen : &gen;
        __atomic_store_n((uint64_t *)(void *)g, *gv + 1, __ATOMIC_RELAXED);
        atomic_thread_fence(memory_order_release);
        uint64_t v = (*gv + 2) / 2 - 1;
        store64(c + 8 * HK_STAT_NCOUNTERS, v); /* class_alloc[0] */
        for (uint64_t spin = tu_rand(&seed) % 64; spin > 0; spin--)
            __asm__ volatile("");
        store64(c + 8 * (HK_STAT_NCOUNTERS + HK_STATS_NCLASSES), v); /* class_free[0] */
        store64(c + 8 * HK_STAT_bytes, 64 * v);
        if (!retired && (k & 15) == 1)
            store64(slot + offsetof(hk_stat_slot_t, state), (k & 16) ? HK_SLOT_FREE : HK_SLOT_LIVE);
        *gv += 2;
        __atomic_store_n((uint64_t *)(void *)g, *gv, __ATOMIC_RELEASE);
        for (uint64_t spin = tu_rand(&seed) % 4000; spin > 0; spin--)
            __asm__ volatile("");
    }
    w->updates = k;
    return NULL;
}

static void test_concurrent(void)
{
    img_t im;
    build(&im, HK_STAT_NCOUNTERS, NO_PID);
    /* start from the writer's invariant: gen 2, every watched counter 0 */
    hdr(&im)->retired_gen = 2;
    put64(&im, slot_base(&im, 0) + offsetof(hk_stat_slot_t, gen), 2);
    size_t bases[2] = {slot_ctr(&im, 0), offsetof(hk_stats_header_t, retired)};
    for (int b = 0; b < 2; b++) {
        for (uint32_t i = HK_STAT_malloc; i <= HK_STAT_bytes; i++)
            put64(&im, ctr_off(&im, bases[b], i), 0);
        put64(&im, ctr_off(&im, bases[b], HK_STAT_large_alloc), 0);
        put64(&im, ctr_off(&im, bases[b], HK_STAT_large_free), 0);
        for (uint32_t c = 0; c < HK_STATS_NCLASSES; c++) {
            put64(&im, class_alloc_off(&im, bases[b], c), 0);
            put64(&im, class_free_off(&im, bases[b], c), 0);
        }
    }
    const char *path = put_file(&im, im.size);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    writer_t w;
    memset(&w, 0, sizeof(w));
    w.map = mmap(NULL, im.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (w.map == MAP_FAILED) tap_bail("mmap: %s", strerror(errno));
    w.slot0 = slot_base(&im, 0);
    w.retired_gen_at = offsetof(hk_stats_header_t, retired_gen);
    w.retired_at = offsetof(hk_stats_header_t, retired);
    hs_seg_t seg;
    if (hs_seg_open_path(&seg, path, false) != HS_OK) tap_bail("open: %s", seg.error);

    pthread_t th;
    pthread_create(&th, NULL, writer_main, &w);
    int ok = 0, err = 0, torn = 0, with_slot0 = 0, approx = 0;
    uint64_t last_gen = 0;
    bool backwards = false;
    double until = tu_now() + 0.6;
    for (int i = 0; i < 20000 && tu_now() < until; i++) {
        hs_snap_t s;
        int st = hs_snap_take(&seg, &s);
        if (st != HS_OK) {
            err++;
            continue;
        }
        ok++;
        const hs_counts_t *r = &s.retired;
        uint64_t rm = r->c[HK_STAT_malloc];
        if (s.approx_totals) approx++;
        if (!s.approx_totals && (rm != r->c[HK_STAT_free] || r->c[HK_STAT_bytes] != 64 * rm)) {
            if (torn++ < 3)
                tap_diag("torn retired: malloc %llu free %llu bytes %llu", (unsigned long long)rm,
                         (unsigned long long)r->c[HK_STAT_free],
                         (unsigned long long)r->c[HK_STAT_bytes]);
        }
        for (uint32_t t = 0; t < s.nthreads; t++) {
            if (s.threads[t].slot != 0) continue;
            with_slot0++;
            const hs_counts_t *n = &s.threads[t].n;
            uint64_t m = n->c[HK_STAT_malloc], g = s.threads[t].gen;
            if ((g & 1) || m != g / 2 - 1 || n->c[HK_STAT_free] != m ||
                n->c[HK_STAT_bytes] != 64 * m) {
                if (torn++ < 3)
                    tap_diag("torn slot: gen %llu malloc %llu free %llu bytes %llu",
                             (unsigned long long)g, (unsigned long long)m,
                             (unsigned long long)n->c[HK_STAT_free],
                             (unsigned long long)n->c[HK_STAT_bytes]);
            }
            if (g < last_gen) backwards = true;
            last_gen = g;
        }
        hs_snap_free(&s);
    }
    atomic_store(&w.stop, true);
    pthread_join(th, NULL);
    tap_diag("concurrent writer: %llu updates; %d snapshots (%d with slot 0, %d with approximate "
             "totals), %d failed",
             (unsigned long long)w.updates, ok, with_slot0, approx, err);
    TAP_EQ_I64(err, 0, "a busy writer never makes a snapshot fail");
    tap_ok(torn == 0, "snapshots under a live writer are never torn (%d torn)", torn);
    tap_ok(ok > 0 && with_slot0 > 0 && !backwards,
           "some snapshots succeed while the writer runs, and slot generations never go back");
    munmap(w.map, im.size);
    close(fd);
    hs_seg_close(&seg);
    unlink(path);
    img_free(&im);
}

/* ---------------------------------------------------------------------------------------
 * Random mutations
 * ------------------------------------------------------------------------------------- */
static const uint64_t interesting[] = {0,
                                       1,
                                       2,
                                       7,
                                       8,
                                       HK_STATS_NCLASSES - 1,
                                       HK_STATS_NCLASSES,
                                       HK_STATS_NCLASSES + 1,
                                       0x7f,
                                       0x80,
                                       0xff,
                                       0x100,
                                       0x7fff,
                                       0xffff,
                                       0x10000,
                                       0x7fffffff,
                                       0x80000000,
                                       0xffffffff,
                                       1ull << 32,
                                       1ull << 40,
                                       1ull << 63,
                                       UINT64_MAX,
                                       UINT64_MAX - 1};

/* Everything a reader does with a segment: two snapshots, every table with and without
 * rates, sorted by every column, the summary, and every output format. */
static void exercise(hs_seg_t *seg, FILE *sink, int *snap_ok)
{
    hs_snap_t a, b;
    if (hs_snap_take(seg, &a) != HS_OK) return;
    if (hs_snap_take(seg, &b) != HS_OK) {
        hs_snap_free(&a);
        return;
    }
    (*snap_ok)++;
    for (int v = 0; v < HS_VIEW_COUNT; v++) {
        for (int tot = 0; tot < 2; tot++) {
            hs_table_t t;
            if (hs_table_build(&t, (enum hs_view)v, seg, &b, &a, tot) != 0) continue;
            for (int c = 0; c < t.ncols; c++)
                hs_table_sort(&t, c, c & 1);
            hs_table_free(&t);
        }
    }
    char lines[HS_SUMMARY_LINES][HS_SUMMARY_LEN];
    hs_table_summary(lines, seg, &b, &a, false);
    hs_table_summary(lines, seg, &b, NULL, true);
    hs_opts_t o;
    memset(&o, 0, sizeof(o));
    o.view = HS_VIEW_SITES;
    out_json(sink, seg, &b, &a, &o);
    out_prom(sink, seg, &b);
    out_text(sink, seg, &b, &a, &o);
    o.view = HS_VIEW_THREADS;
    out_text(sink, seg, &b, NULL, &o);
    hs_snap_free(&a);
    hs_snap_free(&b);
}

static void test_mutations(void)
{
    img_t im;
    build(&im, HK_STAT_NCOUNTERS, NO_PID);
    FILE *sink = fopen("/dev/null", "w");
    if (sink == NULL) tap_bail("/dev/null: %s", strerror(errno));
    unsigned char *m = malloc(im.size + 8192);
    if (m == NULL) tap_bail("out of memory");
    uint64_t seed = 0x5eed1234abcdull;
    const char *env = getenv("HS_READER_SEED");
    if (env && strtoull(env, NULL, 0)) seed = strtoull(env, NULL, 0);
    tap_diag("mutation seed 0x%llx (set HS_READER_SEED to repeat another)",
             (unsigned long long)seed);
    int outcome[16] = {0}, snap_ok = 0, unexpected = 0, unclean = 0;
    const int iterations = 2000;
    char path[320];
    snprintf(path, sizeof(path), "%s/mutant", dir);
    for (int it = 0; it < iterations; it++) {
        memcpy(m, im.p, im.size);
        size_t len = im.size;
        int nmut = 1 + (int)(tu_rand(&seed) % 8);
        for (int k = 0; k < nmut; k++) {
            uint64_t r = tu_rand(&seed);
            /* half of them in the header and descriptors, where the geometry lives */
            size_t span = (r & 1) ? im.slot_off : im.size;
            size_t at = (size_t)(tu_rand(&seed) % span);
            switch ((r >> 1) % 5) {
            case 0:
                m[at] ^= (unsigned char)(1u << ((r >> 8) % 8));
                break;
            case 1:
                m[at] = (unsigned char)(r >> 16);
                break;
            case 2: {
                uint32_t v = (uint32_t)interesting[(r >> 8) % (sizeof(interesting) / 8)];
                if ((r >> 20) & 1) v = (uint32_t)(r >> 32);
                at &= ~(size_t)3;
                memcpy(m + at, &v, 4);
                break;
            }
            case 3: {
                uint64_t v = interesting[(r >> 8) % (sizeof(interesting) / 8)];
                if ((r >> 20) & 1) v = tu_rand(&seed);
                at &= ~(size_t)7;
                if (at + 8 <= im.size) memcpy(m + at, &v, 8);
                break;
            }
            default: { /* a slot word: gen, state, tid, counters, sites */
                size_t slot = im.slot_off + (size_t)(r >> 8) % NSLOTS * im.slot_size;
                size_t w = (size_t)(r >> 16) % (im.slot_size / 8);
                uint64_t v = (r >> 40) & 1 ? (r >> 41) % 4 : tu_rand(&seed);
                memcpy(m + slot + 8 * w, &v, 8);
                break;
            }
            }
        }
        if (tu_rand(&seed) % 10 == 0)
            len = (size_t)(tu_rand(&seed) % (im.size + 1));
        else if (tu_rand(&seed) % 20 == 0) {
            size_t extra = (size_t)(tu_rand(&seed) % 8192);
            for (size_t i = 0; i < extra; i++)
                m[len + i] = (unsigned char)tu_rand(&seed);
            len += extra;
        }
        write_file(path, m, len);
        hs_seg_t seg;
        int st = hs_seg_open_path(&seg, path, false);
        outcome[st >= 0 && st < 16 ? st : 15]++;
        if (st == HS_OK) {
            bool clean = printable(seg.comm, HK_STATS_COMM_LEN);
            for (uint32_t i = 0; i < seg.ncounters; i++)
                clean &= printable(seg.desc[i].name, HK_STATS_NAME_LEN - 1) &&
                         printable(seg.desc[i].doc, HK_STATS_DOC_LEN - 1);
            if (!clean) unclean++;
            exercise(&seg, sink, &snap_ok);
            hs_seg_close(&seg);
        } else if ((st != HS_ERR_CORRUPT && st != HS_ERR_VERSION) || seg.error[0] == '\0') {
            if (unexpected++ < 3) tap_diag("iteration %d: status %d: %s", it, st, seg.error);
        }
    }
    unlink(path);
    fclose(sink);
    free(m);
    tap_diag("%d mutants: %d opened (%d gave two snapshots), %d corrupt, %d unknown version, %d "
             "other",
             iterations, outcome[HS_OK], snap_ok, outcome[HS_ERR_CORRUPT], outcome[HS_ERR_VERSION],
             iterations - outcome[HS_OK] - outcome[HS_ERR_CORRUPT] - outcome[HS_ERR_VERSION]);
    tap_ok(1, "%d mutated segments opened, read and printed without a crash", iterations);
    tap_ok(unexpected == 0, "every refusal is corrupt or unknown version, with a message");
    tap_ok(unclean == 0, "every opened mutant has printable, terminated strings");
    tap_ok(outcome[HS_OK] > 0 && snap_ok > 0 && outcome[HS_ERR_CORRUPT] > 0,
           "the mutants reached both the refusals and the tables");
    img_free(&im);
}

int main(void)
{
    prctl(PR_SET_NAME, OUR_NAME, 0, 0, 0);
    unsetenv("HAKMEM_STATS_DIR");
    snprintf(dir, sizeof(dir), "%s/hakstat-reader.XXXXXX",
             getenv("TMPDIR") && getenv("TMPDIR")[0] == '/' ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(dir) == NULL) {
        printf("Bail out! mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    tap_plan(115);
    test_valid();
    test_other_writers();
    test_truncated();
    test_fields();
    test_strings();
    test_special_files();
    test_by_pid();
    test_shrink();
    test_concurrent();
    test_mutations();
    char cmd[320];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0) tap_diag("could not remove %s", dir);
    return tap_done();
}
