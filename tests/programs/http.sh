# http.sh: curl and wget under each setting against a local HTTP server on 127.0.0.1
# (python3's http.server, run without the preload): their --version (both once crashed
# before main under libhakmem: gnutls and p11-kit allocate in constructors), an 11 MiB
# download, 40 small files fetched in parallel, and a recursive fetch of a directory.

. "$abs_top_srcdir/tests/programs/lib.sh"

corpus_plan 6
require curl wget /usr/bin/python3 sha256sum head seq

www=$HK_TMP/www
mkdir -p "$www/small"
head -c 8388608 /dev/urandom >"$www/big.bin"
seq 1 500000 >>"$www/big.bin"
for i in $(seq 10 49); do
    head -c $((i * 997)) /dev/urandom >"$www/small/f$i"
done
big_sha=$(sha "$www/big.bin")
small_sha=$(cat "$www"/small/f* | sha256sum)

# The server picks a free port (0) and names it on its first line.
start_bg "$HK_TMP/server.log" /usr/bin/python3 -u -m http.server 0 --bind 127.0.0.1 \
    --directory "$www"
server=$bg_pid
wait_for 60 grep -q 'port [0-9]' "$HK_TMP/server.log" ||
    fail_rest "http.server did not start: $(cat "$HK_TMP/server.log")"
port=$(sed -n 's/.* port \([0-9]*\).*/\1/p' "$HK_TMP/server.log" | head -1)
url=http://127.0.0.1:$port

body() {
    out=$(run curl --version)
    check_contains "curl --version names its protocols" "Protocols: " "$out"
    out=$(run wget --version)
    check_contains "wget --version names itself" "GNU Wget" "$out"

    d=$HK_TMP/got-$setting
    mkdir -p "$d"
    run curl -sS --fail -o "$d/big.bin" "$url/big.bin"
    check_eq "curl fetches an 11 MiB file intact (SHA-256)" "$big_sha" "$(sha "$d/big.bin")"

    set --
    for i in $(seq 10 49); do
        set -- "$@" -o "$d/c/f$i" "$url/small/f$i"
    done
    run curl -sS --no-progress-meter --fail --create-dirs --parallel --parallel-max 8 "$@"
    check_eq "curl --parallel fetches 40 files intact" "$small_sha" "$(cat "$d"/c/f* | sha256sum)"

    run wget -q -O "$d/wget-big.bin" "$url/big.bin"
    check_eq "wget fetches an 11 MiB file intact (SHA-256)" "$big_sha" "$(sha "$d/wget-big.bin")"

    run wget -q -r -np -nH -P "$d/w" "$url/small/"
    check_eq "wget -r follows the directory listing to its 40 files" "$small_sha" \
        "$(cat "$d"/w/small/f* | sha256sum)"
    rm -rf "$d"
}
corpus_run body

stop_bg "$server"
tap_done
