/* sym.h: names for code addresses in another process, from /proc/PID/maps and the ELF
 * symbol tables of the mapped objects (read with libelf; .symtab when present, else
 * .dynsym), C++ names demangled, source lines from DWARF (lines.h). No ptrace, no
 * debuginfod. Symbol tables are cached per object. */
#ifndef HS_SYM_H
#define HS_SYM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct hs_sym_s hs_sym_t;

/* A symbolizer for process `pid`; NULL when out of memory. Maps are reread on demand. */
hs_sym_t *hs_sym_open(pid_t pid);
/* The same, reading the mappings from `maps_path` (a file in the format of
 * /proc/PID/maps) instead: for tests and fuzzing of the ELF reader on crafted objects. */
hs_sym_t *hs_sym_open_maps(pid_t pid, const char *maps_path);
void hs_sym_close(hs_sym_t *sym);

/* The symbolizer of process `pid`, made on first use and kept (one process at a time). */
hs_sym_t *hs_sym_for(pid_t pid);

/* Describe `addr`: `func` gets "name+0xoff", or "object+0xoff" when no symbol covers it
 * (a stripped object), or "?" when no mapping does; `object` gets the mapped file's
 * path, marked " (replaced)" when the file on disk is no longer the mapped one (then
 * `func` is never a guess from the new file). Returns 0 when a symbol was found. */
int hs_sym_lookup(hs_sym_t *sym, uint64_t addr, char *func, size_t func_len, char *object,
                  size_t object_len);

/* Everything known of one code address (a return address: the call before it is what is
 * described). */
typedef struct hs_frame_s {
    uint64_t addr;
    char name[256];   /* function, demangled, without offset; "" when no symbol covers it */
    char label[320];  /* as hs_sym_lookup's `func`: "name+0xoff", "object+0xoff" or "?" */
    char object[512]; /* mapped file, " (replaced)" when it is no longer on disk; "" if none */
    char file[512];   /* source file from DWARF, "" when unknown */
    int line;         /* source line, 0 when unknown */
} hs_frame_t;

/* Describe `addr` of the process of `sym` into f. Returns 0 when a symbol was found. */
int hs_sym_frame(hs_sym_t *sym, uint64_t addr, hs_frame_t *f);

/* The same for process `pid` through hs_sym_for; "0x<addr>" when nothing can be read. */
void hs_sym_site_frame(pid_t pid, uint64_t addr, hs_frame_t *f);

/* Name a sampled site of process `pid` for display: `func` as hs_sym_lookup gives it
 * ("0x<addr>" when the process's objects cannot be read), `object` its file or "". */
void hs_sym_site(pid_t pid, uint64_t addr, char *func, size_t func_len, char *object,
                 size_t object_len);

#endif /* HS_SYM_H */
