#!/bin/sh
# screen.sh: hakstat's interactive screen, driven inside tmux. A workload-helper runs
# with four named threads; hakstat watches it in a detached tmux session of a fixed
# size; the test sends keys and reads the pane back as text.
#
# Checked at 120x40 (UTF-8 locale when there is one) and at 80x24 (C locale): the
# summary names the command and its pid, the threads view lists the worker threads, the
# sparkline is drawn, the classes view has the 64-byte class, '>' moves the sort marker,
# 'h' lists every key of hakstat/keys.h, and 'q' exits with status 0. Then: d (type a
# refresh interval) and P (ask for profiling), a resize to 30x8 and back, a start in a
# 30x8 terminal, and the watched process ending (normal exit and SIGKILL), which must
# leave the figures and an "exited" notice on screen; SIGTERM, SIGINT and SIGHUP end it
# within a second with status 0 and the terminal restored.
#
# Environment (exported by `make check`): abs_top_builddir, abs_top_srcdir.
# HK_TIMEOUT (optional): seconds to wait for any one screen, default 15.

set -u

: "${abs_top_builddir:?run through make check}"
: "${abs_top_srcdir:?run through make check}"
HK_TIMEOUT=${HK_TIMEOUT:-15}
hakstat=$abs_top_builddir/hakstat/hakstat
helper=$abs_top_builddir/tests/hakstat/workload-helper
keys_h=$abs_top_srcdir/hakstat/keys.h

ntests=30
n=0
failed=0
ok() {
    n=$((n + 1))
    echo "ok $n - $*"
}
not_ok() {
    n=$((n + 1))
    failed=$((failed + 1))
    echo "not ok $n - $*"
}
diag() {
    printf '%s\n' "$@" | sed 's/^/# /'
}

echo "1..$ntests"
if ! command -v tmux >/dev/null 2>&1; then
    not_ok "tmux is installed (scripts/install-deps installs it)"
    while [ "$n" -lt "$ntests" ]; do not_ok "skipped: no tmux"; done
    exit 1
fi

for prog in "$hakstat" "$helper"; do
    if [ ! -x "$prog" ]; then
        not_ok "$prog is built"
        while [ "$n" -lt "$ntests" ]; do not_ok "skipped: $prog missing"; done
        exit 1
    fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hakstat-screen.XXXXXX") || exit 1
sock=hakstat-test-$$
helper_pid=
cleanup() {
    tmux -L "$sock" kill-server >/dev/null 2>&1
    exec 7>&- 8>&-
    if [ -n "$helper_pid" ]; then
        kill -KILL "$helper_pid" 2>/dev/null
        wait "$helper_pid" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# Segments go to a private directory, so a killed helper leaves nothing in /dev/shm.
HAKMEM_STATS_DIR=$tmp/shm
export HAKMEM_STATS_DIR
mkdir "$tmp/shm"

# A UTF-8 locale for the first size, if the system has one; tmux itself runs in it too
# so that it reads block characters back as they were written.
utf8=
for l in C.UTF-8 C.utf8 en_US.UTF-8 en_US.utf8; do
    if locale -a 2>/dev/null | grep -qx "$l"; then
        utf8=$l
        break
    fi
done
tmux_lc=${utf8:-C}

# No status bar (the pane gets the whole window); panes stay after their command exits,
# so what hakstat left on screen can still be read. The server stays up between sessions:
# a new-session sent while it exits after its last session was killed would fail.
cat >"$tmp/tmux.conf" <<'EOF'
set -s exit-empty off
set -g status off
set -g remain-on-exit on
set -g default-terminal screen
set -g default-shell /bin/sh
EOF
# The FIFOs that keep the helpers running are held on fds 7 and 8: the tmux server
# must not inherit them, or closing them here would not end a helper.
tm() {
    LC_ALL=$tmux_lc tmux -L "$sock" -f "$tmp/tmux.conf" "$@" 7>&- 8>&-
}

# screen SESSION: the visible pane, as text.
screen() {
    tm capture-pane -p -t "$1" 2>/dev/null
}

# wait_for SESSION EXTENDED-REGEX: poll the pane until a line matches; 0 when one does.
# The last capture is left in $tmp/pane.
wait_for() {
    i=0
    while [ "$i" -lt $((HK_TIMEOUT * 5)) ]; do
        screen "$1" >"$tmp/pane"
        if grep -Eq -- "$2" "$tmp/pane"; then return 0; fi
        sleep 0.2
        i=$((i + 1))
    done
    return 1
}

# wait_dead SESSION: until hakstat has exited; prints its exit status. The pane's
# shell writes it to a file: tmux 3.3 does not always report #{pane_dead_status}.
wait_dead() {
    i=0
    while [ "$i" -lt $((HK_TIMEOUT * 5)) ]; do
        if [ -s "$tmp/status.$1" ]; then
            cat "$tmp/status.$1"
            return 0
        fi
        sleep 0.2
        i=$((i + 1))
    done
    echo "still running"
    return 1
}

# start_session NAME WIDTH HEIGHT LOCALE PID: hakstat -p PID in a new detached session;
# its exit status goes to $tmp/status.NAME.
start_session() {
    rm -f "$tmp/status.$1"
    tm new-session -d -s "$1" -x "$2" -y "$3" \
        "env LC_ALL=$4 HAKMEM_STATS_DIR='$HAKMEM_STATS_DIR' '$hakstat' -p $5 -d 0.3; echo \$? >'$tmp/status.$1'"
}

# start_helper FD: a workload-helper whose stdin is a FIFO held open on FD; sets
# helper_pid and helper_comm. The libtool wrapper execs the real program, so $! stays
# its pid.
start_helper() {
    rm -f "$tmp/fifo" "$tmp/helper.out"
    mkfifo "$tmp/fifo" || return 1
    "$helper" 4 120 <"$tmp/fifo" >"$tmp/helper.out" 2>&1 7>&- 8>&- &
    helper_pid=$!
    eval "exec $1>\"\$tmp/fifo\""
    i=0
    while [ "$i" -lt $((HK_TIMEOUT * 5)) ]; do
        grep -q ready "$tmp/helper.out" 2>/dev/null && break
        sleep 0.2
        i=$((i + 1))
    done
    helper_comm=$(cat "/proc/$helper_pid/comm" 2>/dev/null)
    grep -q ready "$tmp/helper.out" 2>/dev/null
}

# Every help text of keys.h: the last string of each X(...) entry.
key_helps() {
    sed -n 's/^ *X([A-Z_]*,.*, *"\([^"]*\)") *\\* *$/\1/p' "$keys_h"
}

# Name of the column carrying the sort marker in the heading of $tmp/pane.
sort_marker() {
    grep -Eo -- '(▼|▲|v|\^)[A-Z][A-Z_%]*' "$tmp/pane" | head -1 | sed 's/^\(▼\|▲\|v\|\^\)//'
}

if start_helper 7 && case $helper_comm in *workload*) true ;; *) false ;; esac; then
    ok "workload-helper $helper_pid ($helper_comm) did its known work"
else
    not_ok "workload-helper did its known work"
    diag "comm: '$helper_comm'" "$(cat "$tmp/helper.out" 2>/dev/null)"
fi

# --- the same checks at two sizes ---------------------------------------------------
check_size() {
    w=$1 h=$2 lc=$3
    s=s${w}x$h
    at="${w}x$h, LC_ALL=$lc"
    start_session "$s" "$w" "$h" "$lc" "$helper_pid"

    if wait_for "$s" "hk-worker-3" && grep -q "$helper_comm" "$tmp/pane" &&
        grep -Eqi "pid $helper_pid" "$tmp/pane"; then
        ok "$at: summary names $helper_comm and pid $helper_pid"
    else
        not_ok "$at: summary names $helper_comm and pid $helper_pid"
        diag "$(cat "$tmp/pane")"
    fi

    # the pane may be caught half drawn: wait until every row is there
    i=0
    while :; do
        missing=
        for t in 0 1 2 3; do
            grep -q "hk-worker-$t" "$tmp/pane" || missing="$missing hk-worker-$t"
        done
        [ -z "$missing" ] || [ "$i" -ge $((HK_TIMEOUT * 5)) ] && break
        sleep 0.2
        screen "$s" >"$tmp/pane"
        i=$((i + 1))
    done
    if [ -z "$missing" ] && grep -Eq 'NAME' "$tmp/pane"; then
        ok "$at: threads view lists hk-worker-0 to hk-worker-3"
    else
        not_ok "$at: threads view lists hk-worker-0 to hk-worker-3 (missing:$missing)"
        diag "$(cat "$tmp/pane")"
    fi

    # the sparkline gets a value per interval: wait for a few
    if [ "$lc" = C ]; then spark='ops/s .*[_.=#-]{3}'; else spark='ops/s .*(▁|▂|▃|▄|▅|▆|▇|█){3}'; fi
    if wait_for "$s" "$spark"; then
        ok "$at: ops/s sparkline drawn"
    else
        not_ok "$at: ops/s sparkline drawn"
        diag "$(grep 'ops/s' "$tmp/pane")"
    fi

    tm send-keys -t "$s" -l 2
    if wait_for "$s" '^ *[0-9]+ +64 ' && grep -q SIZE "$tmp/pane"; then
        ok "$at: key 2 shows the classes view with the 64-byte class"
    else
        not_ok "$at: key 2 shows the classes view with the 64-byte class"
        diag "$(cat "$tmp/pane")"
    fi

    before=$(sort_marker)
    tm send-keys -t "$s" -l '>'
    after=$before
    i=0
    while [ "$i" -lt $((HK_TIMEOUT * 5)) ] && [ "$after" = "$before" ]; do
        sleep 0.2
        screen "$s" >"$tmp/pane"
        after=$(sort_marker)
        i=$((i + 1))
    done
    if [ -n "$before" ] && [ -n "$after" ] && [ "$before" != "$after" ] &&
        grep -q "sort $after" "$tmp/pane"; then
        ok "$at: '>' moves the sort marker ($before to $after)"
    else
        not_ok "$at: '>' moves the sort marker ('$before' to '$after')"
        diag "$(cat "$tmp/pane")"
    fi

    # help: page through it when it does not fit, then any other key closes it. A page
    # is read once its footer (the last line drawn) is there, and after PgDn once the
    # footer names other lines: a capture taken mid-draw holds only the top of a page.
    tm send-keys -t "$s" -l h
    wait_for "$s" "any other key returns|press any key to return"
    cp "$tmp/pane" "$tmp/help"
    for _ in 1 2 3 4 5; do
        range=$(grep -o 'lines [0-9]*-[0-9]* of [0-9]*' "$tmp/pane") || break # one page
        last=${range#*-}
        [ "${last% of *}" -lt "${range##* }" ] || break
        tm send-keys -t "$s" NPage
        i=0
        while [ "$i" -lt $((HK_TIMEOUT * 5)) ]; do
            sleep 0.2
            screen "$s" >"$tmp/pane"
            now=$(grep -o 'lines [0-9]*-[0-9]* of [0-9]*' "$tmp/pane") && [ "$now" != "$range" ] &&
                break
            i=$((i + 1))
        done
        cat "$tmp/pane" >>"$tmp/help"
    done
    missing=
    key_helps >"$tmp/helps"
    while IFS= read -r text; do
        grep -qF -- "$text" "$tmp/help" || missing="$missing [$text]"
    done <"$tmp/helps"
    if [ -s "$tmp/helps" ] && [ -z "$missing" ]; then
        ok "$at: help lists all $(wc -l <"$tmp/helps") keys of keys.h"
    else
        not_ok "$at: help lists every key of keys.h (missing:$missing)"
        diag "$(cat "$tmp/help")"
    fi
    tm send-keys -t "$s" -l x
    wait_for "$s" 'SIZE'

    tm send-keys -t "$s" -l q
    st=$(wait_dead "$s")
    if [ "$st" = 0 ]; then
        ok "$at: q exits with status 0"
    else
        not_ok "$at: q exits with status 0 (got: $st)"
    fi
    tm kill-session -t "$s" 2>/dev/null
}

check_size 120 40 "${utf8:-C}"
check_size 80 24 C

# --- resize: down to 30x8 and back to 80x24 ------------------------------------------
start_session rs 100 30 C "$helper_pid"
wait_for rs 'hk-worker-0' >/dev/null
# d: type a refresh interval
tm send-keys -t rs -l d
wait_for rs 'refresh interval in seconds' >/dev/null
tm send-keys -t rs -l 2
tm send-keys -t rs Enter
if wait_for rs 'refresh every 2 s' && wait_for rs 'rate/s, 2s'; then
    ok "d 2 Enter sets a 2 s refresh interval"
else
    not_ok "d 2 Enter sets a 2 s refresh interval"
    diag "$(cat "$tmp/pane")"
fi
# P: ask for cycle profiling (idle workers may not take it up yet: check the request)
tm send-keys -t rs -l P
if wait_for rs 'to time 1 call in 256|not writable'; then
    ok "P asks the process for cycle profiling ($(grep -Eo 'asked.*256|not writable' "$tmp/pane"))"
else
    not_ok "P asks the process for cycle profiling"
    diag "$(cat "$tmp/pane")"
fi
tm resize-window -t rs -x 30 -y 8
if wait_for rs 'too small' && grep -q 'have 30x8' "$tmp/pane"; then
    ok "resize to 30x8: the screen says the terminal is too small"
else
    not_ok "resize to 30x8: the screen says the terminal is too small"
    diag "$(cat "$tmp/pane")"
fi
tm resize-window -t rs -x 80 -y 24
if wait_for rs 'hk-worker-0' && ! grep -q 'too small' "$tmp/pane" && grep -q 'NAME' "$tmp/pane"; then
    ok "resize back to 80x24: the screen is drawn again"
else
    not_ok "resize back to 80x24: the screen is drawn again"
    diag "$(cat "$tmp/pane")"
fi
tm send-keys -t rs -l q
st=$(wait_dead rs)
if [ "$st" = 0 ]; then ok "after resizing, q exits with status 0"; else not_ok "after resizing, q exits with status 0 (got: $st)"; fi
tm kill-session -t rs 2>/dev/null

# --- starting in a tiny terminal ----------------------------------------------------------
start_session tiny 30 8 C "$helper_pid"
if wait_for tiny 'too small' && grep -q 'need 60x10' "$tmp/pane"; then
    ok "30x8: only the too-small message is shown"
else
    not_ok "30x8: only the too-small message is shown"
    diag "$(cat "$tmp/pane")"
fi
tm send-keys -t tiny -l q
st=$(wait_dead tiny)
if [ "$st" = 0 ]; then ok "30x8: q exits with status 0"; else not_ok "30x8: q exits with status 0 (got: $st)"; fi
tm kill-session -t tiny 2>/dev/null

# --- signals end the screen promptly, with the terminal restored --------------------------
# The pane's shell runs `env ... hakstat`: env execs, so hakstat is the shell's child.
check_signal() {
    sig=$1
    start_session "sig$sig" 80 24 C "$helper_pid"
    wait_for "sig$sig" 'hk-worker-0' >/dev/null
    hpid=
    i=0
    while [ -z "$hpid" ] && [ "$i" -lt $((HK_TIMEOUT * 10)) ]; do
        shell=$(tm display -p -t "sig$sig" '#{pane_pid}')
        [ -n "$shell" ] && hpid=$(ps -o pid=,comm= --ppid "$shell" | awk '$2 == "hakstat" { print $1 }')
        [ -n "$hpid" ] || sleep 0.1
        i=$((i + 1))
    done
    t0=$(date +%s%N)
    [ -n "$hpid" ] && kill "-$sig" "$hpid"
    i=0
    while [ -n "$hpid" ] && [ -e "/proc/$hpid" ] && [ "$i" -lt 500 ]; do
        sleep 0.01
        i=$((i + 1))
    done
    ms=$((($(date +%s%N) - t0) / 1000000))
    st=$(wait_dead "sig$sig")
    screen "sig$sig" >"$tmp/pane"
    if [ -n "$hpid" ] && [ "$ms" -lt 1000 ] && [ "$st" = 0 ] && ! grep -q 'malloc/s' "$tmp/pane"; then
        ok "SIG$sig ends the screen in $ms ms with status 0, the terminal restored"
    else
        not_ok "SIG$sig ends the screen within 1 s with status 0, the terminal restored (pid '$hpid', $ms ms, status $st)"
        diag "$(cat "$tmp/pane")"
    fi
    tm kill-session -t "sig$sig" 2>/dev/null
}
for sig in TERM INT HUP; do check_signal "$sig"; done

# --- the watched process exits -----------------------------------------------------------
# check_exit HOW: HOW is "close" (end of the helper's stdin: a normal exit, the segment
# removed) or "kill" (SIGKILL: the segment stays behind, stale).
check_exit() {
    how=$1
    pid=$helper_pid
    start_session ex 80 24 C "$pid"
    wait_for ex 'hk-worker-0' >/dev/null
    if [ "$how" = close ]; then
        exec 7>&-
    else
        kill -KILL "$pid"
    fi
    # wait until it has ended (a zombie of ours counts), killing it if it does not,
    # then reap it so that /proc no longer shows it
    i=0
    while [ "$i" -lt $((HK_TIMEOUT * 5)) ]; do
        state=$(sed -n 's/.*) \(.\).*/\1/p' "/proc/$pid/stat" 2>/dev/null)
        if [ -z "$state" ] || [ "$state" = Z ]; then break; fi
        sleep 0.2
        i=$((i + 1))
    done
    [ -z "$state" ] || [ "$state" = Z ] || kill -KILL "$pid"
    wait "$pid"
    hst=$?
    helper_pid=
    if wait_for ex "process $pid \\($helper_comm\\) exited" && grep -q 'press q to quit' "$tmp/pane" &&
        grep -q 'malloc/s' "$tmp/pane"; then
        ok "$how: the screen keeps the figures and says process $pid exited"
    else
        not_ok "$how: the screen keeps the figures and says process $pid exited"
        diag "$(cat "$tmp/pane")"
    fi
    if [ "$how" = close ]; then
        if [ "$hst" = 0 ]; then ok "close: workload-helper exits with status 0"; else not_ok "close: workload-helper exits with status 0 (got $hst)"; fi
    fi
    tm send-keys -t ex -l q
    st=$(wait_dead ex)
    if [ "$st" = 0 ]; then ok "$how: q exits with status 0"; else not_ok "$how: q exits with status 0 (got: $st)"; fi
    tm kill-session -t ex 2>/dev/null
}

check_exit close
if start_helper 8; then
    check_exit kill
else
    not_ok "second workload-helper did its known work"
    not_ok "kill: skipped"
fi

[ "$n" -eq "$ntests" ] || diag "planned $ntests tests, ran $n"
[ "$failed" -eq 0 ] && [ "$n" -eq "$ntests" ]
