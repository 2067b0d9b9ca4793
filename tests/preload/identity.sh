# identity.sh: under LD_PRELOAD the malloc, free, realloc and calloc that programs call
# really are libhakmem's, whatever kind of executable calls them: a non-PIE program with
# its own PLT stubs (tests/preload/exe-nopie-helper, the shape of Debian's python3.11),
# the system's /usr/bin/python3, the python3 first on PATH, and perl. Two independent
# ways, for each program:
#
# - where calls go: got-probe (tests/preload/got-probe.c), preloaded next to libhakmem,
#   reads every loaded object's GOT slots for the four names at exit; each must point
#   into libhakmem. Looking the names up instead (dlsym(RTLD_DEFAULT) + dladdr) is wrong
#   for a non-PIE program that takes malloc's address: the lookup then answers with the
#   program's own PLT stub, although the stub jumps through a GOT slot into libhakmem.
# - that they went there: N allocations made by the program raise libhakmem's malloc
#   count (its exit report, HAKMEM_TINY_FAST_STATS=1) by at least N.
#
# Both methods are shown to tell a program that is not on libhakmem: got-probe alone
# names libc, and a static-PIE program, which no dynamic loader (so no LD_PRELOAD) ever
# reaches, keeps the malloc linked into it. Also: python's ctypes finds hak_version, and
# the library is mapped into preloaded processes (cat /proc/self/maps, a sleeping one).

. "$abs_top_srcdir/tests/preload/lib.sh"

tap_plan 16
require python3 perl cat sleep sort /usr/bin/python3

probe_so="$abs_top_builddir/tests/preload/.libs/libgotprobe.so"
nopie="$abs_top_builddir/tests/preload/exe-nopie-helper"
static="$abs_top_builddir/tests/preload/exe-static-helper"
for f in "$probe_so" "$nopie" "$static"; do
    [ -e "$f" ] || fail_rest "$f is missing: make check builds it"
done

# The interpreters the PATH's python3 and perl really run (a pyenv shim is a shell
# script that execs the interpreter; the probe must sit in the interpreter itself).
path_python=$(plain python3 -c 'import sys; print(sys.executable)')
path_perl=$(plain perl -e 'print $^X')
[ -x "$path_python" ] || fail_rest "python3 on PATH names no interpreter (\"$path_python\")"
[ -x "$path_perl" ] || fail_rest "perl on PATH names no interpreter (\"$path_perl\")"

n=20000
py_alloc='import sys
keep = [bytearray(1000) for _ in range(int(sys.argv[1]))]'
pl_alloc='my @keep = map { "x" x 1000 } 1 .. $ARGV[0]'

# got_report PRELOAD CMD...: run CMD with PRELOAD (got-probe last) and every slot bound
# at load time (LD_BIND_NOW: a lazy slot holds the program's own PLT stub until its first
# call; binding now fills it by the same lookup the first call makes). Prints the
# probe's lines sorted, or nothing when CMD failed (the failure goes to stderr, the log).
got_report() {
    hk_preload=$1
    shift
    rm -f "$HK_TMP/got"
    timeout -k 5 "$HK_TIMEOUT" env LD_BIND_NOW=1 LD_PRELOAD="$hk_preload" \
        HK_GOT_PROBE_OUT="$HK_TMP/got" "$@" >/dev/null 2>"$HK_TMP/got.err" || {
        diag "failed: $*" "$(cat "$HK_TMP/got.err")" >&2
        return 1
    }
    LC_ALL=C sort "$HK_TMP/got"
}

# check_got NAME CMD...: every GOT slot for the four names, in every object of CMD's
# process, points into libhakmem (and there is at least one).
check_got() {
    hk_name=$1
    shift
    hk_got=$(got_report "$HAKMEM_SO $probe_so" "$@")
    hk_bad=$(printf '%s\n' "$hk_got" | awk 'NF && $4 != "libhakmem.so"')
    if [ -n "$hk_got" ] && [ -z "$hk_bad" ]; then
        ok "$hk_name: all $(printf '%s\n' "$hk_got" | wc -l) GOT slots for malloc, free, realloc, calloc point into libhakmem"
    else
        not_ok "$hk_name: all GOT slots for malloc, free, realloc, calloc point into libhakmem"
        diag "slots not in libhakmem (object symbol type target):" "${hk_bad:-(no slots found)}"
    fi
}

# mallocs CMD...: libhakmem's total malloc count at CMD's exit.
mallocs() {
    timeout -k 5 "$HK_TIMEOUT" env HAKMEM_TINY_FAST_STATS=1 LD_PRELOAD="$HAKMEM_SO" "$@" \
        >/dev/null 2>"$HK_TMP/stats.err" || {
        diag "failed: $*" "$(cat "$HK_TMP/stats.err")" >&2
        return 1
    }
    sed -n 's/^\[FAST_STATS\] total mallocs=\([0-9,]*\) .*/\1/p' "$HK_TMP/stats.err" | tr -d ,
}

# check_count NAME CMD...: CMD, given N as its last argument, makes N allocations more
# than given 0; libhakmem must have counted them.
check_count() {
    hk_name=$1
    shift
    hk_zero=$(mallocs "$@" 0)
    hk_many=$(mallocs "$@" "$n")
    hk_more=-1
    case $hk_zero,$hk_many in
    ,* | *, | *[!0-9,]*) ;;
    *) hk_more=$((hk_many - hk_zero)) ;;
    esac
    if [ "$hk_more" -ge "$n" ]; then
        ok "$hk_name: $n allocations raise libhakmem's malloc count by $hk_more"
    else
        not_ok "$hk_name: $n allocations raise libhakmem's malloc count by at least $n"
        diag "mallocs counted: ${hk_zero:-none} with 0, ${hk_many:-none} with $n"
    fi
}

script='import ctypes
lib = ctypes.CDLL(None)
f = lib.hak_version
f.restype = ctypes.c_char_p
print(f().decode())'
version=$(preload python3 -c "$script")
check "python3 -c ctypes.CDLL(None).hak_version() answers (\"$version\")" test -n "$version"

# The non-PIE helper first: the lookup falls into the trap, the GOT does not.
check_eq "exe-nopie-helper: dlsym(RTLD_DEFAULT) names the program's own PLT stubs" \
    "dlsym calloc exe
dlsym free exe
dlsym malloc exe
dlsym realloc exe" "$(preload "$nopie" 0 | grep '^dlsym' | LC_ALL=C sort)"
check_eq "exe-nopie-helper: its own GOT slots for the four names point into libhakmem" \
    "exe calloc JUMP_SLOT libhakmem.so
exe free JUMP_SLOT libhakmem.so
exe malloc JUMP_SLOT libhakmem.so
exe realloc JUMP_SLOT libhakmem.so" \
    "$(got_report "$HAKMEM_SO $probe_so" "$nopie" 0 | grep '^exe ')"
check_got "exe-nopie-helper" "$nopie" 0
check_count "exe-nopie-helper" "$nopie"

check_got "/usr/bin/python3" /usr/bin/python3 -c pass
check_count "/usr/bin/python3" /usr/bin/python3 -c "$py_alloc"
check_got "python3 on PATH ($path_python)" "$path_python" -c pass
check_count "python3 on PATH ($path_python)" "$path_python" -c "$py_alloc"
check_got "perl ($path_perl)" "$path_perl" -e 1
check_count "perl ($path_perl)" "$path_perl" -e "$pl_alloc"

# The methods tell a program that is not on libhakmem.
libc_only=$(got_report "$probe_so" "$nopie" 0 | awk '{ print $4 }' | LC_ALL=C sort -u)
check_eq "got-probe without libhakmem names libc for every slot of exe-nopie-helper" \
    "libc.so.6" "$libc_only"
check_eq "exe-static-helper under LD_PRELOAD: no loader runs, it keeps its own malloc" \
    "mapped libhakmem no
ref malloc exe
ref free exe
ref realloc exe
ref calloc exe" "$(preload "$static" 0)"
static_count=$(mallocs "$static" "$n")
check_eq "exe-static-helper under LD_PRELOAD: libhakmem counts nothing (no exit report)" \
    "" "$static_count"

check_contains "cat /proc/self/maps under preload shows libhakmem" \
    "libhakmem" "$(preload cat /proc/self/maps)"

# A process that stays up: its maps, read from outside, include the library.
LD_PRELOAD=$HAKMEM_SO sleep 30 &
pid=$!
maps=
for i in $(seq 1 50); do
    maps=$(cat "/proc/$pid/maps" 2>/dev/null)
    case $maps in *libhakmem*) break ;; esac
    sleep 0.1
done
kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
check_contains "a preloaded sleep has libhakmem in /proc/PID/maps" "libhakmem" "$maps"

tap_done
