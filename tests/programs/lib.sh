# lib.sh: helpers of the real-program corpus, sourced (never run) by each
# tests/programs/*.sh, on top of tests/preload/lib.sh (TAP, require, HK_TMP).
#
# A corpus test runs its workload once per setting, in this order:
#   glibc      no preload: the system allocator, for comparison
#   default    LD_PRELOAD=libhakmem.so with its defaults (stats segment on)
#   stats-off  ... with HAKMEM_STATS=0
#   profile    ... with HAKMEM_TINY_PROFILE=1 (every call timed, reports at exit)
#   sites      ... with HAKMEM_SITE_SAMPLE=256 (dense allocation-site sampling)
# Every check is one TAP result per setting, named "[setting] what", so the log of a
# test reads as its row of the table "program x setting". The test's body is a shell
# function called once per setting with $setting set; it must run the same checks every
# time, whatever fails, so the plan holds.
#
# Environment: HAKMEM_SO (exported by make), HK_TIMEOUT (seconds per command, default
# 120 here).

HK_TIMEOUT=${HK_TIMEOUT:-120}
. "$abs_top_srcdir/tests/preload/lib.sh"

# Settings under test; the caller's own HAKMEM_* variables would blur them.
HK_SETTINGS="glibc default stats-off profile sites"
HK_NSETTINGS=5
for hk_var in $(env | sed -n 's/^\(HAKMEM_[A-Z_]*\)=.*/\1/p'); do
    [ "$hk_var" = HAKMEM_SO ] || unset "$hk_var"
done
unset LD_PRELOAD
setting=setup
LC_ALL=C
export LC_ALL

# Results carry the setting in their name.
ok() {
    tap_run=$((tap_run + 1))
    echo "ok $tap_run - [$setting] $*"
}

not_ok() {
    tap_run=$((tap_run + 1))
    tap_failed=$((tap_failed + 1))
    echo "not ok $tap_run - [$setting] $*"
}

# corpus_plan N: the body makes N checks per setting; the profile setting adds one more
# (the exit reports were printed, so the preload really took effect), unless the test
# set HK_REPORT_CHECK=0 first because its programs close standard error before they
# exit (coreutils' close_stdout does, in an atexit handler that runs before hakmem's).
HK_REPORT_CHECK=1
corpus_plan() {
    tap_plan $(($1 * HK_NSETTINGS + HK_REPORT_CHECK))
}

# A copy of the library any user can read, for servers run as an unprivileged user
# (the build tree may not be readable to them). HK_TMP itself becomes traversable.
chmod 711 "$HK_TMP"
HK_SO=$HK_TMP/libhakmem.so
[ -r "${HAKMEM_SO:-}" ] && cp "$HAKMEM_SO" "$HK_SO" && chmod 644 "$HK_SO"

# hk_env: NAME=VALUE words that make up $setting, for env(1).
hk_env() {
    case $setting in
    glibc | setup) ;;
    default) echo "LD_PRELOAD=$HK_SO" ;;
    stats-off) echo "LD_PRELOAD=$HK_SO HAKMEM_STATS=0" ;;
    profile) echo "LD_PRELOAD=$HK_SO HAKMEM_TINY_PROFILE=1" ;;
    sites) echo "LD_PRELOAD=$HK_SO HAKMEM_SITE_SAMPLE=256" ;;
    *)
        echo "lib.sh: unknown setting $setting" >&2
        return 1
        ;;
    esac
}

# HK_AS: a command prefix that runs as another user (see as_unprivileged), or empty.
HK_AS=
HK_REPORTS=$HK_TMP/.hk-reports

# hk_filter_stderr FILE: copy FILE to stderr, less the lines of hakmem's exit reports
# (which go to HK_REPORTS), so callers may capture 2>&1 and compare it.
hk_filter_stderr() {
    grep -E '^\[(MALLOC|FREE|REFILL|REMOTE)\] count=' "$1" >>"$HK_REPORTS"
    grep -vE '^\[(MALLOC|FREE|REFILL|REMOTE)\] count=' "$1" >&2
    return 0
}

# run CMD...: CMD under $setting (and $HK_AS), under the timeout. Its standard output is
# untouched; its standard error is passed on without hakmem's exit reports. A loader
# that refuses the library fails the command (status 126); a timeout is 124.
run() {
    hk_err=$HK_TMP/.hk-run.stderr
    hk_status=0
    # shellcheck disable=SC2046,SC2086
    timeout -k 5 "$HK_TIMEOUT" $HK_AS env $(hk_env) "$@" 2>"$hk_err" || hk_status=$?
    if grep -q 'cannot be preloaded' "$hk_err"; then
        diag "the loader refused $HK_SO:" "$(cat "$hk_err")" >&2
        hk_status=126
    fi
    # On standard error: a caller may be capturing the output.
    [ "$hk_status" -ne 124 ] || diag "timed out after $HK_TIMEOUT s: $*" >&2
    [ "$hk_status" -lt 128 ] || diag "killed by signal $((hk_status - 128)): $*" >&2
    hk_filter_stderr "$hk_err"
    return "$hk_status"
}

# Background processes (servers) started by start_bg, ended on every way out.
HK_BG_PIDS=
HK_CLEANUPS=

# start_bg LOG CMD...: start CMD under $setting in the background, standard output and
# error to LOG, bounded by the timeout; its pid (that of timeout(1)) is in $bg_pid.
start_bg() {
    hk_log=$1
    shift
    # shellcheck disable=SC2046,SC2086
    timeout -k 5 "$HK_TIMEOUT" $HK_AS env $(hk_env) "$@" >"$hk_log" 2>&1 &
    bg_pid=$!
    HK_BG_PIDS="$HK_BG_PIDS $bg_pid"
}

# wait_bg PID: wait for a process started by start_bg to exit (its timeout bounds the
# wait); returns its exit status.
wait_bg() {
    hk_st=0
    wait "$1" || hk_st=$?
    HK_BG_PIDS=$(echo "$HK_BG_PIDS" | sed "s/ $1\b//")
    return $hk_st
}

# stop_bg PID: end a process started by start_bg (TERM; timeout(1) sends KILL 5 s later)
# and collect it; returns its exit status.
stop_bg() {
    kill "$1" 2>/dev/null
    hk_n=0
    while kill -0 "$1" 2>/dev/null && [ $hk_n -lt 100 ]; do
        sleep 0.1
        hk_n=$((hk_n + 1))
    done
    kill -9 "$1" 2>/dev/null
    wait_bg "$1"
}

# on_cleanup CMD: run the shell command CMD on the way out (servers that daemonise).
on_cleanup() {
    HK_CLEANUPS="$HK_CLEANUPS
$1"
}

# A TERM to timeout(1) reaches its command, and a KILL follows 5 s later if needed, so
# waiting for timeout to end is waiting for the command to end.
hk_cleanup() {
    eval "$HK_CLEANUPS" >/dev/null 2>&1
    for hk_pid in $HK_BG_PIDS; do
        stop_bg "$hk_pid"
    done
    rm -rf "$HK_TMP"
}
trap hk_cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# wait_for SECONDS CMD...: poll CMD every 0.1 s until it succeeds; fails at the limit.
wait_for() {
    hk_tries=$(($1 * 10))
    shift
    while ! "$@" >/dev/null 2>&1; do
        hk_tries=$((hk_tries - 1))
        [ $hk_tries -gt 0 ] || return 1
        sleep 0.1
    done
}

# maps_allocator PID: "hakmem" when libhakmem is mapped into process PID, else "glibc"
# (or "no process" when there is no such process to look at).
maps_allocator() {
    if [ -z "$1" ] || ! [ -r "/proc/$1/maps" ]; then
        echo "no process '$1'"
    elif grep -q 'libhakmem' "/proc/$1/maps"; then
        echo hakmem
    else
        echo glibc
    fi
}

# expected_allocator: what maps_allocator must say under $setting.
expected_allocator() {
    if [ "$setting" = glibc ]; then echo glibc; else echo hakmem; fi
}

# segment_summary PID: what hakstat, run from outside, reads in the stats segment of the
# live process PID: "none" when it finds no segment; else "malloc" when its mallocs are
# counted and, under the sites setting, " sites" when sampled sites carry function names.
HK_HAKSTAT=$abs_top_builddir/hakstat/hakstat
segment_summary() {
    if [ -z "$1" ] || ! kill -0 "$1" 2>/dev/null; then
        echo "no process '$1'"
        return 0
    fi
    hk_json=$(plain "$HK_HAKSTAT" -p "$1" -j 2>/dev/null) || {
        echo none
        return 0
    }
    printf '%s\n' "$hk_json" | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
out = "malloc" if d["totals"]["malloc"] > 0 else "no mallocs"
if sys.argv[1] == "sites":
    out += " sites" if any(s.get("function") for s in d["sites"]) else " no named sites"
print(out)' "$setting"
}

# expected_segment: what segment_summary must say under $setting.
expected_segment() {
    case $setting in
    glibc | stats-off) echo none ;;
    sites) echo "malloc sites" ;;
    *) echo malloc ;;
    esac
}

# as_unprivileged: when run as root, make run/start_bg switch to the user nobody (the
# servers refuse root or should not have it) and give it HK_TMP/u, its work dir.
HK_WORK=$HK_TMP/u
as_unprivileged() {
    mkdir -p "$HK_WORK"
    if [ "$(id -u)" -eq 0 ]; then
        command -v setpriv >/dev/null 2>&1 || fail_rest "required program not installed: setpriv"
        chown nobody:nogroup "$HK_WORK"
        HK_AS="setpriv --reuid=nobody --regid=nogroup --clear-groups"
    fi
}

# sha FILE: its SHA-256 in hex.
sha() {
    sha256sum "$1" | cut -d' ' -f1
}

# corpus_run BODY: call the shell function BODY once per setting, then check that the
# profiled runs printed hakmem's exit reports.
corpus_run() {
    for setting in $HK_SETTINGS; do
        : >"$HK_REPORTS"
        "$1"
        if [ "$setting" = profile ] && [ "$HK_REPORT_CHECK" -eq 1 ]; then
            hk_reports=$(grep -c '^\[MALLOC\] count=[1-9]' "$HK_REPORTS")
            check "the profiled programs printed hakmem's exit report ($hk_reports reports)" \
                test "$hk_reports" -gt 0
        fi
    done
    setting=done
}
