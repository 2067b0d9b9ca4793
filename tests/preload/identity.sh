# identity.sh: under LD_PRELOAD the malloc that programs call really is libhakmem's:
# python's ctypes finds hak_version and resolves malloc into libhakmem, and the library
# is mapped into preloaded processes (cat /proc/self/maps, a sleeping process's maps).

. "$abs_top_srcdir/tests/preload/lib.sh"

tap_plan 4
require python3 cat sleep

script='import ctypes
lib = ctypes.CDLL(None)
f = lib.hak_version
f.restype = ctypes.c_char_p
print(f().decode())'
version=$(preload python3 -c "$script")
check "python3 -c ctypes.CDLL(None).hak_version() answers (\"$version\")" test -n "$version"

script='import ctypes
class DlInfo(ctypes.Structure):
    _fields_ = [("fname", ctypes.c_char_p), ("fbase", ctypes.c_void_p),
                ("sname", ctypes.c_char_p), ("saddr", ctypes.c_void_p)]
lib = ctypes.CDLL(None)
lib.dladdr.argtypes = [ctypes.c_void_p, ctypes.POINTER(DlInfo)]
info = DlInfo()
for name in ("malloc", "free", "realloc", "calloc"):
    addr = ctypes.cast(getattr(lib, name), ctypes.c_void_p).value
    ok = lib.dladdr(addr, ctypes.byref(info))
    print(name, info.fname.decode() if ok and info.fname else "?")'
got=$(preload python3 -c "$script")
check_eq "python3: malloc, free, realloc, calloc resolve into libhakmem" \
    "malloc libhakmem free libhakmem realloc libhakmem calloc libhakmem" \
    "$(printf '%s\n' "$got" | sed 's|^\([a-z]*\) .*libhakmem.*|\1 libhakmem|' | tr '\n' ' ' | sed 's/ $//')"

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
