#!/bin/sh
# widths.sh: the screen at 60, 80 and 200 columns (tmux), on an idle workload-helper shown
# as totals (-t), so that every figure stays the same between captures.
#
# For each view (threads, classes, totals, memory): every word of the 60- and 80-column
# tables is a whole word of the 200-column table (a number is never cut; words that end
# in the ellipsis are cut names and must begin a word at 200, or a description), and
# where columns were left out the heading ends in "+N»". The totals view's descriptions
# fill their 40 columns and end in "…" when longer, as the start of the counter's own
# description. Summary lines wrap between fields at 60 columns: the 60-column summary
# has the fields of the 200-column one, in order (figures aside: the averages since
# start move), and the memory line's "frag" figure is whole at every width.
#
# Environment (exported by `make check`): abs_top_builddir, abs_top_srcdir.
# HK_TIMEOUT (optional): seconds to wait for any one screen, default 15.

set -u

: "${abs_top_builddir:?run through make check}"
: "${abs_top_srcdir:?run through make check}"
HK_TIMEOUT=${HK_TIMEOUT:-15}
hakstat=$abs_top_builddir/hakstat/hakstat
helper=$abs_top_builddir/tests/hakstat/workload-helper

ntests=13
n=0
failed=0
ok() {
    n=$((n + 1))
    echo "ok $n - $*"
}
not_ok() {
    n=$((n + 1))
    failed=$((failed + 1))
    echo "not ok $n - $*"
}
diag() {
    printf '%s\n' "$@" | sed 's/^/# /'
}

echo "1..$ntests"
for need in tmux python3; do
    if ! command -v "$need" >/dev/null 2>&1; then
        while [ "$n" -lt "$ntests" ]; do not_ok "$need is installed (scripts/install-deps)"; done
        exit 1
    fi
done
utf8=
for l in C.UTF-8 C.utf8 en_US.UTF-8 en_US.utf8; do
    if locale -a 2>/dev/null | grep -qx "$l"; then
        utf8=$l
        break
    fi
done
if [ -z "$utf8" ]; then
    while [ "$n" -lt "$ntests" ]; do not_ok "a UTF-8 locale is installed"; done
    exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hakstat-widths.XXXXXX") || exit 1
sock=hakstat-widths-$$
helper_pid=
cleanup() {
    tmux -L "$sock" kill-server >/dev/null 2>&1
    exec 7>&-
    if [ -n "$helper_pid" ]; then
        kill -KILL "$helper_pid" 2>/dev/null
        wait "$helper_pid" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

HAKMEM_STATS_DIR=$tmp/shm
export HAKMEM_STATS_DIR
mkdir "$tmp/shm"
cat >"$tmp/tmux.conf" <<'EOF'
set -s exit-empty off
set -g status off
set -g remain-on-exit on
set -g default-terminal screen
set -g default-shell /bin/sh
EOF
tm() {
    LC_ALL=$utf8 tmux -L "$sock" -f "$tmp/tmux.conf" "$@" 7>&-
}

mkfifo "$tmp/fifo"
"$helper" 4 120 <"$tmp/fifo" >"$tmp/helper.out" 2>&1 7>&- &
helper_pid=$!
exec 7>"$tmp/fifo"
i=0
while [ "$i" -lt $((HK_TIMEOUT * 5)) ] && ! grep -q ready "$tmp/helper.out" 2>/dev/null; do
    sleep 0.2
    i=$((i + 1))
done

# wait_stable SESSION FILE: poll the pane until two captures 0.4 s apart agree from the
# table's heading down (the summary's averages since start move with the uptime) and
# the status line is drawn; the whole capture in FILE.
wait_stable() {
    i=0
    : >"$tmp/last"
    while [ "$i" -lt $((HK_TIMEOUT * 3)) ]; do
        tm capture-pane -p -t "$1" 2>/dev/null >"$2"
        sed -n '/[▼▲»]/,$p' "$2" >"$tmp/table"
        if grep -q 'sort ' "$2" && [ -s "$tmp/table" ] && cmp -s "$tmp/table" "$tmp/last"; then
            return 0
        fi
        cp "$tmp/table" "$tmp/last"
        sleep 0.4
        i=$((i + 1))
    done
    return 1
}

# The check: words of the narrow screen against the wide one.
cat >"$tmp/words.py" <<'EOF'
import sys
narrow, wide, width = open(sys.argv[1]).read(), open(sys.argv[2]).read(), int(sys.argv[3])
bars = set("\u2581\u2582\u2583\u2584\u2585\u2586\u2587\u2588_.-=# ")
def table(text):
    """The heading (it has the sort marker, or the mark of columns left out, which may
    hold the sort column) and the rows below it."""
    lines = text.splitlines()
    at = [i for i, l in enumerate(lines) if "\u25bc" in l or "\u25b2" in l or "\u00bb" in l]
    return "\n".join(lines[at[0]:-1]) if at else ""  # not the status line
def words(text):
    out = []
    for line in table(text).splitlines():
        for w in line.split():
            if not set(w) <= bars:
                out.append(w)
    return out
wide_words = set(words(wide))
bad = []
for w in words(narrow):
    if w in wide_words or (w.startswith("+") and w.endswith("\u00bb")):
        continue
    if w.endswith("\u2026") and any(x.startswith(w[:-1]) for x in wide_words):
        continue
    if w.endswith("\u2026") and w[:-1] in wide:
        continue
    bad.append(w)
for line in narrow.splitlines():
    assert len(line) <= width, "line longer than %d: %r" % (width, line)
assert words(narrow), "no table on the %d-column screen" % width
assert not bad, "words not whole at %d columns: %s" % (width, bad[:10])
EOF

view_key() {
    case $1 in threads) echo 1 ;; classes) echo 2 ;; totals) echo 3 ;; memory) echo 5 ;; esac
}

for w in 60 80 200; do
    tm new-session -d -s "w$w" -x "$w" -y 40 \
        "env LC_ALL=$utf8 HAKMEM_STATS_DIR='$HAKMEM_STATS_DIR' '$hakstat' -p $helper_pid -t -d 0.2"
done
for view in threads classes totals memory; do
    for w in 60 80 200; do
        tm send-keys -t "w$w" "$(view_key "$view")"
    done
    for w in 200 80 60; do
        wait_stable "w$w" "$tmp/$view.$w" || diag "the $w-column screen of $view never settled"
    done
    for w in 60 80; do
        if out=$(python3 "$tmp/words.py" "$tmp/$view.$w" "$tmp/$view.200" "$w" 2>&1); then
            ok "$view at $w columns: every figure whole (words of the 200-column screen)"
        else
            not_ok "$view at $w columns: every figure whole"
            diag "$out" "$(cat "$tmp/$view.$w")"
        fi
    done
done

if grep -q '+[0-9]*»' "$tmp/threads.60" && ! grep -q '+[0-9]*»' "$tmp/threads.200"; then
    ok "threads: at 60 columns the heading marks the columns left out (+N»), at 200 none are"
else
    not_ok "threads: the heading marks the columns left out (+N») at 60, none at 200"
    diag "$(cat "$tmp/threads.60")"
fi
# The totals view: a description longer than its column ends in "…" and starts the
# counter's description (the drain_blocks one is longer than 40 characters).
desc=$(awk '$1 == "drain_blocks" { $1 = $2 = $3 = $4 = ""; sub(/^ +/, ""); print }' "$tmp/totals.200")
case $desc in
"blocks moved from the thread cache back"*…) ok "totals: a long description fills its column and ends in … ($desc)" ;;
*)
    not_ok "totals: a long description fills its column and ends in …"
    diag "got: '$desc'" "$(cat "$tmp/totals.200")"
    ;;
esac
frag_ok=0
for w in 60 80 200; do
    grep -Eq 'frag [0-9.]+%' "$tmp/threads.$w" && frag_ok=$((frag_ok + 1))
done
if [ "$frag_ok" = 3 ] && grep -q '^  ' "$tmp/threads.60"; then
    ok "summary lines wrap between fields at 60 columns; frag N% whole at 60, 80, 200"
else
    not_ok "summary lines wrap between fields; frag N% whole at every width"
    diag "$(cat "$tmp/threads.60")"
fi
# The wrapped summary holds the same fields as the wide one.
if python3 - "$tmp/threads.60" "$tmp/threads.200" <<'EOF'; then
import sys
import re
def fields(path):
    out = []
    for line in open(path).read().splitlines():
        if line.startswith("ops/s"):
            break
        # a figure with its unit is one N: an average since start may read 496.5KiB
        # on one screen and 1.1MiB on the next
        out += [re.sub(r"[0-9][0-9.:]*[A-Za-z%]*", "N", f.strip()) for f in line.split("  ") if f.strip()]
    return out
a, b = fields(sys.argv[1]), fields(sys.argv[2])
assert a == b, (a, b)
EOF
    ok "the 60-column summary has every field of the 200-column one, in order"
else
    not_ok "the 60-column summary has every field of the 200-column one, in order"
    diag "$(cat "$tmp/threads.60")" "$(cat "$tmp/threads.200")"
fi
tm kill-server >/dev/null 2>&1
exec 7>&-
wait "$helper_pid"
st=$?
helper_pid=
if [ "$st" = 0 ]; then ok "workload-helper ends with status 0"; else not_ok "workload-helper ends with status 0 (got $st)"; fi
[ "$failed" -eq 0 ]
