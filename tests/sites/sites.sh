#!/bin/sh
# sites.sh: sampled allocation sites end to end. site-helper allocates 90% of its bytes
# in exe_alloc (its own PIE executable) and 10% in lib_alloc (a shared library of its
# own); hakstat's JSON must name both, in that order, with shares within 5 points, from
# the ELF symbol tables; a stripped copy must show object+offset; a copy replaced on
# disk while it runs must be reported as replaced, not misnamed.
. "$abs_top_srcdir/tests/preload/lib.sh"

HAKSTAT="$abs_top_builddir/hakstat/hakstat"
REAL="$abs_top_builddir/tests/sites/.libs/site-helper"
LIBDIR="$abs_top_builddir/tests/sites/.libs:$abs_top_builddir/libhakmem/.libs"
require python3 strip
work="$HK_TMP"
pids=""
trap 'for p in $pids; do kill "$p" 2>/dev/null; done; rm -rf "$HK_TMP"' EXIT

tap_plan 9

# start BINARY: run it with a small sampling period, wait for "ready", set $pid (the
# helper itself, so no timeout wrapper: it exits when the fifo closes, and the EXIT
# trap kills it if this script dies).
start() {
    rm -f "$work/fifo" "$work/out"
    mkfifo "$work/fifo"
    HAKMEM_SITE_SAMPLE=65536 LD_LIBRARY_PATH="$LIBDIR" "$1" <"$work/fifo" >"$work/out" &
    pid=$!
    pids="$pids $pid"
    exec 9>"$work/fifo"
    i=0
    while [ $i -lt 600 ] && ! grep -q ready "$work/out" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
}

stop() {
    exec 9>&-
    wait "$pid" 2>/dev/null
}

# sites JSON -> "function object share" lines, biggest first
sites() {
    "$HAKSTAT" -p "$pid" -j | python3 -c '
import json, sys
d = json.load(sys.stdin)
s = d["sites"]
total = sum(x["est_bytes"] for x in s) or 1
for x in sorted(s, key=lambda x: -x["est_bytes"]):
    print(x["function"], x["object"].replace(" ", "_"), "%.3f" % (x["est_bytes"] / total))
'
}

start "$REAL"
sites >"$work/sites" 2>"$work/err"
cat "$work/sites" | sed 's/^/# /'
first=$(sed -n 1p "$work/sites")
second=$(sed -n 2p "$work/sites")
case "$first" in exe_alloc+0x*" "*site-helper" "*) ok "top site is exe_alloc in the executable" ;;
    *) not_ok "top site is exe_alloc in the executable (got: $first)" ;; esac
case "$second" in lib_alloc+0x*" "*libsitelib*" "*) ok "second site is lib_alloc in the shared library" ;;
    *) not_ok "second site is lib_alloc in the shared library (got: $second)" ;; esac
share1=$(echo "$first" | awk '{print $3}')
share2=$(echo "$second" | awk '{print $3}')
awk -v s="$share1" 'BEGIN { exit !(s >= 0.85 && s <= 0.95) }' &&
    ok "exe_alloc has 90% of the bytes within 5 points ($share1)" ||
    not_ok "exe_alloc has 90% of the bytes within 5 points ($share1)"
awk -v s="$share2" 'BEGIN { exit !(s >= 0.05 && s <= 0.15) }' &&
    ok "lib_alloc has 10% of the bytes within 5 points ($share2)" ||
    not_ok "lib_alloc has 10% of the bytes within 5 points ($share2)"
"$HAKSTAT" -p "$pid" -b -n 1 -v sites >"$work/text" 2>&1
grep -q 'exe_alloc' "$work/text" && ok "batch sites view names exe_alloc" ||
    not_ok "batch sites view names exe_alloc"
"$HAKSTAT" -p "$pid" -o openmetrics >"$work/prom" 2>&1
grep -q '^hakmem_site_samples_total{.*function="lib_alloc+0x' "$work/prom" &&
    ok "OpenMetrics has a series for lib_alloc" || not_ok "OpenMetrics has a series for lib_alloc"
stop

# A stripped copy: no .symtab, and exe_alloc is not in .dynsym.
cp "$REAL" "$work/site-helper"
strip "$work/site-helper"
start "$work/site-helper"
sites >"$work/sites" 2>"$work/err"
first=$(sed -n 1p "$work/sites")
case "$first" in site-helper+0x*) ok "stripped executable shows object+offset ($first)" ;;
    *) not_ok "stripped executable shows object+offset (got: $first)" ;; esac
stop

# A copy replaced on disk while it runs.
cp "$REAL" "$work/site-helper"
start "$work/site-helper"
cp "$REAL" "$work/new" && mv "$work/new" "$work/site-helper"
sites >"$work/sites" 2>"$work/err"
first=$(sed -n 1p "$work/sites")
case "$first" in *"(replaced)"*|*replaced*) ok "replaced executable is reported ($first)" ;;
    *) not_ok "replaced executable is reported (got: $first)" ;; esac
case "$first" in exe_alloc*) not_ok "replaced executable is not named from the new file" ;;
    *) ok "replaced executable is not named from the new file" ;; esac
stop

tap_done
