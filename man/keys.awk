# keys.awk: turn the HS_KEYS table in hakstat/keys.h into the INTERACTIVE COMMANDS
# entries of hakstat(1), so the page lists exactly the keys the screen has, with the
# help text its help screen shows. POSIX awk only.
# An entry: X(ACTION, key, key2, "label", "help"); a label's words are the keys.
/^ *X\([A-Z_]+, / {
    n = split($0, q, "\"")
    if (n < 5) next
    label = q[n - 3]
    help = q[n - 1]
    k = split(label, word, " ")
    out = ""
    for (i = 1; i <= k; i++) {
        w = word[i]
        gsub(/\\/, "\\e", w)
        gsub(/-/, "\\-", w)
        out = out (i > 1 ? "\\fR, \\fB" : "") w
    }
    gsub(/\\/, "\\e", help)
    help = toupper(substr(help, 1, 1)) substr(help, 2)
    printf ".TP\n\\fB%s\\fR\n%s.\n", out, help
    count++
}
END {
    if (count == 0) {
        print "keys.awk: no key bindings found" > "/dev/stderr"
        exit 1
    }
}
