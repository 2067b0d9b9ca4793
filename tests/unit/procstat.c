/* procstat.c (unit): hk_stats_parse_proc_stat, which both the segment's writer and
 * hakstat use for the start time a header names. Checked against /proc itself (this
 * process, and a child before and after it dies), against command names built to
 * mislead a parser (spaces, parentheses, a fake field list), and on truncated text,
 * which must be refused rather than read as a start time. */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hakmem_stats.h"

#include "../tap.h"

static int read_text(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) return -1;
    size_t n = fread(buf, 1, len - 1, f);
    fclose(f);
    buf[n] = '\0';
    return (int)n;
}

/* Fields 3, 4 and 22 of a stat line, another way: the words after the last ')'. */
static int fields_by_words(const char *text, hk_proc_stat_t *out)
{
    const char *p = strrchr(text, ')');
    if (p == NULL) return -1;
    char copy[1024], *save;
    snprintf(copy, sizeof(copy), "%s", p + 1);
    int field = 3;
    for (char *w = strtok_r(copy, " \n", &save); w; w = strtok_r(NULL, " \n", &save), field++) {
        if (field == 3) out->state = w[0];
        if (field == 4) out->ppid = strtoll(w, NULL, 10);
        if (field == 22) {
            out->start_time = strtoull(w, NULL, 10);
            return 0;
        }
    }
    return -1;
}

static void check_pid(pid_t pid, char want_state, const char *what)
{
    char path[64], text[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    hk_proc_stat_t got = {0}, want = {0};
    int n = read_text(path, text, sizeof(text));
    tap_ok(n > 0 && hk_stats_parse_proc_stat(text, &got) == 0 && fields_by_words(text, &want) == 0,
           "%s: parsed", what);
    TAP_EQ_U64(got.start_time, want.start_time, "%s: start time", what);
    TAP_EQ_I64(got.ppid, want.ppid, "%s: parent", what);
    tap_ok(got.state == want_state, "%s: state '%c' (want '%c')", what, got.state, want_state);
}

/* Waits, up to about five seconds, until pid's state is want: a child that has written
 * to its pipe may not yet be inside pause() on a loaded machine. */
static void wait_for_state(pid_t pid, char want)
{
    char path[64], text[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    for (int i = 0; i < 500; i++) {
        hk_proc_stat_t st;
        if (read_text(path, text, sizeof(text)) > 0 && hk_stats_parse_proc_stat(text, &st) == 0 &&
            st.state == want)
            return;
        usleep(10000);
    }
}

int main(void)
{
    tap_plan(16);
    check_pid(getpid(), 'R', "this process");

    /* A child named to mislead: "x) Z 1 (y" as its comm. Alive it sleeps; dead and not
     * yet reaped it is a zombie, with the same start time. */
    int ready[2];
    if (pipe(ready) != 0) return 1;
    pid_t child = fork();
    if (child == 0) {
        prctl(PR_SET_NAME, "x) Z 1 (y");
        (void)!write(ready[1], "", 1);
        pause();
        _exit(0);
    }
    char c;
    (void)!read(ready[0], &c, 1);
    wait_for_state(child, 'S'); /* into pause() */
    check_pid(child, 'S', "a sleeping child named \"x) Z 1 (y\"");
    kill(child, SIGKILL);
    siginfo_t si;
    waitid(P_PID, (id_t)child, &si, WEXITED | WNOWAIT);
    check_pid(child, 'Z', "the same child, dead, not reaped");
    waitpid(child, NULL, 0);

    hk_proc_stat_t st;
    const char *full = "42 (a (b) c) S 7 42 42 0 -1 4194560 1 0 0 0 3 4 0 0 20 0 1 0 123456 "
                       "1000 50 18446744073709551615";
    tap_ok(hk_stats_parse_proc_stat(full, &st) == 0 && st.state == 'S' && st.ppid == 7 &&
               st.start_time == 123456,
           "a command with nested parentheses: fields counted from the last ')'");
    char cut[256];
    snprintf(cut, sizeof(cut), "%.*s", (int)(strstr(full, "123456") - full), full);
    tap_ok(hk_stats_parse_proc_stat(cut, &st) < 0, "text cut before field 22 is refused");
    tap_ok(hk_stats_parse_proc_stat("42 (no close paren S 7", &st) < 0,
           "text without ')' is refused");
    tap_ok(hk_stats_parse_proc_stat("", &st) < 0, "empty text is refused");
    return tap_done();
}
