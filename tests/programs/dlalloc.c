/* dlalloc.c: a library that allocates in its constructor and frees in its destructor,
 * built twice (libdla1.so, libdla2.so, DLA_ID 1 and 2) for dlopen-helper.c. The
 * constructor takes blocks from every entry point (malloc, calloc, realloc, memalign,
 * posix_memalign, aligned_alloc, valloc) and fills each with a pattern of its own; the
 * destructor checks every pattern, shrinks and grows some blocks with realloc, checks
 * again and frees them all, with a block the driver handed over (dla_adopt). Each
 * verdict goes to dla_report, which the driver exports. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifndef DLA_ID
#error "DLA_ID must be defined (1 or 2)"
#endif

/* Defined by the program that loads this library. */
void dla_report(int id, const char *what, int ok);

/* Exported for the driver. */
int dla_check(void);
void dla_adopt(unsigned char *p, size_t n, unsigned char fill);

enum { NBLOCKS = 96 };

static unsigned char *blocks[NBLOCKS];
static size_t sizes[NBLOCKS];
static unsigned char *adopted;
static size_t adopted_size;
static unsigned char adopted_fill;

static unsigned char pattern(int i, size_t k)
{
    return (unsigned char)(DLA_ID * 71 + i * 13 + k * 7);
}

static void fill(int i)
{
    for (size_t k = 0; k < sizes[i]; k++)
        blocks[i][k] = pattern(i, k);
}

static int intact(int i)
{
    for (size_t k = 0; k < sizes[i]; k++)
        if (blocks[i][k] != pattern(i, k)) return 0;
    return 1;
}

/* Alignment that block i was asked for, or 0 for none. */
static size_t alignment_of(int i)
{
    static const size_t aligns[] = {64, 4096, 256, 4096};
    return i % 8 >= 4 ? aligns[i % 4] : 0;
}

__attribute__((constructor)) static void dla_init(void)
{
    int ok = 1;
    for (int i = 0; i < NBLOCKS; i++) {
        size_t size = 1 + (size_t)(i * 7919 + DLA_ID * 31) % (i % 16 == 15 ? 300000 : 3000);
        unsigned char *p = NULL;
        switch (i % 8) {
        case 0:
            p = malloc(size);
            break;
        case 1:
            p = calloc(size, 1);
            for (size_t k = 0; p && k < size; k++)
                if (p[k] != 0) ok = 0;
            break;
        case 2:
            p = realloc(NULL, size);
            break;
        case 3: /* grown in steps from one byte */
            p = malloc(1);
            if (p) p[0] = 0x5a;
            for (size_t s = 2; p && s <= size; s *= 3) {
                unsigned char *q = realloc(p, s);
                if (!q || q[0] != 0x5a) ok = 0;
                p = q;
            }
            p = p ? realloc(p, size) : NULL;
            break;
        case 4:
            p = memalign(alignment_of(i), size);
            break;
        case 5:
            if (posix_memalign((void **)&p, alignment_of(i), size) != 0) p = NULL;
            break;
        case 6:
            /* aligned_alloc wants a multiple of the alignment */
            size = (size + alignment_of(i) - 1) / alignment_of(i) * alignment_of(i);
            p = aligned_alloc(alignment_of(i), size);
            break;
        default:
            p = valloc(size);
            break;
        }
        if (!p || malloc_usable_size(p) < size) ok = 0;
        if (p && alignment_of(i) && (uintptr_t)p % alignment_of(i) != 0) ok = 0;
        blocks[i] = p;
        sizes[i] = p ? size : 0;
        if (p) fill(i);
    }
    dla_report(DLA_ID, "ctor", ok);
}

int dla_check(void)
{
    for (int i = 0; i < NBLOCKS; i++)
        if (!blocks[i] || !intact(i)) return 0;
    return 1;
}

void dla_adopt(unsigned char *p, size_t n, unsigned char fill_byte)
{
    free(adopted);
    adopted = p;
    adopted_size = n;
    adopted_fill = fill_byte;
}

__attribute__((destructor)) static void dla_fini(void)
{
    int ok = dla_check();
    for (int i = 0; i < NBLOCKS; i += 3) {
        if (alignment_of(i) || !blocks[i]) continue;
        /* shrink to half, then grow to twice: the kept half must survive both moves */
        size_t half = sizes[i] / 2 + 1;
        unsigned char *q = realloc(blocks[i], half);
        if (!q) {
            ok = 0;
            continue;
        }
        blocks[i] = q;
        sizes[i] = half;
        q = realloc(blocks[i], half * 2);
        if (!q) {
            ok = 0;
            continue;
        }
        blocks[i] = q;
        if (!intact(i)) ok = 0;
    }
    for (int i = 0; i < NBLOCKS; i++) {
        free(blocks[i]);
        blocks[i] = NULL;
    }
    for (size_t k = 0; adopted && k < adopted_size; k++)
        if (adopted[k] != adopted_fill) ok = 0;
    free(adopted);
    adopted = NULL;
    dla_report(DLA_ID, "dtor", ok);
}
