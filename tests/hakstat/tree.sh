#!/bin/sh
# tree.sh: hakstat watching several processes as one (issue 12, process scope):
#   - a tree of short children (tree-helper: 6 children of a few milliseconds, each with a
#     grandchild) under --tree: every one is counted after it exits, by its retired record,
#     with the right parent, and the totals are the sum over the processes;
#   - `make -j2` of a small generated C project, every process under LD_PRELOAD, watched
#     with --tree from before it starts: one aggregate equal to the sum over processes and
#     to the sum of each process's own exit report (HAKMEM_TINY_FAST_STATS), a row per
#     command (make, gcc, cc1, as, ld), every compiler process counted;
#   - -p with a list of PIDs that includes a dead one, in JSON, text and OpenMetrics;
#   - -l refreshing (-n 2 -d 0.2);
#   - the screen of a tree, in tmux at 60 columns, to the tree's end, and q.
#
# Environment (exported by `make check`): abs_top_builddir, abs_top_srcdir, HAKMEM_SO.
# HK_TIMEOUT (optional): seconds allowed for any one command or wait, default 60.

set -u

: "${abs_top_builddir:?run through make check}"
: "${abs_top_srcdir:?run through make check}"
HK_TIMEOUT=${HK_TIMEOUT:-60}
. "$abs_top_srcdir/tests/preload/lib.sh"

hakstat=$abs_top_builddir/hakstat/hakstat
helper=$abs_top_builddir/tests/hakstat/workload-helper
tree=$abs_top_builddir/tests/hakstat/tree-helper

tap_plan 21
require python3 mkfifo make gcc tmux
for prog in "$hakstat" "$helper" "$tree"; do
    [ -x "$prog" ] || fail_rest "$prog is not built"
done

pids=
sock=hakstat-tree-$$
cleanup() {
    tmux -L "$sock" kill-server >/dev/null 2>&1
    exec 5>&- 6>&- 7>&-
    for p in $pids; do
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    rm -rf "$HK_TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

HAKMEM_STATS_DIR=$HK_TMP/shm
export HAKMEM_STATS_DIR
mkdir "$HAKMEM_STATS_DIR"
udir=$HAKMEM_STATS_DIR/hakmem-$(id -u)

# spawn NAME FD CMD...: CMD in the background, stdin the FIFO $HK_TMP/NAME.in whose
# write end this shell holds on FD, output in $HK_TMP/NAME.out and .err; $spawned.
spawn() {
    sp_name=$1 sp_fd=$2
    shift 2
    mkfifo "$HK_TMP/$sp_name.in" || return 1
    "$@" <"$HK_TMP/$sp_name.in" >"$HK_TMP/$sp_name.out" 2>"$HK_TMP/$sp_name.err" 5>&- 6>&- 7>&- &
    spawned=$!
    pids="$pids $spawned"
    eval "exec $sp_fd>\"\$HK_TMP/\$sp_name.in\""
}

# wait_for FILE TEXT: until FILE holds TEXT (bounded).
wait_for() {
    i=0
    while [ "$i" -lt $((HK_TIMEOUT * 10)) ]; do
        grep -q "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
        i=$((i + 1))
    done
    diag "no '$2' in $1:" "$(head -c 1000 "$1" 2>/dev/null)"
    return 1
}

# wait_gone PID: until the process has exited (bounded; it is not this shell's child).
wait_gone() {
    i=0
    while [ "$i" -lt $((HK_TIMEOUT * 10)) ] && kill -0 "$1" 2>/dev/null; do
        sleep 0.1
        i=$((i + 1))
    done
    ! kill -0 "$1" 2>/dev/null
}

# jcheck DESC FILE PYTHON [ARGS]: ok when the code raises nothing; `docs` holds every
# document of FILE, `d` the last, `a` the extra arguments as integers.
cat >"$HK_TMP/jcheck.py" <<'EOF'
import json, sys
docs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
d = docs[-1] if docs else None
import os
a = [int(x) if x.isdigit() else x for x in sys.argv[3:]]
try:
    exec(sys.argv[2])
except Exception as e:
    print("%s: %s" % (type(e).__name__, e))
    sys.exit(1)
EOF
jcheck() {
    jc_desc=$1
    shift
    if jc_out=$(python3 "$HK_TMP/jcheck.py" "$@" 2>&1); then
        ok "$jc_desc"
    else
        not_ok "$jc_desc"
        diag "$jc_out"
    fi
}

# --- a tree of short children -----------------------------------------------------------
spawn t 5 "$tree" run 6 200
T=$spawned
wait_for "$HK_TMP/t.out" ready || fail_rest "tree-helper did not start"
timeout -k 2 "$HK_TIMEOUT" "$hakstat" -p "$T" --tree -j -d 0.3 >"$HK_TMP/tree.json" \
    2>"$HK_TMP/tree.err" 5>&- &
H=$!
pids="$pids $H"
wait_for "$HK_TMP/tree.json" schema
exec 5>&- # go: the children start, one after another
st=0
wait "$H" || st=$?
if [ "$st" = 7 ] && grep -q "every process exited" "$HK_TMP/tree.err"; then
    ok "--tree -j -d 0.3: a document per interval until every process exited (status 7)"
else
    not_ok "--tree: status 7 when every process exited"
    diag "status $st" "$(cat "$HK_TMP/tree.err")"
fi
jcheck "--tree: the root, 6 children and 6 grandchildren, all exited, with their parents" \
    "$HK_TMP/tree.json" '
ps = d["processes"]
assert d["tree"] is True and d["pid"] == a[0] and d["alive"] is False, d["pid"]
assert len(ps) == 13, [(p["pid"], p["ppid"], p["state"]) for p in ps]
kids = [p for p in ps if p["ppid"] == a[0]]
grand = [p for p in ps if p["ppid"] in {k["pid"] for k in kids}]
assert len(kids) == 6 and len(grand) == 6, (len(kids), len(grand), os.listdir(a[1]))
for p in ps:
    assert p["exited"] and p["state"] == "exited", p
    assert p["exit_time"] is not None and p["command"] == "tree-helper", p
' "$T" "$udir"
jcheck "--tree: every short child and grandchild counted (>= 200 mallocs and frees each)" \
    "$HK_TMP/tree.json" '
for p in d["processes"]:
    if p["pid"] != a[0]:
        assert p["malloc"] >= 200 and p["free"] >= 200, (p["pid"], p["malloc"], p["free"])
' "$T"
jcheck "--tree: totals are the sum over processes, and over commands" "$HK_TMP/tree.json" '
for k in ("malloc", "free", "bytes", "refills"):
    s = sum(p[k] for p in d["processes"])
    assert d["totals"][k] == s, (k, d["totals"][k], s)
    assert sum(c[k] for c in d["commands"]) == s, k
assert d["commands"][0]["command"] == "tree-helper" and d["commands"][0]["processes"] == 13
' "$T"

# --- make -j2 ---------------------------------------------------------------------------
proj=$HK_TMP/proj
mkdir "$proj"
for i in 1 2 3 4; do
    cat >"$proj/u$i.c" <<EOF
#include <stdio.h>
#include <stdlib.h>
int f$i(int x);
struct s$i { int a[$((i * 8))]; };
int f$i(int x) { struct s$i s = {{0}}; for (int k = 0; k < $((i * 8)); k++) s.a[k] = x + k; return s.a[x % $((i * 8))]; }
EOF
done
cat >"$proj/main.c" <<'EOF'
int f1(int), f2(int), f3(int), f4(int);
int main(void) { return f1(1) + f2(2) + f3(3) + f4(4) == 0; }
EOF
printf 'prog: main.o u1.o u2.o u3.o u4.o\n\tgcc -o $@ $^\n%%.o: %%.c\n\tgcc -O1 -c -o $@ $<\n' \
    >"$proj/Makefile"
# make waits on its FIFO until hakstat watches; every process preloads libhakmem and
# reports its totals at exit (HAKMEM_TINY_FAST_STATS) on stderr.
mkfifo "$HK_TMP/m.go"
(read -r _ <"$HK_TMP/m.go"; exec env LD_PRELOAD="$HAKMEM_SO" HAKMEM_TINY_FAST_STATS=1 \
    make -j2 -C "$proj") >"$HK_TMP/m.out" 2>"$HK_TMP/m.err" 5>&- &
M=$!
pids="$pids $M"
timeout -k 2 "$HK_TIMEOUT" "$hakstat" -p "$M" --tree -j -d 0.5 >"$HK_TMP/make.json" \
    2>"$HK_TMP/make.err" &
H=$!
pids="$pids $H"
wait_for "$HK_TMP/make.json" schema
echo go >"$HK_TMP/m.go"
mst=0
wait "$M" || mst=$?
st=0
wait "$H" || st=$?
if [ "$mst" = 0 ] && [ -x "$proj/prog" ] && [ "$st" = 7 ]; then
    ok "make -j2 under LD_PRELOAD builds the project while hakstat --tree watches (status 7)"
else
    not_ok "make -j2 under hakstat --tree"
    diag "make $mst, hakstat $st" "$(tail -5 "$HK_TMP/m.err")" "$(cat "$HK_TMP/make.err")"
fi
reports=$(grep -o '^\[FAST_STATS\] total mallocs=[0-9,]*' "$HK_TMP/m.err" | sed 's/.*=//; s/,//g' |
    awk '{ s += $1 } END { print s + 0 }')
nreports=$(grep -c '^\[FAST_STATS\] total mallocs=' "$HK_TMP/m.err")
diag "exit reports: $nreports processes, $reports mallocs in all"
jcheck "make: the aggregate malloc and free counts equal the sum over processes" \
    "$HK_TMP/make.json" '
for k in ("malloc", "free", "bytes"):
    s = sum(p[k] for p in d["processes"])
    assert d["totals"][k] == s, (k, d["totals"][k], s)
assert d["totals"]["malloc"] > 0
'
jcheck "make: the aggregate equals the sum of the processes' own exit reports" \
    "$HK_TMP/make.json" '
assert d["totals"]["malloc"] == a[0], (d["totals"]["malloc"], a[0])
assert len(d["processes"]) == a[1], (len(d["processes"]), a[1])
' "$reports" "$nreports"
jcheck "make: a row per command (make, gcc, cc1 x5, as x5, ld), every process exited" \
    "$HK_TMP/make.json" '
c = {x["command"]: x for x in d["commands"]}
for name in ("make", "gcc", "cc1", "as"):
    assert name in c, (name, sorted(c))
    assert c[name]["malloc"] > 0, c[name]
assert c["cc1"]["processes"] == 5 and c["as"]["processes"] == 5, (c["cc1"], c["as"])
assert "ld" in c or "collect2" in c, sorted(c)
assert all(p["exited"] for p in d["processes"]), [p for p in d["processes"] if not p["exited"]]
assert sum(1 for p in d["processes"] if p["state"] == "exited") >= 11
'
timeout -k 2 "$HK_TIMEOUT" make -C "$proj" -s clean >/dev/null 2>&1 || rm -f "$proj"/*.o
rm -f "$proj"/*.o "$proj/prog"
mkfifo "$HK_TMP/b.go"
(read -r _ <"$HK_TMP/b.go"; exec env LD_PRELOAD="$HAKMEM_SO" make -j2 -C "$proj") \
    >/dev/null 2>&1 &
M=$!
pids="$pids $M"
timeout -k 2 "$HK_TIMEOUT" "$hakstat" -p "$M" --tree -b -d 0.5 >"$HK_TMP/make.txt" 2>&1 &
H=$!
pids="$pids $H"
wait_for "$HK_TMP/make.txt" '^==='
echo go >"$HK_TMP/b.go"
wait "$M"
wait "$H"
last=$(awk '/^===/ {b = ""} {b = b $0 "\n"} END {printf "%s", b}' "$HK_TMP/make.txt")
if printf '%s' "$last" | grep -q "^processes: [0-9]* in all, 0 running" &&
    printf '%s' "$last" | grep -Eq '^cc1 +5 +0 ' && printf '%s' "$last" | grep -Eq '^as +5 +0 '; then
    ok "make, batch text: the summary of the tree and a row per command (cc1, as: 5 each)"
else
    not_ok "make, batch text: the summary of the tree and a row per command"
    diag "$last"
fi

# --- a list of PIDs ---------------------------------------------------------------------
spawn a 6 "$helper" 1 60
A=$spawned
spawn b 7 "$helper" 2 60
B=$spawned
wait_for "$HK_TMP/a.out" ready && wait_for "$HK_TMP/b.out" ready
sh -c 'exit 0' &
DEAD=$!
wait "$DEAD"
st=0
timeout -k 2 "$HK_TIMEOUT" "$hakstat" -p "$A,$B,$DEAD" -j >"$HK_TMP/list.json" \
    2>"$HK_TMP/list.err" 5>&- 6>&- 7>&- || st=$?
if [ "$st" = 0 ] && [ "$(wc -l <"$HK_TMP/list.err")" = 1 ] &&
    grep -q "no process with PID $DEAD (left out)" "$HK_TMP/list.err"; then
    ok "-p A,B,DEAD -j: status 0, one line naming the dead PID: $(cat "$HK_TMP/list.err")"
else
    not_ok "-p A,B,DEAD -j: status 0 and a line naming the dead PID"
    diag "status $st" "$(cat "$HK_TMP/list.err")"
fi
jcheck "-p A,B,DEAD -j: processes A and B with their workers' counts, totals their sum" \
    "$HK_TMP/list.json" '
ps = {p["pid"]: p for p in d["processes"]}
assert sorted(ps) == sorted(a[:2]) and d["tree"] is False, sorted(ps)
assert ps[a[0]]["malloc"] >= 1000 and ps[a[1]]["malloc"] >= 3000, ps
assert all(p["state"] == "live" and p["named"] for p in ps.values())
assert d["totals"]["malloc"] == ps[a[0]]["malloc"] + ps[a[1]]["malloc"]
' "$A" "$B"
st=0
timeout -k 2 "$HK_TIMEOUT" "$hakstat" -p "$A" -p "$B" -b -n 2 -d 0.2 >"$HK_TMP/list.txt" \
    2>&1 5>&- 6>&- 7>&- || st=$?
if [ "$st" = 0 ] && [ "$(grep -c '^=== ' "$HK_TMP/list.txt")" = 2 ] &&
    grep -q "^pids $A,$B  up " "$HK_TMP/list.txt" &&
    grep -q "^processes: 2 in all, 2 running, 0 exited" "$HK_TMP/list.txt" &&
    grep -Eq "^ *$A +[0-9]+ live " "$HK_TMP/list.txt" &&
    grep -Eq "^ *$B +[0-9]+ live " "$HK_TMP/list.txt"; then
    ok "-p A -p B -b -n 2: two blocks, each with both processes"
else
    not_ok "-p A -p B -b -n 2: two blocks, each with both processes"
    diag "status $st" "$(head -30 "$HK_TMP/list.txt")"
fi
st=0
timeout -k 2 "$HK_TIMEOUT" "$hakstat" -p "$A,$B" -o openmetrics >"$HK_TMP/list.om" 2>&1 \
    5>&- 6>&- 7>&- || st=$?
if [ "$st" = 0 ] && [ "$(tail -1 "$HK_TMP/list.om")" = "# EOF" ] &&
    grep -q "^hakmem_malloc_total{pid=\"$A\",command=\"workload-helper\"} [0-9]" "$HK_TMP/list.om" &&
    grep -q "^hakmem_malloc_total{pid=\"$B\",command=\"workload-helper\"} [0-9]" "$HK_TMP/list.om"; then
    ok "-p A,B -o openmetrics: a malloc sample per process, # EOF last"
else
    not_ok "-p A,B -o openmetrics: a malloc sample per process, # EOF last"
    diag "status $st" "$(head -20 "$HK_TMP/list.om")"
fi
st=0
timeout -k 2 "$HK_TIMEOUT" "$hakstat" -p "$DEAD,$DEAD" -j >"$HK_TMP/o" 2>"$HK_TMP/e" || st=$?
if [ "$st" = 2 ] && [ ! -s "$HK_TMP/o" ] && grep -q "no process with PID $DEAD$" "$HK_TMP/e"; then
    ok "-p DEAD,DEAD: status 2, nothing on stdout"
else
    not_ok "-p DEAD,DEAD: status 2"
    diag "status $st" "$(cat "$HK_TMP/o" "$HK_TMP/e")"
fi
st=0
timeout -k 2 "$HK_TIMEOUT" "$hakstat" -p "$A,x7" -j >"$HK_TMP/o" 2>"$HK_TMP/e" || st=$?
if [ "$st" = 1 ] && [ ! -s "$HK_TMP/o" ] && grep -q "bad PID 'x7' in '$A,x7'" "$HK_TMP/e"; then
    ok "-p A,x7: status 1, names the bad PID: $(head -1 "$HK_TMP/e")"
else
    not_ok "-p A,x7: status 1, names the bad PID"
    diag "status $st" "$(cat "$HK_TMP/o" "$HK_TMP/e")"
fi
st=0
timeout -k 2 "$HK_TIMEOUT" "$hakstat" -p "$A," -j >"$HK_TMP/o" 2>"$HK_TMP/e" || st=$?
check "-p 'A,': status 1 (an empty PID)" test "$st" = 1

# --- -l refreshing ----------------------------------------------------------------------
st=0
timeout -k 2 "$HK_TIMEOUT" "$hakstat" -l -n 2 -d 0.2 >"$HK_TMP/l.txt" 2>&1 5>&- 6>&- 7>&- || st=$?
if [ "$st" = 0 ] && [ "$(grep -c '^=== ' "$HK_TMP/l.txt")" = 2 ] &&
    [ "$(grep -Ec "^ *$A .*workload-helper" "$HK_TMP/l.txt")" = 2 ]; then
    ok "-l -n 2 -d 0.2: two lists, each headed by its time, each with the helper"
else
    not_ok "-l -n 2 -d 0.2: two lists"
    diag "status $st" "$(cat "$HK_TMP/l.txt")"
fi
st=0
timeout -k 2 "$HK_TIMEOUT" "$hakstat" -l -j -n 2 -d 0.2 >"$HK_TMP/l.json" 2>&1 5>&- 6>&- 7>&- ||
    st=$?
jcheck "-l -j -n 2: two JSON arrays, one a line" "$HK_TMP/l.json" '
assert len(docs) == 2 and all(isinstance(x, list) for x in docs), docs
assert all(any(e["pid"] == a[0] for e in x) for x in docs)
' "$A"

exec 6>&- 7>&-
wait "$A"
wait "$B"
check "the helpers end with status 0" true

# --- the screen of a tree (tmux, 60 columns) --------------------------------------------
printf 'set -s exit-empty off\nset -g status off\nset -g remain-on-exit on\nset -g default-terminal screen\nset -g default-shell /bin/sh\n' \
    >"$HK_TMP/tmux.conf"
tm() { tmux -L "$sock" -f "$HK_TMP/tmux.conf" "$@" 5>&- 6>&- 7>&-; }
pane_wait() { # pane_wait REGEX: until the pane shows a line matching it (bounded)
    i=0
    while [ "$i" -lt $((HK_TIMEOUT * 5)) ]; do
        tm capture-pane -p -t tree >"$HK_TMP/pane" 2>/dev/null
        grep -Eq -- "$1" "$HK_TMP/pane" && return 0
        sleep 0.2
        i=$((i + 1))
    done
    diag "the pane never showed '$1':" "$(cat "$HK_TMP/pane")"
    return 1
}
spawn s 5 "$tree" run 4 100
T=$spawned
wait_for "$HK_TMP/s.out" ready
tm new-session -d -s tree -x 60 -y 40 \
    "HAKMEM_STATS_DIR='$HAKMEM_STATS_DIR' '$hakstat' -p $T --tree -d 0.3; echo \$? >'$HK_TMP/tree.st'"
pane_wait "and its descendants" && exec 5>&-
if pane_wait "^processes: 9 in all, 0 running, 9 exited" && pane_wait "every process of the group exited" &&
    grep -Eq '^tree-helper +9 +0 ' "$HK_TMP/pane" &&
    [ "$(awk 'length($0) > 60' "$HK_TMP/pane" | wc -l)" = 0 ]; then
    ok "--tree on a terminal (60 columns): the tree's screen, refreshed to its end, lines cut whole"
else
    not_ok "--tree on a terminal: the tree's screen to its end"
    diag "the records and segments there:" "$(ls -la --time-style=full-iso "$udir")"
fi
tm send-keys -t tree q
i=0
while [ "$i" -lt $((HK_TIMEOUT * 10)) ] && [ ! -s "$HK_TMP/tree.st" ]; do
    sleep 0.1
    i=$((i + 1))
done
check_eq "q leaves the tree's screen with status 0" 0 "$(cat "$HK_TMP/tree.st" 2>/dev/null)"
tm kill-server >/dev/null 2>&1
tap_done
