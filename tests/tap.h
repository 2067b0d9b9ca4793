/* tap.h: a small TAP emitter for hakmem's test programs, with typed checks that print
 * both values on failure. Output is formatted into a stack buffer and written with
 * write(2): it never allocates and never leaves unflushed stdio buffers for a fork.
 * Results are numbered in call order, so emit them from one thread at a time. */
#ifndef HAKMEM_TESTS_TAP_H
#define HAKMEM_TESTS_TAP_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define TAP_PRINTF(f, a) __attribute__((format(printf, f, a)))

static atomic_int tap_planned = -1; /* the `1..N` plan; -1 until tap_plan */
static atomic_int tap_run;          /* results printed so far */
static atomic_int tap_failed;       /* `not ok` results printed so far */

/* Write `len` bytes to stdout, retrying short writes. */
static inline void tap_write(const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(STDOUT_FILENO, buf, len);
        if (n <= 0) return;
        buf += n;
        len -= (size_t)n;
    }
}

/* Format `prefix`, then `fmt`, then a newline into one line and write it at once, so
 * lines from several threads or processes never interleave mid-line. */
static inline void tap_vline(const char *prefix, const char *fmt, va_list ap)
{
    char buf[1024];
    int n = snprintf(buf, sizeof buf, "%s", prefix);
    if (n < 0) n = 0;
    int m = vsnprintf(buf + n, sizeof buf - (size_t)n, fmt, ap);
    size_t len = (m < 0) ? (size_t)n : (size_t)n + (size_t)m;
    if (len > sizeof buf - 2) len = sizeof buf - 2;
    buf[len++] = '\n';
    tap_write(buf, len);
}

/* A diagnostic line: `# ...`. */
TAP_PRINTF(1, 2) static inline void tap_diag(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tap_vline("# ", fmt, ap);
    va_end(ap);
}

TAP_PRINTF(1, 2) static inline void tap_bail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tap_vline("Bail out! ", fmt, ap);
    va_end(ap);
    _exit(1);
}

/* Every test program must end: a hang becomes a SIGALRM death the harness reports.
 * Programs that need a different limit call alarm() themselves after tap_plan. */
#define TAP_TIMEOUT 120

static inline void tap_plan(int n)
{
    alarm(TAP_TIMEOUT);
    tap_planned = n;
    char buf[32];
    tap_write(buf, (size_t)snprintf(buf, sizeof buf, "1..%d\n", n));
}

/* One result; returns `cond` so callers can add diagnostics on failure. */
TAP_PRINTF(2, 3) static inline int tap_ok(int cond, const char *fmt, ...)
{
    char prefix[48];
    int num = atomic_fetch_add(&tap_run, 1) + 1;
    if (!cond) atomic_fetch_add(&tap_failed, 1);
    snprintf(prefix, sizeof prefix, "%sok %d - ", cond ? "" : "not ", num);
    va_list ap;
    va_start(ap, fmt);
    tap_vline(prefix, fmt, ap);
    va_end(ap);
    return cond;
}

/* A result for an optional check that cannot run here; never counted as a pass. */
TAP_PRINTF(2, 3) static inline void tap_skip(const char *what, const char *why_fmt, ...)
{
    char prefix[256];
    int num = atomic_fetch_add(&tap_run, 1) + 1;
    snprintf(prefix, sizeof prefix, "ok %d - %s # SKIP ", num, what);
    va_list ap;
    va_start(ap, why_fmt);
    tap_vline(prefix, why_fmt, ap);
    va_end(ap);
}

/* The exit status for main: 0 only when every planned result ran and passed. */
static inline int tap_done(void)
{
    if (tap_planned >= 0 && tap_run != tap_planned)
        tap_diag("planned %d results but ran %d", (int)tap_planned, (int)tap_run);
    if (tap_failed) tap_diag("%d of %d results failed", (int)tap_failed, (int)tap_run);
    return (tap_failed || (tap_planned >= 0 && tap_run != tap_planned)) ? 1 : 0;
}

/* Typed comparisons: the trailing arguments are the description, a printf format with
 * its arguments. On failure the expressions, their values and the source line are printed
 * as diagnostics. Each is an expression whose value is the check's outcome (1 or 0). */
#define TAP_CMP_(type, pfmt, a, op, b, ...)                                                        \
    ({                                                                                             \
        type tap_a_ = (a);                                                                         \
        type tap_b_ = (b);                                                                         \
        int tap_r_ = tap_ok(tap_a_ op tap_b_, __VA_ARGS__);                                        \
        if (!tap_r_)                                                                               \
            tap_diag("  %s:%d: failed: %s " #op " %s; left " pfmt ", right " pfmt, __FILE__,       \
                     __LINE__, #a, #b, tap_a_, tap_b_);                                            \
        tap_r_;                                                                                    \
    })

#define TAP_EQ_U64(a, b, ...) TAP_CMP_(uint64_t, "%" PRIu64, a, ==, b, __VA_ARGS__)
#define TAP_NE_U64(a, b, ...) TAP_CMP_(uint64_t, "%" PRIu64, a, !=, b, __VA_ARGS__)
#define TAP_LE_U64(a, b, ...) TAP_CMP_(uint64_t, "%" PRIu64, a, <=, b, __VA_ARGS__)
#define TAP_GE_U64(a, b, ...) TAP_CMP_(uint64_t, "%" PRIu64, a, >=, b, __VA_ARGS__)
#define TAP_EQ_I64(a, b, ...) TAP_CMP_(int64_t, "%" PRId64, a, ==, b, __VA_ARGS__)
#define TAP_LE_I64(a, b, ...) TAP_CMP_(int64_t, "%" PRId64, a, <=, b, __VA_ARGS__)
#define TAP_EQ_PTR(a, b, ...) TAP_CMP_(const void *, "%p", a, ==, b, __VA_ARGS__)
#define TAP_NE_PTR(a, b, ...) TAP_CMP_(const void *, "%p", a, !=, b, __VA_ARGS__)

/* errno values are printed with their text as well. */
#define TAP_EQ_ERRNO(a, b, ...)                                                                    \
    ({                                                                                             \
        int tap_a_ = (a), tap_b_ = (b);                                                            \
        int tap_r_ = tap_ok(tap_a_ == tap_b_, __VA_ARGS__);                                        \
        if (!tap_r_)                                                                               \
            tap_diag("  %s:%d: %s: got %d (%s), expected %d (%s)", __FILE__, __LINE__, #a, tap_a_, \
                     strerror(tap_a_), tap_b_, strerror(tap_b_));                                  \
        tap_r_;                                                                                    \
    })

#endif /* HAKMEM_TESTS_TAP_H */
