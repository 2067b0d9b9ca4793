/* testutil.h: helpers shared by the C test programs: byte patterns that identify a block,
 * a deterministic PRNG, values the compiler cannot see through, and memory readings from
 * /proc. Nothing here allocates through malloc. */
#ifndef HAKMEM_TESTS_TESTUTIL_H
#define HAKMEM_TESTS_TESTUTIL_H

#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A size the optimiser cannot constant-fold, so calls such as malloc(SIZE_MAX) are
 * neither warned about (-Walloc-size-larger-than) nor replaced by their known result. */
static inline size_t tu_opaque(size_t n)
{
    __asm__ volatile("" : "+r"(n));
    return n;
}

/* A pointer the optimiser cannot track, so a malloc/free pair is never elided. */
static inline void *tu_launder(void *p)
{
    __asm__ volatile("" : "+r"(p) : : "memory");
    return p;
}

/* xorshift64*: deterministic, seeded per thread or per test. The state must not be 0. */
static inline uint64_t tu_rand(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* Mix several values into a seed (splitmix64 finaliser). */
static inline uint64_t tu_mix(uint64_t a, uint64_t b)
{
    uint64_t z = a * 0x9E3779B97F4A7C15ULL + b + 0x632BE59BD9B4E019ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Word `w` (bytes 8w..8w+7) of the pattern for `seed`: it changes with every position
 * and every seed, so a block overwritten by a neighbour, or handed out twice, is caught. */
static inline uint64_t tu_pattern_word(uint64_t seed, size_t w)
{
    uint64_t x = seed + (uint64_t)w * 0x9E3779B97F4A7C15ULL;
    return x ^ (x >> 29);
}

/* Write the pattern for `seed` into n bytes at p (any alignment). */
static inline void tu_fill(void *p, size_t n, uint64_t seed)
{
    unsigned char *b = p;
    size_t w = 0;
    for (; (w + 1) * 8 <= n; w++) {
        uint64_t x = tu_pattern_word(seed, w);
        memcpy(b + w * 8, &x, 8);
    }
    uint64_t x = tu_pattern_word(seed, w);
    memcpy(b + w * 8, &x, n - w * 8);
}

/* The index of the first byte that differs from the pattern, or SIZE_MAX if none. */
static inline size_t tu_check(const void *p, size_t n, uint64_t seed)
{
    const unsigned char *b = p;
    size_t w = 0;
    for (; w * 8 < n; w++) {
        uint64_t x = tu_pattern_word(seed, w);
        size_t len = n - w * 8 < 8 ? n - w * 8 : 8;
        if (memcmp(b + w * 8, &x, len) != 0) {
            const unsigned char *want = (const unsigned char *)&x;
            for (size_t i = 0; i < len; i++)
                if (b[w * 8 + i] != want[i]) return w * 8 + i;
        }
    }
    return SIZE_MAX;
}

/* The index of the first byte that is not `value`, or SIZE_MAX if none. */
static inline size_t tu_check_bytes(const void *p, size_t n, uint8_t value)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != value) return i;
    return SIZE_MAX;
}

/* Monotonic time in seconds. */
static inline double tu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The value in KiB of a `Name:   N kB` line of /proc/self/status (VmRSS, VmSize), or -1.
 * Reads into a stack buffer with read(2), so it neither allocates nor uses stdio. */
static inline long tu_status_kib(const char *name)
{
    char buf[8192];
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    size_t len = 0;
    ssize_t n;
    while (len < sizeof buf - 1 && (n = read(fd, buf + len, sizeof buf - 1 - len)) > 0)
        len += (size_t)n;
    close(fd);
    buf[len] = '\0';
    size_t nlen = strlen(name);
    for (char *line = buf; line && *line;
         line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (strncmp(line, name, nlen) == 0 && line[nlen] == ':')
            return strtol(line + nlen + 1, NULL, 10);
    }
    return -1;
}

static inline long tu_rss_kib(void)
{
    return tu_status_kib("VmRSS");
}

/* Run this program again with name=value in its environment, unless it already has it:
 * the library reads its options once, at the first allocation. Returns only when set. */
static inline void tu_reexec_with(char **argv, const char *name, const char *value)
{
    const char *now = getenv(name);
    if (now != NULL && strcmp(now, value) == 0) return;
    setenv(name, value, 1);
    execv("/proc/self/exe", argv);
    _exit(127);
}

#endif /* HAKMEM_TESTS_TESTUTIL_H */
