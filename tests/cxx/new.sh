#!/bin/sh
# new.sh: tests/cxx/new-plain (linked to nothing of ours) with libhakmem preloaded: C++'s
# operators must come from the preloaded library, in front of libstdc++'s.
. "$abs_top_srcdir/tests/preload/lib.sh"
prog="$abs_top_builddir/tests/cxx/new-plain"
[ -x "$prog" ] || { echo "1..1"; echo "not ok 1 - $prog is built"; exit 1; }
preload "$prog"
