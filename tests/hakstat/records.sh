#!/bin/sh
# records.sh: the retired records a process leaves at a normal exit (hakmem_stats.h,
# hakstat(1) FILES): what one holds (its pid, parent, final counts, the retired flag, no
# slots), its file (0600, small, beside a segment that is gone); none for a process killed
# with SIGKILL, whose segment stays stale; the bound in count (600 exits leave at most 512
# names, all retired-<n < 512>, no half-written one), the bound in age (a record older than
# 600 s goes at the next sweep) and --gc, which removes them all.
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

tap_plan 9
require python3 stat touch
for prog in "$hakstat" "$helper" "$tree"; do
    [ -x "$prog" ] || fail_rest "$prog is not built"
done

HAKMEM_STATS_DIR=$HK_TMP/shm
export HAKMEM_STATS_DIR
mkdir "$HAKMEM_STATS_DIR"
udir=$HAKMEM_STATS_DIR/hakmem-$(id -u)
offsets=$("$tree" offsets) || fail_rest "tree-helper offsets failed"

# records: one line per record of $udir: NAME PID PPID MALLOC FLAGS NSLOTS MODE SIZE.
cat >"$HK_TMP/records.py" <<'EOF'
import os, struct, sys
d = sys.argv[1]
o_pid, o_start, o_ppid, o_classes, o_flags, o_large, nclasses = map(int, sys.argv[2].split())
for name in sorted(os.listdir(d)):
    if not name.startswith("retir"):
        continue
    path = os.path.join(d, name)
    data = open(path, "rb").read()
    st = os.stat(path)
    nslots, = struct.unpack_from("<I", data, 28)
    pid, = struct.unpack_from("<q", data, o_pid)
    ppid, = struct.unpack_from("<q", data, o_ppid)
    # the mallocs: the class counters' sum plus the large ones (ABI 2 stores no total)
    malloc = sum(struct.unpack_from("<%dQ" % nclasses, data, o_classes))
    malloc += struct.unpack_from("<Q", data, o_large)[0]
    flags, = struct.unpack_from("<Q", data, o_flags)
    print(name, pid, ppid, malloc, flags, nslots, "%o" % (st.st_mode & 0o777), st.st_size)
EOF
records() { python3 "$HK_TMP/records.py" "$udir" "$offsets"; }

# --- what one record holds --------------------------------------------------------------
"$tree" leaf 100 &
L=$!
wait "$L"
line=$(records | awk -v p="$L" '$2 == p')
set -- $line
slot=${1#retired-}
if [ -n "$line" ] && [ $(((slot - L % 512 + 512) % 512)) -lt 8 ] && [ "$3" = $$ ] && [ "$4" -ge 100 ] &&
    [ $(($5 & 2)) = 2 ] && [ "$6" = 0 ] && [ "$7" = 600 ] && [ "$8" -lt 16384 ]; then
    ok "an exit leaves $1 (pid mod 512 is $((L % 512))): pid $L, parent $$, $4 mallocs, retired flag, no slots, mode 600, $8 bytes"
else
    not_ok "an exit leaves retired-<pid % 512> with its pid, parent and counts"
    diag "got: $line" "$(records)"
fi
if ! ls "$udir/$L".* >/dev/null 2>&1 &&
    [ "$(records | awk -v p="$L" '$3 == p && $4 >= 100' | wc -l)" = 1 ]; then
    ok "its segment is gone; its fork child left a record naming it as parent"
else
    not_ok "its segment is gone; its fork child left a record naming it as parent"
    diag "$(ls -la "$udir")" "$(records)"
fi

# --- killed: no record, a stale segment -------------------------------------------------
mkfifo "$HK_TMP/k.in"
"$helper" 1 60 <"$HK_TMP/k.in" >"$HK_TMP/k.out" 2>&1 &
K=$!
exec 5>"$HK_TMP/k.in"
i=0
while [ "$i" -lt $((HK_TIMEOUT * 10)) ] && ! grep -q ready "$HK_TMP/k.out"; do
    sleep 0.1
    i=$((i + 1))
done
kill -KILL "$K"
wait "$K" 2>/dev/null
exec 5>&-
if ls "$udir/$K".* >/dev/null 2>&1 && [ -z "$(records | awk -v p="$K" '$2 == p')" ]; then
    ok "a process killed with SIGKILL leaves no record, and its segment stays (stale)"
else
    not_ok "a process killed with SIGKILL leaves no record, and its segment stays"
    diag "$(ls -la "$udir")"
fi

# --- bounded in count -------------------------------------------------------------------
i=0
while [ "$i" -lt 600 ]; do
    LD_PRELOAD=$HAKMEM_SO /bin/true || break
    i=$((i + 1))
done
n=$(records | grep -c '^retired-')
bad=$(records | awk '$1 !~ /^retired-[0-9]+$/ || substr($1, 9) + 0 >= 512')
if [ "$i" = 600 ] && [ "$n" -le 512 ] && [ "$n" -gt 0 ] && [ -z "$bad" ]; then
    ok "600 exits leave $n records (at most 512), all named retired-<n < 512>, none half-written"
else
    not_ok "600 exits leave at most 512 records, all retired-<n < 512>"
    diag "$i runs, $n records" "$bad"
fi

# --- bounded in age ---------------------------------------------------------------------
old=$(records | awk 'NR == 1 {print $1}')
touch -d '20 minutes ago' "$udir/$old"
touch -d '2 minutes ago' "$udir/.sweep" # the sweep is due: the last one began 2 minutes ago
before=$(records | wc -l)
LD_PRELOAD=$HAKMEM_SO /bin/true
# /bin/true's own record may take the name the sweep freed: then it is a new file.
aged() { [ -e "$udir/$1" ] && [ "$(stat -c %Y "$udir/$1")" -lt $(($(date +%s) - 600)) ]; }
if ! aged "$old" && [ "$(records | wc -l)" -ge $((before - 1)) ]; then
    ok "a record older than 600 s goes at the next process start's sweep; younger ones stay"
else
    not_ok "a record older than 600 s goes at the next sweep"
    diag "$(ls -la --time-style=full-iso "$udir" | head)"
fi
# Counting would not do: a new record may take the name of one the sweep removed. Two
# records are aged, and the next exit's record can replace only one of them.
second=$(records | awk 'NR == 2 {print $1}')
third=$(records | awk 'NR == 3 {print $1}')
touch -d '20 minutes ago' "$udir/$second" "$udir/$third"
LD_PRELOAD=$HAKMEM_SO /bin/true # the sweep ran less than 60 s ago: none now
if aged "$second" || aged "$third"; then
    ok "no sweep (so no old record removed) within 60 s of the last"
else
    not_ok "no sweep (so no old record removed) within 60 s of the last"
    diag "$(ls -la --time-style=full-iso "$udir" | head)"
fi

# --- --gc -------------------------------------------------------------------------------
n=$(records | wc -l)
st=0
out=$(timeout -k 2 "$HK_TIMEOUT" "$hakstat" --gc 2>&1) || st=$?
if [ "$st" = 0 ] && printf '%s\n' "$out" | grep -Eq "removed [0-9]+ stale segments?, $n retired records"; then
    ok "--gc: $(printf '%s\n' "$out" | head -1)"
else
    not_ok "--gc removes every record"
    diag "status $st, $n records" "$out"
fi
check "--gc leaves no record and no stale segment" \
    test -z "$(records)" -a -z "$(ls "$udir" | grep -v '^\.')"
st=0
out=$(timeout -k 2 "$HK_TIMEOUT" "$hakstat" --gc -j 2>&1 >/dev/null) || st=$?
check_eq "--gc again: nothing left to remove" "removed 0 stale segments, 0 retired records" "$out"
tap_done
