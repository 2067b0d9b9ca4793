# prom-lib.sh: helpers for the exporter tests, sourced after tests/preload/lib.sh (which
# gives TAP, HK_TMP and HK_TIMEOUT). Needs abs_top_builddir.

hakstat=$abs_top_builddir/hakstat/hakstat
rate_helper=$abs_top_builddir/tests/hakstat/rate-helper
# Debian's python3-prometheus-client is installed for /usr/bin/python3, which may not be
# the first python3 on PATH.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

# om_check FILE: parse FILE with prometheus_client's strict OpenMetrics parser; prints
# "families samples" on success, the parser's complaint otherwise.
om_check() {
    "$PY" - "$1" <<'PYEOF'
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
fams = list(text_string_to_metric_families(open(sys.argv[1]).read()))
print(len(fams), sum(len(f.samples) for f in fams))
PYEOF
}

# serve_start ARGS...: hakstat --serve 127.0.0.1:0 ARGS in the background (without the
# helpers' FIFO ends on fds 5 to 8); sets srv_pid and srv_port once it listens (false if
# it never does).
serve_start() {
    "$hakstat" --serve 127.0.0.1:0 "$@" >"$HK_TMP/serve.out" 2>"$HK_TMP/serve.err" \
        5>&- 6>&- 7>&- 8>&- &
    srv_pid=$!
    i=0
    while [ "$i" -lt $((HK_TIMEOUT * 10)) ]; do
        srv_port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$HK_TMP/serve.out")
        [ -n "$srv_port" ] && return 0
        kill -0 "$srv_pid" 2>/dev/null || break
        sleep 0.1
        i=$((i + 1))
    done
    diag "hakstat --serve never listened:" "$(cat "$HK_TMP/serve.out" "$HK_TMP/serve.err")"
    return 1
}

# fetch PATH [ACCEPT]: GET http://127.0.0.1:$srv_port/PATH into $HK_TMP/body, headers
# into $HK_TMP/headers; prints the status code.
fetch() {
    curl -sS --max-time "$HK_TIMEOUT" ${2:+-H "Accept: $2"} -D "$HK_TMP/headers" \
        -o "$HK_TMP/body" -w '%{http_code}' "http://127.0.0.1:$srv_port$1"
}

# Prometheus 2.42's Accept header, as it sends it when scraping.
prom_accept='application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1'

# wait_line FILE TEXT: until FILE has a line TEXT (bounded by HK_TIMEOUT).
wait_line() {
    i=0
    while [ "$i" -lt $((HK_TIMEOUT * 10)) ]; do
        grep -qx "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
        i=$((i + 1))
    done
    diag "$1 never had '$2':" "$(cat "$1" 2>/dev/null)"
    return 1
}
