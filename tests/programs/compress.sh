# compress.sh: xz (multithreaded, -T2, both ways), zstd (-T2) and bzip2 under each
# setting compress and decompress 11 MB of mixed text and random bytes; the round trip
# must give the input back (SHA-256) and each compressed stream must be byte for byte
# the one made under glibc (their output depends only on the input and options).

. "$abs_top_srcdir/tests/programs/lib.sh"

corpus_plan 4
require xz zstd bzip2 seq head sed cmp sha256sum

in=$HK_TMP/input
{
    seq 1 200000
    head -c 2000000 /dev/urandom
    seq 1 3 500000 | sed 's/$/ words, words and more words to compress/'
} >"$in"
want=$(sha "$in")
ref=$HK_TMP/ref
xz_c() { "$@" xz -T2 --block-size=1MiB -3 -c "$in"; }
zstd_c() { "$@" zstd -q -T2 -5 -c "$in"; }
bzip2_c() { "$@" bzip2 -9 -c "$in"; }
xz_c plain >"$ref.xz" && zstd_c plain >"$ref.zst" && bzip2_c plain >"$ref.bz2" ||
    fail_rest "compressing under glibc failed"

body() {
    out=$HK_TMP/$setting
    xz_c run >"$out.xz"
    check_eq "xz -T2 (1 MiB blocks): compress, then xz -d -T2 gives the input back" "$want" \
        "$(run xz -d -T2 -c "$out.xz" | sha256sum | cut -d' ' -f1)"
    zstd_c run >"$out.zst"
    check_eq "zstd -T2: compress, then decompress gives the input back" "$want" \
        "$(run zstd -q -d -c "$out.zst" | sha256sum | cut -d' ' -f1)"
    bzip2_c run >"$out.bz2"
    check_eq "bzip2 -9: compress, then decompress gives the input back" "$want" \
        "$(run bzip2 -d -c "$out.bz2" | sha256sum | cut -d' ' -f1)"
    same=
    for ext in xz zst bz2; do
        cmp -s "$out.$ext" "$ref.$ext" && same="$same $ext"
    done
    check_eq "the xz, zstd and bzip2 streams are those made under glibc" " xz zst bz2" "$same"
    rm -f "$out".*
}
corpus_run body

tap_done
