#!/bin/sh
# growth.sh: live bytes per site, end to end. tests/sites/leak leaks 32 MiB at leak_site
# through two wrappers (xmalloc calling zmalloc) while three other sites churn ten times
# as much: the growth view and the JSON must show leak_site first, its estimated live
# bytes within 10% of the truth, its whole stack with the wrappers collapsed, lifetimes
# for the churning sites, and a wrapper list (HAKMEM_SITE_WRAPPERS or --wrappers) must
# move the site to the wrapper's caller.
. "$abs_top_srcdir/tests/preload/lib.sh"

HAKSTAT="$abs_top_builddir/hakstat/hakstat"
PROG="$abs_top_builddir/tests/sites/leak"
require python3
work="$HK_TMP"
pids=""
trap 'for p in $pids; do kill "$p" 2>/dev/null; done; rm -rf "$HK_TMP"' EXIT

tap_plan 13

# start [VAR=VALUE...]: run leak preloaded, wait (60 s at most) for "ready", set $pid.
start() {
    rm -f "$work/fifo" "$work/out"
    mkfifo "$work/fifo"
    env LD_PRELOAD="$HAKMEM_SO" HAKMEM_SITE_SAMPLE=16384 "$@" "$PROG" <"$work/fifo" >"$work/out" &
    pid=$!
    pids="$pids $pid"
    exec 9>"$work/fifo"
    i=0
    while [ $i -lt 600 ] && ! grep -q ready "$work/out" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
    leaked=$(awk '/ready/ {print $2}' "$work/out")
}

stop() {
    exec 9>&-
    wait "$pid" 2>/dev/null
}

# growth ARGS...: "function live_bytes site_frame stackfunctions" per site, growth order
growth() {
    "$HAKSTAT" -p "$pid" -j "$@" | python3 -c '
import json, sys
d = json.load(sys.stdin)
for s in sorted(d["sites"], key=lambda s: (-s.get("live_bytes", 0), -(s.get("growth_bytes_per_s") or 0))):
    names = ",".join(f["name"] or "?" for f in s["stack"])
    print(s["function"], s.get("live_bytes", -1), s["site_frame"], names,
          s.get("freed_samples", 0), sum(b["blocks"] for b in s.get("lifetime_buckets", [])))
'
}

t0=$(date +%s)
start
growth >"$work/sites" 2>"$work/err"
t1=$(date +%s)
sed 's/^/# /' "$work/sites"
first=$(sed -n 1p "$work/sites")
set -- $first
case "$1" in leak_site+0x*) ok "the leaking site is first, named by its own function ($1)" ;;
    *) not_ok "the leaking site is first (got: $first)"; cat "$work/err" | sed 's/^/# /' ;; esac
awk -v e="${2:-0}" -v t="${leaked:-1}" 'BEGIN { r = e / t; exit !(r > 0.9 && r < 1.1) }' &&
    ok "estimated live bytes within 10% of the $leaked leaked (${2:-none})" ||
    not_ok "estimated live bytes within 10% of the $leaked leaked (${2:-none})"
check_eq "site frame is the third: zmalloc and xmalloc collapsed" "2" "${3:-}"
case "${4:-}" in zmalloc,xmalloc,leak_site,main*) ok "the stack runs zmalloc, xmalloc, leak_site, main" ;;
    *) not_ok "the stack runs zmalloc, xmalloc, leak_site, main (got: ${4:-})" ;; esac
check "shown within 30 s of the start ($((t1 - t0)) s)" [ $((t1 - t0)) -le 30 ]
others=$(sed -n '2,$p' "$work/sites" | grep -c 'churn')
check "the three churning sites are listed after it ($others)" [ "$others" -ge 3 ]
small=$(awk -v t="${leaked:-1}" 'NR > 1 && $1 ~ /churn/ && $2 > t / 10 { n++ } END { print n + 0 }' "$work/sites")
check_eq "no churning site holds a tenth of the leak" 0 "$small"
life=$(awk '$1 ~ /^churn_now/ { print $5, $6 }' "$work/sites")
set -- $life
if [ "${1:-0}" -gt 0 ] && [ "${1:-0}" = "${2:-x}" ]; then
    ok "churn_now's freed samples have lifetimes (${1:-0} freed, ${2:-0} in buckets)"
else
    not_ok "churn_now's freed samples have lifetimes (${1:-0} freed, ${2:-0} in buckets)"
fi

"$HAKSTAT" -p "$pid" -b -n 1 -v growth >"$work/text" 2>&1
row=$(grep -A1 '^FUNCTION' "$work/text" | sed -n 2p)
case "$row" in leak_site*leak.c:*) ok "growth view: leak_site first, with its source line" ;;
    *) not_ok "growth view: leak_site first, with its source line (got: $row)" ;; esac
"$HAKSTAT" -p "$pid" -b -n 1 -v stack -R 1 >"$work/stack" 2>&1
grep -q '^ *1 \*#2 *leak_site+0x' "$work/stack" && grep -q ' #0 *zmalloc+0x' "$work/stack" &&
    ok "stack view of site 1: every frame, the site marked" ||
    { not_ok "stack view of site 1: every frame, the site marked"; sed 's/^/# /' "$work/stack"; }
growth -W leak_site >"$work/sites2" 2>&1
case "$(sed -n 1p "$work/sites2")" in main+0x*) ok "--wrappers leak_site: the site is main" ;;
    *) not_ok "--wrappers leak_site: the site is main (got: $(sed -n 1p "$work/sites2"))" ;; esac
stop

start HAKMEM_SITE_WRAPPERS="leak_*,churn_now"
growth >"$work/sites3" 2>&1
case "$(sed -n 1p "$work/sites3")" in main+0x*) ok "HAKMEM_SITE_WRAPPERS=leak_*: the site is main" ;;
    *) not_ok "HAKMEM_SITE_WRAPPERS=leak_*: the site is main (got: $(sed -n 1p "$work/sites3"))" ;; esac
"$HAKSTAT" -p "$pid" -j | grep -q '"site_table":{"tracked":' &&
    ok "JSON has the process-wide site table's figures" ||
    not_ok "JSON has the process-wide site table's figures"
stop
tap_done
