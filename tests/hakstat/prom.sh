#!/bin/sh
# prom.sh: the Prometheus outputs and exporter, end to end. A workload-helper (workers of
# known counts) and a rate-helper in churn mode (a thread that exits every 10 ms) are
# watched with -o prometheus (checked by promtool check metrics), -o openmetrics
# (checked by prometheus_client's strict OpenMetrics parser), -I, and streams of both;
# then `hakstat --serve` answers by the Accept header in both formats, keeps counters
# monotonic while threads exit, serves scrapes while idle clients hold connections,
# closes those after its timeout, and drops processes that exit.
#
# Environment (exported by `make check`): abs_top_builddir, abs_top_srcdir, HAKMEM_SO.
# HK_TIMEOUT (optional): seconds allowed for any one command or wait, default 20.

set -u

: "${abs_top_builddir:?run through make check}"
: "${abs_top_srcdir:?run through make check}"
HK_TIMEOUT=${HK_TIMEOUT:-20}
. "$abs_top_srcdir/tests/preload/lib.sh"
. "$abs_top_srcdir/tests/hakstat/prom-lib.sh"
helper=$abs_top_builddir/tests/hakstat/workload-helper

tap_plan 20
require promtool curl mkfifo
"$PY" -c 'import prometheus_client' 2>/dev/null || fail_rest "$PY lacks prometheus_client (python3-prometheus-client)"

pids=
cleanup() {
    exec 5>&- 6>&-
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
mkdir -m 755 "$HAKMEM_STATS_DIR"
mkfifo "$HK_TMP/w.in" "$HK_TMP/c.in"
"$helper" 4 600 <"$HK_TMP/w.in" >"$HK_TMP/w.out" 2>&1 5>&- 6>&- &
W=$!
exec 5>"$HK_TMP/w.in"
"$rate_helper" 10000 churn <"$HK_TMP/c.in" >"$HK_TMP/c.out" 2>&1 5>&- 6>&- &
C=$!
exec 6>"$HK_TMP/c.in"
pids="$W $C"
if wait_line "$HK_TMP/w.out" ready && wait_line "$HK_TMP/c.out" ready; then
    ok "workload-helper ($W) and rate-helper in churn mode ($C) running"
else
    fail_rest "helpers did not start"
fi

# counts FILE: "thread value" of hakmem_malloc per series of workload-helper, sorted.
counts() {
    sed -n "s/^hakmem_malloc_total{pid=\"$W\",command=\"workload-helper\",thread=\"\([^\"]*\)\"} \([0-9]*\)\$/\1 \2/p" "$1" | sort
}
expect_counts='hk-worker-0 1000
hk-worker-1 2000
hk-worker-2 3000
hk-worker-3 4000'

# --- one process, one document ------------------------------------------------------------
"$hakstat" -p "$W" -o prometheus >"$HK_TMP/t.prom" 2>"$HK_TMP/err"
if lint=$(promtool check metrics <"$HK_TMP/t.prom" 2>&1) &&
    grep -qx '# TYPE hakmem_malloc_total counter' "$HK_TMP/t.prom" &&
    grep -qx '# TYPE hakmem_mapped gauge' "$HK_TMP/t.prom"; then
    ok "-o prometheus: promtool check metrics accepts it, counters typed as counters"
else
    not_ok "-o prometheus: promtool check metrics accepts it"
    diag "$lint" "$(head -5 "$HK_TMP/t.prom")"
fi
check_eq "-o prometheus: a series per thread name, hk-worker-i did 1000*(i+1) mallocs" \
    "$expect_counts" "$(counts "$HK_TMP/t.prom" | grep hk-worker)"

"$hakstat" -p "$W" -o openmetrics >"$HK_TMP/o.prom" 2>"$HK_TMP/err"
if res=$(om_check "$HK_TMP/o.prom" 2>&1) && grep -qx '# TYPE hakmem_malloc counter' "$HK_TMP/o.prom" &&
    [ "$(counts "$HK_TMP/o.prom" | grep hk-worker)" = "$expect_counts" ]; then
    ok "-o openmetrics: a strict OpenMetrics parser accepts it ($res families, samples), counts right"
else
    not_ok "-o openmetrics: strict OpenMetrics parser accepts it, counts right"
    diag "$res" "$(tail -3 "$HK_TMP/o.prom")"
fi

# promtool check metrics (2.42) parses only the text format: an OpenMetrics counter's
# _total samples are an untyped family to it, without HELP (prometheus/prometheus#8932).
# Apart from that it must find nothing to say.
lint=$(promtool check metrics <"$HK_TMP/o.prom" 2>&1)
counters=$(sed -n 's/^# TYPE \([a-z_]*\) counter$/\1_total no help text/p' "$HK_TMP/o.prom" | sort)
if [ -n "$lint" ] && [ "$(printf '%s\n' "$lint" | sort)" = "$counters" ]; then
    ok "promtool on -o openmetrics: its only remarks are the $(printf '%s\n' "$lint" | wc -l) counters' _total samples it cannot tie to their HELP"
else
    not_ok "promtool on -o openmetrics: nothing but the counters' _total samples"
    diag "$(printf '%s\n' "$lint" | grep -vxF "$counters" | head -5)"
fi

"$hakstat" -p "$W" -o openmetrics -I >"$HK_TMP/tid.prom" 2>"$HK_TMP/err"
ntid=$(grep -c "^hakmem_malloc_total{.*,tid=\"[1-9][0-9]*\"}" "$HK_TMP/tid.prom")
if om_check "$HK_TMP/tid.prom" >/dev/null 2>&1 && [ "$ntid" -eq 5 ]; then
    ok "-I: one series per thread (5: main and 4 workers), labelled tid; still valid"
else
    not_ok "-I: one series per thread, labelled tid (got $ntid)"
fi

# --- streams ----------------------------------------------------------------------------------
"$hakstat" -p "$C" -o openmetrics -n 3 -d 0.2 >"$HK_TMP/s.prom" 2>"$HK_TMP/err"
rm -f "$HK_TMP"/doc.*
awk -v d="$HK_TMP/doc." '{ print > (d n) } /^# EOF$/ { close(d n); n++ }' n=0 "$HK_TMP/s.prom"
valid=0
for f in "$HK_TMP"/doc.*; do om_check "$f" >/dev/null 2>&1 && valid=$((valid + 1)); done
if [ "$(grep -c '^# EOF$' "$HK_TMP/s.prom")" = 3 ] && [ "$valid" = 3 ] &&
    [ "$(tail -1 "$HK_TMP/s.prom")" = "# EOF" ]; then
    ok "-o openmetrics -n 3: three whole documents, each ending in # EOF and valid alone"
else
    not_ok "-o openmetrics -n 3: three whole documents, each valid (valid: $valid)"
fi
"$hakstat" -p "$C" -o prometheus -n 2 -d 0.2 >"$HK_TMP/s.txt" 2>"$HK_TMP/err"
rm -f "$HK_TMP"/doc.*
awk -v d="$HK_TMP/doc." '/^$/ { close(d n); n++; next } { print > (d n) }' n=0 "$HK_TMP/s.txt"
valid=0
for f in "$HK_TMP"/doc.*; do promtool check metrics <"$f" >/dev/null 2>&1 && valid=$((valid + 1)); done
check_eq "-o prometheus -n 2: two documents separated by an empty line, each passes promtool" 2 "$valid"

# --- the exporter -----------------------------------------------------------------------------
if serve_start; then ok "--serve 127.0.0.1:0 listens (port $srv_port)"; else fail_rest "no exporter"; fi
pids="$pids $srv_pid"
code=$(fetch /metrics "$prom_accept")
if [ "$code" = 200 ] && grep -qi '^content-type: application/openmetrics-text; version=1.0.0' "$HK_TMP/headers" &&
    res=$(om_check "$HK_TMP/body" 2>&1) && grep -q "pid=\"$C\"" "$HK_TMP/body" &&
    [ "$(counts "$HK_TMP/body" | grep hk-worker)" = "$expect_counts" ]; then
    ok "GET /metrics with Prometheus' Accept: OpenMetrics 1.0, strictly valid, both processes"
else
    not_ok "GET /metrics with Prometheus' Accept: OpenMetrics 1.0 (status $code)"
    diag "$(cat "$HK_TMP/headers")" "${res:-}"
fi
code=$(fetch /metrics)
if [ "$code" = 200 ] && grep -qi '^content-type: text/plain; version=0.0.4' "$HK_TMP/headers" &&
    lint=$(promtool check metrics <"$HK_TMP/body" 2>&1); then
    ok "GET /metrics without Accept: text format 0.0.4, promtool check metrics accepts it"
else
    not_ok "GET /metrics without Accept: text format 0.0.4 that promtool accepts (status $code)"
    diag "${lint:-}"
fi
code404=$(fetch /other)
code405=$(curl -sS --max-time "$HK_TIMEOUT" -X POST -d x -o /dev/null -w '%{http_code}' \
    "http://127.0.0.1:$srv_port/metrics")
check_eq "GET /other is 404, POST /metrics is 405" "404 405" "$code404 $code405"

# Counters of the churning process, scrape after scrape: no series ever goes down
# though a thread exits every 10 ms.
: >"$HK_TMP/series"
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
    fetch /metrics >/dev/null
    sed -n "s/^hakmem_malloc_total{pid=\"$C\",command=\"rate-helper\",thread=\"\([^\"]*\)\"} \([0-9]*\)\$/$i \1 \2/p" \
        "$HK_TMP/body" >>"$HK_TMP/series"
    sleep 0.1
done
mono=$(awk '{ if (($2 in last) && $3 < last[$2]) bad = bad " " $2 "@" $1; last[$2] = $3; seen[$2] = 1 }
    END { for (s in seen) n++; print (bad == "" ? "ok" : "down:" bad), n, last["churner"] + last["(exited)"] }' \
    "$HK_TMP/series")
grep -q ' churner [1-9]' "$HK_TMP/series" || mono="no live churner seen: $mono"
case $mono in
"ok "*) ok "12 scrapes of a process whose threads keep exiting: no series goes down ($mono)" ;;
*) not_ok "counters monotonic while threads exit ($mono)"; diag "$(tail -12 "$HK_TMP/series")" ;;
esac

# Idle clients: 40 connections from 127.0.0.2 that send nothing (or half a request line)
# hold at most their address's share; scrapes from 127.0.0.1 go on, and the server closes
# the idle ones after its 10 s timeout.
"$PY" - "$srv_port" "$HK_TIMEOUT" >"$HK_TMP/idle.out" 2>&1 5>&- 6>&- <<'PYEOF' &
import select, socket, sys, time
port, limit = int(sys.argv[1]), float(sys.argv[2])
socks = []
for i in range(40):
    s = socket.socket()
    s.bind(("127.0.0.2", 0))
    try:
        s.connect(("127.0.0.1", port))
        if i == 0:
            s.sendall(b"GET /metr")
        socks.append(s)
    except OSError:
        pass
print("open", len(socks), flush=True)
deadline = time.monotonic() + 10 + limit + 10
open_ = list(socks)
while open_ and time.monotonic() < deadline:
    r, _, _ = select.select(open_, [], [], 1)
    for s in r:
        try:
            data = s.recv(4096)
        except OSError:
            data = b""
        if not data:
            open_.remove(s)
print("closed", len(socks) - len(open_), "of", len(socks), flush=True)
PYEOF
idle=$!
wait_line "$HK_TMP/idle.out" 'open 40' >/dev/null || true
good=0
for i in 1 2 3 4 5; do
    [ "$(fetch /metrics "$prom_accept")" = 200 ] && om_check "$HK_TMP/body" >/dev/null 2>&1 && good=$((good + 1))
done
check_eq "with 40 idle connections open from another address, 5 scrapes all answered" 5 "$good"
wait "$idle"
check_eq "the server closed every idle connection (timeout, per-address limit)" \
    "closed 40 of 40" "$(tail -1 "$HK_TMP/idle.out")"
[ "$(fetch /metrics)" = 200 ] && promtool check metrics <"$HK_TMP/body" >/dev/null 2>&1 &&
    ok "scrapes still answered after the idle clients" || not_ok "scrapes after the idle clients"

# Processes that exit drop out.
exec 6>&-
wait "$C"
gone=no
i=0
while [ "$i" -lt $((HK_TIMEOUT * 10)) ]; do
    fetch /metrics >/dev/null
    grep -q "pid=\"$C\"" "$HK_TMP/body" || { gone=yes; break; }
    sleep 0.1
    i=$((i + 1))
done
if [ "$gone" = yes ] && grep -q "pid=\"$W\"" "$HK_TMP/body" &&
    grep -qx 'hakmem_exporter_processes 1' "$HK_TMP/body"; then
    ok "the rate-helper exited: its series are gone, the workload-helper's stay"
else
    not_ok "an exited process drops out (gone: $gone)"
fi

kill -TERM "$srv_pid"
wait "$srv_pid"
check_eq "SIGTERM ends hakstat --serve with status 0" 0 "$?"
"$hakstat" --serve 'nohost.invalid:99999' >"$HK_TMP/out" 2>"$HK_TMP/err"
st=$?
if [ "$st" = 1 ] && [ ! -s "$HK_TMP/out" ] && grep -q 'bad address' "$HK_TMP/err"; then
    ok "--serve with a bad address: status 1, says: $(head -1 "$HK_TMP/err")"
else
    not_ok "--serve with a bad address: status 1 (got $st)"
fi
"$hakstat" --serve 0 -p "$W" >"$HK_TMP/out" 2>"$HK_TMP/err"
check_eq "--serve with -p: status 1 (it watches every process)" 1 "$?"
tap_done
