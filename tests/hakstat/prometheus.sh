#!/bin/sh
# prometheus.sh: a real Prometheus server (Debian's prometheus) scrapes hakstat --serve
# every second while a rate-helper allocates 20,000 blocks a second; its HTTP API must
# then give rate(hakmem_malloc_total[30s]) for that pid within 20% of 20,000 (summed
# over the process's series), the target must be up, the family typed counter, and the
# example rules of contrib/prometheus (checked by promtool check rules, loaded into the
# server) must record the process's malloc rate. Runs as the calling user, with its
# storage in a temporary directory and free ports; about 40 s.
#
# Environment (exported by `make check`): abs_top_builddir, abs_top_srcdir, HAKMEM_SO.
# HK_TIMEOUT (optional): seconds allowed for any one command or wait, default 20.

set -u

: "${abs_top_builddir:?run through make check}"
: "${abs_top_srcdir:?run through make check}"
HK_TIMEOUT=${HK_TIMEOUT:-20}
. "$abs_top_srcdir/tests/preload/lib.sh"
. "$abs_top_srcdir/tests/hakstat/prom-lib.sh"
rules=$abs_top_srcdir/contrib/prometheus/hakmem.rules.yml
RATE=20000

tap_plan 7
require prometheus promtool curl mkfifo

pids=
cleanup() {
    exec 5>&-
    for p in $pids; do
        kill -TERM "$p" 2>/dev/null
    done
    for p in $pids; do
        wait "$p" 2>/dev/null
    done
    rm -rf "$HK_TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

if out=$(promtool check rules "$rules" 2>&1); then
    ok "promtool check rules accepts contrib/prometheus/hakmem.rules.yml: $(echo "$out" | grep SUCCESS)"
else
    not_ok "promtool check rules accepts contrib/prometheus/hakmem.rules.yml"
    diag "$out"
fi

HAKMEM_STATS_DIR=$HK_TMP/shm
export HAKMEM_STATS_DIR
mkdir -m 755 "$HAKMEM_STATS_DIR"
mkfifo "$HK_TMP/r.in"
"$rate_helper" "$RATE" <"$HK_TMP/r.in" >"$HK_TMP/r.out" 2>&1 5>&- &
R=$!
pids=$R
exec 5>"$HK_TMP/r.in"
wait_line "$HK_TMP/r.out" ready || fail_rest "rate-helper did not start"
serve_start || fail_rest "no exporter"
pids="$pids $srv_pid"

# A free port for Prometheus: the kernel's choice, released just before it binds.
pport=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$HK_TMP/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - $rules
scrape_configs:
  - job_name: hakmem
    static_configs:
      - targets: ['127.0.0.1:$srv_port']
EOF
prometheus --config.file="$HK_TMP/prometheus.yml" --storage.tsdb.path="$HK_TMP/data" \
    --web.listen-address="127.0.0.1:$pport" --log.level=warn >"$HK_TMP/prom.log" 2>&1 5>&- &
P=$!
pids="$pids $P"
api="http://127.0.0.1:$pport"

# query EXPR: the first value of an instant query's result, "none" if it has none.
query() {
    curl -sS --max-time "$HK_TIMEOUT" --data-urlencode "query=$1" "$api/api/v1/query" |
        "$PY" -c 'import json, sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if r else "none")' 2>/dev/null || echo none
}

# poll_until SECONDS EXPR: until the query has a result; sets $value.
poll_until() {
    end=$(($(date +%s) + $1))
    while [ "$(date +%s)" -lt "$end" ]; do
        value=$(query "$2")
        [ "$value" != none ] && return 0
        sleep 0.5
    done
    return 1
}

ready=no
i=0
while [ "$i" -lt 120 ]; do
    curl -sf --max-time 2 "$api/-/ready" >/dev/null 2>&1 && { ready=yes; break; }
    kill -0 "$P" 2>/dev/null || break
    sleep 0.5
    i=$((i + 1))
done
[ "$ready" = yes ] || { diag "$(tail -20 "$HK_TMP/prom.log")"; fail_rest "Prometheus never got ready"; }
sel="hakmem_malloc_total{pid=\"$R\"}"
if poll_until 30 "$sel"; then
    ok "Prometheus (port $pport) scrapes the exporter (port $srv_port): the rate-helper's series arrive"
else
    diag "$(tail -20 "$HK_TMP/prom.log")"
    fail_rest "no sample of $sel in Prometheus"
fi
first=$(date +%s)
check_eq "up{job=\"hakmem\"} is 1" 1 "$(query 'up{job="hakmem"}')"

# The family's type, as Prometheus took it from the OpenMetrics it negotiated.
type=$(curl -sS --max-time "$HK_TIMEOUT" "$api/api/v1/targets/metadata?match_target=%7Bjob%3D%22hakmem%22%7D&metric=hakmem_malloc" |
    "$PY" -c 'import json, sys; d = json.load(sys.stdin)["data"]; print(d[0]["type"] if d else "none")' 2>/dev/null)
check_eq "Prometheus has hakmem_malloc as a counter" counter "$type"

# A 30 s window must be covered by samples before its rate is the process's.
while [ $(($(date +%s) - first)) -lt 32 ]; do sleep 1; done
expr="sum by (pid) (rate(hakmem_malloc_total{pid=\"$R\"}[30s]))"
value=$(query "$expr")
diag "query: $expr" "result: $value (the rate-helper makes $RATE mallocs/s)"
echo "$value" >"${HK_PROM_RESULT:-/dev/null}" 2>/dev/null || true
if "$PY" -c "import sys; v = float(sys.argv[1]); sys.exit(0 if abs(v - $RATE) <= 0.2 * $RATE else 1)" "$value" 2>/dev/null; then
    ok "rate(hakmem_malloc_total[30s]) of pid $R: $value/s, within 20% of $RATE"
else
    not_ok "rate(hakmem_malloc_total[30s]) of pid $R within 20% of $RATE (got $value)"
fi
rec="instance_pid:hakmem_malloc:rate1m{pid=\"$R\"}"
if poll_until 10 "$rec" && "$PY" -c "import sys; sys.exit(0 if float(sys.argv[1]) > 0 else 1)" "$value"; then
    ok "the example recording rule $rec: $value/s"
else
    not_ok "the example recording rule $rec has a positive value (got ${value:-none})"
fi
rate_pid=$(query "count(hakmem_malloc_total{pid=\"$R\"})")
check_eq "the process has 3 malloc series (main thread, rate-worker, (exited)), none per TID" 3 "$rate_pid"
tap_done
