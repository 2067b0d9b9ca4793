/* spares: the mappings of followed samples (stand-ins) outlive their blocks for reuse by
 * any thread, and go back to the OS a second after. With every sample followed
 * (HAKMEM_SITE_SAMPLE=16384), short-lived threads allocate blocks that the main thread
 * checks, fills with a pattern and frees. The stand-ins of the first thread's blocks must
 * stay mapped (16 to 32 of them); the next thread's samples must get some of them back
 * (a reused stand-in still holds the pattern; a fresh mapping is zero), calloc must
 * still zero them; after 1.2 s without samples, no sample may get an old one. A stand-in
 * is told in /proc/self/maps by its shape: a mapping of at most 64 KiB that starts on a
 * 4 MiB boundary (slab segments are 4 MiB long; this program has no large blocks). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../tap.h"
#include "../testutil.h"

#define BLOCKS     3000
#define BLOCK_SIZE 1000
#define MAX_SHAPED 4096
#define SPARES_MAX 32 /* large.c's SPARE_SLOTS */

static void *blocks[BLOCKS];
static uintptr_t shaped[MAX_SHAPED];

/* Start addresses of the stand-in-shaped mappings, into shaped[]; returns how many. */
static int stand_ins(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (f == NULL) tap_bail("/proc/self/maps: %s", strerror(errno));
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        uintptr_t lo, hi;
        if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR, &lo, &hi) != 2) continue;
        if (lo % (4u << 20) == 0 && hi - lo <= (64u << 10) && n < MAX_SHAPED) shaped[n++] = lo;
    }
    fclose(f);
    return n;
}

static void *allocate(void *arg)
{
    bool zeroed = arg != NULL;
    for (int i = 0; i < BLOCKS; i++) {
        blocks[i] = zeroed ? calloc(1, BLOCK_SIZE) : malloc(BLOCK_SIZE);
        if (blocks[i] == NULL) tap_bail("allocation %d failed", i);
    }
    return NULL;
}

static void on_thread(bool zeroed)
{
    pthread_t t;
    if (pthread_create(&t, NULL, allocate, zeroed ? "" : NULL) != 0) tap_bail("pthread_create");
    pthread_join(t, NULL);
}

/* The blocks in stand-ins (n_standins) and among them those with a byte not zero. */
static int dirty_stand_ins(int *n_standins)
{
    int n = stand_ins(), in = 0, dirty = 0;
    for (int i = 0; i < BLOCKS; i++) {
        uintptr_t base = (uintptr_t)blocks[i] & ~(uintptr_t)((4u << 20) - 1);
        bool standin = false;
        for (int k = 0; k < n && !standin; k++)
            standin = shaped[k] == base;
        if (!standin) continue;
        in++;
        const unsigned char *p = blocks[i];
        for (int k = 0; k < BLOCK_SIZE; k++)
            if (p[k]) {
                dirty++;
                break;
            }
    }
    *n_standins = in;
    return dirty;
}

/* Fill every block with its own pattern, then check and free them all; returns how many
 * were damaged meanwhile. */
static long fill_and_free(void)
{
    long damaged = 0;
    for (int i = 0; i < BLOCKS; i++)
        tu_fill(blocks[i], BLOCK_SIZE, (uint64_t)i + 1);
    for (int i = 0; i < BLOCKS; i++) {
        if (tu_check(blocks[i], BLOCK_SIZE, (uint64_t)i + 1) != SIZE_MAX) damaged++;
        free(blocks[i]);
    }
    return damaged;
}

int main(int argc, char **argv)
{
    (void)argc;
    tu_reexec_with(argv, "HAKMEM_SITE_SAMPLE", "16384");
    tap_plan(8);
    int n0 = stand_ins(), live, dirty;

    on_thread(false);
    dirty_stand_ins(&live);
    TAP_GE_U64((uint64_t)live, 50, "a short-lived thread's sampled blocks are stand-ins (%d)",
               live);
    TAP_EQ_U64((uint64_t)fill_and_free(), 0, "the main thread frees them intact");
    int nkept = stand_ins() - n0;
    TAP_GE_U64((uint64_t)(nkept > 0 ? nkept : 0), SPARES_MAX / 2,
               "freed by another thread, their mappings stay for reuse (%d kept)", nkept);
    TAP_LE_U64((uint64_t)(nkept > 0 ? nkept : 0), SPARES_MAX + 2, "at most %d of them are kept",
               SPARES_MAX);

    on_thread(false);
    dirty = dirty_stand_ins(&live);
    TAP_GE_U64((uint64_t)dirty, SPARES_MAX / 2,
               "a new thread's samples get them back (%d of %d stand-ins reused)", dirty, live);
    fill_and_free();

    on_thread(true);
    dirty = dirty_stand_ins(&live);
    TAP_EQ_U64((uint64_t)dirty, 0, "calloc zeroes a reused stand-in (%d stand-ins)", live);
    fill_and_free();

    usleep(1200 * 1000); /* past HK_LARGE_DECAY_MS */
    on_thread(false);
    dirty = dirty_stand_ins(&live);
    TAP_EQ_U64((uint64_t)dirty, 0, "a second later no sample gets an old one (%d stand-ins)", live);
    TAP_LE_U64((uint64_t)(stand_ins() - n0), (uint64_t)live + 2,
               "and the old ones are unmapped (%d mapped for %d live)", stand_ins() - n0, live);
    fill_and_free();
    return tap_done();
}
