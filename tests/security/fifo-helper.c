/* fifo-helper: a process whose mapped shared library its user replaces with a FIFO while
 * hakstat watches it (hostile.sh). It allocates all the time from a site of its own, so
 * that hakstat reads its maps and names that site; after the first byte on standard
 * input it also allocates from lib_alloc in libsitelib.so, so that hakstat must open
 * the library, which by then is a FIFO at the path the maps give. Prints "ready" once
 * its own site has been sampled; exits at the end of standard input. */
#include <fcntl.h>
#include <stdbool.h>
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

int main(void)
{
    if (fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK) != 0) return 1;
    bool lib = false, told = false;
    for (long round = 0;; round++) {
        for (int i = 0; i < 1000; i++) {
            free(exe_alloc(900));
            if (lib) free(lib_alloc(900));
        }
        if (round == 10 && !told) {
            printf("ready\n");
            fflush(stdout);
            told = true;
        }
        char c;
        ssize_t n = read(0, &c, 1);
        if (n == 0) return 0;
        if (n == 1) lib = true;
        usleep(2000);
    }
}
