# postgres.sh: a real PostgreSQL under each setting, in a temporary directory, listening
# only on a unix socket there, run as the user nobody when the test runs as root
# (PostgreSQL refuses root). initdb, pg_ctl, postgres and its backends, psql and pgbench
# all run under the setting: the postmaster must have libhakmem mapped and hakstat must
# read its live segment; a table of 100,000 rows with its aggregates, an external sort
# and a hash join are checked against values computed here; pgbench's TPC-B-like load
# must complete every transaction and keep the balances consistent.

. "$abs_top_srcdir/tests/programs/lib.sh"

corpus_plan 11
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$pgbin" ] || fail_rest "PostgreSQL is not installed (package postgresql)"
PATH=$pgbin:$PATH
pgmajor=$(basename "$(dirname "$pgbin")")
require initdb pg_ctl postgres psql pgbench setpriv awk /usr/bin/python3 "$HK_HAKSTAT"
as_unprivileged
HOME=$HK_WORK
export HOME

# Expected values, computed without PostgreSQL: rows n = 1..100000 with
# v = n * 7919 mod 10007 and g = n mod 97.
want_agg=$(awk 'BEGIN { for (n = 1; n <= 100000; n++) { v = n * 7919 % 10007; s += v;
    if (n == 1 || v < mn) mn = v; if (v > mx) mx = v }
    printf "100000|%d|%d|%d\n", s, mn, mx }')
want_groups=$(awk 'BEGIN { for (n = 1; n <= 100000; n++) { g = n % 97; c[g]++; s[g] += n * 7919 % 10007 }
    for (g = 0; g < 97; g++) printf "%d|%d|%d\n", g, c[g], s[g] }' | sort -t'|' -k3,3nr -k1,1n | head -5)
want_sorted=$(/usr/bin/python3 -c 'import hashlib
h = lambda s: hashlib.md5(s.encode()).hexdigest()
print(h(",".join(sorted(h(str(n)) for n in range(1, 100001)))))')
# The join pairs each n with the row m = 100001 - n: every row matches once.
want_join="100000|5000050000"

# pg_down DATA: on the way out, stop the server of DATA if it still runs, and kill its
# postmaster if even an immediate shutdown left it (checking that the pid is still a
# postgres, not a reused one).
pg_down() {
    [ -f "$1/postmaster.pid" ] || return 0
    $HK_AS pg_ctl -D "$1" -m immediate -w -t 10 stop >/dev/null 2>&1
    hk_pm=$(head -1 "$1/postmaster.pid" 2>/dev/null)
    [ -n "$hk_pm" ] && [ "$(cat "/proc/$hk_pm/comm" 2>/dev/null)" = postgres ] &&
        kill -9 "$hk_pm" 2>/dev/null
    return 0
}

body() {
    data=$HK_WORK/data-$setting
    sock=$HK_WORK/sock-$setting
    log=$HK_WORK/log-$setting
    run mkdir "$sock"
    on_cleanup "pg_down '$data'"
    run initdb -D "$data" -A trust -U hak --no-sync -E UTF8 --locale=C >"$HK_WORK/initdb.out"
    check_eq "initdb creates a cluster" "$pgmajor" "$(cat "$data/PG_VERSION" 2>/dev/null)"
    check "pg_ctl start: the server comes up on a unix socket in the temp dir" \
        run pg_ctl -D "$data" -l "$log" -w -t 60 -s \
        -o "-c listen_addresses= -k $sock -p 5432 -c fsync=off -c shared_buffers=16MB" start
    pm=$(head -1 "$data/postmaster.pid" 2>/dev/null)
    check_eq "the postmaster runs on $(expected_allocator)'s malloc" "$(expected_allocator)" \
        "$(maps_allocator "$pm")"

    check_eq "hakstat -p reads the postmaster's live stats segment: $(expected_segment)" \
        "$(expected_segment)" "$(segment_summary "$pm")"

    q() {
        run psql -X -q -A -t -v ON_ERROR_STOP=1 -h "$sock" -p 5432 -U hak -d postgres "$@"
    }
    q -c "create table t (n int primary key, v int, g int, s text);
          insert into t select n, n * 7919 % 10007, n % 97, md5(n::text) from generate_series(1, 100000) n;
          create index on t (v);
          analyze t;"
    check_eq "psql: 100,000 rows loaded; count, sum, min, max" "$want_agg" \
        "$(q -c "select count(*), sum(v), min(v), max(v) from t")"
    check_eq "psql: group by, order by" "$want_groups" \
        "$(q -c "select g, count(*), sum(v) from t group by g order by 3 desc, 1 limit 5")"
    check_eq "psql: string_agg of 100,000 strings in order (an external sort: work_mem 64kB)" \
        "$want_sorted" "$(q -c "set work_mem = '64kB'; select md5(string_agg(s, ',' order by s)) from t")"
    check_eq "psql: hash join of the table with itself" "$want_join" \
        "$(q -c "set enable_mergejoin = off; set enable_nestloop = off;
                 select count(*), sum(a.n::bigint) from t a join t b on b.n = 100001 - a.n")"

    run pgbench -i -q -s 1 -h "$sock" -p 5432 -U hak postgres >/dev/null 2>&1
    out=$(run pgbench -n -c 4 -j 2 -t 250 -h "$sock" -p 5432 -U hak postgres 2>&1)
    check_contains "pgbench -c 4 -j 2: all 1,000 transactions completed" \
        "number of transactions actually processed: 1000/1000" "$out"
    check_eq "pgbench: the balances agree with the history (TPC-B invariant)" "t|1000" \
        "$(q -c "with h as (select sum(delta) d, count(*) n from pgbench_history)
                 select (select sum(abalance) from pgbench_accounts) = h.d
                    and (select sum(bbalance) from pgbench_branches) = h.d, h.n from h")"

    run pg_ctl -D "$data" -m fast -w -t 60 -s stop
    state="not shut down"
    grep -q 'database system is shut down' "$log" && state="shut down"
    grep -E 'terminated by signal|PANIC|TRAP' "$log" >&2 && state=crashed
    check_eq "pg_ctl stop: clean shutdown, no backend crashed" "shut down" "$state"
    rm -rf "$data"
}
corpus_run body

tap_done
