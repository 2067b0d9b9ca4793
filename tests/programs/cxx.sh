# cxx.sh: g++ (cc1plus, as, collect2, ld) under each setting compiles containers.cc, a
# two-threaded program full of std::map, unordered_map, vector, deque, set, string and
# shared_ptr; the program then runs under the same setting. Its output must equal that
# of a build and run under glibc, and the executable must be identical to that build.
# gcc compiles and runs a small C program the same way.

. "$abs_top_srcdir/tests/programs/lib.sh"

corpus_plan 4
require g++ gcc cmp
cxx_src=$abs_top_srcdir/tests/programs/containers.cc

cat >"$HK_TMP/prog.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void)
{
    enum { N = 100000 };
    char **v = malloc(N * sizeof *v);
    unsigned long h = 5381;
    for (int i = 0; i < N; i++) {
        v[i] = malloc(16 + i % 48);
        snprintf(v[i], 16 + i % 48, "%x-%d", (unsigned)(i * 2654435761u), i % 97);
    }
    qsort(v, N, sizeof *v, cmp);
    for (int i = 0; i < N; i++) {
        for (const char *p = v[i]; *p; p++)
            h = h * 33 + (unsigned char)*p;
        v[i] = realloc(v[i], 200);
        free(v[i]);
    }
    free(v);
    printf("sorted %d strings, hash %lx\n", N, h);
    return 0;
}
C

CXXFLAGS="-O2 -std=c++17 -pthread"
# shellcheck disable=SC2086
plain g++ $CXXFLAGS -o "$HK_TMP/ref-cxx" "$cxx_src" && want_cxx=$(plain "$HK_TMP/ref-cxx")
plain gcc -O2 -o "$HK_TMP/ref-c" "$HK_TMP/prog.c" && want_c=$(plain "$HK_TMP/ref-c")
case $want_cxx in *" walked "*) ;; *) fail_rest "the reference build under glibc failed" ;; esac
case $want_c in "sorted 100000 strings, hash "*) ;; *) fail_rest "the reference C build failed" ;; esac

body() {
    exe=$HK_TMP/cxx-$setting
    # shellcheck disable=SC2086
    check "g++ -O2 compiles containers.cc" run g++ $CXXFLAGS -o "$exe" "$cxx_src"
    check_eq "the program's output (2 threads, maps, vectors, shared_ptr handoff)" "$want_cxx" \
        "$(run "$exe")"
    check "... and the executable is identical to the one built under glibc" \
        cmp "$exe" "$HK_TMP/ref-cxx"
    run gcc -O2 -o "$exe-c" "$HK_TMP/prog.c"
    check_eq "gcc -O2 compiles a C program whose output is the glibc build's" "$want_c" "$(run "$exe-c")"
    rm -f "$exe" "$exe-c"
}
corpus_run body

tap_done
