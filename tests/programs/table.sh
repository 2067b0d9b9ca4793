#!/bin/sh
# table.sh LOG...: the corpus's results as a table, one row per program test, one column
# per setting (tests/programs/lib.sh), each cell "passed/run" of that setting's checks,
# from the TAP lines "ok N - [setting] ..." in the harness's .log files.
[ $# -gt 0 ] || { echo "usage: table.sh tests/programs/NAME.log..." >&2; exit 2; }
awk '
    FNR == 1 {
        name = FILENAME
        sub(/.*\//, "", name)
        sub(/\.log$/, "", name)
        rows[++nrows] = name
    }
    /^(not )?ok [0-9]+ - \[[a-z-]+\]/ {
        s = $0
        sub(/^[^[]*\[/, "", s)
        sub(/\].*/, "", s)
        run[name, s]++
        if ($1 == "ok") passed[name, s]++
    }
    END {
        n = split("glibc default stats-off profile sites", settings, " ")
        printf "| program |"
        for (i = 1; i <= n; i++) printf " %s |", settings[i]
        printf "\n|---|"
        for (i = 1; i <= n; i++) printf "---|"
        printf "\n"
        for (r = 1; r <= nrows; r++) {
            name = rows[r]
            printf "| %s |", name
            for (i = 1; i <= n; i++) {
                k = name SUBSEP settings[i]
                if (!(k in run)) { printf " - |"; continue }
                printf " %d/%d%s |", passed[k], run[k], passed[k] == run[k] ? "" : " FAIL"
            }
            printf "\n"
        }
    }' "$@"
