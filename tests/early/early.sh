#!/bin/sh
# early.sh: tests/early/early-test with libhakmem preloaded, so that libearly's
# constructor allocates before libhakmem's own constructor has run (checked with the
# loader's LD_DEBUG=libs trace), under the default settings and with options that must
# be honoured although the first call comes before initialisation. Each run's own TAP
# results are checked as one result here.
. "$abs_top_srcdir/tests/preload/lib.sh"

libdir="$abs_top_builddir/tests/early/.libs"
require grep
tap_plan 11

# run PROGRAM [VAR=VALUE...]: the program preloaded; its TAP output in $HK_TMP/out.
run() {
    hk_prog=$libdir/$1
    shift
    timeout -k 5 "$HK_TIMEOUT" env "$@" LD_LIBRARY_PATH="$libdir" LD_PRELOAD="$HAKMEM_SO" \
        "$hk_prog" >"$HK_TMP/out" 2>"$HK_TMP/err"
}

# The premise: the loader calls libearly's initialiser before libhakmem's.
run early-test LD_DEBUG=libs
mv "$HK_TMP/err" "$HK_TMP/trace"
order=$(grep -o 'calling init: [^ ]*\(libearly\|libhakmem\)[^ ]*' "$HK_TMP/trace" |
    sed 's|.*/||' | tr '\n' ' ')
case $order in
libearly.so*libhakmem.so*) ok "libearly's constructor runs before libhakmem's ($order)" ;;
*) not_ok "libearly's constructor runs before libhakmem's (order: $order)" ;;
esac

for prog in early-test early-preinit-test; do
    for settings in HAKMEM_STATS=1 HAKMEM_STATS=0 HAKMEM_TINY_PROFILE=1 HAKMEM_SITE_SAMPLE=256; do
        if run $prog $settings && ! grep -q '^not ok' "$HK_TMP/out"; then
            ok "$prog: every entry point before and after initialisation, $settings"
        else
            not_ok "$prog: every entry point before and after initialisation, $settings"
            diag "$(cat "$HK_TMP/out" "$HK_TMP/err" | head -20)"
        fi
    done
done
# Options are read at initialisation, which the first call starts: also from a
# preinit_array entry, before libc has set `environ`.
for prog in early-test early-preinit-test; do
    run $prog HAKMEM_TINY_FAST_STATS=1
    check_contains "$prog: HAKMEM_TINY_FAST_STATS=1 is honoured" "[FAST_STATS] total" \
        "$(cat "$HK_TMP/err")"
done
tap_done
