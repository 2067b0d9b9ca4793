#!/bin/sh
# stress.sh: sampled blocks under threads and fork (tests/sites/stress) at a dense
# sampling period, where most blocks are served from their own mappings, and at the
# default one; then hak_check-level checks are the program's own: contents, alignment,
# zeroing, usable size, realloc both ways, free_sized, children that free inherited blocks.
. "$abs_top_srcdir/tests/preload/lib.sh"

PROG="$abs_top_builddir/tests/sites/stress"
trap 'rm -rf "$HK_TMP"' EXIT
tap_plan 3
for period in 256 4096 1048576; do
    if timeout -k 5 "$HK_TIMEOUT" env LD_PRELOAD="$HAKMEM_SO" HAKMEM_SITE_SAMPLE=$period "$PROG" \
        >"$HK_TMP/out" 2>&1; then
        ok "threads, realloc, free_sized and fork with HAKMEM_SITE_SAMPLE=$period"
    else
        not_ok "threads, realloc, free_sized and fork with HAKMEM_SITE_SAMPLE=$period"
        diag "$(head -12 "$HK_TMP/out")"
    fi
done
tap_done
