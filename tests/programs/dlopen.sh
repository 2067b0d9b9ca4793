# dlopen.sh: dlopen-helper under each setting loads and unloads two libraries 300 times
# each (tests/programs/dlalloc.c, built by make): their constructors allocate through
# every entry point, their destructors check the contents, realloc and free, partly
# from another thread than the one that allocated. The counts it prints must be those of
# 300 full load/unload cycles with nothing damaged.

. "$abs_top_srcdir/tests/programs/lib.sh"

corpus_plan 2
require
driver=$abs_top_builddir/tests/programs/dlopen-helper
lib1=$abs_top_builddir/tests/programs/.libs/libdla1.so
lib2=$abs_top_builddir/tests/programs/.libs/libdla2.so
for f in "$driver" "$lib1" "$lib2"; do
    [ -r "$f" ] || fail_rest "$f is not built (make check-programs builds it)"
done

body() {
    got=$(run "$driver" 300 "$lib1" "$lib2")
    st=$?
    check_eq "300 rounds: both constructors and destructors ran each time, nothing damaged" \
        "rounds 300 ctor 300 300 dtor 300 300 checks 600 unloaded 600 damaged 0" "$got"
    check_eq "... and the driver exited 0" 0 "$st"
}
corpus_run body

tap_done
