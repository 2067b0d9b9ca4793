#!/bin/sh
# install.sh: `make install DESTDIR=...` of this build. The exporter's systemd unit is
# installed, names the installed hakstat, and is not enabled (no .wants link); the
# example rules are installed; the installed hakmem.h declares free_sized and
# free_aligned_sized, which glibc 2.36's stdlib.h lacks, so a program using them
# compiles with -Wall -Wextra -Werror and runs on the installed library.
#
# Environment (exported by `make check`): abs_top_builddir, abs_top_srcdir, HAKMEM_SO.

set -u

: "${abs_top_builddir:?run through make check}"
: "${abs_top_srcdir:?run through make check}"
HK_TIMEOUT=${HK_TIMEOUT:-300}
. "$abs_top_srcdir/tests/preload/lib.sh"

tap_plan 5
require make cc

mk() { sed -n "s/^$1 = //p" "$abs_top_builddir/Makefile"; }
prefix=$(mk prefix)
dest=$HK_TMP/root
if timeout "$HK_TIMEOUT" make -s -C "$abs_top_builddir" install DESTDIR="$dest" \
    >"$HK_TMP/install.log" 2>&1; then
    ok "make install DESTDIR=$dest"
else
    diag "$(tail -20 "$HK_TMP/install.log")"
    fail_rest "make install failed"
fi

unit=$(find "$dest" -name hakstat-exporter.service)
exec_path=$(sed -n 's/^ExecStart=\([^ ]*\) .*/\1/p' "$unit" 2>/dev/null)
if [ -n "$unit" ] && [ "$exec_path" = "$prefix/bin/hakstat" ] && [ -x "$dest$exec_path" ] &&
    grep -q '^ExecStart=.* --serve ' "$unit"; then
    ok "hakstat-exporter.service installed (${unit#"$dest"}), ExecStart=$exec_path --serve"
else
    not_ok "hakstat-exporter.service installed with ExecStart the installed hakstat (got '$unit', '$exec_path')"
fi
wants=$(find "$dest" -path '*.wants*' | head -1)
check_eq "the unit is not enabled (no .wants link installed)" "" "$wants"
rules=$(find "$dest" -name hakmem.rules.yml)
check_eq "the example rules are installed under the package's data directory" \
    "$prefix/share/hakmem/prometheus/hakmem.rules.yml" "${rules#"$dest"}"

cat >"$HK_TMP/sized.c" <<'CEOF'
#include <stdio.h>
#include <stdlib.h>
#include <hakmem.h>
int main(void)
{
    void *p = malloc(100), *q = aligned_alloc(64, 128);
    if (!p || !q) return 1;
    free_sized(p, 100);
    free_aligned_sized(q, 64, 128);
    printf("%s\n", hak_version());
    return 0;
}
CEOF
incdir=$(dirname "$(find "$dest" -name hakmem.h | head -1)")
libdir=$(dirname "$(find "$dest" -name libhakmem.so | head -1)")
if cc -std=c11 -Wall -Wextra -Werror -I"$incdir" -o "$HK_TMP/sized" "$HK_TMP/sized.c" \
    -L"$libdir" -lhakmem >"$HK_TMP/cc.log" 2>&1 &&
    out=$(LD_LIBRARY_PATH=$libdir timeout 20 "$HK_TMP/sized" 2>&1) && [ -n "$out" ]; then
    ok "a C11 program using free_sized/free_aligned_sized builds with -Werror and runs ($out)"
else
    not_ok "free_sized/free_aligned_sized from the installed hakmem.h under -Werror"
    diag "$(cat "$HK_TMP/cc.log")" "${out:-}"
fi
tap_done
