/* options.c: the HAKMEM_* environment variables, read once at process start straight
 * from `environ` (no getenv, no allocation). A bad value is reported on stderr and the
 * default kept. Every variable here is documented in hakmem(3). */
#include "config.h"

#include <fcntl.h>
#include <string.h>
#include <strings.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "internal.h"

extern char **environ;

hk_options_t hk_opt = {
#define HK_OPT_DEFAULT(name, kind, field, def, min, max, summary, doc) .field = def,
    HK_OPTIONS(HK_OPT_DEFAULT)
#undef HK_OPT_DEFAULT
};

/* A first call made from a preinit_array entry comes before libc has set `environ`:
 * then the HAKMEM_* entries are read from /proc/self/environ (the environment the
 * process started with, which is where they come from) into this store, one
 * NUL-terminated entry after another. An entry that does not fit is left out. */
static char early_env[4096];
static size_t early_env_len;

static void keep_early_entry(const char *entry, size_t len)
{
    if (strncmp(entry, "HAKMEM_", 7) != 0 || early_env_len + len + 1 > sizeof(early_env)) return;
    memcpy(early_env + early_env_len, entry, len);
    early_env[early_env_len + len] = '\0';
    early_env_len += len + 1;
}

static void read_early_env(void)
{
    int fd = open("/proc/self/environ", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    char buf[4096], entry[1024];
    size_t len = 0;
    bool too_long = false;
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0) {
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] == '\0') {
                if (!too_long) keep_early_entry(entry, len);
                len = 0;
                too_long = false;
            } else if (len < sizeof(entry)) {
                entry[len++] = buf[i];
            } else {
                too_long = true;
            }
        }
    }
    close(fd);
}

static const char *env_lookup(char *const *env, const char *name, size_t len)
{
    for (; env && *env; env++)
        if (strncmp(*env, name, len) == 0 && (*env)[len] == '=') return *env + len + 1;
    return NULL;
}

/* Value of environment variable `name`, or NULL. Setuid programs ignore the
 * environment, as secure_getenv does. */
const char *hk_options_env(const char *name)
{
    if (getauxval(AT_SECURE)) return NULL;
    size_t len = strlen(name);
    if (environ != NULL) return env_lookup(environ, name, len);
    for (size_t at = 0; at < early_env_len; at += strlen(early_env + at) + 1)
        if (strncmp(early_env + at, name, len) == 0 && early_env[at + len] == '=')
            return early_env + at + len + 1;
    return NULL;
}

static void warn_bad(const char *name, const char *value, const char *expect, uint64_t min,
                     uint64_t max)
{
    char buf[512];
    hk_strbuf_t l = HK_STRBUF(buf);
    hk_strbuf_put(&l, "hakmem: ignoring ");
    hk_strbuf_put(&l, name);
    hk_strbuf_put(&l, "=");
    hk_strbuf_put(&l, value);
    hk_strbuf_put(&l, ": expected ");
    hk_strbuf_put(&l, expect);
    if (min != max) {
        hk_strbuf_put_u64(&l, min, false);
        hk_strbuf_put(&l, " to ");
        hk_strbuf_put_u64(&l, max, false);
    }
    hk_strbuf_write_line(&l, 2);
}

static bool word_in(const char *v, const char *const *words)
{
    for (; *words; words++)
        if (!strcasecmp(v, *words)) return true;
    return false;
}

/* Parsers, one per kind of options.h: each returns false when `v` is not of its kind. */
static bool parse_BOOL(const char *v, bool *out, uint64_t min, uint64_t max)
{
    static const char *const yes[] = {"1", "yes", "on", "true", NULL};
    static const char *const no[] = {"0", "no", "off", "false", NULL};
    (void)min, (void)max;
    if (!word_in(v, yes) && !word_in(v, no)) return false;
    *out = word_in(v, yes);
    return true;
}

static bool parse_UINT(const char *v, uint64_t *out, uint64_t min, uint64_t max)
{
    uint64_t n;
    if (!hk_util_parse_u64(v, &n) || n < min || n > max) return false;
    *out = n;
    return true;
}

static bool parse_UINT0(const char *v, uint64_t *out, uint64_t min, uint64_t max)
{
    uint64_t n;
    if (!hk_util_parse_u64(v, &n) || n != 0) return parse_UINT(v, out, min, max);
    *out = 0;
    return true;
}

static bool parse_PATH(const char *v, const char **out, uint64_t min, uint64_t max)
{
    (void)min, (void)max;
    if (v[0] != '/') return false;
    *out = v;
    return true;
}

static bool parse_TEXT(const char *v, const char **out, uint64_t min, uint64_t max)
{
    (void)min, (void)max;
    *out = v;
    return true;
}

/* What each kind accepts, for the warning. */
#define HK_OPT_EXPECT_BOOL  "1, yes, on, true, 0, no, off or false"
#define HK_OPT_EXPECT_UINT  "a number from "
#define HK_OPT_EXPECT_UINT0 "0 or a number from "
#define HK_OPT_EXPECT_PATH  "an absolute path"
#define HK_OPT_EXPECT_TEXT  "any text"

void hk_options_init(void)
{
    if (environ == NULL) read_early_env();
    const char *v;
#define HK_OPT_PARSE(name, kind, field, def, min, max, summary, doc)                               \
    v = hk_options_env(#name);                                                                     \
    if (v && !parse_##kind(v, &hk_opt.field, min, max))                                            \
        warn_bad(#name, v, HK_OPT_EXPECT_##kind, min, max);
    HK_OPTIONS(HK_OPT_PARSE)
#undef HK_OPT_PARSE
    if (hk_opt.tiny_profile) hk_opt.profile_sample = 1;
}
