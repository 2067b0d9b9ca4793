# counters.awk: turn the HK_STAT_COUNTERS list in hakmem_stats.h into man-page entries,
# so the page documents exactly the counters the library has. POSIX awk only.
/^ *X\([a-z_]+, "/ {
    line = $0
    sub(/^ *X\(/, "", line)
    name = line
    sub(/,.*/, "", name)
    split(line, q, "\"")
    printf ".TP\n.B %s\n%s (%s).\n", name, q[4], q[2]
}
