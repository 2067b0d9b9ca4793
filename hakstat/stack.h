/* stack.h: a sampled site's call stack, named frame by frame, and which frame is shown as
 * the site: the first one outside libhakmem and outside the allocation wrappers (operator
 * new in every form, strdup, xmalloc, zmalloc, g_malloc, PyMem_*, ..., plus the names the
 * process lists in HAKMEM_SITE_WRAPPERS and those given with --wrappers). */
#ifndef HS_STACK_H
#define HS_STACK_H

#include <stdbool.h>

#include "seg.h"
#include "snap.h"
#include "sym.h"

typedef struct hs_stack_s {
    uint32_t depth;
    uint32_t site; /* index of the frame shown as the site */
    hs_frame_t frames[HK_SITE_FRAMES];
} hs_stack_t;

/* Extra wrapper names (comma or space separated; a trailing '*' matches any ending), from
 * the command line. The string must stay valid. */
void hs_stack_set_wrappers(const char *list);

/* Whether a frame is an allocation wrapper or in libhakmem, given the writer's list. */
bool hs_stack_is_wrapper(const hs_seg_t *seg, const hs_frame_t *f);

/* Name every frame of site s of the process of seg and pick the site frame. */
void hs_stack_resolve(const hs_seg_t *seg, const hs_site_t *s, hs_stack_t *st);

/* The site in `sites` (n of them) with the same stack as s, or NULL. */
const hs_site_t *hs_stack_find(const hs_site_t *sites, int n, const hs_site_t *s);

/* Estimated live bytes per second at the site: over the interval since `prev` when given
 * (dt > 0), else on average since its first sample. NaN when unknown. */
double hs_stack_growth(const hs_site_t *s, const hs_site_t *prev, double dt);

/* What a site did per second over the dt seconds since `prev` (NULL for a site new in
 * the interval), or in all when dt is 0. */
typedef struct hs_site_rates_s {
    double samples, allocs, bytes;
} hs_site_rates_t;
hs_site_rates_t hs_stack_rates(const hs_site_t *s, const hs_site_t *prev, double dt);

#endif /* HS_STACK_H */
