/* lines.c: address to file:line with libdw. The object belongs to the watched process's
 * user and may be crafted: only a regular file of bounded size is handed to libdw, and a
 * debug file is looked for only under /usr/lib/debug, a tree of the system's packages
 * (its .build-id entries are links, which are followed there alone), and accepted only
 * with the object's build-id. */
#include "config.h"

#include "lines.h"

#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LINES_MAX_FILE ((off_t)1 << 30) /* bigger objects are not parsed for lines */
#define LINES_MAX_CUS  100000           /* units looked through when there are no aranges */
#define BUILD_ID_MAX   64

struct hs_lines_s {
    int fd;
    Dwarf *dw;
};

static bool usable_file(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= LINES_MAX_FILE;
}

/* The debug file of an object with this build-id, or -1. */
static int debug_file(const unsigned char *id, size_t n)
{
    char path[64 + 2 * BUILD_ID_MAX];
    int at = snprintf(path, sizeof(path), "/usr/lib/debug/.build-id/%02x/", id[0]);
    for (size_t i = 1; i < n; i++)
        at += snprintf(path + at, sizeof(path) - (size_t)at, "%02x", id[i]);
    snprintf(path + at, sizeof(path) - (size_t)at, ".debug");
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return -1;
    if (!usable_file(fd)) {
        close(fd);
        return -1;
    }
    /* Only the file made for this very build. */
    Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
    const void *got = NULL;
    ssize_t len = elf ? dwelf_elf_gnu_build_id(elf, &got) : -1;
    bool same = len == (ssize_t)n && memcmp(got, id, n) == 0;
    if (elf) elf_end(elf);
    if (!same) {
        close(fd);
        return -1;
    }
    return fd;
}

static hs_lines_t *lines_on(int fd)
{
    Dwarf *dw = dwarf_begin(fd, DWARF_C_READ);
    if (dw == NULL) {
        close(fd);
        return NULL;
    }
    hs_lines_t *l = malloc(sizeof(*l));
    if (l == NULL) {
        dwarf_end(dw);
        close(fd);
        return NULL;
    }
    l->fd = fd;
    l->dw = dw;
    return l;
}

hs_lines_t *hs_lines_open(int fd, Elf *elf)
{
    if (!usable_file(fd)) return NULL;
    int own = dup(fd);
    if (own >= 0) {
        hs_lines_t *l = lines_on(own);
        if (l) return l;
    }
    const void *id = NULL;
    ssize_t n = dwelf_elf_gnu_build_id(elf, &id);
    if (n < 2 || n > BUILD_ID_MAX) return NULL;
    int dfd = debug_file(id, (size_t)n);
    return dfd >= 0 ? lines_on(dfd) : NULL;
}

void hs_lines_close(hs_lines_t *l)
{
    if (l == NULL) return;
    dwarf_end(l->dw);
    close(l->fd);
    free(l);
}

/* The unit that holds vaddr: from .debug_aranges, else by looking through the units. */
static bool unit_of(Dwarf *dw, uint64_t vaddr, Dwarf_Die *cu)
{
    if (dwarf_addrdie(dw, vaddr, cu) != NULL) return true;
    Dwarf_Off off = 0, next;
    size_t hsize;
    for (int i = 0;
         i < LINES_MAX_CUS && dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0;
         i++, off = next) {
        if (dwarf_offdie(dw, off + hsize, cu) != NULL && dwarf_haspc(cu, vaddr) == 1) return true;
    }
    return false;
}

bool hs_lines_find(hs_lines_t *l, uint64_t vaddr, char *file, size_t file_len, int *line)
{
    Dwarf_Die cu;
    if (l == NULL || !unit_of(l->dw, vaddr, &cu)) return false;
    Dwarf_Line *ln = dwarf_getsrc_die(&cu, vaddr);
    int no = 0;
    const char *src = ln ? dwarf_linesrc(ln, NULL, NULL) : NULL;
    if (src == NULL || dwarf_lineno(ln, &no) != 0 || no <= 0) return false;
    snprintf(file, file_len, "%s", src);
    *line = no;
    return true;
}
