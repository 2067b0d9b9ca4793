#!/bin/sh
# man.sh: the man pages document everything the code offers: every HAKMEM_* variable
# the library reads, every hakstat option (options.h), every column of every view
# (table.c, table_sites.c), every key (keys.h); and groff finds nothing to warn about in either page.
. "$abs_top_srcdir/tests/preload/lib.sh"

src=$abs_top_srcdir
hakmem3=$abs_top_builddir/man/hakmem.3
hakstat1=$abs_top_builddir/man/hakstat.1
tap_plan 6

missing=""
for v in $( (grep -ho "\"HAKMEM_[A-Z0-9_]*\"" "$src"/libhakmem/*.c; grep -o "X(HAKMEM_[A-Z0-9_]*" "$src/libhakmem/options.h") | tr -d "\"X(" | sort -u); do
    grep -q "$v" "$hakmem3" || missing="$missing $v"
done
check "hakmem(3) documents every HAKMEM_* variable the library reads${missing:+ (missing:$missing)}" \
    test -z "$missing"

missing=""
for o in $(sed -n 's/^ *X(.\(.\)., "\([a-z-]*\)".*/\2/p' "$src/hakstat/options.h"); do
    grep -q -- "-\\\\-$o\|--$o" "$hakstat1" || missing="$missing --$o"
done
check "hakstat(1) documents every long option${missing:+ (missing:$missing)}" test -z "$missing"

missing=""
for o in $(sed -n "s/^ *X('\(.\)', \".*/\1/p" "$src/hakstat/options.h"); do
    grep -q -- "\\\\-$o\b\|-$o\b" "$hakstat1" || missing="$missing -$o"
done
check "hakstat(1) documents every short option${missing:+ (missing:$missing)}" test -z "$missing"

missing=""
for c in $(sed -n 's/^ *\[[A-Z]_[A-Z_]*\] = {"\([A-Z_%]*\)".*/\1/p' "$src/hakstat/table.c" "$src/hakstat/table_sites.c"); do
    grep -q -- "$c" "$hakstat1" || missing="$missing $c"
done
check "hakstat(1) documents every column of every view${missing:+ (missing:$missing)}" \
    test -z "$missing"

missing=""
for h in $(sed -n 's/.*"\([^"]*\)")[ \\]*$/\1/p' "$src/hakstat/keys.h" | tr ' ' '_'); do
    grep -qiF -- "$(echo "$h" | tr '_' ' ' | cut -c1-30)" "$hakstat1" || missing="$missing [$h]"
done
check "hakstat(1) lists every key's help text${missing:+ (missing:$missing)}" test -z "$missing"

warnings=$( (groff -ww -man -Tutf8 "$hakmem3" && groff -ww -man -Tutf8 "$hakstat1") 2>&1 >/dev/null)
check "groff -ww has no warnings for either page${warnings:+: $warnings}" test -z "$warnings"
tap_done
