# sort.sh: GNU sort --parallel=2 under each setting, with a small buffer (-S 4M) so it
# sorts in threads, spills runs to temporary files and merges them: by whole line, by a
# numeric key (stable), and unique. Each output must equal that of a plain one-thread
# in-memory sort under glibc.

. "$abs_top_srcdir/tests/programs/lib.sh"

# sort closes standard error at exit, before hakmem could print its report there.
HK_REPORT_CHECK=0
corpus_plan 3
require sort awk sha256sum

in=$HK_TMP/input
awk 'BEGIN {
    x = 12345
    for (i = 0; i < 400000; i++) {
        x = (x * 1103515245 + 12345) % 2147483648
        printf "w%x %d %s\n", x % 65536, (x / 65536) % 100000,
            substr("abcdefghijklmnopqrstuvwxyz", x % 26 + 1)
    } }' >"$in"
want_lines=$(plain sort --parallel=1 -S 512M "$in" | sha256sum)
want_num=$(plain sort --parallel=1 -S 512M -s -n -k2,2 "$in" | sha256sum)
want_uniq=$(plain sort --parallel=1 -S 512M -u -k1,1 "$in" | sha256sum)

body() {
    tmp=$HK_TMP/tmp-$setting
    mkdir -p "$tmp"
    check_eq "sort --parallel=2 -S 4M of 400,000 lines (temporary files, merge)" "$want_lines" \
        "$(run sort --parallel=2 -S 4M -T "$tmp" "$in" | sha256sum)"
    check_eq "sort --parallel=2 -s -n -k2,2 (stable, numeric key)" "$want_num" \
        "$(run sort --parallel=2 -S 4M -T "$tmp" -s -n -k2,2 "$in" | sha256sum)"
    check_eq "sort --parallel=2 -u -k1,1 (unique keys)" "$want_uniq" \
        "$(run sort --parallel=2 -S 4M -T "$tmp" -u -k1,1 "$in" | sha256sum)"
    rm -rf "$tmp"
}
corpus_run body

tap_done
