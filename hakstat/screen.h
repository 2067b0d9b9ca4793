/* screen.h: what hakstat's two screens (view.c for one process, view_procs.c for a
 * group) share: the terminal, opened and closed the same way, and the signals that end
 * their loops. Key bindings are in keys.h. */
#ifndef HS_SCREEN_H
#define HS_SCREEN_H

#include <signal.h>

#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1
#endif
#include <curses.h>

/* Install handler for SIGINT, SIGTERM and SIGHUP, with sa_flags flags. Without
 * SA_RESTART a blocked call (a sleep, a write to a full pipe) returns EINTR at once;
 * with SA_RESETHAND a second signal kills outright, whatever the loop is doing. Both
 * the screens and main.c's batch loops use it. */
void hs_catch_signals(void (*handler)(int), int flags);

/* Set by SIGINT, SIGTERM and SIGHUP once hs_screen_open has run: the loop ends. */
extern volatile sig_atomic_t hs_screen_stop;

/* The user's locale, the signal handlers (before curses, which then leaves those
 * signals alone), then a curses screen on stdout: keys unbuffered and unechoed, the
 * keypad decoded, no cursor. NULL, with the reason on stderr, when the terminal type
 * cannot be used. */
SCREEN *hs_screen_open(void);
/* Give the terminal back its modes and contents. */
void hs_screen_close(SCREEN *screen);

#endif /* HS_SCREEN_H */
