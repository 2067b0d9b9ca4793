/* sym.c: address to function name, with libelf. An address is first placed in a
 * mapping of /proc/PID/maps, which gives the object and the file offset; the object's
 * PT_LOAD headers turn the file offset into a link-time address (this handles the load
 * bias of PIE executables and shared libraries alike); the symbol table gives the
 * function containing it.
 *
 * The objects belong to the watched process's user, who may replace any of them at any
 * moment: with a FIFO (an open that waits forever), a device, a link, or an ELF file
 * crafted to exhaust memory. So an object is opened without blocking or following a
 * link, through /proc/PID/map_files/ when we may (that is the mapped file itself), and
 * accepted only as a regular file with the mapping's inode (and device); its tables are
 * read only up to fixed sizes, and all objects together keep at most SYM_BUDGET bytes. */
#include "config.h"

#include "sym.h"

#include "clock.h"
#include "demangle.h"
#include "lines.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#define SYM_MAX_MAPS     65536      /* executable mappings kept */
#define SYM_MAX_PHDRS    4096       /* program headers looked at */
#define SYM_MAX_SECTIONS 16384      /* section headers looked at */
#define SYM_MAX_TABLE    (2u << 20) /* bytes of a symbol or string table read */
#define SYM_BUDGET       (8u << 20) /* bytes of symbols kept over all objects */
#define OVERLAYFS_MAGIC  0x794c7630

typedef struct func_s {
    uint64_t start, size;
    char *name;
} func_t;

typedef struct object_s {
    char *path;
    unsigned long dev_major, dev_minor, inode; /* as /proc/PID/maps gives them */
    uint64_t map_start, map_end;               /* one of its mappings, for map_files */
    bool loaded, replaced;
    func_t *funcs; /* sorted by start */
    size_t nfuncs;
    GElf_Phdr *loads; /* PT_LOAD headers */
    size_t nloads;
    hs_lines_t *lines; /* DWARF line tables, NULL when there are none */
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
    size_t kept;      /* bytes of symbols held by all objects */
    double maps_read; /* CLOCK_MONOTONIC seconds of the last read of the maps */
    char maps_path[256];
};

hs_sym_t *hs_sym_open_maps(pid_t pid, const char *maps_path)
{
    if (elf_version(EV_CURRENT) == EV_NONE) return NULL;
    hs_sym_t *sym = calloc(1, sizeof(*sym));
    if (sym == NULL) return NULL;
    sym->pid = pid;
    snprintf(sym->maps_path, sizeof(sym->maps_path), "%s", maps_path);
    return sym;
}

hs_sym_t *hs_sym_open(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
    return hs_sym_open_maps(pid, path);
}

static void free_object(object_t *o)
{
    for (size_t i = 0; i < o->nfuncs; i++)
        free(o->funcs[i].name);
    free(o->funcs);
    free(o->loads);
    hs_lines_close(o->lines);
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

/* The object of a mapping: one per path and file (device, inode). */
static object_t *object_for(hs_sym_t *sym, const char *path, const mapping_t *m)
{
    for (object_t *o = sym->objects; o; o = o->next)
        if (o->inode == m->inode && o->dev_major == m->dev_major && o->dev_minor == m->dev_minor &&
            strcmp(o->path, path) == 0)
            return o;
    object_t *o = calloc(1, sizeof(*o));
    if (o == NULL || (o->path = strdup(path)) == NULL) {
        free(o);
        return NULL;
    }
    o->dev_major = m->dev_major;
    o->dev_minor = m->dev_minor;
    o->inode = m->inode;
    o->map_start = m->start;
    o->map_end = m->end;
    o->next = sym->objects;
    sym->objects = o;
    return o;
}

/* Reread the executable mappings of the process: at most every SYM_MAPS_AGE seconds, so
 * that a snapshot full of addresses no mapping covers costs one read, not one each. */
#define SYM_MAPS_AGE 0.5
static void read_maps(hs_sym_t *sym)
{
    double now = hs_mono();
    if (sym->maps != NULL && now - sym->maps_read < SYM_MAPS_AGE) return;
    sym->maps_read = now;
    char line[4096];
    int fd = open(sym->maps_path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return;
    struct stat fst;
    FILE *f = fstat(fd, &fst) == 0 && S_ISREG(fst.st_mode) ? fdopen(fd, "r") : NULL;
    if (f == NULL) {
        close(fd);
        return;
    }
    free(sym->maps);
    sym->maps = NULL;
    sym->nmaps = 0;
    size_t cap = 0;
    bool line_start = true;
    while (fgets(line, sizeof(line), f) && sym->nmaps < SYM_MAX_MAPS) {
        /* The rest of an overlong line is not a line of its own. */
        bool was_start = line_start;
        line_start = strchr(line, '\n') != NULL;
        if (!was_start) continue;
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
        m.obj = object_for(sym, p, &m);
        if (m.obj == NULL) continue;
        if (gone) m.obj->replaced = true; /* checked again, on the descriptor, at load */
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

/* Whether the open file is the object the process mapped: a regular file with its inode
 * and device. On an overlay file system the device maps gives can differ from the one
 * fstat reports for the very same file, so there only the inode is compared. */
static bool is_mapped_file(int fd, const object_t *o)
{
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_ino != (ino_t)o->inode) return false;
    if (major(st.st_dev) == o->dev_major && minor(st.st_dev) == o->dev_minor) return true;
    struct statfs fs;
    return fstatfs(fd, &fs) == 0 && (unsigned long)fs.f_type == OVERLAYFS_MAGIC;
}

/* Open the mapped file: through /proc/PID/map_files/ (the very file; root only), else by
 * its path, without blocking or following a link. -1 when what is there now is not it.
 * A map_files entry is a link by nature, so it is opened without O_NOFOLLOW: the kernel
 * resolves it to the mapping's own file, never through a path someone can change. */
static int open_object(const hs_sym_t *sym, const object_t *o)
{
    char path[96];
    snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", (int)sym->pid,
             (unsigned long long)o->map_start, (unsigned long long)o->map_end);
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0 && is_mapped_file(fd, o)) return fd;
    if (fd >= 0) close(fd);
    fd = open(o->path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0 && is_mapped_file(fd, o)) return fd;
    if (fd >= 0) close(fd);
    return -1;
}

/* Whether a section is a symbol table that may be read: entries of a sane size, and it
 * and its string table within SYM_MAX_TABLE. */
static bool table_fits(Elf *elf, const GElf_Shdr *sh)
{
    if ((sh->sh_type != SHT_SYMTAB && sh->sh_type != SHT_DYNSYM) || sh->sh_entsize == 0 ||
        sh->sh_size > SYM_MAX_TABLE)
        return false;
    Elf_Scn *strs = elf_getscn(elf, sh->sh_link);
    GElf_Shdr str_sh;
    return strs != NULL && gelf_getshdr(strs, &str_sh) != NULL && str_sh.sh_type == SHT_STRTAB &&
           str_sh.sh_size <= SYM_MAX_TABLE;
}

/* Load an object's PT_LOAD headers and function symbols, once, within the budget. */
static void load_object(hs_sym_t *sym, object_t *o)
{
    o->loaded = true;
    if (o->replaced) return;
    int fd = open_object(sym, o);
    if (fd < 0) {
        o->replaced = true;
        return;
    }
    Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
    if (elf == NULL || elf_kind(elf) != ELF_K_ELF) goto out;
    size_t nph, nsh;
    if (elf_getphdrnum(elf, &nph) == 0 && nph > 0 && nph <= SYM_MAX_PHDRS) {
        o->loads = calloc(nph, sizeof(GElf_Phdr));
        for (size_t i = 0; o->loads && i < nph; i++) {
            GElf_Phdr ph;
            if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD) o->loads[o->nloads++] = ph;
        }
    }
    if (elf_getshdrnum(elf, &nsh) != 0 || nsh > SYM_MAX_SECTIONS) goto out;
    /* Prefer the full symbol table; stripped objects keep only the dynamic one, and so
     * does an object whose full table is beyond the bounds. */
    Elf_Scn *scn = NULL, *pick = NULL;
    GElf_Shdr sh, pick_sh = {0};
    while ((scn = elf_nextscn(elf, scn)) != NULL) {
        if (gelf_getshdr(scn, &sh) == NULL || !table_fits(elf, &sh)) continue;
        if (sh.sh_type == SHT_SYMTAB || (sh.sh_type == SHT_DYNSYM && pick == NULL)) {
            pick = scn;
            pick_sh = sh;
        }
    }
    if (pick == NULL) goto out;
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
        size_t len = strnlen(name, 4096);
        if (sym->kept + len + 1 + sizeof(func_t) > SYM_BUDGET) break;
        char *copy = strndup(name, len);
        if (copy == NULL) continue;
        sym->kept += len + 1 + sizeof(func_t);
        o->funcs[o->nfuncs++] = (func_t){s.st_value, s.st_size, copy};
    }
    if (o->funcs && o->nfuncs < n) { /* give back the room of the other symbols */
        func_t *fit = realloc(o->funcs, (o->nfuncs ? o->nfuncs : 1) * sizeof(func_t));
        if (fit) o->funcs = fit;
    }
    qsort(o->funcs, o->nfuncs, sizeof(func_t), by_start);
    o->lines = hs_lines_open(fd, elf);
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

/* The function of link-time address vaddr in o, or NULL. */
static const func_t *func_at(const object_t *o, uint64_t vaddr)
{
    size_t lo = 0, hi = o->nfuncs;
    while (lo < hi) { /* last function starting at or below vaddr */
        size_t mid = (lo + hi) / 2;
        if (o->funcs[mid].start <= vaddr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0) return NULL;
    const func_t *f = &o->funcs[lo - 1];
    return vaddr < f->start + (f->size ? f->size : 1) ? f : NULL;
}

/* Link-time address of a file offset, from the PT_LOAD segment that holds it. */
static bool vaddr_of(const object_t *o, uint64_t file_off, uint64_t *vaddr)
{
    for (size_t i = 0; i < o->nloads; i++) {
        const GElf_Phdr *ph = &o->loads[i];
        if (file_off >= ph->p_offset && file_off < ph->p_offset + ph->p_filesz) {
            *vaddr = ph->p_vaddr + (file_off - ph->p_offset);
            return true;
        }
    }
    return false;
}

int hs_sym_frame(hs_sym_t *sym, uint64_t addr, hs_frame_t *f)
{
    memset(f, 0, sizeof(*f));
    f->addr = addr;
    snprintf(f->label, sizeof(f->label), "?");
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
        snprintf(f->label, sizeof(f->label), "0x%llx", (unsigned long long)ra);
        return -1;
    }
    object_t *o = m->obj;
    if (!o->loaded) load_object(sym, o);
    uint64_t file_off = addr - m->start + m->offset, vaddr = 0;
    snprintf(f->object, sizeof(f->object), "%s%s", o->path, o->replaced ? " (replaced)" : "");
    const char *base = strrchr(o->path, '/') ? strrchr(o->path, '/') + 1 : o->path;
    bool placed = vaddr_of(o, file_off, &vaddr);
    const func_t *fn = placed ? func_at(o, vaddr) : NULL;
    if (placed && o->lines) hs_lines_find(o->lines, vaddr, f->file, sizeof(f->file), &f->line);
    if (fn) {
        hs_demangle(fn->name, f->name, sizeof(f->name));
        snprintf(f->label, sizeof(f->label), "%s+0x%llx", f->name,
                 (unsigned long long)(vaddr + 1 - fn->start));
        return 0;
    }
    snprintf(f->label, sizeof(f->label), "%s+0x%llx", base,
             (unsigned long long)(placed ? vaddr + 1 : file_off + 1));
    return -1;
}

int hs_sym_lookup(hs_sym_t *sym, uint64_t addr, char *func, size_t func_len, char *object,
                  size_t object_len)
{
    hs_frame_t f;
    int r = hs_sym_frame(sym, addr, &f);
    snprintf(func, func_len, "%s", f.label);
    snprintf(object, object_len, "%s", f.object[0] ? f.object : "?");
    return r;
}

void hs_sym_site_frame(pid_t pid, uint64_t addr, hs_frame_t *f)
{
    hs_sym_t *sym = hs_sym_for(pid);
    if (sym) {
        hs_sym_frame(sym, addr, f);
        return;
    }
    memset(f, 0, sizeof(*f));
    f->addr = addr;
    snprintf(f->label, sizeof(f->label), "0x%llx", (unsigned long long)addr);
}

void hs_sym_site(pid_t pid, uint64_t addr, char *func, size_t func_len, char *object,
                 size_t object_len)
{
    hs_sym_t *sym = hs_sym_for(pid);
    snprintf(func, func_len, "0x%llx", (unsigned long long)addr);
    object[0] = '\0';
    if (sym) hs_sym_lookup(sym, addr, func, func_len, object, object_len);
}
