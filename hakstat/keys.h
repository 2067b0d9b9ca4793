/* keys.h: the screens' key bindings, once. The key lookup (hs_key_action in screen.c,
 * which both view.c and view_procs.c dispatch on), the help screen (h or ?) and the
 * INTERACTIVE COMMANDS section of hakstat(1) all follow this table.
 *
 * X(ACTION, key, other key or 0, label shown in help, help text)
 *
 * Keys are curses key codes: expand the table only where <curses.h> is included (the
 * KEY_* names come from there). Labels are what a user types, as the man page spells
 * them. */
#ifndef HS_KEYS_H
#define HS_KEYS_H

#define HS_KEYS(X)                                                                                 \
    X(QUIT, 'q', 'Q', "q", "quit (exit status 0)")                                                 \
    X(HELP, 'h', '?', "h ?", "show this help; any key closes it")                                  \
    X(PAUSE, ' ', 0, "space", "pause or resume sampling")                                          \
    X(VIEW_THREADS, '1', 't', "1 t", "threads view: one row per live thread")                      \
    X(VIEW_CLASSES, '2', 'c', "2 c", "size classes view: one row per size class")                  \
    X(VIEW_TOTALS, '3', 'T', "3 T", "totals view: one row per counter")                            \
    X(VIEW_SITES, '4', 's', "4 s", "sites view: one row per sampled allocation call site")         \
    X(VIEW_MEMORY, '5', 'm', "5 m", "memory view: slabs, live, cached and free blocks per class")  \
    X(VIEW_GROWTH, '6', 'L', "6 L", "growth view: sites by live bytes and growth, leaks first")    \
    X(VIEW_STACK, '7', 'D', "7 D", "stack view: every frame of each site's stack, growth order")   \
    X(VIEW_NEXT, '\t', 0, "Tab", "next view")                                                      \
    X(VIEW_PREV, KEY_BTAB, 0, "Shift-Tab", "previous view")                                        \
    X(SORT_PREV, '<', ',', "<", "sort by the column to the left")                                  \
    X(SORT_NEXT, '>', '.', ">", "sort by the column to the right")                                 \
    X(SORT_INVERT, 'r', 0, "r", "invert the sort order")                                           \
    X(RATES, 'a', 0, "a", "toggle rates per second and totals since start")                        \
    X(FASTER, '+', '=', "+", "refresh twice as often (down to 0.1 s)")                             \
    X(SLOWER, '-', 0, "-", "refresh half as often (up to 3600 s)")                                 \
    X(DELAY, 'd', 0, "d", "type a refresh interval in seconds")                                    \
    X(PROFILE, 'P', 0, "P", "switch cycle profiling on (1 call in 256) or off")                    \
    X(UP, KEY_UP, 'k', "Up k", "scroll up one row")                                                \
    X(DOWN, KEY_DOWN, 'j', "Down j", "scroll down one row")                                        \
    X(PAGE_UP, KEY_PPAGE, 0, "PgUp", "scroll up one page")                                         \
    X(PAGE_DOWN, KEY_NPAGE, 0, "PgDn", "scroll down one page")                                     \
    X(TOP, KEY_HOME, 'g', "Home g", "scroll to the first row")                                     \
    X(BOTTOM, KEY_END, 'G', "End G", "scroll to the last row")                                     \
    X(LEFT, KEY_LEFT, 0, "Left", "scroll the columns left (the first column stays)")               \
    X(RIGHT, KEY_RIGHT, 0, "Right", "scroll the columns right")                                    \
    X(REDRAW, 12, 0, "Ctrl-L", "redraw the screen")

#define HS_KEY_ENUM(action, key, key2, label, help) HS_KEY_##action,
enum hs_key_action { HS_KEYS(HS_KEY_ENUM) HS_KEY_NONE };
#undef HS_KEY_ENUM

/* One binding of the table, for lookups and help (screen.c holds the rows). */
typedef struct hs_key_s {
    enum hs_key_action action;
    int key, key2;
    const char *label, *help;
} hs_key_t;

extern const hs_key_t hs_keys[HS_KEY_NONE];

/* The action bound to curses key code ch, or HS_KEY_NONE. */
enum hs_key_action hs_key_action(int ch);

#endif /* HS_KEYS_H */
