#!/bin/sh
# records.sh: another local user against hakstat --tree's retired records (hakstat(1),
# SECURITY). The attacker is user nobody (65534, through setpriv); the victim is root,
# whose tree holds one process of nobody's (so nobody's directory is read at all).
# Planted in nobody's directory: a forged record naming a root process of the tree as
# its parent (refused: a record joins only under a parent that ran as the directory's
# user), the same naming nobody's own process (taken: nobody's figures, under nobody's
# process), a symbolic link to a root record, a FIFO, and a 1 GiB sparse file (passed
# over without blocking or reading); and nobody's --gc leaves root's records alone.
# Not root, there is no second user: every case is reported as SKIP.
#
# Environment (exported by `make check`): abs_top_builddir, abs_top_srcdir, HAKMEM_SO.
# HK_TIMEOUT (optional): seconds allowed for any one command or wait, default 30.

set -u

: "${abs_top_builddir:?run through make check}"
: "${abs_top_srcdir:?run through make check}"
HK_TIMEOUT=${HK_TIMEOUT:-30}
. "$abs_top_srcdir/tests/preload/lib.sh"
require python3 setpriv mkfifo truncate

tap_plan 6
if [ "$(id -u)" != 0 ]; then
    while [ "$tap_run" -lt "$tap_planned" ]; do
        tap_run=$((tap_run + 1))
        echo "ok $tap_run # SKIP needs root and user nobody; CI runs it as root"
    done
    exit 0
fi
AUID=65534
ATT="setpriv --reuid=$AUID --regid=$AUID --clear-groups"

pids=
cleanup() {
    exec 5>&-
    for p in $pids; do
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    rm -rf "$HK_TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# A shared base directory like /dev/shm, and the programs where nobody may run them.
chmod 755 "$HK_TMP"
base=$HK_TMP/base
mkdir -m 1777 "$base"
HAKMEM_STATS_DIR=$base
export HAKMEM_STATS_DIR
bin=$HK_TMP/bin
mkdir -m 755 "$bin"
for f in "$abs_top_builddir/tests/hakstat/.libs/tree-helper" "$abs_top_builddir/hakstat/hakstat" \
    "$abs_top_builddir"/libhakmem/.libs/libhakmem.so*; do
    cp -P "$f" "$bin/" || fail_rest "cannot copy $f for the attacker"
done
chmod -R a+rX "$bin"
LD_LIBRARY_PATH=$bin
export LD_LIBRARY_PATH
tree=$bin/tree-helper hakstat=$bin/hakstat
HAKMEM_SO=$bin/$(basename "$HAKMEM_SO")
py=/usr/bin/python3
$ATT "$py" -c pass 2>/dev/null || fail_rest "user $AUID cannot run $py"
offsets=$("$tree" offsets) || fail_rest "tree-helper offsets failed"
adir=$base/hakmem-$AUID

start_time() {
    sed 's/.*) //' "/proc/$1/stat" | awk '{print $20}'
}

# The victim's tree: root's tree-helper T, waiting on its stdin, with a child S of
# nobody's (a sleep under libhakmem, in nobody's directory).
mkfifo "$HK_TMP/t.in"
(
    $ATT env LD_PRELOAD="$HAKMEM_SO" sleep 60 &
    exec "$tree" run 2 50
) <"$HK_TMP/t.in" >"$HK_TMP/t.out" 2>&1 &
T=$!
pids="$pids $T"
exec 5>"$HK_TMP/t.in"
i=0
S=
while [ "$i" -lt $((HK_TIMEOUT * 10)) ]; do
    S=$(ls "$adir" 2>/dev/null | sed -n 's/^\([0-9]*\)\.[0-9]*$/\1/p' | head -1)
    [ -n "$S" ] && grep -q ready "$HK_TMP/t.out" && break
    sleep 0.1
    i=$((i + 1))
done
[ -n "$S" ] || fail_rest "nobody's sleep never made its segment"
pids="$pids $S"

# nobody's own record, the model for the forgeries: a process of nobody's that exited.
$ATT "$tree" leaf 5 || fail_rest "nobody's tree-helper leaf failed"
model=$(ls "$adir" | grep '^retired-' | head -1)
[ -n "$model" ] || fail_rest "nobody's process left no record"
cat >"$HK_TMP/forge.py" <<'EOF'
import os, struct, sys
src, dst, pid, start, ppid, offsets = sys.argv[1:7]
o_pid, o_start, o_ppid, o_classes, o_flags, o_large, nclasses = map(int, offsets.split())
data = bytearray(open(src, "rb").read())
struct.pack_into("<qQ", data, o_pid, int(pid), int(start))
struct.pack_into("<q", data, o_ppid, int(ppid))
# the mallocs are the class counters' sum plus large_alloc (ABI 2): 10**12 in all
struct.pack_into("<%dQ" % nclasses, data, o_classes, 10**12, *([0] * (nclasses - 1)))
struct.pack_into("<Q", data, o_large, 0)
with open(dst, "wb") as f:
    f.write(data)
os.chmod(dst, 0o600)
EOF
sstart=$(start_time "$S") # no earlier than T's: a child of either may start after it
forge() { # forge NAME PID PPID: as nobody, in nobody's directory
    $ATT "$py" "$HK_TMP/forge.py" "$adir/$model" "$adir/$1" "$2" $((sstart + 1)) "$3" "$offsets"
}
forge retired-$((4000000 % 512)) 4000000 "$T" # under root's T: refused
forge retired-$((4000001 % 512)) 4000001 "$S" # under nobody's own S: nobody's to claim
forge retired-500 4000002 "$S"                 # not at its writer's name: refused
$ATT ln -s "$base/hakmem-0/retired-1" "$adir/retired-502"
$ATT mkfifo "$adir/retired-503"
$ATT truncate -s 1G "$adir/retired-504"
rm -f "$adir/$model"

# Root watches the tree while it runs its children, to the end.
timeout -k 2 "$HK_TIMEOUT" "$hakstat" -p "$T" --tree -j -d 0.3 >"$HK_TMP/w.json" \
    2>"$HK_TMP/w.err" 5>&- &
H=$!
pids="$pids $H"
i=0
while [ "$i" -lt $((HK_TIMEOUT * 10)) ] && ! grep -q schema "$HK_TMP/w.json" 2>/dev/null; do
    sleep 0.1
    i=$((i + 1))
done
exec 5>&-
i=0
while [ "$i" -lt $((HK_TIMEOUT * 10)) ] && [ -e "/proc/$T" ]; do
    sleep 0.1
    i=$((i + 1))
done
kill "$S" 2>/dev/null # nobody's sleep: the tree ends with it
st=0
wait "$H" || st=$?
cat >"$HK_TMP/check.py" <<'EOF'
import json, sys
d = [json.loads(l) for l in open(sys.argv[1]) if l.strip()][-1]
T, S = int(sys.argv[3]), int(sys.argv[4])
ps = {p["pid"]: p for p in d["processes"]}
try:
    exec(sys.argv[2])
except Exception as e:
    print("%s: %s" % (type(e).__name__, e), sorted((p["pid"], p["ppid"], p["state"]) for p in ps.values()))
    sys.exit(1)
EOF
jcheck() {
    if jc_out=$(python3 "$HK_TMP/check.py" "$HK_TMP/w.json" "$2" "$T" "$S" 2>&1); then
        ok "$1"
    else
        not_ok "$1"
        diag "$jc_out" "hakstat status $st: $(head -c 500 "$HK_TMP/w.err")"
    fi
}
jcheck "root's --tree follows its tree: T, its 2 children and grandchildren, and nobody's S" '
assert T in ps and S in ps and ps[S]["state"] in ("exited", "killed", "gone"), ps.get(S)
assert sum(1 for p in ps.values() if p["ppid"] == T) == 3, [p for p in ps.values() if p["ppid"] == T]
'
jcheck "a record nobody forged under root's process, or at another name, is refused" '
assert 4000000 not in ps, ps.get(4000000)
assert 4000002 not in ps, ps.get(4000002)
assert sum(p["malloc"] for p in ps.values() if p["pid"] != 4000001) < 10**9
'
jcheck "the same forged under nobody's own process is read and taken, under it only" '
p = ps.get(4000001)
assert p is not None and p["ppid"] == S and p["malloc"] == 10**12, p
'
if [ "$st" = 7 ] && ! grep -qi "retired-50[234]" "$HK_TMP/w.err"; then
    ok "a link, a FIFO and a 1 GiB file at record names: passed over, hakstat ends (status 7)"
else
    not_ok "a link, a FIFO and a 1 GiB file at record names: passed over"
    diag "status $st" "$(head -c 1000 "$HK_TMP/w.err")"
fi
n=$(ls "$base/hakmem-0" | grep -c '^retired-')
st=0
$ATT timeout -k 2 "$HK_TIMEOUT" "$hakstat" --gc >"$HK_TMP/gc.out" 2>&1 || st=$?
check "nobody's --gc leaves root's $n records alone" \
    test "$n" -gt 0 -a "$(ls "$base/hakmem-0" | grep -c '^retired-')" = "$n"
check "nobody's --gc removes nobody's own records (the forged ones, the sparse file)" \
    test "$st" = 0 -a ! -e "$adir/retired-256" -a ! -e "$adir/retired-504"
tap_done
