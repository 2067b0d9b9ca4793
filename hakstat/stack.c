/* stack.c: naming a sampled stack and collapsing its allocation wrappers. */
#include "config.h"

#include "stack.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Functions that only pass an allocation on: the site is their caller. */
static const char *const builtin_wrappers[] = {
    "operator new*",
    "_Znw*",
    "_Zna*",
    "malloc",
    "calloc",
    "realloc",
    "reallocarray",
    "__libc_*",
    "strdup",
    "strndup",
    "__strdup",
    "__strndup",
    "wcsdup",
    "zmalloc*",
    "zcalloc*",
    "zrealloc*",
    "ztrymalloc*",
    "ztrycalloc*",
    "ztryrealloc*",
    "zstrdup",
    "xmalloc",
    "xcalloc",
    "xrealloc",
    "xzalloc",
    "xstrdup",
    "xstrndup",
    "xmemdup*",
    "xnmalloc",
    "xmallocz",
    "g_malloc*",
    "g_try_malloc*",
    "g_realloc*",
    "g_try_realloc*",
    "g_strdup*",
    "g_strndup",
    "g_memdup*",
    "g_slice_alloc*",
    "PyMem_*",
    "_PyMem_*",
    "PyObject_Malloc",
    "PyObject_Calloc",
    "PyObject_Realloc",
    "_PyObject_Malloc",
    "_PyObject_Calloc",
    "_PyObject_Realloc",
    "std::__new_allocator<*",
    "__gnu_cxx::new_allocator<*",
    "std::allocator<*",
    "std::allocator_traits<*",
};

static const char *user_wrappers;

void hs_stack_set_wrappers(const char *list)
{
    user_wrappers = list;
}

/* Whether `name` (len bytes) matches pattern p (plen bytes; a final '*' matches any
 * rest). GCC's clones (".cold", ".isra.0", ...) match as their function does. */
static bool match(const char *p, size_t plen, const char *name, size_t len)
{
    if (plen && p[plen - 1] == '*') return len >= plen - 1 && memcmp(p, name, plen - 1) == 0;
    return len == plen && memcmp(p, name, len) == 0;
}

static bool match_name(const char *p, size_t plen, const char *name)
{
    size_t len = strlen(name);
    if (match(p, plen, name, len)) return true;
    const char *paren = strchr(name, '('), *dot = strchr(name, '.');
    if (paren && match(p, plen, name, (size_t)(paren - name))) return true;
    return dot && dot > name && match(p, plen, name, (size_t)(dot - name));
}

/* Whether name matches an entry of a comma- or space-separated list. */
static bool in_list(const char *list, const char *name)
{
    for (const char *p = list; p && *p;) {
        while (*p == ',' || *p == ' ')
            p++;
        size_t n = strcspn(p, ", ");
        if (n && match_name(p, n, name)) return true;
        p += n;
    }
    return false;
}

bool hs_stack_is_wrapper(const hs_seg_t *seg, const hs_frame_t *f)
{
    const char *slash = strrchr(f->object, '/');
    const char *base = slash ? slash + 1 : f->object;
    if (strncmp(base, "libhakmem.so", 12) == 0) return true;
    if (f->name[0] == '\0') return false;
    for (size_t i = 0; i < sizeof(builtin_wrappers) / sizeof(builtin_wrappers[0]); i++)
        if (match_name(builtin_wrappers[i], strlen(builtin_wrappers[i]), f->name)) return true;
    return in_list(seg->site_wrappers, f->name) || in_list(user_wrappers, f->name);
}

void hs_stack_resolve(const hs_seg_t *seg, const hs_site_t *s, hs_stack_t *st)
{
    st->depth = s->depth ? (s->depth < HK_SITE_FRAMES ? s->depth : HK_SITE_FRAMES) : 1;
    st->site = UINT32_MAX;
    for (uint32_t i = 0; i < st->depth; i++) {
        hs_sym_site_frame(seg->pid, s->depth ? s->frames[i] : s->addr, &st->frames[i]);
        if (st->site == UINT32_MAX && !hs_stack_is_wrapper(seg, &st->frames[i])) st->site = i;
    }
    if (st->site == UINT32_MAX) st->site = st->depth - 1; /* wrappers all the way */
}

const hs_site_t *hs_stack_find(const hs_site_t *sites, int n, const hs_site_t *s)
{
    for (int i = 0; i < n; i++)
        if (sites[i].addr == s->addr && sites[i].depth == s->depth &&
            memcmp(sites[i].frames, s->frames, sizeof(s->frames[0]) * s->depth) == 0)
            return &sites[i];
    return NULL;
}

double hs_stack_growth(const hs_site_t *s, const hs_site_t *prev, double dt)
{
    if (!s->has_live) return NAN;
    if (prev && dt > 0) return ((double)s->est_live_bytes - (double)prev->est_live_bytes) / dt;
    if (isnan(s->first_s) || s->first_s <= 0) return NAN;
    return (double)s->est_live_bytes / s->first_s;
}

hs_site_rates_t hs_stack_rates(const hs_site_t *s, const hs_site_t *prev, double dt)
{
    double div = dt > 0 ? dt : 1;
    return (hs_site_rates_t){
        .samples = (double)(s->samples - (prev ? prev->samples : 0)) / div,
        .allocs = (double)(s->est_allocs - (prev ? prev->est_allocs : 0)) / div,
        .bytes = (double)(s->est_bytes - (prev ? prev->est_bytes : 0)) / div,
    };
}
