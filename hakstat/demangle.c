/* demangle.c: __cxa_demangle from libstdc++, found with dlopen on first use. Names come
 * from the watched process's objects, so they are bounded before they are handed over. */
#include "config.h"

#include "demangle.h"

#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef char *(*cxa_demangle_fn)(const char *, char *, size_t *, int *);

#define DEMANGLE_MAX_IN 4096 /* longer mangled names are shown as they are */

static cxa_demangle_fn demangler(void)
{
    static bool tried;
    static cxa_demangle_fn fn;
    if (!tried) {
        tried = true;
        void *h = dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_LOCAL);
        if (h) fn = (cxa_demangle_fn)(uintptr_t)dlsym(h, "__cxa_demangle");
    }
    return fn;
}

bool hs_demangle(const char *name, char *out, size_t len)
{
    snprintf(out, len, "%s", name);
    if (strncmp(name, "_Z", 2) != 0 || strnlen(name, DEMANGLE_MAX_IN) == DEMANGLE_MAX_IN)
        return false;
    cxa_demangle_fn fn = demangler();
    if (fn == NULL) return false;
    int status = -1;
    char *d = fn(name, NULL, NULL, &status);
    bool ok = status == 0 && d != NULL;
    if (ok) snprintf(out, len, "%s", d);
    free(d);
    return ok;
}
