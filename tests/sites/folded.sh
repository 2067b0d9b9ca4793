#!/bin/sh
# folded.sh: -o folded prints one "frame;frame;... N" line per sampled stack, the
# outermost caller first and the allocating call last, N a positive whole number (what
# flamegraph.pl, inferno and speedscope read; Debian packages none of them, so the format
# is checked line by line). Weighted by estimated bytes allocated, or live bytes with -w
# live, which must agree with the JSON's figures.
. "$abs_top_srcdir/tests/preload/lib.sh"

HAKSTAT="$abs_top_builddir/hakstat/hakstat"
PROG="$abs_top_builddir/tests/sites/leak"
require python3
work="$HK_TMP"
pids=""
trap 'for p in $pids; do kill "$p" 2>/dev/null; done; rm -rf "$HK_TMP"' EXIT

tap_plan 7

rm -f "$work/fifo" "$work/out"
mkfifo "$work/fifo"
env LD_PRELOAD="$HAKMEM_SO" HAKMEM_SITE_SAMPLE=16384 "$PROG" <"$work/fifo" >"$work/out" &
pid=$!
pids="$pid"
exec 9>"$work/fifo"
i=0
while [ $i -lt 600 ] && ! grep -q ready "$work/out" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done

"$HAKSTAT" -p "$pid" -o folded >"$work/bytes" 2>"$work/err"
"$HAKSTAT" -p "$pid" -o folded -w live >"$work/live" 2>>"$work/err"
"$HAKSTAT" -p "$pid" -j >"$work/json" 2>>"$work/err"
sed 's/^/# /' "$work/bytes" | head -8
n=$(wc -l <"$work/bytes")
check "one line per stack ($n)" [ "$n" -ge 4 ]
bad=$(grep -cvE '^[^; ][^;]*(;[^;]+)* [1-9][0-9]*$' "$work/bytes")
check_eq "every line is frames joined by ';', a space and a positive count" 0 "$bad"
grep -q 'main;leak_site;xmalloc;zmalloc [0-9]*$' "$work/bytes" &&
    ok "root first: ...;main;leak_site;xmalloc;zmalloc" ||
    not_ok "root first: ...;main;leak_site;xmalloc;zmalloc"
grep -q 'libhakmem\|hk_' "$work/bytes" && not_ok "no libhakmem frame" || ok "no libhakmem frame"
badlive=$(grep -cvE '^[^; ][^;]*(;[^;]+)* [1-9][0-9]*$' "$work/live")
check_eq "-w live: the same format" 0 "$badlive"
python3 - "$work/bytes" "$work/live" "$work/json" >"$work/cmp" 2>&1 <<'PY'
import json, sys
def total(path):
    return sum(int(l.rsplit(" ", 1)[1]) for l in open(path) if l.strip())
d = json.load(open(sys.argv[3]))
est = sum(s["est_bytes"] for s in d["sites"])
live = sum(s["live_bytes"] for s in d["sites"])
print(total(sys.argv[1]), est, total(sys.argv[2]), live)
PY
set -- $(cat "$work/cmp")
awk -v a="${1:-0}" -v b="${2:-1}" 'BEGIN { exit !(a > 0 && a >= b * 0.98 && a <= b * 1.02) }' &&
    ok "bytes weights add up to the JSON's est_bytes ($1, $2)" ||
    not_ok "bytes weights add up to the JSON's est_bytes ($*)"
awk -v a="${3:-0}" -v b="${4:-1}" 'BEGIN { exit !(a > 0 && a >= b * 0.98 && a <= b * 1.02) }' &&
    ok "live weights add up to the JSON's live_bytes ($3, $4)" ||
    not_ok "live weights add up to the JSON's live_bytes ($*)"
exec 9>&-
wait "$pid" 2>/dev/null
tap_done
