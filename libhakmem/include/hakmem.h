/* hakmem.h: the public extension API of libhakmem. The standard allocation functions
 * (malloc, free, ...) need no header of ours; this adds the hak_* calls. */
#ifndef HAKMEM_H
#define HAKMEM_H

#include <stddef.h>
#include <stdlib.h>

#ifdef __cplusplus
extern "C" {
#endif

/* C23's sized frees, which libhakmem exports. glibc 2.36 (Debian 12) does not declare
 * them, so they are declared here, in the form a C library that does uses (with glibc's
 * __THROW), so that both declarations can meet in one program, C or C++. */
#ifdef __THROW
#define HAK_THROW __THROW
#else
#define HAK_THROW
#endif
void free_sized(void *ptr, size_t size) HAK_THROW;
void free_aligned_sized(void *ptr, size_t alignment, size_t size) HAK_THROW;
#undef HAK_THROW

/* The library's version string, e.g. "0.1.0". Calling it also tells a program that
 * libhakmem is the malloc in use (the symbol exists only in libhakmem). */
const char *hak_version(void);

/* Return the calling thread's cached blocks to their slabs and give the memory of
 * empty slabs back to the operating system. */
void hak_collect(void);

/* Check the calling thread's heap against the invariants the allocator relies on: every
 * cached block, slab and segment it owns. Returns the number of problems found, 0 for a
 * consistent heap, and describes each on stderr. Allocates nothing; meant for tests. */
int hak_check(void);

#ifdef __cplusplus
}
#endif

#endif /* HAKMEM_H */
