#!/bin/sh
# cli.sh: hakstat end to end, without a terminal. A workload-helper with four worker
# threads of known counts is watched in every output format (JSON, batch text in each
# view, OpenMetrics); a busy-helper takes up a profiling period set with --profile; a
# helper killed with SIGKILL leaves a stale segment that -l marks and --gc removes; and
# every documented exit status is provoked: 1 usage, 2 no such process, 3 no segment
# (no libhakmem, or HAKMEM_STATS=0), 4 permission denied, 5 unknown ABI version,
# 6 corrupt segment, 7 the process exited while watched. Errors must be one line on
# stderr and nothing on stdout.
#
# Environment (exported by `make check`): abs_top_builddir, abs_top_srcdir, HAKMEM_SO.
# HK_TIMEOUT (optional): seconds allowed for any one command or wait, default 20.

set -u

: "${abs_top_builddir:?run through make check}"
: "${abs_top_srcdir:?run through make check}"
HK_TIMEOUT=${HK_TIMEOUT:-20}
. "$abs_top_srcdir/tests/preload/lib.sh"

hakstat=$abs_top_builddir/hakstat/hakstat
helper=$abs_top_builddir/tests/hakstat/workload-helper
busy=$abs_top_builddir/tests/hakstat/busy-helper

tap_plan 51
require python3 mkfifo dd
for prog in "$hakstat" "$helper" "$busy"; do
    [ -x "$prog" ] || fail_rest "$prog is not built"
done

# Helpers hold the read end of a FIFO whose write end this shell keeps on fds 5 to 8:
# they end when it is closed, or when this shell dies. Nothing else may inherit them.
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

# Segments go to a private directory that user nobody may search (for the permission
# check), so that nothing is left in /dev/shm.
chmod 755 "$HK_TMP"
HAKMEM_STATS_DIR=$HK_TMP/shm
export HAKMEM_STATS_DIR
mkdir -m 755 "$HAKMEM_STATS_DIR"
out=$HK_TMP/out
err=$HK_TMP/err

# spawn NAME FD CMD...: CMD in the background, its stdin the FIFO $HK_TMP/NAME.in whose
# write end this shell holds on FD; output in $HK_TMP/NAME.out. Sets $spawned to its pid
# (the libtool wrapper and env exec the program, so the pid stays the same).
spawn() {
    sp_name=$1 sp_fd=$2
    shift 2
    mkfifo "$HK_TMP/$sp_name.in" || return 1
    "$@" <"$HK_TMP/$sp_name.in" >"$HK_TMP/$sp_name.out" 2>"$HK_TMP/$sp_name.err" 5>&- 6>&- 7>&- 8>&- &
    spawned=$!
    pids="$pids $spawned"
    eval "exec $sp_fd>\"\$HK_TMP/\$sp_name.in\""
}

# wait_ready NAME: until the helper has printed "ready".
wait_ready() {
    i=0
    while [ "$i" -lt $((HK_TIMEOUT * 10)) ]; do
        grep -q ready "$HK_TMP/$1.out" 2>/dev/null && return 0
        sleep 0.1
        i=$((i + 1))
    done
    diag "$1 never got ready:" "$(cat "$HK_TMP/$1.out" "$HK_TMP/$1.err" 2>/dev/null)"
    return 1
}

# run CMD...: CMD under the timeout, stdout in $out, stderr in $err, status in $st.
run() {
    st=0
    timeout -k 2 "$HK_TIMEOUT" "$@" >"$out" 2>"$err" 5>&- 6>&- 7>&- 8>&- || st=$?
}
hk() {
    run "$hakstat" "$@"
}

# show: what the last command printed, as diagnostics.
show() {
    diag "status $st" "stdout:" "$(head -c 2000 "$out")" "stderr:" "$(head -c 2000 "$err")"
}

# jcheck DESC FILE PYTHON...: ok when the Python code, run with `docs` (every JSON
# document of FILE, one a line) and `d` (the first) and `pid`, `pid2` ($3/$4 of
# jcheck_args), raises nothing.
cat >"$HK_TMP/jcheck.py" <<'EOF'
import json, os, sys
text = open(sys.argv[1]).read()
docs = [json.loads(line) for line in text.splitlines() if line.strip()]
d = docs[0] if docs else None
pid = int(sys.argv[3]) if len(sys.argv) > 3 else 0
pid2 = int(sys.argv[4]) if len(sys.argv) > 4 else 0
try:
    exec(sys.argv[2])
except Exception as e:
    print("%s: %s" % (type(e).__name__, e))
    sys.exit(1)
EOF
jcheck() {
    jc_desc=$1
    shift
    if jc_out=$(python3 "$HK_TMP/jcheck.py" "$@" 2>&1); then
        ok "$jc_desc"
    else
        not_ok "$jc_desc"
        diag "$jc_out"
    fi
}

# error_check DESC STATUS REGEX: the last command exited with STATUS, printed nothing
# on stdout and one line on stderr matching REGEX.
error_check() {
    if [ "$st" = "$2" ] && [ ! -s "$out" ] && [ "$(wc -l <"$err")" -eq 1 ] &&
        grep -Eq -- "$3" "$err"; then
        ok "$1: status $2, says: $(cat "$err")"
    else
        not_ok "$1: status $2, one line on stderr matching '$3'"
        show
    fi
}

# usage_check DESC ARGS...: hakstat ARGS exits 1, nothing on stdout, and its first line
# on stderr is "hakstat: ..." (the second points to --help).
usage_check() {
    uc_desc=$1
    shift
    hk "$@"
    if [ "$st" = 1 ] && [ ! -s "$out" ] && head -1 "$err" | grep -q '^hakstat: ' &&
        [ "$(wc -l <"$err")" -le 2 ]; then
        ok "usage error, $uc_desc: status 1 ($(head -1 "$err"))"
    else
        not_ok "usage error, $uc_desc: status 1"
        show
    fi
}

# start_time PID: field 22 of /proc/PID/stat (after the command in parentheses).
start_time() {
    sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f20
}

# --- the helpers ------------------------------------------------------------------------
spawn a 5 "$helper" 4 60
A=$spawned
spawn b 6 "$busy" 60
B=$spawned
if wait_ready a && wait_ready b; then
    ok "workload-helper ($A) and busy-helper ($B) running"
else
    fail_rest "the helpers did not start"
fi
seg_a=$(ls "$HAKMEM_STATS_DIR"/hakmem-*/"$A".* 2>/dev/null)

# --- JSON -------------------------------------------------------------------------------
hk -p "$A" -j
cp "$out" "$HK_TMP/a.json"
if [ "$st" = 0 ] && [ "$(wc -l <"$out")" = 1 ] && [ ! -s "$err" ] &&
    python3 -c 'import json, sys; json.load(sys.stdin)' <"$out"; then
    ok "-j: one JSON document on one line, status 0"
else
    not_ok "-j: one JSON document on one line, status 0"
    show
fi
jcheck "-j: schema, pid, command, uptime_s, alive" "$HK_TMP/a.json" '
assert d["schema"] == 1, d["schema"]
assert d["pid"] == pid, (d["pid"], pid)
assert d["command"] == "workload-helper", d["command"]
assert isinstance(d["uptime_s"], (int, float)) and 0 < d["uptime_s"] < 60, d["uptime_s"]
assert d["alive"] is True and d["interval_s"] is None
' "$A"
jcheck "-j: hk-worker-i did exactly 1000*(i+1) mallocs and frees, none remote" "$HK_TMP/a.json" '
ws = {t["name"]: t for t in d["threads"]}
assert len(d["threads"]) == 5, sorted(ws)
for i in range(4):
    t = ws.get("hk-worker-%d" % i)
    assert t is not None, "no hk-worker-%d in %s" % (i, sorted(ws))
    n = 1000 * (i + 1)
    assert t["malloc"] == n and t["free"] == n, (t["name"], t["malloc"], t["free"], n)
    assert t["remote_free"] == 0, (t["name"], t["remote_free"])
    assert t["bytes"] == 64 * n, (t["name"], t["bytes"])
' "$A"
jcheck "-j: each thread has fast_hits, refills and the prof_* cycle totals" "$HK_TMP/a.json" '
names = [c["name"] for c in d["counters"]]
assert len(names) == 28 and names[0] == "malloc", names
for t in d["threads"]:
    for k in names + ["fast_hits", "refills", "prof_malloc_cyc", "prof_free_cyc",
                      "prof_refill_cyc", "prof_remote_cyc", "rates"]:
        assert k in t, (t["name"], k)
    assert t["fast_hits"] == t["malloc"] - t["large_alloc"] - t["fast_miss"], t
    if t["name"].startswith("hk-worker"):
        assert t["refills"] >= 1 and t["fast_hits"] >= 900, t
'
jcheck "-j: totals at least the workers' sum; the 64-byte class allocated >= 10000" "$HK_TMP/a.json" '
tot = d["totals"]
assert tot["malloc"] >= 10000 and tot["free"] >= 10000, (tot["malloc"], tot["free"])
assert tot["malloc"] == d["retired"]["malloc"] + sum(t["malloc"] for t in d["threads"])
assert len(d["classes"]) == 60
c64 = [c for c in d["classes"] if c["size"] == 64]
assert len(c64) == 1 and c64[0]["alloc"] >= 10000 and c64[0]["free"] >= 10000, c64
assert c64[0]["live"] == c64[0]["alloc"] - c64[0]["free"], c64
'

hk -p "$A" -j -n 2 -d 0.2
cp "$out" "$HK_TMP/a2.json"
if [ "$st" = 0 ] && [ "$(wc -l <"$out")" = 2 ]; then
    ok "-j -n 2 -d 0.2: two documents, one a line"
else
    not_ok "-j -n 2 -d 0.2: two documents, one a line"
    show
fi
jcheck "-j -n 2 -d 0.2: the second has interval_s ~0.2 and rates" "$HK_TMP/a2.json" '
assert len(docs) == 2
assert docs[0]["interval_s"] is None, docs[0]["interval_s"]
iv = docs[1]["interval_s"]
assert iv is not None and 0.15 <= iv <= 1.5, iv
r = docs[1]["totals"]["rates"]
for k in ("malloc_per_s", "free_per_s", "bytes_per_s", "refills_per_s", "remote_free_per_s"):
    assert isinstance(r[k], (int, float)) and r[k] >= 0, (k, r)
for t in docs[1]["threads"]:
    assert t["rates"]["malloc_per_s"] == 0, t["rates"]  # the workers are idle
assert docs[1]["time"] > docs[0]["time"]
'

# --- batch text ---------------------------------------------------------------------------
hk -p "$A" -b -n 2 -d 0.2
if [ "$st" = 0 ] && [ "$(grep -c '^=== ' "$out")" = 2 ] &&
    [ "$(grep -Ec '^ *[0-9]+ hk-worker-[0-3] ' "$out")" = 8 ] &&
    grep -q "workload-helper (pid $A)" "$out"; then
    ok "-b -n 2 -d 0.2: two === blocks, each with rows for hk-worker-0..3"
else
    not_ok "-b -n 2 -d 0.2: two === blocks, each with rows for hk-worker-0..3"
    show
fi
hk -p "$A" -b -n 1 -v classes
if [ "$st" = 0 ] && grep -Eq '^ *CLASS +SIZE +ALLOC +FREE' "$out" &&
    grep -Eq '^ *[0-9]+ +64 ' "$out"; then
    ok "-v classes: the classes table, with the 64-byte class"
else
    not_ok "-v classes: the classes table, with the 64-byte class"
    show
fi
hk -p "$A" -b -n 1 -v totals
if [ "$st" = 0 ] && grep -Eq '^COUNTER +TOTAL +PER_S +UNIT' "$out" &&
    [ "$(grep -Ec '^(malloc|free|refills|remote_free|prof_malloc_cyc|prof_remote_n) ' "$out")" = 6 ]; then
    ok "-v totals: a row per counter"
else
    not_ok "-v totals: a row per counter"
    show
fi
hk -p "$A" -b -n 1 -v sites
if [ "$st" = 0 ] && grep -Eq '^FUNCTION +OBJECT +SAMPLES +ALLOCS' "$out"; then
    ok "-v sites: the sites table"
else
    not_ok "-v sites: the sites table"
    show
fi
hk -p "$A" -b -n 1 -s NAME
order=$(grep -Eo 'hk-worker-[0-3]' "$out" | tr '\n' ' ')
if [ "$st" = 0 ] && [ "$order" = "hk-worker-0 hk-worker-1 hk-worker-2 hk-worker-3 " ]; then
    ok "-s NAME: rows in name order"
else
    not_ok "-s NAME: rows in name order (got: $order)"
    show
fi
hk -p "$A" -b -n 1 -s free
order=$(grep -Eo 'hk-worker-[0-3]' "$out" | tr '\n' ' ')
if [ "$st" = 0 ] && [ "$order" = "hk-worker-3 hk-worker-2 hk-worker-1 hk-worker-0 " ]; then
    ok "-s free (any case): rows by frees, most first"
else
    not_ok "-s free (any case): rows by frees, most first (got: $order)"
    show
fi
hk -p "$A" -b -n 1 -s NOPE
if [ "$st" = 1 ] && [ ! -s "$out" ] && grep -q "NOPE" "$err"; then
    ok "-s NOPE: status 1, says: $(head -1 "$err")"
else
    not_ok "-s NOPE: status 1 with a message naming NOPE"
    show
fi

# --- OpenMetrics ----------------------------------------------------------------------------
hk -p "$A" -o openmetrics
cp "$out" "$HK_TMP/a.prom"
cat >"$HK_TMP/prom.py" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
pid = sys.argv[2]
NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
sample_re = re.compile(r"^(%s)(?:\{(%s(?:,%s)*)\})? (-?[0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?)$" % (NAME, LABEL, LABEL))
type_re = re.compile(r"^# TYPE (%s) (counter|gauge)$" % NAME)
help_re = re.compile(r"^# HELP (%s) \S.*$" % NAME)
assert text.endswith("\n"), "no final newline"
lines = text[:-1].split("\n")
assert lines[-1] == "# EOF", "last line: %r" % lines[-1]
types, current, values = {}, None, {}
for no, line in enumerate(lines[:-1], 1):
    m = type_re.match(line)
    if m:
        assert m.group(1) not in types, "line %d: family %s again" % (no, m.group(1))
        types[m.group(1)] = m.group(2)
        current = m.group(1)
        continue
    m = help_re.match(line)
    if m:
        assert m.group(1) == current, "line %d: HELP outside its family: %r" % (no, line)
        continue
    m = sample_re.match(line)
    assert m, "line %d is no TYPE, HELP, sample or EOF: %r" % (no, line)
    name, value = m.group(1), float(m.group(3))
    family = name[:-6] if name.endswith("_total") else name
    assert family == current, "line %d: sample of %s before its TYPE: %r" % (no, family, line)
    if types[family] == "counter":
        assert name == family + "_total" and value >= 0, "line %d: %r" % (no, line)
    labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
    if family.startswith("hakmem_exporter_"):
        assert not labels, line
        continue
    assert labels.get("pid") == pid and labels.get("command") == "workload-helper", line
    if "thread" in labels:
        assert "tid" not in labels, line
        values[(family, labels["thread"])] = value
assert "# EOF" not in lines[:-1]
for i in range(4):
    for fam in ("hakmem_malloc", "hakmem_free"):
        got = values.get((fam, "hk-worker-%d" % i))
        assert got == 1000 * (i + 1), (fam, i, got)
assert types.get("hakmem_mapped") == "gauge" and types.get("hakmem_malloc") == "counter"
assert len(types) >= 27, sorted(types)
EOF
if [ "$st" = 0 ] && prom_out=$(python3 "$HK_TMP/prom.py" "$HK_TMP/a.prom" "$A" 2>&1); then
    ok "-o openmetrics: well formed (TYPE before samples, numbers, labels pid/command/thread, no tid, # EOF last), workers' counts right"
else
    not_ok "-o openmetrics: well formed, workers' counts right"
    diag "${prom_out:-}"
    show
fi

# --- profiling ----------------------------------------------------------------------------------
hk -p "$B" --profile 64
if [ "$st" = 0 ] && grep -q "profiling period of process $B set to 64" "$out"; then
    ok "--profile 64: status 0 ($(cat "$out"))"
else
    not_ok "--profile 64: status 0 and a message"
    show
fi
# poll_profile PERIOD: until busy-helper's JSON shows the period (and, for a non-zero
# one, timed allocations); the last document is left in $HK_TMP/b.json.
poll_profile() {
    i=0
    while [ "$i" -lt $((HK_TIMEOUT * 5)) ]; do
        hk -p "$B" -j
        cp "$out" "$HK_TMP/b.json"
        if python3 "$HK_TMP/jcheck.py" "$HK_TMP/b.json" '
assert d["profiling_period"] == pid
if pid:
    assert d["totals"]["prof_malloc_n"] > 0 and d["totals"]["prof_malloc_cyc"] > 0
' "$1" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.2
        i=$((i + 1))
    done
    return 1
}
if poll_profile 64; then
    ok "busy-helper takes up profiling period 64: JSON shows it, with timed mallocs"
else
    not_ok "busy-helper takes up profiling period 64: JSON shows it, with timed mallocs"
    diag "$(head -c 600 "$HK_TMP/b.json")"
fi
hk -p "$B" --profile 0
if [ "$st" = 0 ] && poll_profile 0; then
    ok "--profile 0 turns it off again"
else
    not_ok "--profile 0 turns it off again"
    show
fi

# --- -l, stale segments and --gc ----------------------------------------------------------------
spawn c 7 "$helper" 1 60
C=$spawned
if wait_ready c; then
    seg_c=$(ls "$HAKMEM_STATS_DIR"/hakmem-*/"$C".* 2>/dev/null)
    kill -KILL "$C"
    wait "$C" 2>/dev/null
fi
exec 7>&-
if [ -n "${seg_c:-}" ] && [ -f "$seg_c" ] && [ ! -d "/proc/$C" ]; then
    ok "a helper killed with SIGKILL leaves its segment behind"
else
    not_ok "a helper killed with SIGKILL leaves its segment behind"
    diag "$(ls -lR "$HAKMEM_STATS_DIR")"
fi
hk -l
if [ "$st" = 0 ] && grep -Eq "^ *$A +[^ ]+ +5 .*workload-helper" "$out" &&
    grep -Eq "^ *$B .*busy-helper" "$out"; then
    ok "-l lists both helpers with their commands"
else
    not_ok "-l lists both helpers with their commands"
    show
fi
if grep -Eq "^ *$C .*\[stale\]" "$out"; then
    ok "-l marks the killed helper's segment [stale]"
else
    not_ok "-l marks the killed helper's segment [stale]"
    show
fi
hk -l -j
cp "$out" "$HK_TMP/l.json"
jcheck "-l -j: a JSON list with the live helper and the stale one" "$HK_TMP/l.json" '
assert len(docs) == 1 and isinstance(d, list), text
by = {e["pid"]: e for e in d}
a, c = by.get(pid), by.get(pid2)
assert a and a["state"] == "live" and a["command"] == "workload-helper" and a["threads"] == 5, a
assert "/hakmem-%d/%d." % (os.getuid(), pid) in a["file"] and a["uptime_s"] > 0, a
assert c and c["state"] == "stale", c
' "$A" "$C"
hk --gc
if [ "$st" = 0 ] && grep -q "removed 1 stale segment" "$out" && [ ! -e "$seg_c" ] &&
    [ -f "$seg_a" ] && ! grep -Eq "^ *$C " "$out" && grep -Eq "^ *$A " "$out"; then
    ok "--gc removes the stale segment and keeps the live ones"
else
    not_ok "--gc removes the stale segment and keeps the live ones"
    show
    diag "$(ls -lR "$HAKMEM_STATS_DIR")"
fi

# --- errors --------------------------------------------------------------------------------------
dead=$(sh -c 'echo $$')
hk -p "$dead" -j
error_check "a pid that has exited ($dead)" 2 "no process with PID $dead"

sleep 30 5>&- 6>&- 7>&- 8>&- &
E=$!
pids="$pids $E"
hk -p "$E" -j
error_check "a process without libhakmem (sleep)" 3 "no hakmem statistics segment"

spawn d 7 env HAKMEM_STATS=0 "$helper" 1 60
D=$spawned
wait_ready d
hk -p "$D" -j
error_check "a process with HAKMEM_STATS=0" 3 "no hakmem statistics segment"
exec 7>&-

if [ "$(id -u)" = 0 ]; then
    # root reads anything: run hakstat as nobody against root's segment, in root's 0700
    # directory, which nobody can neither read nor list
    if command -v setpriv >/dev/null 2>&1; then
        run setpriv --reuid=65534 --regid=65534 --clear-groups "$hakstat" -p "$A" -j
        error_check "as nobody, root's segment" 4 "permission denied"
        run setpriv --reuid=65534 --regid=65534 --clear-groups "$hakstat" -l
        if [ "$st" = 0 ] && ! grep -Eq "^ *$A " "$out"; then
            ok "-l as nobody does not list root's segments"
        else
            not_ok "-l as nobody does not list root's segments"
            show
        fi
    else
        not_ok "as nobody, root's segment: status 4 (setpriv, util-linux, is not installed)"
        not_ok "-l as nobody does not list root's segments (setpriv is not installed)"
    fi
else
    # a copy of a segment, unreadable, under the name of a live process
    mkdir -p -m 700 "$HK_TMP/perm/hakmem-$(id -u)"
    cp "$seg_a" "$HK_TMP/perm/hakmem-$(id -u)/$E.$(start_time "$E")"
    chmod 000 "$HK_TMP/perm/hakmem-$(id -u)/$E.$(start_time "$E")"
    run env HAKMEM_STATS_DIR="$HK_TMP/perm" "$hakstat" -p "$E" -j
    error_check "an unreadable segment" 4 "permission denied"
    run env HAKMEM_STATS_DIR="$HK_TMP/perm" "$hakstat" -l
    if [ "$st" = 0 ] && grep -Eq "^ *$E .*\[unreadable\]" "$out"; then
        ok "-l marks a segment this user cannot read [unreadable]"
    else
        not_ok "-l marks a segment this user cannot read [unreadable]"
        show
    fi
fi

# Planted copies of the workload-helper's segment under the name sleep's would have.
fake=$HK_TMP/fake
mkdir -p -m 700 "$fake/hakmem-$(id -u)"
fake_seg=$fake/hakmem-$(id -u)/$E.$(start_time "$E")
# plant HOW: copy the segment, then patch it (HOW: abi3, magic, truncate, intact), or
# put a FIFO there (fifo)
plant() {
    rm -f "$fake_seg"
    cp "$seg_a" "$fake_seg"
    case $1 in
    fifo) rm -f "$fake_seg" && mkfifo "$fake_seg" ;;
    abi3) printf '\003\000\000\000' | dd of="$fake_seg" bs=1 seek=8 conv=notrunc 2>/dev/null ;;
    magic) printf 'X' | dd of="$fake_seg" bs=1 seek=0 conv=notrunc 2>/dev/null ;;
    truncate) dd if="$seg_a" of="$fake_seg" bs=1000 count=1 2>/dev/null ;;
    esac
    run env HAKMEM_STATS_DIR="$fake" "$hakstat" -p "$E" -j
}
plant abi3
error_check "a segment of ABI version 3" 5 "version 3\.[0-9]+.*version 2"
plant magic
error_check "a segment with a bad magic number" 6 "bad magic"
plant truncate
error_check "a truncated segment" 6 "truncated"
plant intact
error_check "another process's segment under this one's name" 9 "names process $A"
plant fifo
error_check "a FIFO at the segment's name (no writer: must not block)" 9 "not a regular file"
run env HAKMEM_STATS_DIR="$fake" "$hakstat" -l
if [ "$st" = 0 ] && ! grep -Eq "^ *$E " "$out" && grep -q "skipped 0 directories and 1 file" "$err"; then
    ok "-l with a FIFO at a segment's name: skips it without blocking, and says so"
else
    not_ok "-l with a FIFO at a segment's name: skips it without blocking, and says so"
    show
fi
run env HAKMEM_STATS_DIR="$HK_TMP/missing" "$hakstat" -l
error_check "-l in a directory that does not exist" 8 "cannot read $HK_TMP/missing"

# usage errors
usage_check "no arguments"
usage_check "unknown option --bogus" --bogus
usage_check "-d 0" -p "$A" -d 0
usage_check "-n abc" -p "$A" -n abc
usage_check "-p abc" -p abc
usage_check "-p 0" -p 0
usage_check "-p without its argument" -p
usage_check "-o bogus" -p "$A" -o bogus
usage_check "-v bogus" -p "$A" -v bogus
usage_check "--profile without -p" --profile 5
usage_check "--profile -1" -p "$A" --profile -1
usage_check "a stray argument" -p "$A" stray
hk --help
if [ "$st" = 0 ] && grep -q '^Usage: hakstat' "$out" && grep -q -- '--profile' "$out"; then
    ok "--help: usage on stdout, status 0"
else
    not_ok "--help: usage on stdout, status 0"
    show
fi

# --- the process exits while watched --------------------------------------------------------------
timeout -k 2 "$HK_TIMEOUT" "$hakstat" -p "$A" -b -d 0.2 >"$out" 2>"$err" 5>&- 6>&- 7>&- 8>&- &
watcher=$!
i=0
while [ "$i" -lt $((HK_TIMEOUT * 10)) ] && [ "$(grep -c '^=== ' "$out")" -lt 2 ]; do
    sleep 0.1
    i=$((i + 1))
done
exec 5>&- # the workload-helper's stdin reaches end of file: it exits
st=0
wait "$watcher" || st=$?
wait "$A"
a_status=$?
if [ "$st" = 7 ] && [ "$(wc -l <"$err")" -eq 1 ] &&
    grep -q "process $A (workload-helper) exited" "$err" &&
    [ "$(grep -c '^=== ' "$out")" -ge 2 ] && [ "$a_status" = 0 ]; then
    ok "-b while the process exits: status 7, says: $(cat "$err")"
else
    not_ok "-b while the process exits: status 7 and a message saying it exited"
    show
fi

exec 6>&-
wait "$B"
check "busy-helper ends with status 0 when its stdin closes" [ "$?" = 0 ]
tap_done
