# ssh-keygen.sh: OpenSSH's ssh-keygen under each setting: ed25519 and 3072-bit RSA keys
# generated, their public halves derived again from the private files (-y), their
# fingerprints (-l) equal to those computed under glibc, and a file signed and verified
# with -Y sign / -Y verify.

. "$abs_top_srcdir/tests/programs/lib.sh"

corpus_plan 3
require ssh-keygen cut

printf 'the file that gets signed\n%s\n' "$(seq 1 1000)" >"$HK_TMP/file"

# keypair TYPE BITS: generate, derive, fingerprint; "pub-ok FINGERPRINT" when they agree.
keypair() {
    k=$HK_TMP/$setting-$1
    run ssh-keygen -q -t "$1" -b "$2" -N '' -C "hak@example.org" -f "$k"
    derived=$(run ssh-keygen -y -f "$k" | cut -d' ' -f1,2)
    [ -n "$derived" ] && [ "$derived" = "$(cut -d' ' -f1,2 "$k.pub")" ] && printf 'pub-ok '
    fp=$(run ssh-keygen -l -f "$k.pub")
    [ "$fp" = "$(plain ssh-keygen -l -f "$k.pub")" ] && printf 'fp-ok '
    echo "$fp" | cut -d' ' -f1,4
}

body() {
    check_eq "ed25519: keygen, -y gives the public key back, -l as under glibc" \
        "pub-ok fp-ok 256 (ED25519)" "$(keypair ed25519 256)"
    check_eq "rsa 3072: keygen, -y gives the public key back, -l as under glibc" \
        "pub-ok fp-ok 3072 (RSA)" "$(keypair rsa 3072)"
    k=$HK_TMP/$setting-ed25519
    run ssh-keygen -q -Y sign -f "$k" -n file "$HK_TMP/file" 2>/dev/null
    echo "hak@example.org $(cat "$k.pub")" >"$HK_TMP/allowed"
    check_contains "-Y sign, then -Y verify against allowed signers" \
        'Good "file" signature for hak@example.org with ED25519 key' \
        "$(run ssh-keygen -Y verify -f "$HK_TMP/allowed" -I hak@example.org -n file \
            -s "$HK_TMP/file.sig" <"$HK_TMP/file" 2>&1)"
    rm -f "$HK_TMP/file.sig" "$HK_TMP/$setting"-*
}
corpus_run body

tap_done
