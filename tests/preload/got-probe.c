/* got-probe.c: a library preloaded next to libhakmem that reports where a process's
 * calls to malloc, free, realloc and calloc really land. At exit it walks the dynamic
 * relocations of every object loaded in the process (dl_iterate_phdr, then DT_JMPREL and
 * DT_RELA), and for each relocation against one of those four names reads the slot the
 * relocation filled (the GOT entry the code calls or loads through) and names the object
 * that holds the address found there (dladdr). One line per slot, to the file named by
 * HK_GOT_PROBE_OUT:
 *
 *     <object> <symbol> <JUMP_SLOT|GLOB_DAT|ABS64> <object holding the target> [via-exe-plt]
 *
 * The main program is named "exe" so a test can tell its own slots from its libraries'.
 *
 * Looking the name up instead (dlsym(RTLD_DEFAULT, "malloc")) answers the wrong question
 * for a non-PIE program that takes malloc's address: its PLT stub becomes the canonical
 * address, so the lookup names the program although its GOT points into libhakmem.
 * Other objects' pointers to the function are bound to that stub too; such a slot is
 * marked "via-exe-plt" and named by where the stub jumps: the program's own slot's target.
 *
 * Lazily bound slots hold the program's own PLT stub until the first call, so the test
 * runs programs with LD_BIND_NOW=1: every slot is then filled at load time by the same
 * lookup a first call would make. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__x86_64__)
#define PROBE_R_JUMP_SLOT R_X86_64_JUMP_SLOT
#define PROBE_R_GLOB_DAT  R_X86_64_GLOB_DAT
#define PROBE_R_ABS64     R_X86_64_64
#elif defined(__aarch64__)
#define PROBE_R_JUMP_SLOT R_AARCH64_JUMP_SLOT
#define PROBE_R_GLOB_DAT  R_AARCH64_GLOB_DAT
#define PROBE_R_ABS64     R_AARCH64_ABS64
#else
#error "got-probe.c knows the relocation types of x86-64 and AArch64 (both ELF64) only"
#endif

static const char *const probed[] = {"malloc", "free", "realloc", "calloc"};
#define NPROBED (sizeof probed / sizeof probed[0])

/* What the main program's own JUMP_SLOT for each probed name holds, once known: where a
 * non-PIE program's canonical PLT stub for that name really jumps. */
static const void *exe_slot[NPROBED];

/* The last path component of `path`, or `path` itself. */
static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* The name of the object that holds `addr`: "exe" for the main program, the file's
 * base name otherwise, "?" for an address in no loaded object. */
static const char *object_of(const void *addr)
{
    Dl_info info;
    struct link_map *map = NULL;
    if (!dladdr1(addr, &info, (void **)&map, RTLD_DL_LINKMAP) || !map) return "?";
    if (map->l_name == NULL || map->l_name[0] == '\0') return "exe";
    return base_name(map->l_name);
}

/* A pointer from the dynamic section as an address. glibc may or may not have added the
 * load bias to these in place (it depends on the version and architecture); a value
 * below the bias of a biased object cannot be an address in it, so it is still an
 * offset. */
static uintptr_t dyn_addr(ElfW(Addr) bias, ElfW(Addr) value)
{
    return bias != 0 && value < bias ? bias + value : value;
}

typedef struct probe_obj_s {
    const char *name;       /* as object_of() names it */
    ElfW(Addr) bias;        /* load bias (0 for a non-PIE program) */
    const ElfW(Sym) * syms; /* DT_SYMTAB */
    const char *strs;       /* DT_STRTAB */
    FILE *out;              /* NULL in the first pass, which only fills exe_slot */
} probe_obj_t;

static void probe_relocs(const probe_obj_t *o, const ElfW(Rela) * rel, size_t bytes)
{
    for (size_t i = 0; i < bytes / sizeof *rel; i++) {
        unsigned long type = ELF64_R_TYPE(rel[i].r_info);
        unsigned long sym = ELF64_R_SYM(rel[i].r_info);
        const char *kind = type == PROBE_R_JUMP_SLOT  ? "JUMP_SLOT"
                           : type == PROBE_R_GLOB_DAT ? "GLOB_DAT"
                           : type == PROBE_R_ABS64    ? "ABS64"
                                                      : NULL;
        if (!kind || sym == 0) continue;
        const char *name = o->strs + o->syms[sym].st_name;
        for (size_t k = 0; k < NPROBED; k++) {
            if (strcmp(name, probed[k]) != 0) continue;
            const void *const *slot = (const void *const *)(o->bias + rel[i].r_offset);
            /* An ABS64 slot holds the symbol's address plus the addend. */
            const char *target = (const char *)*slot;
            if (type == PROBE_R_ABS64) target -= rel[i].r_addend;
            if (!o->out) {
                if (type == PROBE_R_JUMP_SLOT && strcmp(o->name, "exe") == 0) exe_slot[k] = target;
                continue;
            }
            const char *where = object_of(target);
            /* An address in a program that imports the name is its canonical PLT stub
             * (other objects' pointers to the function are bound to it): a call through
             * it lands where the program's own slot points. */
            if (strcmp(where, "exe") == 0 && strcmp(o->name, "exe") != 0 && exe_slot[k]) {
                fprintf(o->out, "%s %s %s %s via-exe-plt\n", o->name, name, kind,
                        object_of(exe_slot[k]));
                continue;
            }
            fprintf(o->out, "%s %s %s %s\n", o->name, name, kind, where);
        }
    }
}

static int probe_object(struct dl_phdr_info *info, size_t size, void *arg)
{
    const ElfW(Dyn) *dyn = NULL;
    for (int i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
            dyn = (const ElfW(Dyn) *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
    if (!dyn) return 0; /* the vDSO of some kernels, or a static program */

    probe_obj_t o = {.bias = info->dlpi_addr, .out = arg};
    const ElfW(Rela) *jmprel = NULL, *rela = NULL;
    size_t jmprel_bytes = 0, rela_bytes = 0;
    for (; dyn->d_tag != DT_NULL; dyn++) {
        switch (dyn->d_tag) {
        case DT_SYMTAB:
            o.syms = (const ElfW(Sym) *)dyn_addr(o.bias, dyn->d_un.d_ptr);
            break;
        case DT_STRTAB:
            o.strs = (const char *)dyn_addr(o.bias, dyn->d_un.d_ptr);
            break;
        case DT_JMPREL:
            jmprel = (const ElfW(Rela) *)dyn_addr(o.bias, dyn->d_un.d_ptr);
            break;
        case DT_PLTRELSZ:
            jmprel_bytes = dyn->d_un.d_val;
            break;
        case DT_RELA:
            rela = (const ElfW(Rela) *)dyn_addr(o.bias, dyn->d_un.d_ptr);
            break;
        case DT_RELASZ:
            rela_bytes = dyn->d_un.d_val;
            break;
        default:
            break;
        }
    }
    if (!o.syms || !o.strs) return 0;
    /* dl_iterate_phdr names the main program "" and the vDSO by its soname. */
    o.name = info->dlpi_name[0] ? base_name(info->dlpi_name) : "exe";
    if (jmprel) probe_relocs(&o, jmprel, jmprel_bytes);
    if (rela) probe_relocs(&o, rela, rela_bytes);
    return 0;
}

/* At exit, so objects the program loaded with dlopen are walked too. */
__attribute__((destructor)) static void probe_report(void)
{
    const char *path = getenv("HK_GOT_PROBE_OUT");
    if (!path || !*path) {
        static const char msg[] = "got-probe: HK_GOT_PROBE_OUT is not set: no report\n";
        (void)!write(STDERR_FILENO, msg, sizeof msg - 1);
        return;
    }
    FILE *out = fopen(path, "w");
    if (!out) {
        perror(path);
        return;
    }
    dl_iterate_phdr(probe_object, NULL);
    dl_iterate_phdr(probe_object, out);
    fclose(out);
}
