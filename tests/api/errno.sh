#!/bin/sh
# errno.sh: tests/api/errno-table (linked to no allocator of ours) under glibc's malloc
# and under libhakmem preloaded; both runs must pass the same table. Their TAP results are
# passed on, renumbered and labelled with the allocator.
. "$abs_top_srcdir/tests/preload/lib.sh"

prog="$abs_top_builddir/tests/api/errno-table"
[ -x "$prog" ] || { echo "1..1"; echo "not ok 1 - $prog is built"; exit 1; }
plain "$prog" >"$HK_TMP/glibc" 2>&1
preload "$prog" >"$HK_TMP/hakmem" 2>&1
# Each run's plan; a run that died early still counts its missing results as failures.
n_glibc=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$HK_TMP/glibc")
n_hakmem=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$HK_TMP/hakmem")
tap_plan $((${n_glibc:-1} + ${n_hakmem:-1}))
relay() {
    awk -v who="$1" -v planned="$2" -v base="$3" '
        /^(not )?ok [0-9]+ / {
            n++
            ok = ($1 == "ok")
            sub(/^(not )?ok [0-9]+ - /, "")
            printf "%sok %d - %s: %s\n", ok ? "" : "not ", base + n, who, $0
            next
        }
        /^#/ { print }
        END {
            for (; n < planned; n++) printf "not ok %d - %s: missing result (the run ended early)\n", base + n + 1, who
        }' "$HK_TMP/$1"
}
relay glibc "${n_glibc:-1}" 0
relay hakmem "${n_hakmem:-1}" "${n_glibc:-1}"
tap_run=$((${n_glibc:-1} + ${n_hakmem:-1}))
tap_failed=$(cat "$HK_TMP/glibc" "$HK_TMP/hakmem" | grep -c '^not ok')
[ -n "$n_glibc" ] && [ -n "$n_hakmem" ] || tap_failed=$((tap_failed + 1))
tap_done
