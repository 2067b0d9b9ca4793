/* bench.h: helpers shared by the benchmark programs in bench/.
 *
 * The programs use the system malloc; the allocator under test is chosen at run time
 * with LD_PRELOAD (see bench/compare). Everything here is static inline so that each
 * program is one translation unit plus this header, and so that nothing here calls
 * malloc: reading /proc goes through open/read, not stdio.
 *
 * Every program ends with one machine-readable line that bench/compare parses:
 *
 *     RESULT name=<program> key=value key=value ... peak_rss_kib=<VmHWM>
 *
 * Values never contain spaces. Human-readable text may precede it on stdout. */
#ifndef HAKMEM_BENCH_H
#define HAKMEM_BENCH_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define BENCH_HAVE_TSC 1
#else
#define BENCH_HAVE_TSC 0
#endif

/* ---- errors and arguments ------------------------------------------------------ */

/* Print "prog: message" to stderr and exit with status 2 (bad usage or setup). */
#define bench_die(...)                                                                             \
    do {                                                                                           \
        fprintf(stderr, __VA_ARGS__);                                                              \
        fputc('\n', stderr);                                                                       \
        exit(2);                                                                                   \
    } while (0)

/* `argv[i]` as a number in [lo, hi], or `def` when the argument is absent. */
static inline double bench_arg(int argc, char **argv, int i, const char *name, double def,
                               double lo, double hi)
{
    if (i >= argc) return def;
    char *end;
    errno = 0;
    double v = strtod(argv[i], &end);
    if (errno != 0 || end == argv[i] || *end != '\0' || !(v >= lo && v <= hi))
        bench_die("%s: %s must be a number in [%g, %g], got '%s'", argv[0], name, lo, hi, argv[i]);
    return v;
}

/* ---- time ---------------------------------------------------------------------- */

/* Monotonic wall-clock time in seconds. */
static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Sleep for `s` seconds, resuming after signals. */
static inline void bench_sleep(double s)
{
    struct timespec ts;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* ---- pseudo-random numbers ------------------------------------------------------- */

/* splitmix64: deterministic, fast, and good enough to pick sizes and slots. Each thread
 * keeps its own state, so runs with the same seed make the same requests. */
static inline uint64_t bench_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [lo, hi]; the modulo bias is irrelevant at these ranges. */
static inline size_t bench_rand_range(uint64_t *state, size_t lo, size_t hi)
{
    return lo + (size_t)(bench_rand(state) % (uint64_t)(hi - lo + 1));
}

/* ---- memory -------------------------------------------------------------------- */

/* Peak resident set size of this process in KiB (VmHWM in /proc/self/status), or -1.
 * Read at the end of a run it covers every allocator, with no external tool. */
static inline long bench_peak_rss_kib(void)
{
    char buf[4096];
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = '\0';
    const char *p = strstr(buf, "VmHWM:");
    return p ? strtol(p + 6, NULL, 10) : -1;
}

/* Keep the compiler from proving a block unused, so it cannot drop a malloc/free pair. */
static inline void bench_escape(void *p)
{
    __asm__ volatile("" : : "r"(p) : "memory");
}

/* malloc that treats failure as fatal: a benchmark result after a NULL is meaningless. */
static inline void *bench_xmalloc(size_t size)
{
    void *p = malloc(size);
    if (p == NULL) bench_die("malloc(%zu) failed", size);
    return p;
}

/* ---- time stamp counter ---------------------------------------------------------- */

/* Ticks for timing short code. On x86 the TSC, fenced so that the loop under test neither
 * starts before the first read nor finishes after the second; elsewhere nanoseconds. */
static inline uint64_t bench_ticks_begin(void)
{
#if BENCH_HAVE_TSC
    _mm_lfence();
    uint64_t t = __rdtsc();
    _mm_lfence();
    return t;
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
#endif
}

static inline uint64_t bench_ticks_end(void)
{
#if BENCH_HAVE_TSC
    unsigned aux;
    uint64_t t = __rdtscp(&aux);
    _mm_lfence();
    return t;
#else
    return bench_ticks_begin();
#endif
}

/* Ticks per second, measured against CLOCK_MONOTONIC over about `window` seconds. */
static inline double bench_tick_hz(double window)
{
    double t0 = bench_now();
    uint64_t c0 = bench_ticks_begin();
    double t1;
    do {
        t1 = bench_now();
    } while (t1 - t0 < window);
    uint64_t c1 = bench_ticks_end();
    return (double)(c1 - c0) / (t1 - t0);
}

#endif /* HAKMEM_BENCH_H */
