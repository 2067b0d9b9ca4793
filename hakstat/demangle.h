/* demangle.h: C++ symbol names made readable, with libstdc++'s own demangler looked up
 * at run time (hakstat itself is C and does not link libstdc++). */
#ifndef HS_DEMANGLE_H
#define HS_DEMANGLE_H

#include <stdbool.h>
#include <stddef.h>

/* Write the demangled form of `name` to out (len bytes) and return true; false, with
 * `name` copied, when it is no C++ name or no demangler is found. */
bool hs_demangle(const char *name, char *out, size_t len);

#endif /* HS_DEMANGLE_H */
