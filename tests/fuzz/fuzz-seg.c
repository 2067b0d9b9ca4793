/* fuzz-seg.c: libFuzzer harness for the segment reader. Each input is written to a file
 * and read the way hakstat reads a segment: opened (header checks), two snapshots, then
 * every view's table (rates and totals, sorted by every column), the summary, and every
 * output format, into /dev/null. Sites are named against this process, whatever pid the
 * input claims, so that runs do not depend on other processes. Built by `make fuzz`. */
#include "config.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "out.h"
#include "seg.h"
#include "snap.h"
#include "table.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[256];
static FILE *sink;

static void views(hs_seg_t *seg, const hs_snap_t *now, const hs_snap_t *prev)
{
    for (int v = 0; v < HS_VIEW_COUNT; v++) {
        for (int totals = 0; totals < 2; totals++) {
            hs_table_t t;
            if (hs_table_build(&t, (enum hs_view)v, seg, now, prev, totals) != 0) continue;
            for (int c = 0; c < t.ncols; c++)
                hs_table_sort(&t, c, c & 1);
            hs_table_free(&t);
        }
    }
    char lines[HS_SUMMARY_LINES][HS_SUMMARY_LEN];
    hs_table_summary(lines, seg, now, prev, false);
    hs_table_summary(lines, seg, now, NULL, true);
    hs_opts_t o;
    memset(&o, 0, sizeof(o));
    for (int v = 0; v < HS_VIEW_COUNT; v++) {
        o.view = (enum hs_view)v;
        out_text(sink, seg, now, prev, &o);
        out_json(sink, seg, now, prev, &o);
    }
    out_prom(sink, seg, now);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (sink == NULL) {
        const char *tmp = getenv("TMPDIR");
        snprintf(path, sizeof(path), "%s/hakmem-fuzz-seg.%d", tmp && tmp[0] == '/' ? tmp : "/tmp",
                 (int)getpid());
        sink = fopen("/dev/null", "w");
        if (sink == NULL) abort();
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) abort();
    if (size && write(fd, data, size) != (ssize_t)size) abort();
    close(fd);

    hs_seg_t seg;
    if (hs_seg_open_path(&seg, path, false) == HS_OK) {
        seg.pid = getpid();
        hs_snap_t a, b;
        if (hs_snap_take(&seg, &a) == HS_OK) {
            views(&seg, &a, NULL);
            if (hs_snap_take(&seg, &b) == HS_OK) {
                views(&seg, &b, &a);
                char note[160];
                hs_snap_busy_note(&b, note, sizeof(note));
                hs_snap_free(&b);
            }
            hs_snap_free(&a);
        }
        hs_seg_close(&seg);
    }
    unlink(path);
    return 0;
}
