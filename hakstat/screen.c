/* screen.c: the terminal and the key table shared by hakstat's screens (screen.h,
 * keys.h). */
#include "config.h"

#include "screen.h"

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"

volatile sig_atomic_t hs_screen_stop;

const hs_key_t hs_keys[HS_KEY_NONE] = {
#define HS_KEY_ROW(action, key, key2, label, help) {HS_KEY_##action, key, key2, label, help},
    HS_KEYS(HS_KEY_ROW)
#undef HS_KEY_ROW
};

enum hs_key_action hs_key_action(int ch)
{
    for (int i = 0; i < HS_KEY_NONE; i++)
        if (ch == hs_keys[i].key || (hs_keys[i].key2 != 0 && ch == hs_keys[i].key2))
            return hs_keys[i].action;
    return HS_KEY_NONE;
}

void hs_catch_signals(void (*handler)(int), int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = handler;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

static void on_signal(int sig)
{
    (void)sig;
    hs_screen_stop = 1;
}

SCREEN *hs_screen_open(void)
{
    setlocale(LC_ALL, "");
    hs_catch_signals(on_signal, 0);

    SCREEN *screen = newterm(NULL, stdout, stdin);
    if (screen == NULL) {
        const char *term = getenv("TERM");
        fprintf(stderr, "hakstat: cannot use terminal type \"%s\"\n", term ? term : "");
        return NULL;
    }
    set_term(screen);
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    set_escdelay(50); /* Escape (which leaves the d prompt) is not kept waiting */
    curs_set(0);
    return screen;
}

void hs_screen_close(SCREEN *screen)
{
    endwin();
    delscreen(screen);
}
