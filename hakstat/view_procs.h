/* view_procs.h: the screen of a group of processes (see view_procs.c). */
#ifndef HS_VIEW_PROCS_H
#define HS_VIEW_PROCS_H

#include "options.h"
#include "procs.h"

/* Refresh `g` every o->delay seconds (a tree polled for new children in between) and
 * show its text until q, a signal, or o->count refreshes. HS_OK, or HS_ERR_SYSTEM when
 * the terminal cannot be used. */
int view_procs_run(hs_group_t *g, const hs_opts_t *o);

#endif /* HS_VIEW_PROCS_H */
