/* lines.h: source file and line of a code address, from DWARF (elfutils' libdw): the
 * object's own debug information, else its separate debug file found by build-id under
 * /usr/lib/debug/.build-id. */
#ifndef HS_LINES_H
#define HS_LINES_H

#include <gelf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hs_lines_s hs_lines_t;

/* Line tables of the object open on `fd` (read as `elf`); the descriptor is duplicated,
 * so the caller keeps its own. NULL when neither the object nor a debug file has any. */
hs_lines_t *hs_lines_open(int fd, Elf *elf);
void hs_lines_close(hs_lines_t *l);

/* File and line of link-time address `vaddr`; false when the tables do not cover it. */
bool hs_lines_find(hs_lines_t *l, uint64_t vaddr, char *file, size_t file_len, int *line);

#endif /* HS_LINES_H */
