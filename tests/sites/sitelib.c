/* sitelib.c: a shared library with one known allocation site, for sites.sh. */
#include <stdlib.h>
#include <string.h>

void *lib_alloc(size_t size);

/* Not a tail call: the block is written after malloc returns, so the return address
 * malloc sees lies inside this function. */
__attribute__((noinline)) void *lib_alloc(size_t size)
{
    char *p = malloc(size);
    if (p) memset(p, 0x5a, 8);
    return p;
}
