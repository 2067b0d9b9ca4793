#!/bin/sh
# settings.sh: the API and thread tests (tests/api/*-test, tests/threads/*-test) again
# under each option set that changes the allocator's paths, as jemalloc re-runs its
# integration tests per option string: statistics off, every call profiled, dense site
# sampling, two stats slots for many threads. One result per program and setting; a
# program's own failing results are shown. fork-signal-test is left out: it runs for
# seconds and takes the same paths under every setting.
. "$abs_top_srcdir/tests/preload/lib.sh"

progs=
for p in "$abs_top_builddir"/tests/api/*-test "$abs_top_builddir"/tests/threads/*-test; do
    case $p in *fork-signal-test) continue ;; esac
    [ -x "$p" ] && progs="$progs $p"
done
settings="HAKMEM_STATS=0 HAKMEM_TINY_PROFILE=1 HAKMEM_SITE_SAMPLE=256 HAKMEM_STATS_SLOTS=2"
set -- $progs
[ $# -ge 15 ] || { echo "1..1"; echo "not ok 1 - found only $# test programs under tests/api and tests/threads"; exit 1; }
tap_plan $(($# * 4))
for s in $settings; do
    for p in $progs; do
        name=$(basename "$(dirname "$p")")/$(basename "$p")
        status=0
        timeout -k 5 "$HK_TIMEOUT" env "$s" "$p" >"$HK_TMP/out" 2>&1 || status=$?
        if [ "$status" -eq 0 ]; then
            ok "$name with $s"
        else
            why="exit status $status"
            [ "$status" -ne 124 ] || why="timed out after $HK_TIMEOUT s"
            not_ok "$name with $s ($why)"
            diag "$(grep -E '^(not ok|#|Bail)' "$HK_TMP/out" | head -10)"
        fi
    done
done
tap_done
