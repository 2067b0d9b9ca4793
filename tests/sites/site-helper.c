/* site-helper: allocates from two known sites in fixed proportions, then waits so that
 * hakstat can read its sampled sites. exe_alloc (in this PIE executable) allocates 900
 * bytes per round and lib_alloc (in libsitelib.so) 100 bytes, so 90% and 10% of the
 * bytes. Prints "ready" when done and exits when standard input closes.
 *
 *     site-helper [ROUNDS]     (default 200000: 200 MB allocated) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void *lib_alloc(size_t size);

__attribute__((noinline, noclone)) static void *exe_alloc(size_t size)
{
    char *p = malloc(size);
    if (p) memset(p, 0xa5, 8);
    return p;
}

int main(int argc, char **argv)
{
    long rounds = argc > 1 ? atol(argv[1]) : 200000;
    for (long i = 0; i < rounds; i++) {
        void *a = exe_alloc(900);
        void *b = lib_alloc(100);
        if (a == NULL || b == NULL) return 1;
        free(a);
        free(b);
    }
    printf("ready\n");
    fflush(stdout);
    char c;
    while (read(0, &c, 1) > 0) {
    }
    return 0;
}
