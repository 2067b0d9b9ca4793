# programs-table.awk: the summary table of bench/programs.
#
# Reads the plan (one line per program: its name and metrics, or "-" when it is not
# installed), then the raw values ("round allocator program key value", or "... FAIL
# why"). Prints the table of medians per allocator with hakmem's ratios to glibc and to
# the best other allocator, and writes the same as CSV to the file `csv`. Every metric
# is better lower (seconds, KiB), so a ratio is other/hakmem: >1 means hakmem is better.
# Variables: allocs (the allocators, in column order), csv.

function median(key,    n, i, j, t, v) {
    n = cnt[key]
    for (i = 1; i <= n; i++) v[i] = val[key, i] + 0
    for (i = 2; i <= n; i++) {
        t = v[i]
        for (j = i - 1; j >= 1 && v[j] > t; j--) v[j + 1] = v[j]
        v[j + 1] = t
    }
    return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
function ratio(other, mine) {
    return (other == "" || mine == "" || mine + 0 == 0) ? "" : other / mine
}
function fmt(r) { return r == "" ? "-" : sprintf("%.2f", r) }
# Geometric means of the ratios, per metric kind ("time" or "rss").
function add_mean(kind, which, r) {
    if (r == "" || r <= 0) return
    logsum[kind, which] += log(r)
    nlog[kind, which]++
}
function mean(kind, which) {
    return nlog[kind, which] ? exp(logsum[kind, which] / nlog[kind, which]) : ""
}

FNR == NR {
    progs[++nprogs] = $1
    nmet[$1] = NF - 1
    for (i = 2; i <= NF; i++) met[$1, i - 1] = $i
    next
}
$4 == "FAIL" { fails[$3, $2]++; nfail++; next }
{ key = $3 SUBSEP $4 SUBSEP $2; val[key, ++cnt[key]] = $5 }

END {
    na = split(allocs, A, " ")
    mine = ""
    for (a = 1; a <= na; a++) if (A[a] == "hakmem") mine = "hakmem"
    ratios = (mine != "" && na > 1)

    printf "%-8s %-12s %-4s", "program", "metric", "unit"
    for (a = 1; a <= na; a++) printf " %9s", A[a]
    if (ratios) printf " %7s %7s %-9s", "/glibc", "/best", "best"
    printf "\n"
    printf "program,metric,unit" > csv
    for (a = 1; a <= na; a++) printf ",%s", A[a] > csv
    if (ratios) printf ",hakmem_vs_glibc,hakmem_vs_best,best" > csv
    printf "\n" > csv

    for (p = 1; p <= nprogs; p++) {
        id = progs[p]
        if (met[id, 1] == "-") {
            printf "%-8s not installed\n", id
            printf "%s,not installed\n", id > csv
            continue
        }
        for (i = 1; i <= nmet[id]; i++) {
            m = met[id, i]
            if (m == "wall_s") { unit = "s"; div = 1; prec = 2; kind = "time" }
            else { unit = "MiB"; div = 1024; prec = 1; kind = "rss" }
            label = m
            sub(/_kib$/, "", label)
            printf "%-8s %-12s %-4s", id, label, unit
            printf "%s,%s,%s", id, label, unit > csv
            best = ""; bestname = ""
            for (a = 1; a <= na; a++) {
                key = id SUBSEP m SUBSEP A[a]
                v = cnt[key] ? median(key) : ""
                med[A[a]] = v
                failed = ((id, A[a]) in fails)
                s = (v == "") ? (failed ? "FAIL" : "-") : sprintf("%." prec "f", v / div)
                if (v != "" && failed) s = s "*"
                printf " %9s", s
                printf ",%s", (v == "" ? "" : sprintf("%." (prec + 2) "f", v / div)) > csv
                if (A[a] != mine && v != "" && (best == "" || v < best)) {
                    best = v; bestname = A[a]
                }
            }
            if (ratios) {
                rg = ratio(med["glibc"], med[mine])
                rb = ratio(best, med[mine])
                printf " %7s %7s %-9s", fmt(rg), fmt(rb), bestname
                printf ",%s,%s,%s", fmt(rg), fmt(rb), bestname > csv
                add_mean(kind, "glibc", rg)
                add_mean(kind, "best", rb)
            }
            printf "\n"
            printf "\n" > csv
        }
    }
    if (ratios) {
        printf "%-8s %-12s %-4s", "geomean", "wall", "s"
        for (a = 1; a <= na; a++) printf " %9s", ""
        printf " %7s %7s\n", fmt(mean("time", "glibc")), fmt(mean("time", "best"))
        printf "%-8s %-12s %-4s", "geomean", "rss", "MiB"
        for (a = 1; a <= na; a++) printf " %9s", ""
        printf " %7s %7s\n", fmt(mean("rss", "glibc")), fmt(mean("rss", "best"))
        print "/glibc, /best: hakmem against glibc and against the best other allocator" \
            " (named), other/hakmem: >1 = hakmem better"
    }
    if (nfail) print "* or FAIL: " nfail " run(s) failed; medians are over the runs that succeeded"
}
