# options.awk: turn the HK_OPTIONS list in libhakmem/options.h into the man page's
# ENVIRONMENT entries, so hakmem(3) documents exactly the variables the library parses.
# Each X(name, kind, field, default, min, max, summary, doc) becomes
#   .TP / .B name / summary / doc
# where summary and doc are C string literals (adjacent ones concatenated, "\n" a line
# break). POSIX awk only.
/^#define HK_OPTIONS\(X\)/ { inlist = 1 }
inlist {
    line = $0
    more = sub(/\\[ \t]*$/, "", line)
    text = text " " line
    if (!more) { inlist = 0; emit(text) }
}

# Splits the list into entries and each entry into its comma-separated fields, minding
# string literals and parentheses.
function emit(s,    i, c, depth, instr, field, n, f) {
    depth = 0; instr = 0; n = 0; field = ""
    sub(/^.*HK_OPTIONS\(X\)/, "", s)
    for (i = 1; i <= length(s); i++) {
        c = substr(s, i, 1)
        if (instr) {
            field = field c
            if (c == "\\") { i++; field = field substr(s, i, 1) }
            else if (c == "\"") instr = 0
            continue
        }
        if (c == "\"") { instr = 1; field = field c; continue }
        if (c == "(") { if (depth++ == 0) { n = 0; field = ""; continue } }
        if (c == ")") { if (--depth == 0) { f[++n] = field; entry(f, n); continue } }
        if (c == "," && depth == 1) { f[++n] = field; field = ""; continue }
        if (depth > 0) field = field c
    }
}

# The text of the string literals in s, escapes decoded.
function literal(s,    out, i, c, instr) {
    out = ""; instr = 0
    for (i = 1; i <= length(s); i++) {
        c = substr(s, i, 1)
        if (!instr) { if (c == "\"") instr = 1; continue }
        if (c == "\"") { instr = 0; continue }
        if (c == "\\") {
            c = substr(s, ++i, 1)
            if (c == "n") c = "\n"
        }
        out = out c
    }
    return out
}

function entry(f, n,    name) {
    if (n != 8) { print "options.awk: an entry without 8 fields" > "/dev/stderr"; exit 1 }
    name = f[1]
    gsub(/[ \t]/, "", name)
    printf ".TP\n.B %s\n%s\n%s\n", name, literal(f[7]), literal(f[8])
}
