/* identity.c: the malloc family this program calls at run time really is libhakmem's —
 * each symbol, looked up in the global scope, lies in an object whose path contains
 * "libhakmem" — and hak_version() answers with a non-empty version string. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "hakmem.h"

#include "../tap.h"

static const char *const symbols[] = {
    "malloc",
    "free",
    "calloc",
    "realloc",
    "reallocarray",
    "posix_memalign",
    "aligned_alloc",
    "memalign",
    "valloc",
    "pvalloc",
    "malloc_usable_size",
    "free_sized",
    "free_aligned_sized",
    "__libc_malloc",
    "__libc_free",
    "__libc_calloc",
    "hak_version",
    "hak_collect",
    "hak_check",
};
#define NSYM (sizeof symbols / sizeof symbols[0])

/* The path of the object that defines `addr`, or "(none)". */
static const char *object_of(const void *addr)
{
    Dl_info info;
    if (!addr || !dladdr(addr, &info) || !info.dli_fname) return "(none)";
    return info.dli_fname;
}

int main(void)
{
    tap_plan((int)NSYM + 3 + 1);
    for (size_t i = 0; i < NSYM; i++) {
        void *addr = dlsym(RTLD_DEFAULT, symbols[i]);
        const char *path = object_of(addr);
        tap_ok(strstr(path, "libhakmem") != NULL, "%s resolves to libhakmem (%s)", symbols[i],
               path);
    }

    /* The address this program itself calls through (its GOT entry). */
    void *(*volatile malloc_fn)(size_t) = malloc;
    const char *path = object_of((const void *)malloc_fn);
    tap_ok(strstr(path, "libhakmem") != NULL,
           "the program's own malloc reference is libhakmem's (%s)", path);

    const char *v = hak_version();
    tap_ok(v && v[0] != '\0', "hak_version() returns a non-empty string (\"%s\")",
           v ? v : "(null)");
    tap_ok(v && v[0] >= '0' && v[0] <= '9' && strchr(v, '.'), "the version looks like N.N...");
    TAP_EQ_I64(hak_check(), 0, "hak_check finds this thread's heap consistent at the end");
    return tap_done();
}
