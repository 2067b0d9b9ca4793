# shell.sh: the shell and text tools (sh, seq, sort, awk, sed, uniq) run under
# LD_PRELOAD=libhakmem and produce the same output as without it.

. "$abs_top_srcdir/tests/preload/lib.sh"

tap_plan 5
require sh seq sort awk sed uniq head md5sum

out=$(preload sh -c 'x=$(seq 1 2000 | sort -rn | head -1); echo $x')
check_eq "sh: seq | sort -rn | head -1 prints 2000" "2000" "$out"

# A pipeline over generated data; every stage inherits the preload.
cat >"$HK_TMP/pipeline.sh" <<'PIPE'
seq 1 40000 |
    awk '{ printf "%d k%d %s\n", ($1 * 7919) % 10007, $1 % 101, substr("abcdefghij", 1 + $1 % 10) }' |
    sort -k2,2 -k1,1n |
    sed -e 's/^\([0-9]*\) k\([0-9]*\)/grp-\2 \1/' -e 's/[aeiou]/<&>/g' |
    awk '{ n[$1]++; s[$1] += $2; w[$1] = w[$1] $3 } END { for (k in n) print k, n[k], s[k], length(w[k]) }' |
    sort
PIPE
want=$(plain sh "$HK_TMP/pipeline.sh")
got=$(preload sh "$HK_TMP/pipeline.sh")
check_eq "seq | awk | sort | sed | awk | sort: same output as without preload" "$want" "$got"
check_eq "... and the pipeline produced all 101 keys" "101" "$(printf '%s\n' "$got" | grep -c '^grp-')"

# sort with several threads and a big in-memory buffer.
want=$(seq 1 300000 | awk '{ print ($1 * 48271) % 2147483647 }' | plain sort -n | plain md5sum)
got=$(seq 1 300000 | awk '{ print ($1 * 48271) % 2147483647 }' | preload sort --parallel=2 -S 64M -n | plain md5sum)
check_eq "sort --parallel=2 of 300,000 numbers matches" "$want" "$got"

# String growth in the shell itself (repeated reallocation).
script='i=0; s=""; while [ $i -lt 5000 ]; do s="$s$i,"; i=$((i + 1)); done; echo ${#s}'
check_eq "sh: growing a 23 KB string matches" "$(plain sh -c "$script")" "$(preload sh -c "$script")"

tap_done
