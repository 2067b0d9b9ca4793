/* slots.c: more threads than slots. The program re-executes itself with
 * HAKMEM_STATS_SLOTS=2: the main thread takes one slot, so of 8 workers one gets the
 * other and 7 count in spill blocks. While all 8 are alive and idle, `unslotted` says 7,
 * 7 spill blocks are live, and retired plus slots plus spill blocks hold exactly every
 * allocation the workers made of a size class nothing else here uses (12 KiB): nothing
 * waits for a refill or an exit to be seen. After they exit nothing is lost: the totals
 * still hold every allocation and free, retired's malloc and free grew by exactly the
 * workers' totals, and the thread figures counted 8 starts and 8 exits. The slotted
 * worker's slot holds the name it gave itself before its first allocation. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdatomic.h>
#include <sys/prctl.h>

#include "../tap.h"
#include "../testutil.h"
#include "stats-util.h"

#define NSLOTS   2
#define NWORKERS 8
#define N_ALLOC  300
#define SIZE     (12 * 1024)

static st_seg_t seg;
static pthread_barrier_t bar_alloc, bar_freed, bar_exit;
static pid_t tids[NWORKERS];
static atomic_ulong bad;

static void *worker(void *arg)
{
    int idx = (int)(intptr_t)arg;
    tids[idx] = st_gettid();
    char name[16];
    snprintf(name, sizeof(name), "hk-slot-%d", idx);
    prctl(PR_SET_NAME, name); /* before the first allocation, which takes the slot */
    void *p[N_ALLOC];
    for (int i = 0; i < N_ALLOC; i++) {
        p[i] = malloc(SIZE);
        if (p[i] == NULL)
            atomic_fetch_add(&bad, 1);
        else
            tu_fill(p[i], 64, (uint64_t)idx * N_ALLOC + (uint64_t)i);
    }
    pthread_barrier_wait(&bar_alloc); /* all alive, all holding their blocks */
    for (int i = 0; i < N_ALLOC; i++) {
        if (p[i] && tu_check(p[i], 64, (uint64_t)idx * N_ALLOC + (uint64_t)i) != SIZE_MAX)
            atomic_fetch_add(&bad, 1);
        free(p[i]);
    }
    pthread_barrier_wait(&bar_freed);
    pthread_barrier_wait(&bar_exit);
    return NULL;
}

int main(int argc, char **argv)
{
    static const char *const env[] = {"HAKMEM_STATS_SLOTS=2", NULL};
    st_reexec_clean(argv, env);
    (void)argc;
    free(tu_launder(malloc(1))); /* the main thread takes slot 0 */
    if (!st_map_self(&seg, false)) tap_bail("cannot map our own segment: %s", seg.why);
    tap_plan(18);
    TAP_EQ_U64(seg.hd->nslots, NSLOTS, "the segment has %d slots", NSLOTS);
    tap_ok(st_find_tid(&seg, (uint64_t)getpid(), NULL) >= 0, "the main thread has one of them");
    uint32_t cls = st_class_of(seg.hd, SIZE);
    tap_ok(seg.hd->class_size[cls] == SIZE, "12 KiB is a size class of its own (class %u)", cls);

    hk_stat_counters_t before, mid, after;
    if (!st_totals(&seg, &before)) tap_bail("no consistent totals");
    hk_stat_counters_t ret_before, ret_after;
    st_copy_retired(&seg, &ret_before);
    uint64_t started = seg.hd->threads_started, exited = seg.hd->threads_exited;

    pthread_barrier_init(&bar_alloc, NULL, NWORKERS + 1);
    pthread_barrier_init(&bar_freed, NULL, NWORKERS + 1);
    pthread_barrier_init(&bar_exit, NULL, NWORKERS + 1);
    pthread_t th[NWORKERS];
    for (intptr_t i = 0; i < NWORKERS; i++)
        if (pthread_create(&th[i], NULL, worker, (void *)i) != 0) tap_bail("pthread_create");
    pthread_barrier_wait(&bar_alloc);

    TAP_EQ_U64(seg.hd->unslotted, NWORKERS - 1, "7 of the 8 live workers count without a slot");
    int slotted = 0;
    char kept[HK_STATS_NAME_LEN + 1] = "", want[32] = "";
    for (int i = 0; i < NWORKERS; i++) {
        hk_stat_slot_t sl;
        if (st_find_tid(&seg, (uint64_t)tids[i], &sl) < 0) continue;
        slotted++;
        memcpy(kept, sl.name, HK_STATS_NAME_LEN);
        snprintf(want, sizeof(want), "hk-slot-%d", i);
    }
    TAP_EQ_I64(slotted, 1, "exactly one worker has a slot");
    tap_ok(want[0] && strcmp(kept, want) == 0,
           "its slot keeps the name it had when it took the slot: '%s'", kept);
    if (!st_totals(&seg, &mid)) tap_bail("no consistent totals");
    TAP_EQ_U64(mid.class_alloc[cls] - before.class_alloc[cls], (uint64_t)NWORKERS * N_ALLOC,
               "while they sit idle, retired + slots + spill blocks hold every allocation");
    int spilled = 0;
    uint64_t spill_alloc = 0;
    for (uint32_t i = 0; i < seg.hd->spill_count; i++) {
        hk_stat_spill_t sp;
        if (st_copy_spill(&seg, i, &sp) && sp.state == HK_SLOT_LIVE) {
            spilled++;
            spill_alloc += sp.ctr.class_alloc[cls];
        }
    }
    TAP_EQ_I64(spilled, NWORKERS - 1, "the 7 unslotted workers each count in a live spill block");
    TAP_EQ_U64(spill_alloc, (uint64_t)(NWORKERS - 1) * N_ALLOC,
               "the spill blocks hold the unslotted workers' allocations");
    TAP_EQ_U64(seg.hd->threads_started - started, NWORKERS, "threads_started counted 8 workers");

    pthread_barrier_wait(&bar_freed);
    pthread_barrier_wait(&bar_exit);
    for (int i = 0; i < NWORKERS; i++)
        pthread_join(th[i], NULL);

    TAP_EQ_U64(atomic_load(&bad), 0, "every block was sound");
    TAP_EQ_U64(seg.hd->unslotted, 0, "no unslotted thread is left");
    if (!st_totals(&seg, &after)) tap_bail("no consistent totals");
    TAP_EQ_U64(after.class_alloc[cls] - before.class_alloc[cls], (uint64_t)NWORKERS * N_ALLOC,
               "after exit: retired + slots hold every 12 KiB allocation, exactly");
    TAP_EQ_U64(after.class_free[cls] - before.class_free[cls], (uint64_t)NWORKERS * N_ALLOC,
               "after exit: and every 12 KiB free, exactly");
    st_copy_retired(&seg, &ret_after);
    TAP_EQ_U64(ret_after.c[HK_STAT_malloc] - ret_before.c[HK_STAT_malloc],
               (uint64_t)NWORKERS * N_ALLOC, "retired malloc grew by exactly the workers' mallocs");
    TAP_EQ_U64(ret_after.c[HK_STAT_free] - ret_before.c[HK_STAT_free], (uint64_t)NWORKERS * N_ALLOC,
               "retired free grew by exactly the workers' frees");
    int live = 0;
    for (uint32_t i = 0; i < seg.hd->nslots; i++) {
        hk_stat_slot_t sl;
        if (st_copy_slot(&seg, i, &sl) && sl.state == HK_SLOT_LIVE) live++;
    }
    TAP_EQ_I64(live, 1, "only the main thread's slot is live again");
    TAP_EQ_U64(seg.hd->threads_exited - exited, NWORKERS, "threads_exited counted 8 exits");
    st_unmap(&seg);
    return tap_done();
}
