/* debug.h: invariant checks. hk_assert(cond) states an invariant the code relies on. In a
 * HAKMEM_DEBUG build (configure --enable-debug) a false one writes "file:line: cond" to
 * stderr with write(2) and aborts: assert(3) would go through stdio, which may call the
 * very malloc that is broken. Otherwise the condition is type-checked, never evaluated,
 * so a check may call a function that walks a list. HK_DEBUG is 1 or 0 for checks that
 * need a few statements. */
#ifndef HK_DEBUG_H
#define HK_DEBUG_H

#include "types.h"

#ifdef HAKMEM_DEBUG
#define HK_DEBUG        1
#define hk_assert(cond) (hk_likely(cond) ? (void)0 : hk_check_fail(__FILE__, __LINE__, #cond))
#else
#define HK_DEBUG        0
#define hk_assert(cond) ((void)sizeof(!(cond)))
#endif

/* ---------------------------------------------------------------------------------------
 * "check.c"
 * ------------------------------------------------------------------------------------- */
__attribute__((noreturn, cold)) void hk_check_fail(const char *file, int line, const char *cond);

/* Block b is a block start of a live slab of class cls that heap h owns. Reads only what
 * cannot change while the block is out of the slab, so another thread may call it. */
bool hk_check_block(const hk_heap_t *h, uint32_t cls, const void *b);

/* The NULL-terminated list at b holds exactly n blocks, each one hk_check_block(h, cls). */
bool hk_check_chain(const hk_heap_t *h, uint32_t cls, const hk_block_t *b, uint32_t n);

/* Slab s (its first page) of a segment of h: counts, bump pointer and bitmap agree. */
bool hk_check_slab(const hk_heap_t *h, const hk_page_t *s);

/* Everything the owner of h may see: bins, stash, outboxes, partial lists, slabs and
 * segments. Writes one line per problem to stderr and returns how many it found. */
uint32_t hk_check_heap(const hk_heap_t *h);

#endif /* HK_DEBUG_H */
