#!/bin/sh
# programs.sh: bench/programs' quick mode runs every real program once under every
# installed allocator and prints its table: a header naming the allocators, then for
# every program its rows (wall time and peak RSS; redis also the RSS after the load)
# with a value in every allocator's column and both ratios, or one "not installed" row
# when the program is missing (a skip here, never a pass). No timing is checked. Also:
# -h, a bad option (status 2), -n (the plan only, nothing run). Speaks TAP.
# Environment (set by `make check`): HAKMEM_SO, abs_top_srcdir, abs_top_builddir.

. "$abs_top_srcdir/tests/preload/lib.sh"

programs=$abs_top_srcdir/bench/programs
bench=$abs_top_builddir/bench
tmp=$HK_TMP
export BENCH_DIR="$bench"

# One line per program: its name, its metrics, the binaries it needs.
expect="xz wall_s peak_rss xz
git-gc wall_s peak_rss git
sqlite3 wall_s peak_rss sqlite3
redis wall_s peak_rss rss_after redis-server redis-cli redis-benchmark
g++ wall_s peak_rss g++
python3 wall_s peak_rss python3"

tap_plan $(($(echo "$expect" | wc -l) + 6))

check "-h prints the usage" sh -c "sh '$programs' -h >/dev/null"
sh "$programs" -x >/dev/null 2>&1
check_eq "a bad option exits with status 2" 2 $?
out=$(sh "$programs" -n -o "$tmp/none" 2>&1)
check_eq "-n prints the plan and runs nothing" "plan|absent" \
    "$(echo "$out" | grep -q '^programs (full inputs):' && echo plan)|$([ -e "$tmp/none" ] && echo present || echo absent)"

timeout -k 5 600 sh "$programs" -q -o "$tmp/results" >"$tmp/out" 2>&1
status=$?
check_eq "programs -q exits with status 0" 0 "$status"
[ "$status" -eq 0 ] || diag "$(tail -n 20 "$tmp/out")"

# The allocators are the header's columns between "unit" and "/glibc".
allocs=$(awk '$1 == "program" && $2 == "metric" && $3 == "unit" {
    for (i = 4; i <= NF && $i != "/glibc"; i++) printf "%s ", $i
    exit }' "$tmp/out")
check_contains "the table's header names hakmem and glibc" "hakmem glibc" "$allocs"
nalloc=$(echo "$allocs" | wc -w)

# row_ok PROGRAM METRIC: the row has a number for every allocator, and two ratios.
row_ok() {
    awk -v p="$1" -v m="$2" -v n="$nalloc" '
        $1 == p && $2 == m {
            found = 1
            for (i = 4; i < 4 + n + 2; i++) if ($i !~ /^[0-9]+\.[0-9]+$/) bad = bad " " $i
        }
        END { if (!found) print "no row"; else if (bad != "") print "not numbers:" bad; else print "ok" }
    ' "$tmp/out"
}

while read -r prog rest; do
    metrics=
    bins=
    for w in $rest; do
        case $w in wall_s | peak_rss | rss_after) metrics="$metrics $w" ;; *) bins="$bins $w" ;; esac
    done
    have=yes
    for b in $bins; do command -v "$b" >/dev/null 2>&1 || have=no; done
    if [ "$have" = no ]; then
        if grep -q "^$prog  *not installed\$" "$tmp/out"; then
            ok "# SKIP $prog: not installed, and its row says so"
        else
            not_ok "$prog: not installed, but no 'not installed' row"
        fi
        continue
    fi
    got=
    for m in $metrics; do got="$got $m:$(row_ok "$prog" "$m")"; done
    want=
    for m in $metrics; do want="$want $m:ok"; done
    check_eq "$prog: every allocator ran, its rows have every value ($metrics )" "$want" "$got"
done <<EOF
$expect
EOF

csv=
for f in "$tmp"/results/programs-*[0-9].csv; do [ -e "$f" ] && csv=$f; done
check "the CSV has the header and a row per metric" \
    sh -c "[ -n '$csv' ] && head -n 1 '$csv' | grep -q '^program,metric,unit,hakmem,glibc' &&
        [ \$(grep -c '^[a-z0-9+-]*,\\(wall_s\\|peak_rss\\|rss_after\\),' '$csv') -ge 1 ]"
tap_done
