# openssl.sh: the openssl command under each setting: a 2048-bit RSA key generated and
# checked, SHA-256 signatures made and verified with it, an AES-256-CBC round trip with a
# password (PBKDF2, a fixed salt, so the ciphertext must be the one made under glibc),
# and digests that must equal coreutils' and python's.

. "$abs_top_srcdir/tests/programs/lib.sh"

corpus_plan 4
require openssl sha256sum sha512sum head cmp /usr/bin/python3

data=$HK_TMP/data
{
    head -c 3000000 /dev/urandom
    seq 1 100000
} >"$data"
want_data=$(sha "$data")
# enc RUNNER ARGS...: openssl enc with the fixed cipher, salt and password.
enc() {
    hk_runner=$1
    shift
    "$hk_runner" openssl enc -aes-256-cbc -pbkdf2 -iter 10000 -S 0011223344556677 \
        -pass pass:hakmem-test "$@"
}
enc plain -in "$data" -out "$HK_TMP/ref.enc" || fail_rest "openssl enc failed under glibc"
want_digests="$(sha "$data") $(sha512sum "$data" | cut -d' ' -f1) $(/usr/bin/python3 -c '
import hashlib, sys
print(hashlib.sha3_256(open(sys.argv[1], "rb").read()).hexdigest())' "$data")"

body() {
    key=$HK_TMP/key-$setting.pem
    run openssl genrsa -out "$key" 2048 2>/dev/null
    check_eq "genrsa 2048, then rsa -check" "RSA key ok" "$(run openssl rsa -in "$key" -check -noout)"
    run openssl dgst -sha256 -sign "$key" -out "$key.sig" "$data"
    run openssl pkey -in "$key" -pubout -out "$key.pub"
    check_eq "dgst -sign, then dgst -verify with the public key" "Verified OK" \
        "$(run openssl dgst -sha256 -verify "$key.pub" -signature "$key.sig" "$data")"
    enc run -in "$data" -out "$HK_TMP/$setting.enc"
    check_eq "enc -aes-256-cbc -pbkdf2: the glibc ciphertext, and decrypting gives the input back" \
        "same $want_data" "$(cmp -s "$HK_TMP/$setting.enc" "$HK_TMP/ref.enc" && echo same) $(enc run -d \
        -in "$HK_TMP/$setting.enc" | sha256sum | cut -d' ' -f1)"
    got=
    for alg in sha256 sha512 sha3-256; do
        got="$got $(run openssl dgst -"$alg" -r "$data" | cut -d' ' -f1)"
    done
    check_eq "dgst -sha256, -sha512, -sha3-256 agree with sha256sum, sha512sum, python" \
        " $want_digests" "$got"
    rm -f "$key"* "$HK_TMP/$setting.enc"
}
corpus_run body

tap_done
