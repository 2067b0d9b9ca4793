/* rss-drop.c: memory goes back to the operating system. About 250 MiB in 800,000
 * 200-byte blocks and 512 200-KiB blocks is allocated and touched, then freed; after
 * hak_collect() the resident set must have given back at least 70% of its growth. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "hakmem.h"

#include "../tap.h"
#include "../testutil.h"

#define NSMALL      800000
#define SMALL_SIZE  200
#define NMEDIUM     512
#define MEDIUM_SIZE (200 * 1024)
#define KEEP_PCT    30 /* RSS left after the free may be at most this much of the growth */

int main(void)
{
    tap_plan(6);
    /* The pointer table comes from mmap so it is not part of what malloc gives back. */
    size_t table_bytes = (NSMALL + NMEDIUM) * sizeof(void *);
    void **table =
        mmap(NULL, table_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (table == MAP_FAILED) tap_bail("mmap of the pointer table failed");
    memset(table, 0, table_bytes);
    free(malloc(1)); /* the allocator is initialised before the baseline */
    long base = tu_rss_kib();

    unsigned long nulls = 0;
    const size_t stride = (NSMALL + NMEDIUM) / NMEDIUM;
    for (size_t i = 0; i < NSMALL + NMEDIUM; i++) {
        /* One medium block every `stride` blocks, the rest small. */
        size_t size = (i % stride == 0 && i / stride < NMEDIUM) ? MEDIUM_SIZE : SMALL_SIZE;
        unsigned char *p = table[i] = malloc(size);
        if (!p) {
            nulls++;
            continue;
        }
        for (size_t off = 0; off < size; off += 1024)
            p[off] = (unsigned char)i;
        p[size - 1] = (unsigned char)i;
    }
    long peak = tu_rss_kib();
    for (size_t i = 0; i < NSMALL + NMEDIUM; i++)
        free(table[i]);
    long after_free = tu_rss_kib();
    hak_collect();
    long after = tu_rss_kib();
    munmap(table, table_bytes);

    tap_diag("RSS KiB: baseline %ld, peak %ld, after free %ld, after hak_collect %ld", base, peak,
             after_free, after);
    TAP_EQ_U64(nulls, 0, "all %d small and %d medium blocks allocated", NSMALL, NMEDIUM);
    tap_ok(base > 0 && peak > 0 && after > 0, "VmRSS readable");
    TAP_GE_U64(peak - base, 200 * 1024, "RSS grew by at least 200 MiB while the blocks were live");
    TAP_LE_I64(after - base, (peak - base) * KEEP_PCT / 100,
               "after free and hak_collect, RSS is within %d%% of the growth over baseline",
               KEEP_PCT);
    TAP_LE_I64(after, after_free + 1024, "hak_collect does not grow RSS (1 MiB slack)");
    TAP_EQ_I64(hak_check(), 0, "hak_check finds this thread's heap consistent at the end");
    return tap_done();
}
