#!/bin/sh
# soak.sh: hakstat --serve's memory stays flat under scrapes. The exporter watches a
# workload-helper; a client scrapes it 10,000 times over one keep-alive connection
# (alternating OpenMetrics and the text format), and VmRSS after 1,000 scrapes and
# after 10,000 must be the same within 256 KiB.
#
# Environment (exported by `make check`): abs_top_builddir, abs_top_srcdir, HAKMEM_SO.
# HK_TIMEOUT (optional): seconds allowed for any one wait, default 20.

set -u

: "${abs_top_builddir:?run through make check}"
: "${abs_top_srcdir:?run through make check}"
HK_TIMEOUT=${HK_TIMEOUT:-20}
. "$abs_top_srcdir/tests/preload/lib.sh"
. "$abs_top_srcdir/tests/hakstat/prom-lib.sh"
helper=$abs_top_builddir/tests/hakstat/workload-helper

tap_plan 3
require mkfifo

pids=
cleanup() {
    exec 5>&-
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
mkfifo "$HK_TMP/w.in"
"$helper" 4 600 <"$HK_TMP/w.in" >"$HK_TMP/w.out" 2>&1 5>&- &
pids=$!
exec 5>"$HK_TMP/w.in"
wait_line "$HK_TMP/w.out" ready || fail_rest "workload-helper did not start"
serve_start || fail_rest "no exporter"
pids="$pids $srv_pid"
ok "exporter (pid $srv_pid, port $srv_port) watching a workload-helper"

# The client prints "rss N KIB" after scrape 1,000 and 10,000 (read from /proc), and
# "bad N" for answers that were not 200 with the workload in them.
timeout 300 "$PY" - "$srv_port" "$srv_pid" >"$HK_TMP/soak.out" 2>&1 <<'PYEOF'
import http.client, sys
port, pid = int(sys.argv[1]), sys.argv[2]
def rss():
    for line in open("/proc/%s/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
bad = 0
accept = ["application/openmetrics-text;version=1.0.0", "text/plain;version=0.0.4"]
for i in range(1, 10001):
    conn.request("GET", "/metrics", headers={"Accept": accept[i % 2]})
    r = conn.getresponse()
    body = r.read()
    if r.status != 200 or b"hk-worker-3" not in body:
        bad += 1
    if i in (1000, 10000):
        print("rss", i, rss(), flush=True)
print("bad", bad)
PYEOF
cat "$HK_TMP/soak.out" | sed 's/^/# /'
r1=$(awk '$1 == "rss" && $2 == 1000 { print $3 }' "$HK_TMP/soak.out")
r10=$(awk '$1 == "rss" && $2 == 10000 { print $3 }' "$HK_TMP/soak.out")
check_eq "10,000 scrapes, every one answered with the workload's series" "bad 0" \
    "$(tail -1 "$HK_TMP/soak.out")"
if [ -n "$r1" ] && [ -n "$r10" ] && [ "$r10" -le $((r1 + 256)) ]; then
    ok "VmRSS after 1,000 scrapes $r1 KiB, after 10,000 $r10 KiB: flat (within 256 KiB)"
else
    not_ok "VmRSS flat over 10,000 scrapes (after 1,000: ${r1:-?} KiB, after 10,000: ${r10:-?} KiB)"
fi
tap_done
