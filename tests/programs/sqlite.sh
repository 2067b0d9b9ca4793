# sqlite.sh: sqlite3 under each setting: a 200,000-row table built in one transaction,
# indexed, queried for aggregates, a group by and a full sort, then a third deleted,
# VACUUMed and checked; every answer is computed here independently with awk.

. "$abs_top_srcdir/tests/programs/lib.sh"

corpus_plan 4
require sqlite3 awk sort sha256sum

# Rows n = 1..200000: v = n * 7919 mod 10007, g = n mod 97, s = "k" (n * 7919 mod 1000003).
rows() {
    awk 'BEGIN { for (n = 1; n <= 200000; n++)
        printf "%d|%d|%d|k%d\n", n, n * 7919 % 10007, n % 97, n * 7919 % 1000003 }'
}
want_agg=$(rows | awk -F'|' '{ s += $2; if (NR == 1 || $2 < mn) mn = $2; if ($2 > mx) mx = $2
    l += length($4) } END { printf "%d|%d|%d|%d|%d\n", NR, s, mn, mx, l }')
want_groups=$(rows | awk -F'|' '{ c[$3]++; s[$3] += $2 }
    END { for (g in c) printf "%d|%d|%d\n", g, c[g], s[g] }' | sort -t'|' -k3,3nr -k1,1n | head -5)
want_sorted=$(rows | awk -F'|' '{ print $4 "|" $1 }' | sort -t'|' -k1,1 -k2,2n | sha256sum)
want_after=$(rows | awk -F'|' '$1 % 3 != 0 { n++; s += $2 } END { printf "ok|%d|%d\n", n, s }')

body() {
    db=$HK_TMP/$setting.db
    q() {
        run sqlite3 -batch "$db" "$@"
    }
    q "create table t (n integer primary key, v int, g int, s text);
       with recursive c(n) as (select 1 union all select n + 1 from c where n < 200000)
       insert into t select n, n * 7919 % 10007, n % 97, 'k' || (n * 7919 % 1000003) from c;
       create index tv on t (v);
       create index ts on t (s);"
    check_eq "200,000 rows: count, sum, min, max, total length" "$want_agg" \
        "$(q "select count(*), sum(v), min(v), max(v), sum(length(s)) from t")"
    check_eq "group by, order by an aggregate" "$want_groups" \
        "$(q "select g, count(*), sum(v) from t group by g order by 3 desc, 1 limit 5")"
    check_eq "all rows sorted by text (SHA-256 of the output)" "$want_sorted" \
        "$(q "select s, n from t order by s, n" | sha256sum)"
    q "delete from t where n % 3 = 0; vacuum;"
    check_eq "a third deleted, VACUUM, integrity_check; what is left" "$want_after" \
        "$(q "pragma integrity_check; select count(*), sum(v) from t;" | tr '\n' '|' | sed 's/|$//')"
    rm -f "$db"
}
corpus_run body

tap_done
