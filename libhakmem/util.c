/* util.c: string and number helpers that never allocate, for code that runs inside
 * malloc or before libc is fully up. */
#include "config.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/* Decimal form of v in buf (at least 27 bytes), with comma thousands separators when
 * grouped, as the exit reports print them ("count=20,480"). Returns the length. */
size_t hk_util_fmt_u64(char *buf, uint64_t v, bool grouped)
{
    char tmp[32];
    size_t n = 0, digits = 0;
    do {
        if (grouped && digits && digits % 3 == 0) tmp[n++] = ',';
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
        digits++;
    } while (v);
    for (size_t i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    buf[n] = '\0';
    return n;
}

void hk_util_write_str(int fd, const char *s)
{
    size_t len = 0;
    while (s[len])
        len++;
    while (len) {
        ssize_t w = write(fd, s, len);
        if (w <= 0) return;
        s += w;
        len -= (size_t)w;
    }
}

void hk_strbuf_put(hk_strbuf_t *b, const char *s)
{
    while (*s && b->len + 1 < b->cap)
        b->buf[b->len++] = *s++;
    b->buf[b->len] = '\0';
}

void hk_strbuf_put_u64(hk_strbuf_t *b, uint64_t v, bool grouped)
{
    char num[32];
    hk_util_fmt_u64(num, v, grouped);
    hk_strbuf_put(b, num);
}

/* The line and a newline, in one write: the newline replaces the last byte of a full line. */
void hk_strbuf_write_line(hk_strbuf_t *b, int fd)
{
    if (b->len + 1 >= b->cap) b->len = b->cap - 2;
    b->buf[b->len++] = '\n';
    b->buf[b->len] = '\0';
    hk_util_write_str(fd, b->buf);
}

/* src into a fixed-size field of the segment, cut to fit, the rest zeroed: a reader sees
 * no bytes left over from before. */
void hk_util_copy_padded(char *dst, size_t cap, const char *src)
{
    size_t i = 0;
    for (; src[i] && i + 1 < cap; i++)
        dst[i] = src[i];
    memset(dst + i, 0, cap - i);
}

/* Parse a decimal number; false for anything else (empty, signs, junk, overflow). */
bool hk_util_parse_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    if (*s == '\0') return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return false;
        uint64_t d = (uint64_t)(*s - '0');
        if (v > (UINT64_MAX - d) / 10) return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

/* A coarse monotonic clock (the kernel's tick, read without a system call). */
uint64_t hk_util_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}
