#!/bin/sh
# options.sh: every HAKMEM_* variable of the option table is parsed by its kind: good
# values take effect, a bad one is reported on standard error with what the variable
# accepts, and the default stays in force.
. "$abs_top_srcdir/tests/preload/lib.sh"

tap_plan 12
require sh ls

dir=$HK_TMP/stats
mkdir "$dir"
uid=$(id -u)

# run VAR=VALUE...: sh under libhakmem, listing the statistics directory while it (and
# the ls it starts) run; prints standard error, then "published" when a segment was
# there and "none" otherwise.
run() {
    rm -rf "${dir:?}"/* 2>/dev/null
    timeout -k 5 "$HK_TIMEOUT" env HAKMEM_STATS_DIR="$dir" "$@" LD_PRELOAD="$HAKMEM_SO" \
        sh -c 'if [ -n "$(ls "$0" 2>/dev/null)" ]; then echo published; else echo none; fi' \
        "$dir/hakmem-$uid" 2>&1
}

check_eq "HAKMEM_STATS=yes publishes" "published" "$(run HAKMEM_STATS=yes)"
check_eq "HAKMEM_STATS=OFF publishes nothing" "none" "$(run HAKMEM_STATS=OFF)"
check_eq "HAKMEM_STATS=false publishes nothing" "none" "$(run HAKMEM_STATS=false)"
out=$(run HAKMEM_STATS=maybe)
check_contains "HAKMEM_STATS=maybe is reported with the accepted words" \
    "hakmem: ignoring HAKMEM_STATS=maybe: expected 1, yes, on, true, 0, no, off or false" "$out"
check_contains "HAKMEM_STATS=maybe keeps the default (publish)" "published" "$out"
out=$(run HAKMEM_STATS_SLOTS=0)
check_contains "HAKMEM_STATS_SLOTS=0 names the range" \
    "ignoring HAKMEM_STATS_SLOTS=0: expected a number from 1 to 4096" "$out"
out=$(run HAKMEM_STATS_SLOTS=12x)
check_contains "a number with trailing junk is refused" "ignoring HAKMEM_STATS_SLOTS=12x" "$out"
out=$(run HAKMEM_SITE_SAMPLE=100)
check_contains "HAKMEM_SITE_SAMPLE=100 names 0 and the range" \
    "ignoring HAKMEM_SITE_SAMPLE=100: expected 0 or a number from 256 to 1099511627776" "$out"
check_eq "HAKMEM_SITE_SAMPLE=0 is accepted silently" "published" "$(run HAKMEM_SITE_SAMPLE=0)"
check_eq "HAKMEM_PROFILE_SAMPLE=1024 is accepted silently" "published" "$(run HAKMEM_PROFILE_SAMPLE=1024)"
out=$(timeout -k 5 "$HK_TIMEOUT" env HAKMEM_STATS_DIR=relative LD_PRELOAD="$HAKMEM_SO" true 2>&1)
check_contains "a relative HAKMEM_STATS_DIR is refused" \
    "ignoring HAKMEM_STATS_DIR=relative: expected an absolute path" "$out"
out=$(timeout -k 5 "$HK_TIMEOUT" env HAKMEM_PROFILE_SAMPLE=99999999999999999999999 \
    LD_PRELOAD="$HAKMEM_SO" true 2>&1)
check_contains "an overflowing number is refused" "expected a number from 0 to 1073741824" "$out"
tap_done
