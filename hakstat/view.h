/* view.h: the interactive ncurses screen. It draws what table.h builds from snapshots
 * (summary lines, the rows of the current view) and never computes figures itself. */
#ifndef HS_VIEW_H
#define HS_VIEW_H

#include "options.h"
#include "seg.h"

/* Run the screen on an open segment until the user quits: sample every opts->delay
 * seconds, draw, handle keys (keys.h). Starts in opts->view, sorted by opts->sort,
 * showing totals when opts->totals. Returns the exit status: HS_OK on quit (also after
 * the process exited), or an enum hs_status when the terminal cannot be used. */
int view_run(hs_seg_t *seg, const hs_opts_t *opts);

#endif /* HS_VIEW_H */
