#!/bin/sh
# threads.sh: hakstat end to end on thread churn, exact totals and memory.
#
# - A churn-helper that ran 50 short-lived threads one after another, holding 10,000
#   blocks of 64 bytes and 1 MiB: JSON totals count the threads started and exited and
#   the heaps adopted; the top-level memory object has every member, in_use covers what
#   the helper holds, and the 64-byte class's live + cached + free blocks are exactly
#   its slabs' blocks; OpenMetrics has the same figures; the memory view shows the class.
# - A workload-helper with 4 workers and HAKMEM_STATS_SLOTS=2 (3 workers without a
#   slot, idle once ready): the totals hold exactly its 10,000 mallocs and frees of 64
#   bytes at the first refresh.
# - A churn-helper that keeps starting threads: rates of threads started, exited and
#   adopted; every thread row named (hk-short-N), never empty; the batch summary's
#   "threads/s" line.
# - Cycles: a dash with the reason while profiling is off, and when it is on but nothing
#   was timed in the interval; numbers once a churning process is profiled; a dash with
#   the reason again after --profile 0.
#
# Environment (exported by `make check`): abs_top_builddir, abs_top_srcdir, HAKMEM_SO.
# HK_TIMEOUT (optional): seconds allowed for any one command or wait, default 20.

set -u

: "${abs_top_builddir:?run through make check}"
: "${abs_top_srcdir:?run through make check}"
HK_TIMEOUT=${HK_TIMEOUT:-20}
. "$abs_top_srcdir/tests/preload/lib.sh"

hakstat=$abs_top_builddir/hakstat/hakstat
churn=$abs_top_builddir/tests/hakstat/churn-helper
helper=$abs_top_builddir/tests/hakstat/workload-helper

tap_plan 15
require python3 mkfifo
for prog in "$hakstat" "$churn" "$helper"; do
    [ -x "$prog" ] || fail_rest "$prog is not built"
done

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

HAKMEM_STATS_DIR=$HK_TMP/shm
export HAKMEM_STATS_DIR
mkdir -m 700 "$HAKMEM_STATS_DIR"
out=$HK_TMP/out
err=$HK_TMP/err

# spawn NAME FD CMD...: CMD in the background, stdin the FIFO $HK_TMP/NAME.in whose write
# end this shell holds on FD (closing it ends the helper); $spawned is its pid.
spawn() {
    sp_name=$1 sp_fd=$2
    shift 2
    mkfifo "$HK_TMP/$sp_name.in" || return 1
    "$@" <"$HK_TMP/$sp_name.in" >"$HK_TMP/$sp_name.out" 2>"$HK_TMP/$sp_name.err" 5>&- 6>&- 7>&- 8>&- &
    spawned=$!
    pids="$pids $spawned"
    eval "exec $sp_fd>\"\$HK_TMP/\$sp_name.in\""
}

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

run() {
    st=0
    timeout -k 2 "$HK_TIMEOUT" "$@" >"$out" 2>"$err" 5>&- 6>&- 7>&- 8>&- || st=$?
}

show() {
    diag "status $st" "stdout:" "$(head -c 3000 "$out")" "stderr:" "$(head -c 2000 "$err")"
}

# pycheck DESC FILE PYTHON: ok when the Python code raises nothing; `text` is FILE's
# contents, `docs` its lines parsed as JSON (when they all are), `d` the first.
cat >"$HK_TMP/check.py" <<'EOF'
import json, sys
text = open(sys.argv[1]).read()
try:
    docs = [json.loads(l) for l in text.splitlines() if l.strip()]
except ValueError:
    docs = []
d = docs[0] if docs else None
try:
    exec(sys.argv[2])
except Exception as e:
    print("%s: %s" % (type(e).__name__, e))
    sys.exit(1)
EOF
pycheck() {
    pc_desc=$1
    shift
    if pc_out=$(python3 "$HK_TMP/check.py" "$@" 2>&1); then
        ok "$pc_desc"
    else
        not_ok "$pc_desc"
        diag "$pc_out"
        show
    fi
}

# --- thread figures and memory of a process that ran 50 short threads -------------------
spawn c 5 "$churn" 50 60
C=$spawned
wait_ready c || fail_rest "churn-helper did not start"
run "$hakstat" -p "$C" -j
cp "$out" "$HK_TMP/c.json"
pycheck "-j totals: 51 threads started (main + 50), 50 exited, at least 49 heaps adopted" \
    "$HK_TMP/c.json" '
t = d["totals"]
assert t["threads_started"] == 51, t["threads_started"]
assert t["threads_exited"] == 50, t["threads_exited"]
assert 49 <= t["heaps_adopted"] <= 50, t["heaps_adopted"]
assert t["threads_started_per_s"] is None, t["threads_started_per_s"]
'
pycheck "-j memory: every member; in_use holds the 10,000 x 64 B and 1 MiB; rss, mapped cover it" \
    "$HK_TMP/c.json" '
m = d["memory"]
for k in ("rss", "mapped", "in_use", "thread_cached", "slab_free", "large_bytes"):
    assert isinstance(m[k], int) and m[k] >= 0, (k, m[k])
assert m["large_bytes"] >= 1 << 20, m
assert m["in_use"] >= 10000 * 64 + (1 << 20), m
assert m["mapped"] >= m["in_use"] and m["rss"] >= 10000 * 64 + (1 << 20), m
f = m["fragmentation"]
idle = m["thread_cached"] + m["slab_free"]
assert 0 <= f < 1 and abs(f - idle / (idle + m["in_use"])) < 1e-4, m
'
pycheck "-j classes: the 64-byte class has slabs whose blocks are exactly live + cached + free" \
    "$HK_TMP/c.json" '
c = [x for x in d["classes"] if x["size"] == 64][0]
assert c["live"] >= 10000 and c["slabs"] >= 1, c
assert c["live"] + c["cached"] + c["slab_free"] == c["blocks"], c
assert c["slab_bytes"] == c["blocks"] * 64 and 0 < c["utilisation"] <= 1, c
'
run "$hakstat" -p "$C" -o openmetrics
pycheck "-o openmetrics: thread figures and memory gauges, labelled by pid and command" "$out" '
s = {}
for l in text.splitlines():
    if not l.startswith("#"):
        k, v = l.rsplit(" ", 1)
        s[k.split("{")[0]] = float(v)
assert s["hakmem_threads_started_total"] == 51, s.get("hakmem_threads_started_total")
assert s["hakmem_threads_exited_total"] == 50
assert s["hakmem_heaps_adopted_total"] >= 49
for g in ("rss_bytes", "mapped_bytes", "in_use_bytes", "large_bytes", "thread_cached_bytes",
          "slab_free_bytes", "fragmentation_ratio"):
    assert "hakmem_memory_" + g in s, g
assert s["hakmem_memory_in_use_bytes"] >= 10000 * 64 + (1 << 20)
assert "# TYPE hakmem_memory_rss_bytes gauge" in text
'
run "$hakstat" -p "$C" -b -n 1 -v memory
pycheck "-b -v memory: the memory line and the 64-byte class row (slabs, blocks, live)" "$out" '
lines = text.splitlines()
assert any(l.startswith("memory: rss ") and " frag " in l for l in lines), lines[:8]
head = [l.split() for l in lines if l.startswith("CLASS")][0]
assert head[:5] == ["CLASS", "SIZE", "SLABS", "BLOCKS", "LIVE"], head
row = [l.split() for l in lines if l.split()[1:2] == ["64"]][0]
assert float(row[4].rstrip("k")) >= (10 if row[4].endswith("k") else 10000), row
'

# --- exact totals with more threads than slots ------------------------------------------
spawn w 6 env HAKMEM_STATS_SLOTS=2 "$helper" 4 60
W=$spawned
wait_ready w || fail_rest "workload-helper did not start"
run "$hakstat" -p "$W" -j
pycheck "SLOTS=2, 4 idle workers: 3 unslotted, in spill blocks; totals hold all 10,000 mallocs and frees" \
    "$out" '
assert d["unslotted_threads"] == 3 and d["spilled_threads"] == 3, (d["unslotted_threads"], d["spilled_threads"])
c = [x for x in d["classes"] if x["size"] == 64][0]
assert c["alloc"] == 10000 and c["free"] == 10000, c
assert len(d["threads"]) == 2, [t["name"] for t in d["threads"]]
'
run "$hakstat" -p "$W" -o openmetrics
pycheck "SLOTS=2: OpenMetrics shows the unslotted workers under thread=\"unslotted\"" "$out" '
v = [float(l.rsplit(" ", 1)[1]) for l in text.splitlines()
     if l.startswith("hakmem_malloc_total{") and "thread=\"unslotted\"" in l]
assert len(v) == 1 and v[0] >= 1000 + 2000 + 3000 - 2000, v
'
exec 6>&-

# --- a process that keeps starting threads ----------------------------------------------
spawn k 7 "$churn" 1 60 keep
K=$spawned
wait_ready k || fail_rest "churn-helper keep did not start"
run "$hakstat" -p "$K" -j -n 3 -d 0.3
pycheck "-j -n 3: threads started, exited and adopted per second, over the interval" "$out" '
assert len(docs) == 3, len(docs)
for x in docs[1:]:
    t = x["totals"]
    assert t["threads_started_per_s"] > 10 and t["threads_exited_per_s"] > 10, t
    assert t["heaps_adopted_per_s"] > 10, t
'
ok_names=0
for i in 1 2 3 4 5; do
    run "$hakstat" -p "$K" -j -n 4 -d 0.1
    if python3 "$HK_TMP/check.py" "$out" '
for x in docs:
    for t in x["threads"]:
        assert t["name"] and t["name"] != "?", t
        assert t["name"] in ("churn-helper",) or t["name"].startswith("hk-short-"), t["name"]
' >/dev/null 2>&1; then ok_names=$((ok_names + 1)); fi
done
check_eq "every thread row of 20 documents is named (hk-short-N or the main thread)" 5 "$ok_names"
run "$hakstat" -p "$K" -b -n 2 -d 0.3
pycheck "-b: the summary's threads/s line counts starts, exits and adopted heaps" "$out" '
l = [x for x in text.splitlines() if x.startswith("threads/s: started ")]
assert l and "heaps adopted" in l[-1] and "since start" in l[-1], l
assert not l[-1].startswith("threads/s: started 0 "), l
'

# --- cycles: a dash with the reason -----------------------------------------------------
pycheck "profiling off: the cycles line is a dash with the reason" "$out" '
l = [x for x in text.splitlines() if x.startswith("cycles/op:")]
assert l[-1] == "cycles/op: - (profiling off; P or --profile turns it on)", l
'
run "$hakstat" -p "$K" -P 1024
wait_profiled() {
    i=0
    while [ "$i" -lt $((HK_TIMEOUT * 2)) ]; do
        run "$hakstat" -p "$K" -b -n 2 -d 0.3
        grep -q '^cycles/op: malloc [0-9]' "$out" && return 0
        i=$((i + 1))
    done
    return 1
}
if wait_profiled; then
    ok "--profile 1024 on a churning process: cycles for malloc in the interval"
else
    not_ok "--profile 1024 on a churning process: cycles for malloc in the interval"
    show
fi
run "$hakstat" -p "$K" -P 0
i=0
while [ "$i" -lt $((HK_TIMEOUT * 2)) ]; do
    run "$hakstat" -p "$K" -b -n 2 -d 0.3
    grep -q '^cycles/op: - (profiling off' "$out" && break
    i=$((i + 1))
done
pycheck "after --profile 0: a dash with the reason, not the cycles since start" "$out" '
l = [x for x in text.splitlines() if x.startswith("cycles/op:")]
assert l[-1] == "cycles/op: - (profiling off; P or --profile turns it on)", l
'
exec 7>&-

spawn q 8 env HAKMEM_PROFILE_SAMPLE=1024 "$helper" 2 60
Q=$spawned
wait_ready q || fail_rest "workload-helper (profiled) did not start"
run "$hakstat" -p "$Q" -b -n 2 -d 0.3
pycheck "profiling on, an idle process: dashes and 'none timed in the last ...s at 1/1024 calls'" \
    "$out" '
l = [x for x in text.splitlines() if x.startswith("cycles/op:")]
assert l[-1].startswith("cycles/op: malloc -  free -  refill -  remote -  (none timed in the last 0."), l
assert l[-1].endswith("s at 1/1024 calls)"), l
'
exec 8>&- 5>&-
statuses=
for p in $pids; do
    timeout -k 2 "$HK_TIMEOUT" sh -c "while kill -0 $p 2>/dev/null; do sleep 0.1; done"
    wait "$p"
    statuses="$statuses $?"
done
pids=
check_eq "the helpers end with status 0 when their stdin closes" " 0 0 0 0" "$statuses"
tap_done
