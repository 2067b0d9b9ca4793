# gcc.sh: the C compiler driver, cc1, as and ld all run under LD_PRELOAD=libhakmem to
# build a small program, which then runs (preloaded too) and prints the expected output.

. "$abs_top_srcdir/tests/preload/lib.sh"

tap_plan 4
require gcc

cat >"$HK_TMP/prog.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct node { struct node *next; char name[24]; int value; };

static int cmp(const void *a, const void *b)
{
    const struct node *x = *(struct node *const *)a, *y = *(struct node *const *)b;
    return x->value != y->value ? (x->value > y->value) - (x->value < y->value)
                                : strcmp(x->name, y->name);
}

int main(void)
{
    enum { N = 50000 };
    struct node **v = malloc(N * sizeof *v);
    long sum = 0;
    for (int i = 0; i < N; i++) {
        v[i] = malloc(sizeof **v);
        v[i]->value = (int)((i * 7919L) % 1009);
        snprintf(v[i]->name, sizeof v[i]->name, "n%d", i);
    }
    qsort(v, N, sizeof *v, cmp);
    for (int i = 0; i < N; i++) {
        sum += (long)v[i]->value * (i % 13);
        free(v[i]);
    }
    char *s = NULL;
    size_t len = 0;
    for (int i = 0; i < 1000; i++) {
        s = realloc(s, len + 8);
        len += (size_t)sprintf(s + len, "%d,", i % 10);
    }
    printf("%s %s %ld %zu\n", v[0] == NULL ? "?" : "sorted", "ok", sum, len);
    free(s);
    free(v);
    return 0;
}
C

check "gcc -O2 compiles a program (cc1, as, collect2, ld preloaded)" \
    preload gcc -O2 -Wall -o "$HK_TMP/prog" "$HK_TMP/prog.c"
want=$(plain gcc -O2 -o "$HK_TMP/prog-plain" "$HK_TMP/prog.c" && plain "$HK_TMP/prog-plain")
got=$(preload "$HK_TMP/prog")
check_eq "the program built under preload runs preloaded with the same output" "$want" "$got"
check_contains "... which is the expected line" "sorted ok" "$got"
check "the preloaded and plain builds produce identical executables" \
    cmp -s "$HK_TMP/prog" "$HK_TMP/prog-plain"

tap_done
