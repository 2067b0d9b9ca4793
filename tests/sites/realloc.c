/* realloc: a sampled (followed) large block grows by realloc as any large block does, in
 * place or moved whole, not copied at every step, and its record follows its size. With
 * HAKMEM_SITE_SAMPLE=16384 every large block is sampled and followed: a 32 MiB block is
 * filled, grown by 1 MiB sixteen times (each new MiB written), checked, and freed. A copy
 * at each step is a new large allocation each time and faults in more than the new pages
 * (16,136 faults against the library that copied, 4,096 now); growing where it is or
 * moving the pages allocates nothing. The site table must show the block live at its
 * final size, then freed. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "../stats/stats-util.h"
#include "../tap.h"
#include "../testutil.h"

#define MIB   ((size_t)1 << 20)
#define START (32 * MIB)
#define STEPS 16

static long minor_faults(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_minflt;
}

/* The table's entry whose live bytes are `bytes`, or NULL. */
static const hk_stat_sitent_t *entry_with(const hk_stat_sitetab_t *tab, uint64_t bytes)
{
    for (int i = 0; i < HK_SITE_ENTRIES; i++)
        if (tab->e[i].depth && tab->e[i].live_blocks == 1 && tab->e[i].live_bytes == bytes)
            return &tab->e[i];
    return NULL;
}

int main(int argc, char **argv)
{
    (void)argc;
    tu_reexec_with(argv, "HAKMEM_SITE_SAMPLE", "16384");
    tap_plan(7);
    st_seg_t seg;
    if (!st_map_self(&seg, false)) tap_bail("own segment: %s", seg.why);
    if (seg.hd->sitetab_offset == 0) tap_bail("no site table");
    const hk_stat_sitetab_t *tab =
        (const hk_stat_sitetab_t *)((const char *)seg.hd + seg.hd->sitetab_offset);

    uint64_t tracked0 = tab->tracked;
    char *p = tu_launder(malloc(START));
    if (p == NULL) tap_bail("malloc(%zu) failed", START);
    TAP_EQ_U64(tab->tracked, tracked0 + 1,
               "a 32 MiB block is followed at HAKMEM_SITE_SAMPLE=16384");
    tu_fill(p, START, 7);

    hk_stat_slot_t before, after;
    if (st_find_tid(&seg, (uint64_t)st_gettid(), &before) < 0) tap_bail("no slot of our own");
    long f0 = minor_faults();
    size_t size = START;
    for (int k = 0; k < STEPS; k++) {
        char *q = realloc(p, size + MIB);
        if (q == NULL) tap_bail("realloc to %zu failed", size + MIB);
        p = q;
        memset(p + size, 0x5a, MIB);
        size += MIB;
    }
    long faults = minor_faults() - f0;
    if (st_find_tid(&seg, (uint64_t)st_gettid(), &after) < 0) tap_bail("no slot of our own");
    TAP_EQ_U64(after.ctr.c[HK_STAT_large_alloc] - before.ctr.c[HK_STAT_large_alloc], 0,
               "the 16 reallocs allocated no new large block");
    TAP_LE_U64((uint64_t)faults, (uint64_t)(STEPS * MIB / 4096 * 3 / 2),
               "grown by 16 MiB, %ld minor faults (at most 1.5 per new page)", faults);
    TAP_EQ_U64(tu_check(p, START, 7), SIZE_MAX, "the first 32 MiB kept their contents");

    const hk_stat_sitent_t *e = entry_with(tab, size);
    tap_ok(e != NULL && tab->tracked == tracked0 + 1,
           "its stack's record shows it live at its final size (48 MiB)");
    uint64_t freed = e ? e->freed : 0;
    free(p);
    TAP_EQ_U64(tab->tracked, tracked0, "freed: no longer followed");
    tap_ok(e != NULL && e->live_bytes == 0 && e->freed == freed + 1,
           "and its stack has no live bytes left, one more freed");
    st_unmap(&seg);
    return tap_done();
}
