#!/bin/sh
# docs.sh: what a newcomer reads. The README and man pages never use "seed" for the
# project's origin (they name the Larson shape or the report format), never show a bare
# LD_PRELOAD=libhakmem.so before a command, say how to reach the installed library
# (ldconfig or a full path) and tell Python users about PYTHONMALLOC=malloc; hakstat's
# --help says -b prints a block; the -o and -s errors list the valid values, a bad
# HAKMEM_STATS the accepted ones; hakstat(1) says what a stream is; the main job ends
# with a verdict, and the screen ended by -n leaves its last frame on the terminal (in
# tmux).
#
# Environment (exported by `make check`): abs_top_builddir, abs_top_srcdir, HAKMEM_SO.

set -u

: "${abs_top_builddir:?run through make check}"
: "${abs_top_srcdir:?run through make check}"
HK_TIMEOUT=${HK_TIMEOUT:-60}
. "$abs_top_srcdir/tests/preload/lib.sh"

tap_plan 11
require grep

readme=$abs_top_srcdir/README.md
man3=$abs_top_builddir/man/hakmem.3
man1=$abs_top_builddir/man/hakstat.1
hakstat=$abs_top_builddir/hakstat/hakstat
larson=$abs_top_builddir/bench/larson

# "seed" as a random generator's seed (the SEED argument, seed=) is what it says.
seeds=$(grep -in 'seed' "$readme" "$man3" "$man1" | grep -v 'SEED\|seed=')
[ -x "$larson" ] && seeds="$seeds$("$larson" -h 2>&1 | grep -i 'seed' | grep -v 'SEED')"
check_eq "README, man pages and larson's usage say what they mean, never 'the seed'" "" "$seeds"

bare=$(grep -n 'LD_PRELOAD=libhakmem\.so[^,.]*[[:space:]][^[:space:]]' "$readme" "$man3" "$man1" |
    grep -v 'bare')
check_eq "no example runs a command with a bare LD_PRELOAD=libhakmem.so" "" "$bare"

if grep -q 'ldconfig' "$readme" && grep -q 'LD_PRELOAD=/usr/local/lib/libhakmem.so' "$readme" &&
    grep -q 'ldconfig' "$man3"; then
    ok "README and hakmem(3) say how to reach the installed library: ldconfig or its full path"
else
    not_ok "README and hakmem(3) mention ldconfig and the full path"
fi
check "hakmem(3) tells Python users about PYTHONMALLOC=malloc" grep -q 'PYTHONMALLOC=malloc' "$man3"

check_contains "hakstat --help: -b prints a block of text" "print a text block per interval" \
    "$("$hakstat" --help)"
err=$("$hakstat" -p 1 -o nope 2>&1)
check_contains "-o nope lists the formats" "(screen, text, json, openmetrics, prometheus, folded)" "$err"
err=$("$hakstat" -p 1 -s nope 2>&1)
check_contains "-s nope lists the columns of the view" "(TID, NAME, MALLOC" "$err"
err=$(HAKMEM_STATS=maybe LD_PRELOAD=$HAKMEM_SO sh -c : 2>&1)
check_contains "HAKMEM_STATS=maybe lists what it accepts" \
    "expected 1, yes, on, true, 0, no, off or false" "$err"
check "hakstat(1) says what a stream is" grep -q 'A stream' "$man1"

# The main job runs from the source tree, as the README's command does; a VPATH build
# (make check-variants) has no build there.
if [ "$(cd "$abs_top_srcdir" && pwd -P)" = "$(cd "$abs_top_builddir" && pwd -P)" ] &&
    [ -x "$larson" ]; then
    timeout "$HK_TIMEOUT" "$abs_top_srcdir/scripts/main-job" 1 8 128 256 1 12345 1 \
        >"$HK_TMP/job.out" 2>&1 </dev/null
    last=$(tail -1 "$HK_TMP/job.out")
    case $last in
    "verdict: PASS: "* | "verdict: FAIL: "*) ok "the main job ends with its verdict: $last" ;;
    *) not_ok "the main job ends with a verdict line"; diag "$(tail -5 "$HK_TMP/job.out")" ;;
    esac
else
    ok "# SKIP the main job runs in a build in the source tree only"
fi
# The screen, ended by -n, leaves its last frame on the terminal.
helper=$abs_top_builddir/tests/hakstat/workload-helper
sock=hk-docs-$$
cleanup() {
    tmux -L "$sock" kill-server >/dev/null 2>&1
    exec 5>&-
    [ -n "${W:-}" ] && kill -KILL "$W" 2>/dev/null && wait "$W" 2>/dev/null
    rm -rf "$HK_TMP"
}
trap cleanup EXIT
if command -v tmux >/dev/null 2>&1 && [ -x "$helper" ]; then
    HAKMEM_STATS_DIR=$HK_TMP/shm
    export HAKMEM_STATS_DIR
    mkdir -m 755 "$HAKMEM_STATS_DIR" && mkfifo "$HK_TMP/w.in"
    "$helper" 2 120 <"$HK_TMP/w.in" >"$HK_TMP/w.out" 2>&1 &
    W=$!
    exec 5>"$HK_TMP/w.in"
    i=0
    while [ "$i" -lt $((HK_TIMEOUT * 10)) ] && ! grep -q ready "$HK_TMP/w.out"; do
        sleep 0.1
        i=$((i + 1))
    done
    tmux -L "$sock" -f /dev/null new-session -d -x 110 -y 30 \
        "$hakstat -p $W -n 2 -d 0.2; echo hakstat-ended-\$?; sleep 600" 5>&-
    i=0
    while [ "$i" -lt $((HK_TIMEOUT * 10)) ]; do
        tmux -L "$sock" capture-pane -p >"$HK_TMP/pane" 2>/dev/null
        grep -q hakstat-ended "$HK_TMP/pane" && break
        sleep 0.1
        i=$((i + 1))
    done
    if grep -q '^hakstat-ended-0' "$HK_TMP/pane" && grep -q '^fast path: coverage' "$HK_TMP/pane" &&
        grep -q 'hk-worker-1' "$HK_TMP/pane"; then
        ok "the screen ended by -n 2 leaves its last frame on the terminal"
    else
        not_ok "the screen ended by -n 2 leaves its last frame on the terminal"
        diag "$(cat "$HK_TMP/pane")"
    fi
else
    ok "# SKIP no tmux or no workload-helper"
fi
tap_done
