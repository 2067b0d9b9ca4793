#!/bin/sh
# smoke.sh: every benchmark runs briefly to completion under hakmem (LD_PRELOAD=$HAKMEM_SO)
# and under glibc, and prints its RESULT line; the compare driver runs end to end. No
# timing is checked: this proves the programs and the driver work, not how fast anything
# is. Speaks TAP. Environment (set by `make check`): HAKMEM_SO, abs_top_srcdir,
# abs_top_builddir.

set -u
bench=${abs_top_builddir:-.}/bench
src=${abs_top_srcdir:-.}/bench
so=${HAKMEM_SO:-${abs_top_builddir:-.}/libhakmem/.libs/libhakmem.so}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hakmem-smoke.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
limit=
command -v timeout >/dev/null 2>&1 && limit="timeout -k 5 120"

# One line per case: program and its (tiny) arguments.
cases="larson 0.2 8 128 1024 1 12345 4
larson 0.2 8 1000 5000 100 4141 2
pair 0.002
prodcons 0.2 1
prodcons 0.2 2 64 0
sweep 0.1
churn 0.2 4 500
large 0.1 4 64 4096
handoff 0.2 2 2 64
mix 0.2 2 2000
scratch 0.2 2 8 100
containers 0.2 1 200
larsonxx 0.2 8 1000 5000 100 4141 2"

ncases=$(printf '%s\n' "$cases" | wc -l)
echo "1..$((2 * ncases + 3))"
n=0

# report DESCRIPTION STATUS: print "ok" or "not ok" for the next test, and the tail of
# $tmp/out as a diagnostic when it failed.
report() {
    n=$((n + 1))
    if [ "$2" -eq 0 ]; then
        echo "ok $n - $1"
    else
        echo "not ok $n - $1"
        tail -n 5 "$tmp/out" | sed 's/^/# /'
    fi
}

# check ALLOCATOR PROGRAM ARGS...: the program runs under the allocator, exits 0, and its
# last RESULT line names it and ends with a peak RSS.
check() {
    alloc=$1
    prog=$2
    shift 2
    desc="$alloc: $prog $*"
    if [ "$alloc" = hakmem ]; then
        if [ ! -e "$so" ]; then
            echo "HAKMEM_SO=$so does not exist" >"$tmp/out"
            report "$desc" 1
            return
        fi
        # shellcheck disable=SC2086 # $limit is empty or a command prefix
        set -- env LD_PRELOAD="$so" $limit "$bench/$prog" "$@"
    else
        # shellcheck disable=SC2086
        set -- env -u LD_PRELOAD $limit "$bench/$prog" "$@"
    fi
    # A library that fails to load is only a warning to ld.so: the run then uses glibc.
    "$@" </dev/null >"$tmp/out" 2>&1 && ! grep -q 'cannot be preloaded' "$tmp/out" &&
        grep "^RESULT " "$tmp/out" | tail -n 1 |
        grep -q "^RESULT name=$prog .* peak_rss_kib=[0-9][0-9]*\$"
    report "$desc" $?
}

for alloc in hakmem glibc; do
    while read -r line; do
        # shellcheck disable=SC2086 # the words split on purpose
        check "$alloc" $line
    done <<EOF
$cases
EOF
done

sh "$src/compare" -h >"$tmp/out" 2>&1
report "compare -h" $?

sh "$src/compare" -x >"$tmp/out" 2>&1
[ $? -eq 2 ]
report "compare rejects a bad option with status 2" $?

# The driver end to end, with hakmem and glibc, one short run of one workload.
HAKMEM_SO=$so BENCH_DIR=$bench sh "$src/compare" -r 1 -s 0.1 -w larson-short \
    -a hakmem,glibc -o "$tmp/results" >"$tmp/out" 2>&1
rc=$?
csv=
for f in "$tmp"/results/*[0-9].csv; do [ -e "$f" ] && csv=$f; done
[ "$rc" -eq 0 ] && [ -n "$csv" ] && grep -q '^larson-short,ops_per_s,higher,' "$csv" &&
    grep -q '^larson-short ' "$tmp/out"
report "compare: larson-short under hakmem and glibc, table and CSV" $?
