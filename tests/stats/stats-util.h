/* stats-util.h: helpers shared by the stats segment tests: finding and mapping a process's
 * segment, validating its header as an untrusted reader must, consistent copies of slots
 * and totals (the gen / retired_gen protocol of hakmem_stats.h), running this same test
 * program again as a helper process, and temporary directories on /dev/shm. */
#ifndef HAKMEM_TESTS_STATS_UTIL_H
#define HAKMEM_TESTS_STATS_UTIL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hakmem_stats.h"

extern char **environ;

static inline pid_t st_gettid(void)
{
    return (pid_t)syscall(SYS_gettid);
}

static inline void st_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static inline double st_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Field 22 of /proc/PID/stat (start time in clock ticks after boot), read by the parser
 * the writer uses (hk_stats_parse_proc_stat); 0 on failure. */
static inline uint64_t st_start_time(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = '\0';
    hk_proc_stat_t st;
    return hk_stats_parse_proc_stat(buf, &st) == 0 ? st.start_time : 0;
}

/* The directory this process's segment lives in, as the library reads it. */
static inline const char *st_dir(void)
{
    const char *d = getenv("HAKMEM_STATS_DIR");
    return d && d[0] == '/' ? d : "/dev/shm";
}

/* "<dir>/hakmem-<euid>": this user's directory of segments (dir NULL: this process's). */
static inline void st_user_dir(char *buf, size_t len, const char *dir)
{
    snprintf(buf, len, "%s/hakmem-%u", dir ? dir : st_dir(), (unsigned)geteuid());
}

/* "<dir>/hakmem-<euid>/<pid>.<start>" for process pid (dir NULL: this process's). */
static inline void st_path(char *buf, size_t len, const char *dir, pid_t pid, uint64_t start)
{
    snprintf(buf, len, "%s/hakmem-%u/%d.%llu", dir ? dir : st_dir(), (unsigned)geteuid(), (int)pid,
             (unsigned long long)start);
}

static inline void st_path_of(char *buf, size_t len, const char *dir, pid_t pid)
{
    st_path(buf, len, dir, pid, st_start_time(pid));
}

/* ---------------------------------------------------------------------------------------
 * Mapping a segment
 * ------------------------------------------------------------------------------------- */
typedef struct st_seg_s {
    hk_stats_header_t *hd;
    size_t size;
    char path[256];
    char why[128]; /* why st_map failed */
} st_seg_t;

/* Check a header as an untrusted reader must; NULL when valid, else the reason. */
static inline const char *st_header_problem(const hk_stats_header_t *hd, size_t size)
{
    if (size < sizeof(*hd)) return "file smaller than the header";
    if (hd->magic != HK_STATS_MAGIC) return "bad magic";
    if (hd->abi_major != HK_STATS_ABI_MAJOR) return "ABI major mismatch";
    if (hd->header_size != sizeof(hk_stats_header_t)) return "header_size mismatch";
    if (hd->desc_size != sizeof(hk_stat_desc_t)) return "desc_size mismatch";
    if (hd->slot_size != sizeof(hk_stat_slot_t)) return "slot_size mismatch";
    if (hd->ncounters != HK_STAT_NCOUNTERS) return "ncounters mismatch";
    if (hd->nclasses != HK_STATS_NCLASSES) return "nclasses mismatch";
    if (hd->file_size != size) return "file_size differs from the file's size";
    if (hd->desc_offset < sizeof(*hd) ||
        hd->desc_offset + (uint64_t)hd->ncounters * hd->desc_size > size)
        return "descriptors outside the file";
    if (hd->slot_offset < hd->desc_offset + (uint64_t)hd->ncounters * hd->desc_size ||
        hd->slot_offset + (uint64_t)hd->nslots * hd->slot_size > size)
        return "slots outside the file";
    if (hd->slot_offset % 8 != 0) return "misaligned slots";
    return NULL;
}

/* Map the segment at `path` (shared; writable to store `control`) and validate it. */
static inline bool st_map(st_seg_t *s, const char *path, bool writable)
{
    memset(s, 0, sizeof *s);
    snprintf(s->path, sizeof s->path, "%s", path);
    int fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        snprintf(s->why, sizeof s->why, "open: %s", strerror(errno));
        return false;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(*s->hd)) {
        snprintf(s->why, sizeof s->why, "not a regular file of a header's size");
        close(fd);
        return false;
    }
    void *m =
        mmap(NULL, (size_t)st.st_size, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, fd, 0);
    close(fd);
    if (m == MAP_FAILED) {
        snprintf(s->why, sizeof s->why, "mmap: %s", strerror(errno));
        return false;
    }
    s->hd = m;
    s->size = (size_t)st.st_size;
    const char *bad = st_header_problem(s->hd, s->size);
    if (bad) {
        snprintf(s->why, sizeof s->why, "%s", bad);
        munmap(m, s->size);
        s->hd = NULL;
        return false;
    }
    return true;
}

/* This process's own segment, through a mapping of our own. */
static inline bool st_map_self(st_seg_t *s, bool writable)
{
    char path[256];
    st_path_of(path, sizeof path, NULL, getpid());
    return st_map(s, path, writable);
}

static inline void st_unmap(st_seg_t *s)
{
    if (s->hd) munmap(s->hd, s->size);
    s->hd = NULL;
}

static inline hk_stat_slot_t *st_slots(const st_seg_t *s)
{
    return (hk_stat_slot_t *)((char *)s->hd + s->hd->slot_offset);
}

/* ---------------------------------------------------------------------------------------
 * Consistent reads
 * ------------------------------------------------------------------------------------- */
static inline void st_load_words(void *dst, const void *src, size_t bytes)
{
    uint64_t *d = dst;
    const uint64_t *w = src;
    for (size_t i = 0; i < bytes / 8; i++)
        d[i] = __atomic_load_n(&w[i], __ATOMIC_RELAXED);
}

/* The malloc and free totals, which writers do not store (ABI 2), added up as every
 * reader does: the copies below fill them in. */
static inline void st_fill_totals(hk_stat_counters_t *n)
{
    n->c[HK_STAT_malloc] = hk_stats_mallocs(n);
    n->c[HK_STAT_free] = hk_stats_frees(n);
}

/* Copy slot i: gen even and unchanged across the copy. False if that never happened. */
static inline bool st_copy_slot(const st_seg_t *s, uint32_t i, hk_stat_slot_t *out)
{
    hk_stat_slot_t *sl = &st_slots(s)[i];
    for (int tries = 0; tries < 100000; tries++) {
        uint64_t g1 = __atomic_load_n(&sl->gen, __ATOMIC_ACQUIRE);
        if (g1 & 1) {
            if (tries > 100) sched_yield();
            continue;
        }
        st_load_words(out, sl, sizeof *out);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&sl->gen, __ATOMIC_RELAXED) == g1) {
            out->gen = g1;
            st_fill_totals(&out->ctr);
            return true;
        }
    }
    return false;
}

/* The live slot of thread `tid`: its index (copied to *out), or -1. */
static inline int st_find_tid(const st_seg_t *s, uint64_t tid, hk_stat_slot_t *out)
{
    for (uint32_t i = 0; i < s->hd->nslots; i++) {
        hk_stat_slot_t tmp;
        if (!st_copy_slot(s, i, &tmp)) continue;
        if (tmp.state == HK_SLOT_LIVE && tmp.tid == tid) {
            if (out) *out = tmp;
            return (int)i;
        }
    }
    return -1;
}

static inline void st_add(hk_stat_counters_t *dst, const hk_stat_counters_t *src)
{
    for (int i = 0; i < HK_STAT_NCOUNTERS; i++)
        dst->c[i] += src->c[i];
    for (int i = 0; i < HK_STATS_NCLASSES; i++) {
        dst->class_alloc[i] += src->class_alloc[i];
        dst->class_free[i] += src->class_free[i];
    }
}

/* The header's retired totals, copied while retired_gen stayed even and unchanged. */
static inline bool st_copy_retired(const st_seg_t *s, hk_stat_counters_t *out)
{
    hk_stats_header_t *hd = s->hd;
    for (int tries = 0; tries < 100000; tries++) {
        uint64_t g1 = __atomic_load_n(&hd->retired_gen, __ATOMIC_ACQUIRE);
        if (g1 & 1) {
            if (tries > 100) sched_yield();
            continue;
        }
        st_load_words(out, &hd->retired, sizeof *out);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&hd->retired_gen, __ATOMIC_RELAXED) == g1) {
            st_fill_totals(out);
            return true;
        }
    }
    return false;
}

/* Spill block i (ABI 1.1), read from the file (open on fd): the blocks lie past the part
 * that st_map mapped, added as the file grows. gen even and unchanged across the copy. */
static inline bool st_read_spill(int fd, const hk_stats_header_t *hd, uint32_t i,
                                 hk_stat_spill_t *out)
{
    off_t off = (off_t)(hd->spill_offset + (uint64_t)i * hd->spill_size);
    for (int tries = 0; tries < 10000; tries++) {
        uint64_t g2;
        if (pread(fd, out, sizeof *out, off) == (ssize_t)sizeof *out && !(out->gen & 1) &&
            pread(fd, &g2, sizeof g2, off) == (ssize_t)sizeof g2 && g2 == out->gen) {
            st_fill_totals(&out->ctr);
            return true;
        }
        if (tries > 100) sched_yield();
    }
    return false;
}

static inline bool st_copy_spill(const st_seg_t *s, uint32_t i, hk_stat_spill_t *out)
{
    int fd = open(s->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    bool ok = st_read_spill(fd, s->hd, i, out);
    close(fd);
    return ok;
}

/* Everything counted: retired plus every live slot and spill block, all read while retired_gen
 * stayed the same even value (a thread's counts move from its slot to retired inside an odd
 * retired_gen, so they are counted exactly once). False if no consistent read was made. */
static inline bool st_totals(const st_seg_t *s, hk_stat_counters_t *out)
{
    hk_stats_header_t *hd = s->hd;
    for (int tries = 0; tries < 10000; tries++) {
        uint64_t g1 = __atomic_load_n(&hd->retired_gen, __ATOMIC_ACQUIRE);
        if (g1 & 1) {
            sched_yield();
            continue;
        }
        st_load_words(out, &hd->retired, sizeof *out);
        bool ok = true;
        for (uint32_t i = 0; i < hd->nslots && ok; i++) {
            hk_stat_slot_t sl;
            ok = st_copy_slot(s, i, &sl);
            if (ok && sl.state == HK_SLOT_LIVE) st_add(out, &sl.ctr);
        }
        uint32_t nspill = __atomic_load_n(&hd->spill_count, __ATOMIC_ACQUIRE);
        int fd = nspill ? open(s->path, O_RDONLY | O_CLOEXEC) : -1;
        if (nspill && fd < 0) ok = false;
        for (uint32_t i = 0; i < nspill && ok; i++) {
            hk_stat_spill_t sp;
            ok = st_read_spill(fd, hd, i, &sp);
            if (ok && sp.state == HK_SLOT_LIVE) st_add(out, &sp.ctr);
        }
        if (fd >= 0) close(fd);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (ok && __atomic_load_n(&hd->retired_gen, __ATOMIC_RELAXED) == g1) {
            st_fill_totals(out);
            return true;
        }
    }
    return false;
}

/* The first size class whose blocks hold `size` bytes, from the header's class table. */
static inline uint32_t st_class_of(const hk_stats_header_t *hd, size_t size)
{
    uint32_t c = 0;
    while (c < HK_STATS_NCLASSES - 1 && hd->class_size[c] < size)
        c++;
    return c;
}

/* ---------------------------------------------------------------------------------------
 * Helper processes: this very program run again with a mode argument
 * ------------------------------------------------------------------------------------- */

/* An environment: this one without any HAKMEM_* variable, plus `extra` (NAME=VALUE
 * strings, NULL-terminated). Built before fork, so the child only calls execve. */
static inline char **st_env(const char *const *extra)
{
    size_t n = 0, k = 0;
    for (char **e = environ; *e; e++)
        n++;
    for (const char *const *x = extra; x && *x; x++)
        k++;
    char **env = calloc(n + k + 1, sizeof *env);
    if (env == NULL) abort();
    size_t at = 0;
    for (char **e = environ; *e; e++)
        if (strncmp(*e, "HAKMEM_", 7) != 0) env[at++] = *e;
    for (const char *const *x = extra; x && *x; x++)
        env[at++] = (char *)*x;
    env[at] = NULL;
    return env;
}

/* Run this test again, once, in an environment without the caller's HAKMEM_* settings
 * plus `extra` (NAME=VALUE strings, NULL-terminated, or NULL), so that what the library
 * was told at start is exactly what the test expects. Returns only in the new image. */
static inline void st_reexec_clean(char **argv, const char *const *extra)
{
    if (getenv("HK_STATS_TEST_CLEAN") != NULL) return;
    const char *vars[16];
    size_t n = 0;
    for (const char *const *x = extra; x && *x && n < 14; x++)
        vars[n++] = *x;
    vars[n++] = "HK_STATS_TEST_CLEAN=1";
    vars[n] = NULL;
    execve("/proc/self/exe", argv, st_env(vars));
    fprintf(stderr, "re-exec failed: %s\n", strerror(errno));
    exit(99);
}

/* Remove the segment that the library made for this fork child in our stats directory,
 * so that a child which then execs something with another directory leaves no file. */
static inline void st_drop_fork_segment(void)
{
    char path[256];
    st_path_of(path, sizeof path, NULL, getpid());
    unlink(path);
}

typedef struct st_spawn_s {
    const char *mode;            /* argv[1] of the helper */
    const char *const *env;      /* extra environment, NULL-terminated, or NULL */
    int in_fd, out_fd, err_fd;   /* 0 or -1: inherit */
    void (*pre_exec)(void *arg); /* run in the child just before execve */
    void *arg;
    bool keep_fork_segment; /* leave the fork child's own segment in place */
} st_spawn_t;

/* Start this program as a helper; returns its pid (or -1). */
static inline pid_t st_spawn(const st_spawn_t *sp)
{
    char **env = st_env(sp->env);
    char *argv[] = {(char *)"stats-helper", (char *)sp->mode, NULL};
    pid_t pid = fork();
    if (pid == 0) {
        if (!sp->keep_fork_segment) st_drop_fork_segment();
        if (sp->pre_exec) sp->pre_exec(sp->arg);
        if (sp->in_fd > 0) dup2(sp->in_fd, 0);
        if (sp->out_fd > 0) dup2(sp->out_fd, 1);
        if (sp->err_fd > 0) dup2(sp->err_fd, 2);
        execve("/proc/self/exe", argv, env);
        _exit(127);
    }
    free(env);
    return pid;
}

/* Wait for pid up to `seconds`; kill it on timeout. Returns the wait status, or -1 when
 * it had to be killed. */
static inline int st_wait(pid_t pid, double seconds)
{
    double end = st_now() + seconds;
    for (;;) {
        int status;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) return status;
        if (r < 0 && errno != EINTR) return -2;
        if (st_now() > end) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1;
        }
        st_sleep_ms(5);
    }
}

/* Run a helper to completion with stdout and stderr captured into `out`/`err` (each
 * NUL-terminated, truncated to its capacity; NULL: stdout to /dev/null, stderr inherited,
 * so a helper never writes into the TAP stream). Returns the wait status,
 * or -1 on a timeout. */
static inline int st_run(st_spawn_t sp, double seconds, char *out, size_t out_cap, char *err,
                         size_t err_cap)
{
    char tmpl_o[] = "/tmp/hakmem-stats-out.XXXXXX", tmpl_e[] = "/tmp/hakmem-stats-err.XXXXXX";
    int fo = out ? mkstemp(tmpl_o) : open("/dev/null", O_WRONLY | O_CLOEXEC);
    int fe = err ? mkstemp(tmpl_e) : -1;
    if (out && fo >= 0) unlink(tmpl_o);
    if (fe >= 0) unlink(tmpl_e);
    sp.out_fd = fo;
    sp.err_fd = fe;
    pid_t pid = st_spawn(&sp);
    int status = pid > 0 ? st_wait(pid, seconds) : -3;
    int fds[2] = {fo, fe};
    char *bufs[2] = {out, err};
    size_t caps[2] = {out_cap, err_cap};
    if (out == NULL && fo >= 0) close(fo);
    for (int i = 0; i < 2; i++) {
        if (bufs[i] == NULL) continue;
        ssize_t n = fds[i] >= 0 ? pread(fds[i], bufs[i], caps[i] - 1, 0) : -1;
        bufs[i][n > 0 ? n : 0] = '\0';
        if (fds[i] >= 0) close(fds[i]);
    }
    return status;
}

/* The value of "key=" in a helper's "key=value" output lines, or `dflt`. */
static inline long long st_kv(const char *text, const char *key, long long dflt)
{
    size_t len = strlen(key);
    for (const char *line = text; line && *line;) {
        if (strncmp(line, key, len) == 0 && line[len] == '=')
            return strtoll(line + len + 1, NULL, 10);
        line = strchr(line, '\n');
        if (line) line++;
    }
    return dflt;
}

/* ---------------------------------------------------------------------------------------
 * Temporary directories on /dev/shm (the names never look like a segment's)
 * ------------------------------------------------------------------------------------- */
static inline bool st_mkdtemp(char *buf, size_t len)
{
    snprintf(buf, len, "/dev/shm/hakmem-stats-test.XXXXXX");
    return mkdtemp(buf) != NULL;
}

/* Remove every entry of dir and dir itself: two levels (the users' directories and
 * their segments), never following a link. */
static inline void st_rmtree_depth(const char *dir, int depth)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            if (unlinkat(dirfd(d), e->d_name, 0) != 0 && errno == EISDIR) {
                char sub[512];
                snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name);
                if (depth > 0) st_rmtree_depth(sub, depth - 1);
                unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR);
            }
        }
        closedir(d);
    }
    rmdir(dir);
}

static inline void st_rmtree(const char *dir)
{
    st_rmtree_depth(dir, 2);
}

/* Number of entries of dir other than . and .., or -1. */
static inline int st_count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

/* Number of segment names (<pid>.<start>) in this user's directory under base, or -1
 * when there is no such directory. The sweep's stamp and other names do not count. */
static inline int st_count_segments(const char *base)
{
    char ud[320];
    st_user_dir(ud, sizeof ud, base);
    DIR *d = opendir(ud);
    if (d == NULL) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        unsigned long long a, b;
        char tail;
        if (sscanf(e->d_name, "%llu.%llu%c", &a, &b, &tail) == 2) n++;
    }
    closedir(d);
    return n;
}

/* Set the mtime of the sweep stamp in this user's directory under base `age` seconds
 * into the past, so that the next start sweeps (the sweep runs once a minute). */
static inline void st_age_stamp(const char *base, int age)
{
    char p[400];
    st_user_dir(p, sizeof p, base);
    strcat(p, "/.sweep");
    struct timespec ts[2];
    clock_gettime(CLOCK_REALTIME, &ts[0]);
    ts[0].tv_sec -= age;
    ts[1] = ts[0];
    int fd = open(p, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0) {
        futimens(fd, ts);
        close(fd);
    }
}

#endif /* HAKMEM_TESTS_STATS_UTIL_H */
