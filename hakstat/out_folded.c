/* out_folded.c: sampled stacks in the folded format that flamegraph.pl, inferno and
 * speedscope read: one line per stack, its frames from the outermost caller to the
 * allocating call joined by ';', a space, and its weight (estimated bytes allocated, or
 * estimated live bytes with -w live). libhakmem's own frames are left out; the wrappers
 * stay, as the leaves they are. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "out.h"
#include "stack.h"

/* A frame's name for the format: its function, else object+offset; ';' and line breaks
 * (which would split it) become ':' and ' '. */
static void put_frame(FILE *f, const hs_frame_t *fr)
{
    const char *s = fr->name[0] ? fr->name : fr->label;
    for (; *s; s++)
        fputc(*s == ';' ? ':' : (*s == '\n' || *s == '\r') ? ' ' : *s, f);
}

static bool in_libhakmem(const hs_frame_t *fr)
{
    const char *slash = strrchr(fr->object, '/');
    return strncmp(slash ? slash + 1 : fr->object, "libhakmem.so", 12) == 0;
}

void out_folded(FILE *f, const hs_seg_t *seg, const hs_snap_t *now, bool live)
{
    hs_site_t *sites = NULL;
    int n = hs_snap_sites(now, &sites);
    static hs_stack_t st;
    for (int i = 0; i < n; i++) {
        const hs_site_t *s = &sites[i];
        uint64_t w = live ? s->est_live_bytes : s->est_bytes;
        if (w == 0) continue;
        hs_stack_resolve(seg, s, &st);
        bool any = false;
        for (uint32_t k = st.depth; k-- > 0;) {
            if (in_libhakmem(&st.frames[k])) continue;
            if (any) fputc(';', f);
            put_frame(f, &st.frames[k]);
            any = true;
        }
        if (!any) put_frame(f, &st.frames[0]);
        fprintf(f, " %llu\n", (unsigned long long)w);
    }
    free(sites);
    fflush(f);
}
