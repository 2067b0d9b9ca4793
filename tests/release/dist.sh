#!/bin/sh
# dist.sh: the release tarball. `make distdir` into a temporary directory, packed as
# `make dist` packs it; it must hold the README's two commands and what they run
# (scripts/, .ci/), the example rules and the exporter's unit; unpacked elsewhere,
# `./configure && make` must build libhakmem, hakstat and the man pages. Takes a minute
# or two (a whole build).
#
# Environment (exported by `make check`): abs_top_builddir, abs_top_srcdir, HAKMEM_SO.

set -u

: "${abs_top_builddir:?run through make check}"
: "${abs_top_srcdir:?run through make check}"
HK_TIMEOUT=${HK_TIMEOUT:-900}
. "$abs_top_srcdir/tests/preload/lib.sh"

tap_plan 4
require tar gzip make

version=$(sed -n 's/^PACKAGE_VERSION = //p' "$abs_top_builddir/Makefile")
name=hakmem-$version
if timeout "$HK_TIMEOUT" make -s -C "$abs_top_builddir" distdir distdir="$HK_TMP/$name" \
    >"$HK_TMP/distdir.log" 2>&1 && (cd "$HK_TMP" && tar czf "$name.tar.gz" "$name") &&
    rm -rf "${HK_TMP:?}/$name"; then
    ok "make distdir, packed as $name.tar.gz ($(wc -c <"$HK_TMP/$name.tar.gz") bytes)"
else
    diag "$(tail -20 "$HK_TMP/distdir.log")"
    fail_rest "make distdir failed"
fi

missing=
for f in README.md autogen.sh configure scripts/setup-and-run scripts/run-tests \
    scripts/install-deps scripts/build scripts/main-job scripts/count-results .ci/run \
    .ci/fresh-system .ci/extra contrib/prometheus/hakmem.rules.yml \
    contrib/systemd/hakstat-exporter.service.in; do
    tar tzf "$HK_TMP/$name.tar.gz" | grep -qx "$name/$f" || missing="$missing $f"
done
check_eq "the tarball holds the README's scripts, .ci, the rules and the unit" "" "$missing"

mkdir "$HK_TMP/u" && tar xzf "$HK_TMP/$name.tar.gz" -C "$HK_TMP/u" || fail_rest "cannot unpack"
src=$HK_TMP/u/$name
notx=
for f in scripts/setup-and-run scripts/run-tests scripts/install-deps scripts/build \
    scripts/main-job .ci/run; do
    [ -x "$src/$f" ] || notx="$notx $f"
done
check_eq "the README's commands and what they run are executable in it" "" "$notx"

if (cd "$src" && timeout "$HK_TIMEOUT" ./configure --quiet && timeout "$HK_TIMEOUT" make -j2) \
    >"$HK_TMP/build.log" 2>&1 && [ -x "$src/hakstat/hakstat" ] &&
    [ -e "$src/libhakmem/.libs/libhakmem.so" ] && [ -e "$src/man/hakstat.1" ]; then
    ok "unpacked, ./configure && make builds libhakmem, hakstat and the man pages"
else
    not_ok "unpacked, ./configure && make builds libhakmem, hakstat and the man pages"
    diag "$(tail -20 "$HK_TMP/build.log")"
fi
tap_done
