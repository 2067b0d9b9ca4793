/* dlopen-helper.c: loads and unloads two libraries that allocate in their constructors
 * and free in their destructors (dlalloc.c), ROUNDS times, for tests/programs/dlopen.sh:
 * in alternating orders, every third round opening them from another thread so that the
 * destructor here frees what the constructor allocated there, handing each a block of
 * its own to free. After each dlclose, RTLD_NOLOAD must find the library gone, so every
 * round really runs both constructors and destructors again.
 *
 * Usage: dlopen-helper ROUNDS LIB1 LIB2. Prints one line of counts; exits 0 when every
 * constructor, check and destructor reported its blocks intact. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Called by the libraries (the executable exports it: -export-dynamic). */
void dla_report(int id, const char *what, int ok);

static int ctors[3], dtors[3], bad;

void dla_report(int id, const char *what, int ok)
{
    if (id < 1 || id > 2) {
        bad++;
        return;
    }
    if (strcmp(what, "ctor") == 0)
        ctors[id]++;
    else
        dtors[id]++;
    if (!ok) {
        fprintf(stderr, "dlopen-helper: library %d: %s found its blocks damaged\n", id, what);
        bad++;
    }
}

struct opener {
    const char *path;
    void *handle;
};

static void *open_in_thread(void *arg)
{
    struct opener *o = arg;
    o->handle = dlopen(o->path, RTLD_NOW | RTLD_LOCAL);
    return NULL;
}

static void *open_lib(const char *path, int threaded)
{
    if (!threaded) return dlopen(path, RTLD_NOW | RTLD_LOCAL);
    struct opener o = {path, NULL};
    pthread_t t;
    if (pthread_create(&t, NULL, open_in_thread, &o) != 0) return NULL;
    pthread_join(t, NULL);
    return o.handle;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: dlopen-helper ROUNDS LIB1 LIB2\n");
        return 2;
    }
    int rounds = atoi(argv[1]);
    const char *paths[2] = {argv[2], argv[3]};
    int checks = 0, unloaded = 0;
    for (int r = 0; r < rounds; r++) {
        void *h[2];
        int first = r % 2;
        for (int k = 0; k < 2; k++) {
            int which = k ^ first;
            h[which] = open_lib(paths[which], r % 3 == 2);
            if (!h[which]) {
                fprintf(stderr, "dlopen-helper: dlopen %s: %s\n", paths[which], dlerror());
                return 1;
            }
        }
        for (int k = 0; k < 2; k++) {
            int (*check)(void) = (int (*)(void))dlsym(h[k], "dla_check");
            void (*adopt)(unsigned char *, size_t, unsigned char) =
                (void (*)(unsigned char *, size_t, unsigned char))dlsym(h[k], "dla_adopt");
            if (!check || !adopt) {
                fprintf(stderr, "dlopen-helper: dlsym: %s\n", dlerror());
                return 1;
            }
            checks += check();
            size_t n = 100 + (size_t)(r * 37 + k * 1000) % 20000;
            unsigned char *p = malloc(n);
            if (!p) return 1;
            memset(p, r & 0xff, n);
            adopt(p, n, (unsigned char)(r & 0xff));
        }
        for (int k = 0; k < 2; k++) {
            int which = k ^ first ^ (r % 5 == 0);
            dlclose(h[which]);
            void *again = dlopen(paths[which], RTLD_NOW | RTLD_NOLOAD);
            if (again)
                dlclose(again);
            else
                unloaded++;
        }
    }
    printf("rounds %d ctor %d %d dtor %d %d checks %d unloaded %d damaged %d\n", rounds, ctors[1],
           ctors[2], dtors[1], dtors[2], checks, unloaded, bad);
    return bad != 0;
}
