/* view_procs.c: the screen of a group of processes (-p PID,PID or --tree). It shows the
 * group's batch text (out_procs_text), refreshed in place every interval, scrolled with
 * the screen's keys (keys.h: quit, pause, scrolling, redraw; the others do nothing
 * here). A line wider than the terminal is cut at a space, never inside a number, and
 * marked with '>'. */
#include "config.h"

#include "view_procs.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "keys.h"
#include "out_procs.h"
#include "screen.h"

#define POLL_S     0.25 /* a tree's poll for new children between refreshes */
#define WAIT_MAX_S 0.5  /* longest wait for a key, so that signals are seen soon */

/* One line at row y: whole if it fits, else up to its last space that does, and '>'. */
static void put_line(int y, const char *s, size_t len)
{
    size_t cols = COLS > 1 ? (size_t)COLS : 1;
    if (len > cols) {
        size_t cut = cols - 1;
        while (cut > 0 && s[cut] != ' ')
            cut--;
        mvaddnstr(y, 0, s, (int)cut);
        mvaddch(y, (int)cols - 1, '>');
    } else {
        mvaddnstr(y, 0, s, (int)len);
    }
}

static void draw(const char *text, size_t len, int *scroll, bool paused)
{
    int lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    int rows = LINES > 1 ? LINES - 1 : 1;
    if (*scroll > lines - rows) *scroll = lines - rows;
    if (*scroll < 0) *scroll = 0;
    erase();
    const char *p = text, *end = text + len;
    for (int n = 0, y = 0; p < end && y < rows; n++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (n >= *scroll) put_line(y++, p, l);
        p += l + 1;
    }
    attron(A_REVERSE);
    mvprintw(rows, 0, "%s rows %d-%d of %d | q quit  space pause  Up/Down PgUp/PgDn scroll",
             paused ? "[paused]" : "", *scroll + 1, *scroll + rows < lines ? *scroll + rows : lines,
             lines);
    attroff(A_REVERSE);
    refresh();
}

/* Keys: false to quit. */
static bool key(int ch, int *scroll, bool *paused)
{
    int page = LINES > 2 ? LINES - 2 : 1;
    switch (hs_key_action(ch)) {
    case HS_KEY_QUIT:
        return false;
    case HS_KEY_PAUSE:
        *paused = !*paused;
        break;
    case HS_KEY_UP:
        (*scroll)--;
        break;
    case HS_KEY_DOWN:
        (*scroll)++;
        break;
    case HS_KEY_PAGE_UP:
        *scroll -= page;
        break;
    case HS_KEY_PAGE_DOWN:
        *scroll += page;
        break;
    case HS_KEY_TOP:
        *scroll = 0;
        break;
    case HS_KEY_BOTTOM:
        *scroll = 1 << 30;
        break;
    case HS_KEY_REDRAW:
        clearok(curscr, TRUE);
        break;
    default:
        break;
    }
    return true;
}

/* The group's text into `*text` (malloc'd), from a memory stream. */
static void render(const hs_group_t *g, const hs_opts_t *o, char **text, size_t *len)
{
    free(*text);
    *text = NULL;
    *len = 0;
    FILE *f = open_memstream(text, len);
    if (f == NULL) return;
    out_procs_text(f, g, o);
    if (!hs_group_alive(g)) fputs("(every process of the group exited: q quits)\n", f);
    fclose(f);
}

int view_procs_run(hs_group_t *g, const hs_opts_t *o)
{
    SCREEN *screen = hs_screen_open();
    if (screen == NULL) return HS_ERR_SYSTEM;
    char *text = NULL;
    size_t len = 0;
    int scroll = 0;
    bool paused = false;
    double delay = o->delay > 0 ? o->delay : 1, next = 0, poll = 0;
    long shown = 0;
    while (!hs_screen_stop) {
        double now = hs_mono();
        bool live = hs_group_alive(g) && !paused;
        if (o->count > 0 && shown >= o->count && now >= next) break;
        if (live && now >= next) {
            hs_group_refresh(g);
            render(g, o, &text, &len);
            shown++;
            next = now + delay;
            poll = now + POLL_S;
        } else if (live && g->tree && now >= poll) {
            hs_group_discover(g);
            poll = now + POLL_S;
        }
        draw(text ? text : "", len, &scroll, paused);
        double wait = live ? fmin(fmin(next, poll) - hs_mono(), WAIT_MAX_S) : WAIT_MAX_S;
        timeout(wait > 0 ? (int)ceil(wait * 1000) : 0);
        int ch = getch();
        if (ch != ERR && !key(ch, &scroll, &paused)) break;
    }
    hs_screen_close(screen);
    free(text);
    return HS_OK;
}
