/* os.c: the only file that talks to the kernel about memory. A failure comes back as
 * NULL (errno ENOMEM) or false (errno as mremap left it: callers set ENOMEM); nothing
 * here aborts. */
#include "config.h"

#include <errno.h>
#include <sys/mman.h>

#include "internal.h"

void *hk_os_map(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        errno = ENOMEM;
        return NULL;
    }
    return p;
}

/* Map `size` bytes at an address that is a multiple of `align` (a power of two of at
 * least a page): over-map by `align`, then give back the ends. */
void *hk_os_map_aligned(size_t size, size_t align)
{
    size_t over = size + align;
    if (over < size) {
        errno = ENOMEM;
        return NULL;
    }
    char *raw = hk_os_map(over);
    if (raw == NULL) return NULL;
    char *p = (char *)hk_align_up((uintptr_t)raw, align);
    size_t head = (size_t)(p - raw), tail = over - head - size;
    if (head) munmap(raw, head);
    if (tail) munmap(p + size, tail);
    return p;
}

void hk_os_unmap(void *p, size_t size)
{
    munmap(p, size);
}

/* Drop the pages' contents so they stop counting in RSS; they read as zero next time. */
void hk_os_purge(void *p, size_t size)
{
    madvise(p, size, MADV_DONTNEED);
}

/* Move a mapping onto `dest` (an existing mapping of new_size bytes, which it replaces)
 * without copying: the kernel moves page tables. */
bool hk_os_remap(void *old, size_t old_size, size_t new_size, void *dest)
{
    void *p = mremap(old, old_size, new_size, MREMAP_MAYMOVE | MREMAP_FIXED, dest);
    return p != MAP_FAILED;
}

bool hk_os_grow_in_place(void *p, size_t old_size, size_t new_size)
{
    return mremap(p, old_size, new_size, 0) != MAP_FAILED;
}

/* Map fresh pages over [p, p + size), whatever was there. */
bool hk_os_map_fixed(void *p, size_t size)
{
    return mmap(p, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) !=
           MAP_FAILED;
}

/* Whether mremap moves, keeping its size, a range that covers several mappings (Linux
 * 6.17 and later; earlier kernels refuse with EFAULT). Tried on two pages the kernel
 * cannot merge, each written on a mapping of its own and then put side by side. Only
 * ranges this call still owns are unmapped: a page moved away leaves a hole that another
 * thread may map at once. */
bool hk_os_moves_span_mappings(void)
{
    const size_t pg = HK_OS_PAGE;
    char *a = hk_os_map(2 * pg), *b = hk_os_map(pg), *d = hk_os_map(2 * pg);
    bool ok = false;
    if (a && b && d) {
        a[0] = 1;
        b[0] = 2;
        if (mremap(b, pg, pg, MREMAP_MAYMOVE | MREMAP_FIXED, a + pg) != MAP_FAILED) {
            b = NULL;
            if (mremap(a, 2 * pg, 2 * pg, MREMAP_MAYMOVE | MREMAP_FIXED, d) != MAP_FAILED) {
                a = NULL;
                ok = d[0] == 1 && d[pg] == 2;
            }
        }
    }
    if (a) munmap(a, 2 * pg);
    if (b) munmap(b, pg);
    if (d) munmap(d, 2 * pg);
    return ok;
}
