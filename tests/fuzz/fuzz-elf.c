/* fuzz-elf.c: libFuzzer harness for the ELF symbolizer (hakstat/sym.c). Each input is an
 * object file: it is written to disk and described by a maps file (as /proc/PID/maps
 * would, with its real device and inode) as mapped executable at a fixed address, and
 * addresses across the mapping are named. Everything of the symbolizer runs: the
 * non-blocking open and identity check, program headers, the choice of symbol table
 * within bounds, symbols and their names, and the lookup. Built by `make fuzz`. */
#include "config.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "sym.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAP_START 0x10000000ull
#define MAP_LEN   0x100000ull

static char obj[256], maps[256];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (obj[0] == '\0') {
        const char *tmp = getenv("TMPDIR");
        tmp = tmp && tmp[0] == '/' ? tmp : "/tmp";
        snprintf(obj, sizeof(obj), "%s/hakmem-fuzz-elf.%d.so", tmp, (int)getpid());
        snprintf(maps, sizeof(maps), "%s/hakmem-fuzz-elf.%d.maps", tmp, (int)getpid());
    }
    int fd = open(obj, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) abort();
    if (size && write(fd, data, size) != (ssize_t)size) abort();
    struct stat st;
    if (fstat(fd, &st) != 0) abort();
    close(fd);
    FILE *m = fopen(maps, "w");
    if (m == NULL) abort();
    fprintf(m, "%llx-%llx r-xp 00000000 %02x:%02x %llu %s\n", MAP_START, MAP_START + MAP_LEN,
            major(st.st_dev), minor(st.st_dev), (unsigned long long)st.st_ino, obj);
    fclose(m);

    /* pid 0: there is no /proc/0/map_files, so the object is opened by its path. */
    hs_sym_t *sym = hs_sym_open_maps(0, maps);
    if (sym == NULL) abort();
    char func[256], object[512];
    /* Every 16th byte of the file (up to 4096 lookups), as return addresses: through
     * the PT_LOAD placement and the function table wherever they lead. */
    uint64_t end = size < MAP_LEN ? size : MAP_LEN, step = end / 4096 > 16 ? end / 4096 : 16;
    for (uint64_t off = 0; off < end; off += step)
        hs_sym_lookup(sym, MAP_START + off + 1, func, sizeof(func), object, sizeof(object));
    hs_sym_lookup(sym, MAP_START + MAP_LEN + 16, func, sizeof(func), object, sizeof(object));
    hs_sym_close(sym);
    unlink(obj);
    unlink(maps);
    return 0;
}
