#!/bin/sh
# hostile.sh: another local user against hakmem and hakstat (issue 10). The attacker is
# user nobody (65534, through setpriv); the victim is root, as in CI. Replayed:
#   spoofing: a forged segment at the victim's name in the attacker's directory, one for
#     a victim process that has no segment, a directory of the victim's name made by the
#     attacker, a symbolic link there, the victim's own directory opened up (mode 0755);
#   memory: a 1 GiB sparse file as a segment, for -p and for -l, and the largest valid
#     segment (4096 live slots, every site used), under an RSS bound;
#   start time: 50,000 names planted in the shared directory, and 50,000 stale files in
#     the victim's own directory, against a baseline (medians);
#   blocking: a mapped library replaced by a FIFO while hakstat watches, for root's
#     hakstat and the attacker's own; then SIGTERM must end it at once;
#   signals in every output mode; --gc and -l across users; the profiling control word
#     written only to the checked file, never through a planted link.
# Not root, there is no second user: the cases that need one are reported as SKIP (never
# as passes) and the rest run with this user as both sides. Measurements go to the log
# as diagnostics.
#
# Environment (exported by `make check`): abs_top_builddir, abs_top_srcdir, HAKMEM_SO.
# HK_TIMEOUT (optional): seconds allowed for any one command or wait, default 30.

set -u

: "${abs_top_builddir:?run through make check}"
: "${abs_top_srcdir:?run through make check}"
HK_TIMEOUT=${HK_TIMEOUT:-30}
. "$abs_top_srcdir/tests/preload/lib.sh"
require python3 setpriv script mkfifo truncate ps

hakstat=$abs_top_builddir/hakstat/hakstat
helper=$abs_top_builddir/tests/hakstat/workload-helper
fifo_helper=$abs_top_builddir/tests/security/.libs/fifo-helper
sitelib=$abs_top_builddir/tests/sites/.libs/libsitelib.so
hklibs=$abs_top_builddir/libhakmem/.libs
peak=$abs_top_builddir/tests/security/peak

RSS_BOUND_KIB=49152 # hakstat's peak RSS on any input (hakstat(1), SECURITY)
# AddressSanitizer's shadow memory and quarantine (the asan-hakstat build variant) add
# to every allocation: the bound is for hakstat as shipped, so it is scaled there.
if grep -q __asan_init "$hakstat" 2>/dev/null; then
    RSS_BOUND_KIB=$((RSS_BOUND_KIB * 4))
    diag "hakstat is built with AddressSanitizer: RSS bound scaled to $RSS_BOUND_KIB KiB"
fi
START_SLACK_MS=50   # what planted files may add to a start, at most
EXIT_BOUND_MS=1000  # from a signal to hakstat's exit

tap_plan 24

skip() {
    tap_run=$((tap_run + 1))
    echo "ok $tap_run # SKIP $*"
}

if [ "$(id -u)" = 0 ]; then
    root=true
    AUID=65534
    ATT="setpriv --reuid=$AUID --regid=$AUID --clear-groups" # run as the attacker
else
    root=false
    AUID=$(id -u)
    ATT=
    diag "not root: the cases that need a second user are skipped; CI runs them as root"
fi
VUID=$(id -u)
# A python3 the attacker can run (root's PATH may hold shims in root's home).
att_py=
for p in /usr/bin/python3 /usr/local/bin/python3 "$(command -v python3)"; do
    if [ -x "$p" ] && $ATT "$p" -c pass 2>/dev/null; then
        att_py=$p
        break
    fi
done
[ -n "$att_py" ] || fail_rest "no python3 that uid $AUID can run"

pids=
cleanup() {
    exec 5>&- 6>&- 7>&- 8>&-
    for p in $pids; do
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    rm -rf "$HK_TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# The shared base directory, like /dev/shm: everyone may write, sticky.
chmod 755 "$HK_TMP"
base=$HK_TMP/base
mkdir -m 1777 "$base"
HAKMEM_STATS_DIR=$base
export HAKMEM_STATS_DIR
# The programs, copied where the attacker may run them: the build tree may lie under a
# directory only root can enter (a clone in /root), and libtool's wrappers need it.
bin=$HK_TMP/bin
mkdir -m 755 "$bin"
for f in "$abs_top_builddir/tests/hakstat/.libs/workload-helper" \
    "$abs_top_builddir/tests/security/.libs/fifo-helper" \
    "$abs_top_builddir/tests/security/.libs/peak" "$hakstat" "$sitelib" "$hklibs"/libhakmem.so*; do
    cp -P "$f" "$bin/" || fail_rest "cannot copy $f for the attacker"
done
chmod -R a+rX "$bin"
helper=$bin/workload-helper fifo_helper=$bin/fifo-helper peak=$bin/peak
hakstat=$bin/hakstat sitelib=$bin/libsitelib.so hklibs=$bin
HAKMEM_SO=$bin/$(basename "$HAKMEM_SO")
LD_LIBRARY_PATH=$bin
export LD_LIBRARY_PATH
att=$HK_TMP/att # the attacker's own files
mkdir -m 755 "$att"
$root && chown "$AUID:$AUID" "$att"
out=$HK_TMP/out
err=$HK_TMP/err

cat >"$HK_TMP/tools.py" <<'EOF'
import os, resource, statistics, struct, subprocess, sys, time
cmd = sys.argv[1]
if cmd == "starts":  # starts N CMD...: median and minimum wall time of N runs, in ms
    n = int(sys.argv[2])
    times = []
    for _ in range(n):
        t = time.monotonic()
        subprocess.run(sys.argv[3:], check=True)
        times.append((time.monotonic() - t) * 1000)
    print("%.2f %.2f" % (statistics.median(times), min(times)))
elif cmd == "pairs":  # pairs N DIR_A DIR_B CMD...: CMD with HAKMEM_STATS_DIR=DIR_A, then
    # =DIR_B, N times in turn; the two medians in ms
    n, dirs, argv = int(sys.argv[2]), sys.argv[3:5], sys.argv[5:]
    times = ([], [])
    for _ in range(n):
        for k in (0, 1):
            env = dict(os.environ, HAKMEM_STATS_DIR=dirs[k])
            t = time.monotonic()
            subprocess.run(argv, check=True, env=env)
            times[k].append((time.monotonic() - t) * 1000)
    print("%.2f %.2f" % (statistics.median(times[0]), statistics.median(times[1])))
elif cmd == "plant":  # plant DIR N UID: N names in a shared directory, most of them in the
    # old flat layout, for UID and live processes (the costliest for an old sweep to judge)
    d, n, uid = sys.argv[2], int(sys.argv[3]), sys.argv[4]
    pids = [p for p in os.listdir("/proc") if p.isdigit()]
    for i in range(n):
        name = ("hakmem.%s.%s.%d" % (uid, pids[i % len(pids)], i), "hakmem-%d" % (i + 10**6),
                "%d.1" % (i + 2), "hakmem.%s.%d.1" % (uid, i + 2))[i % 4]
        os.close(os.open(os.path.join(d, name), os.O_CREAT | os.O_WRONLY, 0o600))
elif cmd == "stale":  # stale DIR N: N segment names of processes that cannot exist
    d, n = sys.argv[2], int(sys.argv[3])
    for i in range(n):
        os.close(os.open(os.path.join(d, "%d.1" % (2**30 + i)), os.O_CREAT | os.O_WRONLY, 0o600))
elif cmd == "fill":  # fill SEG: every slot live, every counter and site in use
    f = open(sys.argv[2], "r+b")
    hd = f.read(64)
    slot_size, nslots, ncounters, nclasses = struct.unpack_from("<IIII", hd, 24)
    slot_offset, = struct.unpack_from("<Q", hd, 56)
    ctr = 8 * (ncounters + 2 * nclasses)
    for i in range(1, nslots):  # slot 0 is the live main thread's
        s = bytearray(slot_size)
        struct.pack_into("<QQQQ", s, 0, 2, 1, 10**6 + i, 1)
        struct.pack_into("<%dQ" % (ctr // 8), s, 32, *range(i, i + ctr // 8))
        for k in range(16):  # sites: 16 distinct addresses per thread, none mapped
            struct.pack_into("<5Q", s, 32 + ctr + 8 + 40 * k, 0x100000 + 4096 * (16 * i + k), 3, 5, 7, 1)
        f.seek(slot_offset + i * slot_size)
        f.write(s)
elif cmd == "forge":  # forge SRC DST PID START COMM: a copy of SRC naming another process
    data = bytearray(open(sys.argv[2], "rb").read())
    struct.pack_into("<qQ", data, 64, int(sys.argv[4]), int(sys.argv[5]))
    comm = sys.argv[6].encode()[:63]
    data[88:152] = comm + bytes(64 - len(comm))
    with open(sys.argv[3], "wb") as f:
        f.write(data)
    os.chmod(sys.argv[3], 0o600)
EOF
tools() { python3 "$HK_TMP/tools.py" "$@"; }

# spawn NAME FD CMD...: CMD in the background, its stdin the FIFO $HK_TMP/NAME.in whose
# write end this shell keeps on FD; output in $HK_TMP/NAME.out. Sets $spawned.
spawn() {
    sp_name=$1 sp_fd=$2
    shift 2
    rm -f "$HK_TMP/$sp_name.in"
    mkfifo -m 666 "$HK_TMP/$sp_name.in" || return 1
    "$@" <"$HK_TMP/$sp_name.in" >"$HK_TMP/$sp_name.out" 2>"$HK_TMP/$sp_name.err" 5>&- 6>&- 7>&- 8>&- &
    spawned=$!
    pids="$pids $spawned"
    eval "exec $sp_fd>\"\$HK_TMP/\$sp_name.in\""
}

# wait_for FILE REGEX: until FILE has a line matching REGEX.
wait_for() {
    i=0
    while [ "$i" -lt $((HK_TIMEOUT * 10)) ]; do
        grep -Eq -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
        i=$((i + 1))
    done
    diag "$1 never matched '$2':" "$(tail -5 "$1" 2>/dev/null)"
    return 1
}

run() {
    st=0
    timeout -k 2 "$HK_TIMEOUT" "$@" >"$out" 2>"$err" 5>&- 6>&- 7>&- 8>&- || st=$?
}
show() {
    diag "status $st" "stdout:" "$(head -c 1500 "$out")" "stderr:" "$(head -c 1500 "$err")"
}

start_time() {
    sed 's/.*) //' "/proc/$1/stat" | awk '{print $20}'
}

# ms_until_gone PID: wait (up to 5 s) until PID has been reaped; prints the ms it took.
ms_until_gone() {
    mg_t0=$(date +%s%N)
    mg_i=0
    while [ -e "/proc/$1" ] && [ "$mg_i" -lt 500 ]; do
        state=$(sed -n 's/.*) \(.\).*/\1/p' "/proc/$1/stat" 2>/dev/null)
        [ "$state" = Z ] && break
        sleep 0.01
        mg_i=$((mg_i + 1))
    done
    echo $((($(date +%s%N) - mg_t0) / 1000000))
}

# --- the two sides -------------------------------------------------------------------------
spawn v 5 "$helper" 2 120
V=$spawned
spawn a 6 $ATT "$helper" 1 120
A=$spawned
if wait_for "$HK_TMP/v.out" ready && wait_for "$HK_TMP/a.out" ready; then
    ok "victim helper $V (uid $VUID) and attacker helper $A (uid $AUID) running"
else
    fail_rest "the helpers did not start"
fi
seg_v=$base/hakmem-$VUID/$V.$(start_time "$V")
seg_a=$base/hakmem-$AUID/$A.$(start_time "$A")

# --- spoofing ---------------------------------------------------------------------------------
if $root; then
    if ! $ATT sh -c ": >'$base/hakmem-0/planted'" 2>/dev/null && [ ! -e "$base/hakmem-0/planted" ]; then
        ok "the attacker cannot create a file in root's directory"
    else
        not_ok "the attacker cannot create a file in root's directory"
    fi

    $ATT "$att_py" "$HK_TMP/tools.py" forge "$seg_a" "$base/hakmem-$AUID/$V.$(start_time "$V")" \
        "$V" "$(start_time "$V")" FORGED
    run "$hakstat" -p "$V" -j
    if [ "$st" = 0 ] && grep -q '"command":"workload-helper"' "$out" && ! grep -q FORGED "$out"; then
        ok "a forged segment for root's process in the attacker's directory is never read"
    else
        not_ok "a forged segment for root's process in the attacker's directory is never read"
        show
    fi

    sleep 120 5>&- 6>&- 7>&- 8>&- &
    S=$!
    pids="$pids $S"
    $ATT "$att_py" "$HK_TMP/tools.py" forge "$seg_a" "$base/hakmem-$AUID/$S.$(start_time "$S")" \
        "$S" "$(start_time "$S")" FORGED
    $ATT "$att_py" "$HK_TMP/tools.py" forge "$seg_a" "$base/hakmem.0.$S.$(start_time "$S")" \
        "$S" "$(start_time "$S")" FORGED
    run "$hakstat" -p "$S" -j
    if [ "$st" = 3 ] && ! grep -q FORGED "$out" && grep -q "no hakmem statistics segment" "$err"; then
        ok "root's process without a segment: forged files in the attacker's names give status 3"
    else
        not_ok "root's process without a segment: forged files in the attacker's names give status 3"
        show
    fi

    # The attacker makes root's directory first, in a fresh base.
    b2=$HK_TMP/base2
    mkdir -m 1777 "$b2"
    $ATT mkdir -m 700 "$b2/hakmem-0"
    spawn v2 7 env HAKMEM_STATS_DIR="$b2" "$helper" 1 120
    V2=$spawned
    wait_for "$HK_TMP/v2.out" ready
    run env HAKMEM_STATS_DIR="$b2" "$hakstat" -p "$V2" -j
    if [ "$st" = 9 ] && grep -q "owned by uid $AUID, not 0: refused" "$err" &&
        [ -z "$(ls -A "$b2/hakmem-0")" ] && [ ! -s "$HK_TMP/v2.err" ]; then
        ok "root's directory made by the attacker: the process runs quietly without a segment, hakstat says why (9)"
    else
        not_ok "root's directory made by the attacker: the process runs quietly without a segment, hakstat says why (9)"
        show
        diag "victim stderr: $(cat "$HK_TMP/v2.err")" "$(ls -la "$b2/hakmem-0")"
    fi
    exec 7>&-

    # ... or a symbolic link to a directory of the attacker's.
    b3=$HK_TMP/base3
    mkdir -m 1777 "$b3"
    $ATT mkdir -m 700 "$att/trap"
    $ATT ln -s "$att/trap" "$b3/hakmem-0"
    spawn v3 7 env HAKMEM_STATS_DIR="$b3" "$helper" 1 120
    V3=$spawned
    wait_for "$HK_TMP/v3.out" ready
    run env HAKMEM_STATS_DIR="$b3" "$hakstat" -p "$V3" -j
    if [ "$st" = 9 ] && grep -q "symbolic link" "$err" && [ -z "$(ls -A "$att/trap")" ]; then
        ok "root's directory a symbolic link to the attacker's: never followed, hakstat says why (9)"
    else
        not_ok "root's directory a symbolic link to the attacker's: never followed, hakstat says why (9)"
        show
        diag "$(ls -la "$att/trap")"
    fi
    exec 7>&-
else
    skip "the attacker cannot write root's directory (needs a second user: root)"
    skip "a forged segment in the attacker's directory (needs root)"
    skip "forged files for a process without a segment (needs root)"
    skip "the victim's directory made by the attacker (needs root)"
    skip "the victim's directory a symbolic link (needs root)"
fi

# The victim's own directory opened up: the library will not publish there.
b4=$HK_TMP/base4
mkdir -m 1777 "$b4"
mkdir -m 755 "$b4/hakmem-$VUID"
spawn v4 7 env HAKMEM_STATS_DIR="$b4" "$helper" 1 120
V4=$spawned
wait_for "$HK_TMP/v4.out" ready
run env HAKMEM_STATS_DIR="$b4" "$hakstat" -p "$V4" -j
if [ "$st" = 9 ] && grep -q "open to others" "$err" && [ -z "$(ls -A "$b4/hakmem-$VUID")" ] &&
    [ ! -s "$HK_TMP/v4.err" ]; then
    ok "a user directory with mode 0755: no segment in it, hakstat says why (9)"
else
    not_ok "a user directory with mode 0755: no segment in it, hakstat says why (9)"
    show
fi
exec 7>&-

# --- memory: a 1 GiB sparse file as the attacker's segment ----------------------------------
$ATT sh -c "rm -f '$seg_a' && truncate -s 1G '$seg_a'"
set -- $("$peak" "$out" "$err" "$hakstat" -p "$A" -j)
st=$1 rss=$2 ms=$3
diag "hakstat -p on a 1 GiB sparse segment: status $st, peak RSS $rss KiB, $ms ms"
if [ "$st" = 6 ] && grep -q "larger than any segment" "$err" && [ "$rss" -lt "$RSS_BOUND_KIB" ] &&
    [ "$ms" -lt 2000 ]; then
    ok "a 1 GiB sparse segment: refused (6) in $ms ms, peak RSS $rss KiB < $RSS_BOUND_KIB"
else
    not_ok "a 1 GiB sparse segment: refused (6) quickly, peak RSS under $RSS_BOUND_KIB KiB"
    show
fi
set -- $("$peak" "$out" "$err" "$hakstat" -l)
st=$1 rss=$2 ms=$3
diag "hakstat -l with a 1 GiB sparse segment listed: status $st, peak RSS $rss KiB, $ms ms"
if [ "$st" = 0 ] && [ "$rss" -lt "$RSS_BOUND_KIB" ] && [ "$ms" -lt 5000 ] && grep -Eq "^ *$V " "$out"; then
    ok "-l with it: lists the rest in $ms ms, peak RSS $rss KiB < $RSS_BOUND_KIB"
else
    not_ok "-l with it: lists the rest quickly, peak RSS under $RSS_BOUND_KIB KiB"
    show
fi

# The largest segment there can be: 4096 slots, every one live with 16 sites, in the
# attacker's own file for their own process. Read whole, within the same bound.
spawn m 7 $ATT env HAKMEM_STATS_SLOTS=4096 "$helper" 1 120
M=$spawned
wait_for "$HK_TMP/m.out" ready
seg_m=$base/hakmem-$AUID/$M.$(start_time "$M")
$ATT "$att_py" "$HK_TMP/tools.py" fill "$seg_m"
set -- $("$peak" "$out" "$err" "$hakstat" -p "$M" -j -n 2 -d 0.2 -v sites)
st=$1 rss=$2 ms=$3
threads=$(python3 -c 'import json, sys; print(len(json.loads(open(sys.argv[1]).readline())["threads"]))' "$out" 2>/dev/null)
worst=$rss
bad=
[ "$st" = 0 ] && [ "$threads" = 4096 ] && [ "$rss" -lt "$RSS_BOUND_KIB" ] && [ "$ms" -lt 10000 ] ||
    bad="$bad json(status $st, $threads threads, $rss KiB, $ms ms)"
report="json+sites ${rss}KiB/${ms}ms"
for how in "-b -v threads" "-b -v sites" "-b -v classes" "-o openmetrics" screen; do
    if [ "$how" = screen ]; then # a terminal from script(1), of a size that shows many rows
        set -- $(TERM=xterm "$peak" "$out" "$err" script -qec \
            "stty cols 200 rows 60; '$hakstat' -p $M -d 0.2 -n 3" /dev/null)
    else
        # shellcheck disable=SC2086
        set -- $("$peak" "$out" "$err" "$hakstat" -p "$M" $how -n 2 -d 0.2)
    fi
    [ "$1" = 0 ] && [ "$2" -lt "$RSS_BOUND_KIB" ] && [ "$3" -lt 10000 ] || bad="$bad $how(status $1, $2 KiB, $3 ms)"
    [ "$2" -gt "$worst" ] && worst=$2
    report="$report, $how ${2}KiB/${3}ms"
done
diag "a full 4096-slot segment, peak RSS and time of each output: $report"
if [ -z "$bad" ]; then
    ok "a full 4096-slot segment: all 4096 threads read in every output, peak RSS at most $worst KiB < $RSS_BOUND_KIB"
else
    not_ok "a full 4096-slot segment: every output within $RSS_BOUND_KIB KiB and 10 s:$bad"
    show
fi
exec 7>&-

# --- start time against planted names -----------------------------------------------------
# The victim of this case is an unprivileged user too when we are root (root may remove
# anyone's files from a sticky directory, which would hide the cost of planted ones).
if $root; then
    SV=4242
    SVRUN="setpriv --reuid=$SV --regid=$SV --clear-groups"
else
    SV=$VUID
    SVRUN=
fi
# Starts are timed in pairs, a clean base directory and the one under test in turn, so
# that a load on the machine weighs on both medians alike.
bc=$HK_TMP/base-clean
b5=$HK_TMP/base5
b6=$HK_TMP/base6
mkdir -m 1777 "$bc" "$b5" "$b6"
# pairs N DIR: medians of N starts of a preloaded /bin/true in $bc and in DIR, in turn.
pairs() {
    $SVRUN "$att_py" "$HK_TMP/tools.py" pairs "$1" "$bc" "$2" env LD_PRELOAD="$HAKMEM_SO" /bin/true
}
pairs 3 "$b5" >/dev/null # warm up the caches; makes the user's directory in each
$ATT "$att_py" "$HK_TMP/tools.py" plant "$b5" 50000 "$SV"
planted=$(ls -A "$b5" | grep -c '^hakmem')
set -- $(pairs 31 "$b5")
base_ms=$1 planted_ms=$2
diag "start of a preloaded /bin/true as uid $SV: median $base_ms ms; with 50,000 names planted in the base directory by uid $AUID: $planted_ms ms"
if awk -v a="$planted_ms" -v b="$base_ms" -v s="$START_SLACK_MS" 'BEGIN { exit !(a < b + s) }' &&
    [ "$planted" -ge 37000 ]; then
    ok "50,000 planted names: start $planted_ms ms against $base_ms ms (under +$START_SLACK_MS ms)"
else
    not_ok "50,000 planted names: start $planted_ms ms against $base_ms ms (over +$START_SLACK_MS ms; $planted hakmem* names)"
fi

own=$b6/hakmem-$SV
$SVRUN mkdir -m 700 "$own"
$SVRUN "$att_py" "$HK_TMP/tools.py" stale "$own" 50000
$SVRUN touch "$own/.sweep" # a sweep just ran
set -- $(pairs 31 "$b6")
base_ms=$1 stale_ms=$2
left=$(ls "$own" | grep -c '^[0-9]')
diag "with 50,000 stale files in the user's own directory, sweep not due: $stale_ms ms against $base_ms ms"
if awk -v a="$stale_ms" -v b="$base_ms" -v s="$START_SLACK_MS" 'BEGIN { exit !(a < b + s) }' &&
    [ "$left" = 50000 ]; then
    ok "50,000 stale own files, no sweep due: start $stale_ms ms against $base_ms ms, nothing swept"
else
    not_ok "50,000 stale own files, no sweep due: start $stale_ms ms against $base_ms ms, $left left"
fi
$SVRUN touch -d '-2 minutes' "$own/.sweep"
set -- $(pairs 1 "$b6")
base_ms=$1 sweep_ms=$2
after=$(ls "$own" | grep -c '^[0-9]')
diag "the start that swept: $sweep_ms ms against $base_ms ms, removed $((50000 - after)) names"
if awk -v a="$sweep_ms" -v b="$base_ms" -v s="$START_SLACK_MS" 'BEGIN { exit !(a < b + s) }' &&
    [ "$after" -lt 50000 ] && [ "$after" -ge $((50000 - 256)) ]; then
    ok "the start that sweeps: $sweep_ms ms against $base_ms ms, removed $((50000 - after)) (at most 256) stale names"
else
    not_ok "the start that sweeps: $sweep_ms ms against $base_ms ms, removed $((50000 - after))"
fi
rm -rf "$bc" "$b5" "$b6"

# --- a mapped library replaced by a FIFO ---------------------------------------------------------
$ATT mkdir "$att/lib"
$ATT cp "$sitelib" "$att/lib/libsitelib.so"
spawn f 7 $ATT env HAKMEM_SITE_SAMPLE=4096 LD_LIBRARY_PATH="$att/lib:$hklibs" "$fifo_helper"
F=$spawned
wait_for "$HK_TMP/f.out" ready
# Root's hakstat, and the attacker's own (which cannot use /proc/PID/map_files).
"$hakstat" -p "$F" -b -v sites -d 0.2 >"$HK_TMP/w1.out" 2>"$HK_TMP/w1.err" 5>&- 6>&- 7>&- 8>&- &
W1=$!
pids="$pids $W1"
if $root; then
    $ATT "$hakstat" -p "$F" -b -v sites -d 0.2 >"$HK_TMP/w2.out" 2>"$HK_TMP/w2.err" 5>&- 6>&- 7>&- 8>&- &
    W2=$!
    pids="$pids $W2"
fi
wait_for "$HK_TMP/w1.out" exe_alloc
$root && wait_for "$HK_TMP/w2.out" exe_alloc
$ATT mv "$att/lib/libsitelib.so" "$att/lib/libsitelib.so.old"
$ATT mkfifo "$att/lib/libsitelib.so"
echo go >&7 # lib_alloc starts: hakstat must now open the library
sleep 0.3
n1=$(grep -c '^===' "$HK_TMP/w1.out")
n2=0
[ -n "${W2:-}" ] && n2=$(grep -c '^===' "$HK_TMP/w2.out")
# Three more intervals each (0.6 s at -d 0.2; up to 10 s on a loaded machine).
i=0
while [ "$i" -lt 100 ]; do
    m1=$(grep -c '^===' "$HK_TMP/w1.out")
    m2=$n2
    [ -n "${W2:-}" ] && m2=$(grep -c '^===' "$HK_TMP/w2.out")
    [ "$m1" -ge $((n1 + 3)) ] && { [ -z "${W2:-}" ] || [ "$m2" -ge $((n2 + 3)) ]; } && break
    sleep 0.1
    i=$((i + 1))
done
# fifo_check WHO PID BEFORE AFTER OUTFILE
fifo_check() {
    if [ "$4" -ge $(($3 + 3)) ] && grep -q libsitelib "$5"; then
        ok "$1: goes on after the library became a FIFO ($3 then $4 intervals)"
    else
        not_ok "$1: goes on after the library became a FIFO ($3 then $4 intervals)"
        diag "$(tail -20 "$5")"
    fi
    kill -TERM "$2"
    ms=$(ms_until_gone "$2")
    wait "$2"
    wst=$?
    diag "$1: exited $ms ms after SIGTERM, status $wst"
    if [ "$ms" -lt "$EXIT_BOUND_MS" ] && [ "$wst" = 0 ]; then
        ok "$1: SIGTERM ends it in $ms ms, status 0"
    else
        not_ok "$1: SIGTERM ends it within $EXIT_BOUND_MS ms, status 0 (took $ms ms, status $wst)"
    fi
}
if $root; then w1_name="root's hakstat"; else w1_name="hakstat"; fi
fifo_check "$w1_name" "$W1" "$n1" "$m1" "$HK_TMP/w1.out"
if [ -n "${W2:-}" ]; then
    fifo_check "the attacker's own hakstat" "$W2" "$n2" "$m2" "$HK_TMP/w2.out"
else
    skip "the attacker's own hakstat on the FIFO (needs root for the second user)"
    skip "the attacker's own hakstat ends on SIGTERM (needs root)"
fi
exec 7>&-

# --- signals end every output mode at once ---------------------------------------------------
for mode in "-b" "-j -d 0.2" "-o openmetrics -d 0.2"; do
    bad=
    for sig in TERM INT HUP; do
        # shellcheck disable=SC2086
        "$hakstat" -p "$V" $mode >/dev/null 2>&1 5>&- 6>&- 7>&- 8>&- &
        h=$!
        sleep 0.4
        kill "-$sig" "$h"
        ms=$(ms_until_gone "$h")
        wait "$h"
        hs=$?
        [ "$ms" -lt "$EXIT_BOUND_MS" ] && [ "$hs" = 0 ] || bad="$bad SIG$sig:${ms}ms/status$hs"
        times="${times:-} $sig=${ms}ms"
    done
    if [ -z "$bad" ]; then
        ok "hakstat $mode: SIGTERM, SIGINT and SIGHUP end it within $EXIT_BOUND_MS ms, status 0 ($times)"
    else
        not_ok "hakstat $mode: SIGTERM, SIGINT and SIGHUP end it within $EXIT_BOUND_MS ms, status 0 ($bad)"
    fi
    times=
done

# --- --gc and -l across users -----------------------------------------------------------------
if $root; then
    # Earlier cases leave stale segments of their own (the sweep runs once a minute at
    # most): clear them, so that the count below is this case's alone.
    "$hakstat" --gc >/dev/null 2>&1
    spawn k1 7 "$helper" 1 120
    K1=$spawned
    spawn k2 8 $ATT "$helper" 1 120
    K2=$spawned
    wait_for "$HK_TMP/k1.out" ready && wait_for "$HK_TMP/k2.out" ready
    seg_k1=$base/hakmem-0/$K1.$(start_time "$K1")
    seg_k2=$base/hakmem-$AUID/$K2.$(start_time "$K2")
    kill -KILL "$K1" "$K2"
    wait "$K1" 2>/dev/null
    wait "$K2" 2>/dev/null
    exec 7>&- 8>&-
    run $ATT "$hakstat" --gc
    if [ "$st" = 0 ] && [ -f "$seg_k1" ] && [ ! -e "$seg_k2" ]; then
        ok "--gc by the attacker removes their stale segment and leaves root's"
    else
        not_ok "--gc by the attacker removes their stale segment and leaves root's"
        show
    fi
    spawn k3 8 $ATT "$helper" 1 120
    K3=$spawned
    wait_for "$HK_TMP/k3.out" ready
    seg_k3=$base/hakmem-$AUID/$K3.$(start_time "$K3")
    kill -KILL "$K3"
    wait "$K3" 2>/dev/null
    exec 8>&-
    run "$hakstat" --gc
    if [ "$st" = 0 ] && [ ! -e "$seg_k1" ] && [ -f "$seg_k3" ] && grep -q "removed 1 stale segment" "$out"; then
        ok "--gc by root removes root's stale segment and leaves the attacker's"
    else
        not_ok "--gc by root removes root's stale segment and leaves the attacker's"
        show
    fi

    # The forged copy for root's process (above) is the attacker's, and -l says so.
    $ATT mkdir -m 700 "$base/hakmem-4242"
    run "$hakstat" -l -j
    cp "$out" "$HK_TMP/l.json"
    if [ "$st" = 0 ] && python3 - "$HK_TMP/l.json" "$V" <<'EOF' && grep -q "skipped 1 directory" "$err"; then
import json, sys
d = json.load(open(sys.argv[1]))
v = [e for e in d if e["pid"] == int(sys.argv[2])]
assert not any(e["command"] == "FORGED" for e in d), d
assert any(e["user"] == "root" and e["state"] == "live" and e["command"] == "workload-helper" for e in v), v
assert all(e["state"] == "foreign" and e["command"] == "" for e in v if e["user"] != "root"), v
EOF
        ok "-l: root's process listed once as root's; the attacker's file for it marked foreign, unread"
    else
        not_ok "-l: root's process listed once as root's; the attacker's file for it marked foreign, unread"
        show
    fi

    # The control word: the attacker's segment swapped for a link to a root file.
    cp "$seg_v" "$HK_TMP/rootfile"
    cp "$HK_TMP/rootfile" "$HK_TMP/rootfile.orig"
    $ATT sh -c "rm -f '$seg_a' && ln -s '$HK_TMP/rootfile' '$seg_a'"
    run "$hakstat" -p "$A" -P 64
    if [ "$st" = 9 ] && cmp -s "$HK_TMP/rootfile" "$HK_TMP/rootfile.orig"; then
        ok "--profile on a segment swapped for a link to root's file: refused (9), nothing written"
    else
        not_ok "--profile on a segment swapped for a link to root's file: refused (9), nothing written"
        show
    fi
else
    skip "--gc by another user (needs root)"
    skip "--gc by root leaves other users' files (needs root)"
    skip "-l marks another user's file for a process foreign (needs root)"
    skip "--profile never writes through a planted link (needs root)"
fi

tap_done
