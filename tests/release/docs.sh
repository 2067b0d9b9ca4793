#!/bin/sh
# docs.sh: what a newcomer reads. The README and man pages never use "seed" for the
# project's origin (they name the Larson shape or the report format), never show a bare
# LD_PRELOAD=libhakmem.so before a command, say how to reach the installed library
# (ldconfig or a full path) and tell Python users about PYTHONMALLOC=malloc; hakstat's
# --help says -b prints a block; the -o and -s errors list the valid values, a bad
# HAKMEM_STATS the accepted ones; hakstat(1) says what a stream is; the main job ends
# with a verdict.
#
# Environment (exported by `make check`): abs_top_builddir, abs_top_srcdir, HAKMEM_SO.

set -u

: "${abs_top_builddir:?run through make check}"
: "${abs_top_srcdir:?run through make check}"
HK_TIMEOUT=${HK_TIMEOUT:-60}
. "$abs_top_srcdir/tests/preload/lib.sh"

tap_plan 10
require grep

readme=$abs_top_srcdir/README.md
man3=$abs_top_builddir/man/hakmem.3
man1=$abs_top_builddir/man/hakstat.1
hakstat=$abs_top_builddir/hakstat/hakstat
larson=$abs_top_builddir/bench/larson

# "seed" as a random generator's seed (the SEED argument, seed=) is what it says.
seeds=$(grep -in 'seed' "$readme" "$man3" "$man1" | grep -v 'SEED\|seed=')
[ -x "$larson" ] && seeds="$seeds$("$larson" -h 2>&1 | grep -i 'seed' | grep -v 'SEED')"
check_eq "README, man pages and larson's usage say what they mean, never 'the seed'" "" "$seeds"

bare=$(grep -n 'LD_PRELOAD=libhakmem\.so[^,.]*[[:space:]][^[:space:]]' "$readme" "$man3" "$man1" |
    grep -v 'bare')
check_eq "no example runs a command with a bare LD_PRELOAD=libhakmem.so" "" "$bare"

if grep -q 'ldconfig' "$readme" && grep -q 'LD_PRELOAD=/usr/local/lib/libhakmem.so' "$readme" &&
    grep -q 'ldconfig' "$man3"; then
    ok "README and hakmem(3) say how to reach the installed library: ldconfig or its full path"
else
    not_ok "README and hakmem(3) mention ldconfig and the full path"
fi
check "hakmem(3) tells Python users about PYTHONMALLOC=malloc" grep -q 'PYTHONMALLOC=malloc' "$man3"

check_contains "hakstat --help: -b prints a block of text" "print a text block per interval" \
    "$("$hakstat" --help)"
err=$("$hakstat" -p 1 -o nope 2>&1)
check_contains "-o nope lists the formats" "(screen, text, json, openmetrics, prometheus)" "$err"
err=$("$hakstat" -p 1 -s nope 2>&1)
check_contains "-s nope lists the columns of the view" "(TID, NAME, MALLOC" "$err"
err=$(HAKMEM_STATS=maybe LD_PRELOAD=$HAKMEM_SO sh -c : 2>&1)
check_contains "HAKMEM_STATS=maybe lists what it accepts" \
    "expected 1, yes, on, true, 0, no, off or false" "$err"
check "hakstat(1) says what a stream is" grep -q 'A stream' "$man1"

# The main job runs from the source tree, as the README's command does; a VPATH build
# (make check-variants) has no build there.
if [ "$(cd "$abs_top_srcdir" && pwd -P)" = "$(cd "$abs_top_builddir" && pwd -P)" ] &&
    [ -x "$larson" ]; then
    timeout "$HK_TIMEOUT" "$abs_top_srcdir/scripts/main-job" 1 8 128 256 1 12345 1 \
        >"$HK_TMP/job.out" 2>&1 </dev/null
    last=$(tail -1 "$HK_TMP/job.out")
    case $last in
    "verdict: PASS: "* | "verdict: FAIL: "*) ok "the main job ends with its verdict: $last" ;;
    *) not_ok "the main job ends with a verdict line"; diag "$(tail -5 "$HK_TMP/job.out")" ;;
    esac
else
    ok "# SKIP the main job runs in a build in the source tree only"
fi
tap_done
