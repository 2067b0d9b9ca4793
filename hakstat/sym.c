/* sym.c: address to function name, with libelf. An address is first placed in a
 * mapping of /proc/PID/maps, which gives the object and the file offset; the object's
 * PT_LOAD headers turn the file offset into a link-time address (this handles the load
 * bias of PIE executables and shared libraries alike); the symbol table gives the
 * function containing it. */
#include "config.h"

#include "sym.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct func_s {
    uint64_t start, size;
    char *name;
} func_t;

typedef struct object_s {
    char *path;
    dev_t dev;
    ino_t ino;
    bool loaded, replaced;
    func_t *funcs; /* sorted by start */
    size_t nfuncs;
    GElf_Phdr *loads; /* PT_LOAD headers */
    size_t nloads;
    struct object_s *next;
} object_t;

typedef struct mapping_s {
    uint64_t start, end, offset;
    unsigned long dev_major, dev_minor, inode;
    object_t *obj;
} mapping_t;

struct hs_sym_s {
    pid_t pid;
    mapping_t *maps;
    size_t nmaps;
    object_t *objects;
};

hs_sym_t *hs_sym_open(pid_t pid)
{
    if (elf_version(EV_CURRENT) == EV_NONE) return NULL;
    hs_sym_t *sym = calloc(1, sizeof(*sym));
    if (sym) sym->pid = pid;
    return sym;
}

static void free_object(object_t *o)
{
    for (size_t i = 0; i < o->nfuncs; i++)
        free(o->funcs[i].name);
    free(o->funcs);
    free(o->loads);
    free(o->path);
    free(o);
}

void hs_sym_close(hs_sym_t *sym)
{
    if (sym == NULL) return;
    for (object_t *o = sym->objects, *next; o; o = next) {
        next = o->next;
        free_object(o);
    }
    free(sym->maps);
    free(sym);
}

hs_sym_t *hs_sym_for(pid_t pid)
{
    static hs_sym_t *cached;
    if (cached && cached->pid != pid) {
        hs_sym_close(cached);
        cached = NULL;
    }
    if (cached == NULL) cached = hs_sym_open(pid);
    return cached;
}

static object_t *object_for(hs_sym_t *sym, const char *path)
{
    for (object_t *o = sym->objects; o; o = o->next)
        if (strcmp(o->path, path) == 0) return o;
    object_t *o = calloc(1, sizeof(*o));
    if (o == NULL || (o->path = strdup(path)) == NULL) {
        free(o);
        return NULL;
    }
    o->next = sym->objects;
    sym->objects = o;
    return o;
}

/* Reread the executable mappings of the process. */
static void read_maps(hs_sym_t *sym)
{
    char path[64], line[4096];
    snprintf(path, sizeof(path), "/proc/%d/maps", (int)sym->pid);
    FILE *f = fopen(path, "r");
    if (f == NULL) return;
    free(sym->maps);
    sym->maps = NULL;
    sym->nmaps = 0;
    size_t cap = 0;
    while (fgets(line, sizeof(line), f)) {
        mapping_t m = {0};
        char perms[8], file[4096] = "";
        if (sscanf(line, "%lx-%lx %7s %lx %lx:%lx %lu %4095[^\n]", &m.start, &m.end, perms,
                   &m.offset, &m.dev_major, &m.dev_minor, &m.inode, file) < 7)
            continue;
        if (strchr(perms, 'x') == NULL) continue;
        char *p = file;
        while (*p == ' ')
            p++;
        if (*p != '/') continue;
        size_t len = strlen(p);
        const char *deleted = " (deleted)";
        bool gone = len > strlen(deleted) && strcmp(p + len - strlen(deleted), deleted) == 0;
        if (gone) p[len - strlen(deleted)] = '\0';
        m.obj = object_for(sym, p);
        if (m.obj == NULL) continue;
        struct stat st;
        /* Only the inode is compared: on overlay file systems the device in maps can
         * differ from the one stat reports for the very same file. */
        if (gone || stat(p, &st) != 0 || st.st_ino != (ino_t)m.inode) m.obj->replaced = true;
        if (sym->nmaps == cap) {
            cap = cap ? cap * 2 : 32;
            mapping_t *grown = realloc(sym->maps, cap * sizeof(*grown));
            if (grown == NULL) break;
            sym->maps = grown;
        }
        sym->maps[sym->nmaps++] = m;
    }
    fclose(f);
}

static int by_start(const void *a, const void *b)
{
    const func_t *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* Load an object's PT_LOAD headers and function symbols, once. */
static void load_object(object_t *o)
{
    o->loaded = true;
    if (o->replaced) return;
    int fd = open(o->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
    if (elf == NULL || elf_kind(elf) != ELF_K_ELF) goto out;
    size_t nph;
    if (elf_getphdrnum(elf, &nph) == 0 && nph > 0) {
        o->loads = calloc(nph, sizeof(GElf_Phdr));
        for (size_t i = 0; o->loads && i < nph; i++) {
            GElf_Phdr ph;
            if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD) o->loads[o->nloads++] = ph;
        }
    }
    /* Prefer the full symbol table; stripped objects keep only the dynamic one. */
    Elf_Scn *scn = NULL, *pick = NULL;
    GElf_Shdr sh, pick_sh = {0};
    while ((scn = elf_nextscn(elf, scn)) != NULL) {
        if (gelf_getshdr(scn, &sh) == NULL) continue;
        if (sh.sh_type == SHT_SYMTAB || (sh.sh_type == SHT_DYNSYM && pick == NULL)) {
            pick = scn;
            pick_sh = sh;
        }
    }
    if (pick == NULL || pick_sh.sh_entsize == 0) goto out;
    Elf_Data *data = elf_getdata(pick, NULL);
    size_t n = data ? pick_sh.sh_size / pick_sh.sh_entsize : 0;
    o->funcs = calloc(n ? n : 1, sizeof(func_t));
    for (size_t i = 0; o->funcs && i < n; i++) {
        GElf_Sym s;
        if (gelf_getsym(data, (int)i, &s) == NULL) continue;
        if (GELF_ST_TYPE(s.st_info) != STT_FUNC || s.st_value == 0 || s.st_shndx == SHN_UNDEF)
            continue;
        const char *name = elf_strptr(elf, pick_sh.sh_link, s.st_name);
        if (name == NULL || *name == '\0') continue;
        char *copy = strdup(name);
        if (copy == NULL) continue;
        o->funcs[o->nfuncs++] = (func_t){s.st_value, s.st_size, copy};
    }
    qsort(o->funcs, o->nfuncs, sizeof(func_t), by_start);
out:
    if (elf) elf_end(elf);
    close(fd);
}

static mapping_t *find_mapping(hs_sym_t *sym, uint64_t addr)
{
    for (size_t i = 0; i < sym->nmaps; i++)
        if (addr >= sym->maps[i].start && addr < sym->maps[i].end) return &sym->maps[i];
    return NULL;
}

int hs_sym_lookup(hs_sym_t *sym, uint64_t addr, char *func, size_t func_len, char *object,
                  size_t object_len)
{
    snprintf(func, func_len, "?");
    snprintf(object, object_len, "?");
    /* A return address may be the first byte after the calling function (a call that
     * ends it): look up the call instruction's last byte instead. */
    uint64_t ra = addr;
    addr = addr ? addr - 1 : 0;
    mapping_t *m = find_mapping(sym, addr);
    if (m == NULL) {
        read_maps(sym); /* a library loaded since the last look */
        m = find_mapping(sym, addr);
    }
    if (m == NULL) {
        snprintf(func, func_len, "0x%llx", (unsigned long long)ra);
        return -1;
    }
    object_t *o = m->obj;
    if (!o->loaded) load_object(o);
    uint64_t file_off = addr - m->start + m->offset;
    snprintf(object, object_len, "%s%s", o->path, o->replaced ? " (replaced)" : "");
    const char *base = strrchr(o->path, '/') ? strrchr(o->path, '/') + 1 : o->path;
    /* Link-time address from the PT_LOAD segment that holds this file offset. */
    bool placed = false;
    uint64_t vaddr = 0;
    for (size_t i = 0; i < o->nloads; i++) {
        const GElf_Phdr *ph = &o->loads[i];
        if (file_off >= ph->p_offset && file_off < ph->p_offset + ph->p_filesz) {
            vaddr = ph->p_vaddr + (file_off - ph->p_offset);
            placed = true;
            break;
        }
    }
    if (placed && o->nfuncs) {
        size_t lo = 0, hi = o->nfuncs;
        while (lo < hi) { /* last function starting at or below vaddr */
            size_t mid = (lo + hi) / 2;
            if (o->funcs[mid].start <= vaddr)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo > 0) {
            const func_t *f = &o->funcs[lo - 1];
            if (vaddr < f->start + (f->size ? f->size : 1)) {
                snprintf(func, func_len, "%s+0x%llx", f->name,
                         (unsigned long long)(vaddr + 1 - f->start));
                return 0;
            }
        }
    }
    snprintf(func, func_len, "%s+0x%llx", base,
             (unsigned long long)(placed ? vaddr + 1 : file_off + 1));
    return -1;
}

void hs_sym_site(pid_t pid, uint64_t addr, char *func, size_t func_len, char *object,
                 size_t object_len)
{
    hs_sym_t *sym = hs_sym_for(pid);
    snprintf(func, func_len, "0x%llx", (unsigned long long)addr);
    object[0] = '\0';
    if (sym) hs_sym_lookup(sym, addr, func, func_len, object, object_len);
}
