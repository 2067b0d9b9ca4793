/* exe-helper.c: a plain program (linked to glibc only) for identity.sh, built twice:
 *
 * - exe-nopie-helper (-fno-pie -no-pie): the shape of Debian's /usr/bin/python3.11, a
 *   non-PIE program that takes the addresses of malloc, free, realloc and calloc, so the
 *   linker makes its own PLT stubs their canonical addresses. A name lookup
 *   (dlsym(RTLD_DEFAULT)) then answers with the stub in the program itself, although the
 *   program's GOT, which the stubs jump through, points into the preloaded libhakmem.
 * - exe-static-helper (-static-pie): no dynamic loader runs for it, so LD_PRELOAD cannot
 *   reach it and it keeps the malloc linked into it; identity.sh checks that its method
 *   says so instead of claiming libhakmem.
 *
 * `exe-helper N` makes N malloc(1000) calls, grows each block with realloc, frees them,
 * and makes one calloc call, all through the taken addresses. It then prints
 *
 *     mapped libhakmem yes|no        (whether /proc/self/maps holds libhakmem)
 *     ref NAME OBJECT                (the object holding the address the program took)
 *     dlsym NAME OBJECT              (what a lookup in the global scope returns; not in
 *                                     the static build, which has no global scope)
 *
 * where OBJECT is "exe" for the program itself, else the mapped file's base name, from
 * /proc/self/maps (which works in a static program too). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct named_s {
    const char *name;
    void *addr;
} named_t;

/* The calls go through these, set in main: code that takes a function's address in a
 * non-PIE program gets a link-time constant, the program's own PLT stub (an initialised
 * pointer would get a dynamic relocation instead). volatile keeps the calls indirect. */
static void *(*volatile malloc_fn)(size_t);
static void (*volatile free_fn)(void *);
static void *(*volatile realloc_fn)(void *, size_t);
static void *(*volatile calloc_fn)(size_t, size_t);

/* The object whose mapping holds `addr`, into `out`: "exe", a file's base name, or "?". */
static void object_of(uintptr_t addr, char *out, size_t len)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = '\0';
    snprintf(out, len, "?");
    FILE *maps = fopen("/proc/self/maps", "r");
    if (!maps) return;
    char line[PATH_MAX + 128];
    while (fgets(line, sizeof line, maps)) {
        uintptr_t lo, hi;
        int path_at = 0;
        if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %*s %*s %*s %*s %n", &lo, &hi, &path_at) < 2)
            continue;
        if (addr < lo || addr >= hi) continue;
        char *path = line + path_at;
        path[strcspn(path, "\n")] = '\0';
        const char *slash = strrchr(path, '/');
        snprintf(out, len, "%s", strcmp(path, exe) == 0 ? "exe" : slash ? slash + 1 : path);
        break;
    }
    fclose(maps);
}

static int hakmem_mapped(void)
{
    FILE *maps = fopen("/proc/self/maps", "r");
    if (!maps) return 0;
    char line[PATH_MAX + 128];
    int found = 0;
    while (!found && fgets(line, sizeof line, maps))
        found = strstr(line, "libhakmem") != NULL;
    fclose(maps);
    return found;
}

int main(int argc, char **argv)
{
    char *end = NULL;
    long n = argc == 2 ? strtol(argv[1], &end, 10) : -1;
    if (n < 0 || !end || *end != '\0') {
        fprintf(stderr, "usage: %s N   (N >= 0 blocks to allocate)\n", argv[0]);
        return 2;
    }
    malloc_fn = malloc;
    free_fn = free;
    realloc_fn = realloc;
    calloc_fn = calloc;
    char **blocks = calloc_fn((size_t)n + 1, sizeof *blocks);
    if (!blocks) return perror("calloc"), 1;
    for (long i = 0; i < n; i++) {
        if (!(blocks[i] = malloc_fn(1000))) return perror("malloc"), 1;
        memset(blocks[i], (int)i, 1000);
    }
    for (long i = 0; i < n; i++) {
        char *grown = realloc_fn(blocks[i], 1500);
        if (!grown) return perror("realloc"), 1;
        free_fn(grown);
    }
    free_fn(blocks);

    const named_t refs[] = {
        {"malloc", (void *)malloc_fn},
        {"free", (void *)free_fn},
        {"realloc", (void *)realloc_fn},
        {"calloc", (void *)calloc_fn},
    };
    printf("mapped libhakmem %s\n", hakmem_mapped() ? "yes" : "no");
    char obj[PATH_MAX];
    for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++) {
        object_of((uintptr_t)refs[i].addr, obj, sizeof obj);
        printf("ref %s %s\n", refs[i].name, obj);
    }
#ifndef EXE_HELPER_STATIC
    for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++) {
        object_of((uintptr_t)dlsym(RTLD_DEFAULT, refs[i].name), obj, sizeof obj);
        printf("dlsym %s %s\n", refs[i].name, obj);
    }
#endif
    return 0;
}
