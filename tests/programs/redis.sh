# redis.sh: redis-server under each setting on a unix socket in the temp dir, loaded
# through redis-cli --pipe with strings, hashes, lists, sets and sorted sets. Its
# DEBUG DIGEST (a hash of the whole data set) must match the one under glibc; BGSAVE's
# forked child must save the data set, and DEBUG RELOAD (save, empty, load) must keep
# the digest; redis-benchmark's load must complete and leave the loaded keys as they
# were; the server must shut down cleanly.
# Debian's redis links libjemalloc: a preloaded malloc takes precedence over it, which
# is what maps_allocator checks.

. "$abs_top_srcdir/tests/programs/lib.sh"

corpus_plan 10
require redis-server redis-cli redis-benchmark awk pgrep /usr/bin/python3 "$HK_HAKSTAT"

# The data set, in the protocol's own encoding: 20,000 strings (every tenth deleted
# again), 200 hashes of 50 fields, 100 lists of 200 items, 100 sets and 100 sorted sets
# of 100 members: 18,500 keys, 20,500 commands... counted by awk itself.
awk 'function cmd(n, a,   i, s) {
         s = "*" n "\r\n"
         for (i = 1; i <= n; i++) s = s "$" length(a[i]) "\r\n" a[i] "\r\n"
         printf "%s", s
         ncmd++
     }
     BEGIN {
         for (i = 1; i <= 20000; i++) {
             a[1] = "SET"; a[2] = "hk:s:" i; a[3] = ""
             for (k = 0; k <= i % 50; k++) a[3] = a[3] "v" i "-"
             cmd(3, a)
         }
         for (i = 10; i <= 20000; i += 10) { a[1] = "DEL"; a[2] = "hk:s:" i; cmd(2, a) }
         for (j = 1; j <= 200; j++) {
             a[1] = "HSET"; a[2] = "hk:h:" j; n = 2
             for (f = 1; f <= 50; f++) { a[++n] = "f" f; a[++n] = j * f }
             cmd(n, a)
         }
         for (j = 1; j <= 100; j++) {
             a[1] = "RPUSH"; a[2] = "hk:l:" j; n = 2
             for (f = 1; f <= 200; f++) a[++n] = "item-" j "-" f
             cmd(n, a)
             a[1] = "SADD"; a[2] = "hk:set:" j; n = 2
             for (f = 1; f <= 100; f++) a[++n] = "m" (f * j % 1009)
             cmd(n, a)
             a[1] = "ZADD"; a[2] = "hk:z:" j; n = 2
             for (f = 1; f <= 100; f++) { a[++n] = (f * 37 + j) % 101 / 7; a[++n] = "z" f }
             cmd(n, a)
         }
         print ncmd >"/dev/stderr"
     }' >"$HK_TMP/load.resp" 2>"$HK_TMP/load.count"
ncmd=$(cat "$HK_TMP/load.count")
sample_keys="hk:s:1 hk:s:19999 hk:h:7 hk:l:50 hk:set:3 hk:z:99"

body() {
    dir=$HK_TMP/redis-$setting
    mkdir -p "$dir"
    sock=$dir/sock
    start_bg "$dir/server.log" redis-server --port 0 --unixsocket "$sock" --dir "$dir" \
        --save "" --appendonly no --enable-debug-command yes --loglevel notice
    server=$bg_pid
    cli() {
        run redis-cli -s "$sock" "$@"
    }
    wait_for 60 test -S "$sock"
    check_eq "redis-server answers PING on its unix socket" "PONG" "$(cli PING)"
    # timeout(1) runs the server as its child.
    check_eq "redis-server runs on $(expected_allocator)'s malloc" "$(expected_allocator)" \
        "$(maps_allocator "$(pgrep -P "$server" -x redis-server)")"

    out=$(run redis-cli -s "$sock" --pipe <"$HK_TMP/load.resp" | tail -1)
    check_eq "redis-cli --pipe loads $ncmd commands; DBSIZE" "errors: 0, replies: $ncmd|18500" \
        "$out|$(cli DBSIZE)"

    check_eq "hakstat -p reads the server's live stats segment: $(expected_segment)" \
        "$(expected_segment)" "$(segment_summary "$(pgrep -P "$server" -x redis-server)")"

    digest=$(cli DEBUG DIGEST)
    [ "$setting" != glibc ] || want_digest=$digest
    form=$(echo "$digest" | grep -E '^[0-9a-f]{40}$' | grep -qv '^0*$' && echo hash || echo "no hash:")
    check_eq "DEBUG DIGEST of the data set is a hash, the one under glibc" "hash $want_digest" \
        "$form $digest"
    # BGSAVE forks the server, threads and all: the child writes the data set out.
    cli BGSAVE >/dev/null
    wait_for 60 sh -c "redis-cli -s '$sock' INFO persistence | grep -q '^rdb_bgsave_in_progress:0'"
    check_eq "BGSAVE: the forked child saved the data set" "rdb_last_bgsave_status:ok" \
        "$(cli INFO persistence | tr -d '\r' | grep '^rdb_last_bgsave_status:')"
    cli DEBUG RELOAD >/dev/null
    check_eq "... and DEBUG RELOAD (save, empty, load) leaves it unchanged" "$want_digest" \
        "$(cli DEBUG DIGEST)"

    # shellcheck disable=SC2086
    values=$(cli DEBUG DIGEST-VALUE $sample_keys | tr '\n' ' ')
    # (a glibc run that got no values fails its own check below)
    [ "$setting" != glibc ] || want_values=${values:-"no values under glibc"}
    run redis-benchmark -s "$sock" --csv -q -n 10000 -c 8 -r 50000 \
        -t set,get,incr,lpush,rpop,sadd,hset,zadd,lrange_100 >"$dir/bench.csv"
    check_eq "redis-benchmark --csv: every test reports requests per second > 0" \
        "SET GET INCR LPUSH RPOP SADD HSET ZADD LPUSH LRANGE_100" \
        "$(awk -F'"' '$2 != "test" && $4 + 0 > 0 { sub(/ .*/, "", $2); printf "%s%s", sep, $2; sep = " " }' \
            "$dir/bench.csv")"
    # shellcheck disable=SC2086
    check_eq "the loaded keys are untouched by the benchmark (DEBUG DIGEST-VALUE)" \
        "$want_values" "$(cli DEBUG DIGEST-VALUE $sample_keys | tr '\n' ' ')"

    cli SHUTDOWN NOSAVE >/dev/null 2>&1
    st=0
    wait_bg "$server" || st=$?
    crash=clean
    grep -q 'crashed by signal\|BUG REPORT' "$dir/server.log" && crash=crashed
    check_eq "SHUTDOWN NOSAVE: the server exits 0, no crash report" "0 clean" "$st $crash"
}
corpus_run body

tap_done
