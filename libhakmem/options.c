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
    .stats = true,
    .stats_dir = "/dev/shm",
    .stats_slots = 128,
    .tiny_profile = false,
    .profile_sample = 0,
    .fast_stats = false,
    .site_sample = 1024 * 1024,
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

static void warn_bad(const char *name, const char *value, const char *expect)
{
    hk_util_write_str(2, "hakmem: ignoring ");
    hk_util_write_str(2, name);
    hk_util_write_str(2, "=");
    hk_util_write_str(2, value);
    hk_util_write_str(2, ": expected ");
    hk_util_write_str(2, expect);
    hk_util_write_str(2, "\n");
}

static void opt_bool(const char *name, bool *out)
{
    const char *v = hk_options_env(name);
    if (v == NULL) return;
    if (!strcmp(v, "1") || !strcasecmp(v, "yes") || !strcasecmp(v, "on") || !strcasecmp(v, "true"))
        *out = true;
    else if (!strcmp(v, "0") || !strcasecmp(v, "no") || !strcasecmp(v, "off") ||
             !strcasecmp(v, "false"))
        *out = false;
    else
        warn_bad(name, v, "0 or 1");
}

static void opt_u32(const char *name, uint32_t *out, uint32_t min, uint32_t max)
{
    const char *v = hk_options_env(name);
    uint64_t n;
    if (v == NULL) return;
    if (hk_util_parse_u64(v, &n) && n >= min && n <= max)
        *out = (uint32_t)n;
    else
        warn_bad(name, v, "a number in range");
}

void hk_options_init(void)
{
    if (environ == NULL) read_early_env();
    opt_bool("HAKMEM_STATS", &hk_opt.stats);
    const char *dir = hk_options_env("HAKMEM_STATS_DIR");
    if (dir && dir[0] == '/')
        hk_opt.stats_dir = dir;
    else if (dir)
        warn_bad("HAKMEM_STATS_DIR", dir, "an absolute path");
    opt_u32("HAKMEM_STATS_SLOTS", &hk_opt.stats_slots, 1, 4096);
    opt_bool("HAKMEM_TINY_PROFILE", &hk_opt.tiny_profile);
    opt_u32("HAKMEM_PROFILE_SAMPLE", &hk_opt.profile_sample, 0, 1u << 30);
    opt_bool("HAKMEM_TINY_FAST_STATS", &hk_opt.fast_stats);
    const char *v = hk_options_env("HAKMEM_SITE_SAMPLE");
    uint64_t n;
    if (v && hk_util_parse_u64(v, &n) && (n == 0 || (n >= 256 && n <= ((uint64_t)1 << 40))))
        hk_opt.site_sample = n;
    else if (v)
        warn_bad("HAKMEM_SITE_SAMPLE", v, "0 or a number of bytes from 256 to 2^40");
    hk_opt.site_wrappers = hk_options_env("HAKMEM_SITE_WRAPPERS");
    if (hk_opt.tiny_profile) hk_opt.profile_sample = 1;
}
