#!/bin/sh
# cxx.sh: C++ sites. tests/sites/cxxsites keeps what demo::make_widgets allocates with
# new and demo::Buffer::grow with new[]: hakstat must name both callers, demangled, never
# operator new or its mangled _Znwm/_Znam, with file:line from DWARF; a copy whose debug
# information was stripped keeps the names and says it has no line (null, "?").
. "$abs_top_srcdir/tests/preload/lib.sh"

HAKSTAT="$abs_top_builddir/hakstat/hakstat"
PROG="$abs_top_builddir/tests/sites/cxxsites"
require python3 objcopy
work="$HK_TMP"
pids=""
trap 'for p in $pids; do kill "$p" 2>/dev/null; done; rm -rf "$HK_TMP"' EXIT

tap_plan 8

start() {
    rm -f "$work/fifo" "$work/out"
    mkfifo "$work/fifo"
    env LD_PRELOAD="$HAKMEM_SO" HAKMEM_SITE_SAMPLE=65536 "$1" <"$work/fifo" >"$work/out" &
    pid=$!
    pids="$pids $pid"
    exec 9>"$work/fifo"
    i=0
    while [ $i -lt 600 ] && ! grep -q ready "$work/out" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
}

stop() {
    exec 9>&-
    wait "$pid" 2>/dev/null
}

# "function|file|line" per site
sites() {
    "$HAKSTAT" -p "$pid" -j | python3 -c '
import json, sys
for s in json.load(sys.stdin)["sites"]:
    print("%s|%s|%s" % (s["function"], s["file"], s["line"]))
'
}

start "$PROG"
sites >"$work/sites" 2>"$work/err"
sed 's/^/# /' "$work/sites"
grep -q '^demo::make_widgets(int)+0x[0-9a-f]*|.*cxxsites\.cc|[0-9][0-9]*$' "$work/sites" &&
    ok "new: demo::make_widgets(int), demangled, with cxxsites.cc:LINE" ||
    not_ok "new: demo::make_widgets(int), demangled, with cxxsites.cc:LINE"
grep -q '^demo::Buffer::grow(unsigned long)+0x[0-9a-f]*|.*cxxsites\.cc|[0-9][0-9]*$' "$work/sites" &&
    ok "new[]: demo::Buffer::grow(unsigned long), with its line" ||
    not_ok "new[]: demo::Buffer::grow(unsigned long), with its line"
if grep -q '^_Zn\|^operator new' "$work/sites"; then not_ok "no site is operator new"; else
    ok "no site is operator new"; fi
line=$(sed -n 's/^demo::make_widgets(int)+0x[0-9a-f]*|.*|\([0-9]*\)$/\1/p' "$work/sites" | head -1)
src=$(sed -n "${line:-1}p" "$abs_top_srcdir/tests/sites/cxxsites.cc")
case "$src" in *"new Widget"*) ok "the line is the new expression ($line)" ;;
    *) not_ok "the line is the new expression (line $line: $src)" ;; esac
"$HAKSTAT" -p "$pid" -b -n 1 -v stack -R 1 >"$work/stack" 2>&1
grep -q 'cxxsites.cc:[0-9]' "$work/stack" && ok "stack view shows source lines" ||
    not_ok "stack view shows source lines"
stop

cp "$PROG" "$work/nodebug"
objcopy --strip-debug "$work/nodebug"
start "$work/nodebug"
sites >"$work/sites" 2>"$work/err"
grep -q '^demo::make_widgets(int)+0x[0-9a-f]*|None|None$' "$work/sites" &&
    ok "without debug information: the name, file and line null" ||
    not_ok "without debug information: the name, file and line null"
"$HAKSTAT" -p "$pid" -b -n 1 -v growth >"$work/text" 2>&1
grep -q '^demo::.* ? ' "$work/text" && ok "growth view: ? for the source" ||
    not_ok "growth view: ? for the source"
grep -q 'cxxsites.cc' "$work/text" && not_ok "no line is made up" || ok "no line is made up"
stop
tap_done
