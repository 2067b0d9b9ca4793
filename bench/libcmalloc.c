/* libcmalloc.so: glibc's own malloc for a program that links another one.
 *
 * Debian's redis-server links libjemalloc, so running it without a preload measures
 * jemalloc, not glibc. Preloaded, this library takes the malloc family's names ahead of
 * libjemalloc and hands every call to glibc's allocator through the __libc_* entry points
 * that glibc exports for this purpose. malloc_usable_size has no such alias: it is looked
 * up in libc itself (a handle's dlsym searches that object first, not the global scope,
 * so it finds glibc's and not jemalloc's). Only bench/programs uses it. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define EXPORT __attribute__((visibility("default")))

void *__libc_malloc(size_t size);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t size);
void *__libc_memalign(size_t align, size_t size);
void *__libc_valloc(size_t size);
void *__libc_pvalloc(size_t size);
void __libc_free(void *p);

static size_t (*libc_usable_size)(void *);

__attribute__((constructor)) static void find_usable_size(void)
{
    void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
    if (libc != NULL) *(void **)&libc_usable_size = dlsym(libc, "malloc_usable_size");
}

EXPORT void *malloc(size_t size)
{
    return __libc_malloc(size);
}

EXPORT void free(void *p)
{
    __libc_free(p);
}

EXPORT void *calloc(size_t n, size_t size)
{
    return __libc_calloc(n, size);
}

EXPORT void *realloc(void *p, size_t size)
{
    return __libc_realloc(p, size);
}

EXPORT void *reallocarray(void *p, size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size) {
        errno = ENOMEM;
        return NULL;
    }
    return __libc_realloc(p, n * size);
}

EXPORT void *memalign(size_t align, size_t size)
{
    return __libc_memalign(align, size);
}

EXPORT void *aligned_alloc(size_t align, size_t size)
{
    return __libc_memalign(align, size);
}

EXPORT int posix_memalign(void **out, size_t align, size_t size)
{
    if (align < sizeof(void *) || (align & (align - 1)) != 0) return EINVAL;
    void *p = __libc_memalign(align, size);
    if (p == NULL) return ENOMEM;
    *out = p;
    return 0;
}

EXPORT void *valloc(size_t size)
{
    return __libc_valloc(size);
}

EXPORT void *pvalloc(size_t size)
{
    return __libc_pvalloc(size);
}

/* Before the constructor has run (a call from an earlier library's constructor), the
 * chunk header gives the answer: glibc keeps the chunk size, flags in its low 3 bits,
 * in the word before the block, and a block may use all of it but its own header
 * (16 bytes for an mmapped chunk, flag 2; 8 otherwise). */
EXPORT size_t malloc_usable_size(void *p)
{
    if (p == NULL) return 0;
    if (libc_usable_size != NULL) return libc_usable_size(p);
    size_t head = ((size_t *)p)[-1];
    return (head & ~(size_t)7) - ((head & 2) ? 16 : 8);
}
