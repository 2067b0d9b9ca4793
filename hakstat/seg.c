/* seg.c: the segment reader: find a process's segment, open it, validate its header
 * against the file, and list the segments in the directory. */
#include "config.h"

#include "seg.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *hs_seg_dir(void)
{
    const char *dir = getenv("HAKMEM_STATS_DIR");
    return dir && dir[0] == '/' ? dir : "/dev/shm";
}

static int fail(hs_seg_t *seg, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(seg->error, sizeof(seg->error), fmt, ap);
    va_end(ap);
    return status;
}

/* Field 22 (start time) of /proc/PID/stat, and whether field 3 says it is a zombie.
 * The command name (field 2) may hold spaces and parentheses: count from the last ')'. */
static uint64_t proc_stat(pid_t pid, bool *zombie)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    *zombie = false;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    if (p == NULL) return 0;
    *zombie = p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
    int field = 2;
    for (; *p && field < 22; p++)
        if (*p == ' ') field++;
    return strtoull(p, NULL, 10);
}

uint64_t hs_seg_proc_start_time(pid_t pid)
{
    bool zombie;
    return proc_stat(pid, &zombie);
}

/* Copy a fixed-size, maybe unterminated, maybe hostile string field: stop at NUL or the
 * field's end, and replace anything unprintable. */
static void copy_field(char *dst, const char *src, size_t len)
{
    size_t i = 0;
    for (; i < len && src[i]; i++)
        dst[i] = isprint((unsigned char)src[i]) ? src[i] : '?';
    dst[i] = '\0';
}

static bool in_file(uint64_t off, uint64_t len, uint64_t size)
{
    return off <= size && len <= size - off;
}

/* Check the header against the file and keep validated copies of what later reads
 * rely on. */
static int validate(hs_seg_t *seg, const hk_stats_header_t *hd)
{
    uint64_t size = seg->size;
    if (size < sizeof(hd->magic) + 2 * sizeof(uint32_t))
        return fail(seg, HS_ERR_CORRUPT, "%s: truncated segment (%llu bytes)", seg->path,
                    (unsigned long long)size);
    if (hd->magic != HK_STATS_MAGIC)
        return fail(seg, HS_ERR_CORRUPT, "%s: not a hakmem segment (bad magic)", seg->path);
    if (hd->abi_major != HK_STATS_ABI_MAJOR)
        return fail(seg, HS_ERR_VERSION,
                    "%s: segment ABI version %u.%u, this hakstat reads version %d.x", seg->path,
                    hd->abi_major, hd->abi_minor, HK_STATS_ABI_MAJOR);
    if (size < sizeof(*hd))
        return fail(seg, HS_ERR_CORRUPT, "%s: truncated segment (%llu bytes, header is %zu)",
                    seg->path, (unsigned long long)size, sizeof(*hd));
    if (hd->file_size != size)
        return fail(seg, HS_ERR_CORRUPT, "%s: file is %llu bytes, header says %llu", seg->path,
                    (unsigned long long)size, (unsigned long long)hd->file_size);
    if (hd->nclasses != HK_STATS_NCLASSES || hd->ncounters == 0 ||
        hd->ncounters > HK_STAT_NCOUNTERS * 4)
        return fail(seg, HS_ERR_CORRUPT, "%s: implausible counter layout (%u counters, %u classes)",
                    seg->path, hd->ncounters, hd->nclasses);
    uint64_t counters_bytes = 8ull * (hd->ncounters + 2ull * hd->nclasses);
    if (hd->header_size < offsetof(hk_stats_header_t, retired) + counters_bytes ||
        hd->header_size > size)
        return fail(seg, HS_ERR_CORRUPT, "%s: bad header size %u", seg->path, hd->header_size);
    if (hd->desc_size != sizeof(hk_stat_desc_t) || hd->desc_offset < hd->header_size ||
        !in_file(hd->desc_offset, (uint64_t)hd->ncounters * hd->desc_size, size))
        return fail(seg, HS_ERR_CORRUPT, "%s: counter descriptors lie outside the file", seg->path);
    if (hd->slot_size < offsetof(hk_stat_slot_t, ctr) + counters_bytes ||
        hd->slot_size > (1u << 20) || hd->nslots > (1u << 20) ||
        hd->slot_offset < hd->desc_offset + (uint64_t)hd->ncounters * hd->desc_size ||
        !in_file(hd->slot_offset, (uint64_t)hd->nslots * hd->slot_size, size))
        return fail(seg, HS_ERR_CORRUPT, "%s: thread slots lie outside the file (%u of %u bytes)",
                    seg->path, hd->nslots, hd->slot_size);
    if (hd->pid <= 0 || hd->pid > INT32_MAX)
        return fail(seg, HS_ERR_CORRUPT, "%s: bad pid %lld", seg->path, (long long)hd->pid);

    seg->pid = (pid_t)hd->pid;
    seg->start_time = hd->start_time;
    seg->nslots = hd->nslots;
    seg->ncounters = hd->ncounters;
    seg->nclasses = hd->nclasses;
    seg->slot_size = hd->slot_size;
    seg->slot_offset = hd->slot_offset;
    seg->desc_offset = hd->desc_offset;
    uint64_t sites_at = offsetof(hk_stat_slot_t, ctr) + counters_bytes;
    seg->sites_offset =
        hd->slot_size >= sites_at + 8 + sizeof(hk_stat_site_t) * HK_STATS_NSITES ? sites_at : 0;
    seg->site_period = hd->site_period;
    seg->flags = hd->flags;
    copy_field(seg->comm, hd->comm, sizeof(hd->comm));
    for (uint32_t c = 0; c < HK_STATS_NCLASSES; c++)
        seg->class_size[c] = hd->class_size[c];

    for (uint32_t i = 0; i < hd->ncounters; i++) {
        hk_stat_desc_t d;
        if (pread(seg->fd, &d, sizeof(d), (off_t)(hd->desc_offset + i * sizeof(d))) !=
            (ssize_t)sizeof(d))
            return fail(seg, HS_ERR_CORRUPT, "%s: cannot read counter descriptors", seg->path);
        copy_field(seg->desc[i].name, d.name, sizeof(d.name) - 1);
        copy_field(seg->desc[i].unit, d.unit, sizeof(d.unit) - 1);
        copy_field(seg->desc[i].doc, d.doc, sizeof(d.doc) - 1);
        if (seg->desc[i].name[0] == '\0')
            return fail(seg, HS_ERR_CORRUPT, "%s: counter %u has no name", seg->path, i);
    }
    return HS_OK;
}

int hs_seg_open_path(hs_seg_t *seg, const char *path, bool writable)
{
    memset(seg, 0, sizeof(*seg));
    seg->fd = -1;
    snprintf(seg->path, sizeof(seg->path), "%s", path);
    int fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0 && writable && errno == EACCES) {
        fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        writable = false;
    }
    if (fd < 0) {
        if (errno == EACCES || errno == EPERM)
            return fail(seg, HS_ERR_PERM, "%s: permission denied", path);
        if (errno == ENOENT) return fail(seg, HS_ERR_NOSEG, "%s: no such segment", path);
        if (errno == ELOOP)
            return fail(seg, HS_ERR_CORRUPT, "%s: a symbolic link, not a segment", path);
        return fail(seg, HS_ERR_SYSTEM, "%s: %s", path, strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return fail(seg, HS_ERR_CORRUPT, "%s: not a regular file", path);
    }
    seg->fd = fd;
    seg->writable = writable;
    seg->size = (size_t)st.st_size;
    hk_stats_header_t hd;
    memset(&hd, 0, sizeof(hd));
    ssize_t n = pread(fd, &hd, sizeof(hd), 0);
    if (n < 0) {
        int status = fail(seg, HS_ERR_SYSTEM, "%s: %s", path, strerror(errno));
        hs_seg_close(seg);
        return status;
    }
    int status = validate(seg, &hd);
    if (status != HS_OK) {
        char keep[sizeof(seg->error)];
        memcpy(keep, seg->error, sizeof(keep));
        hs_seg_close(seg);
        memcpy(seg->error, keep, sizeof(keep));
    }
    return status;
}

int hs_seg_open_pid(hs_seg_t *seg, pid_t pid, bool writable)
{
    memset(seg, 0, sizeof(*seg));
    seg->fd = -1;
    uint64_t start = hs_seg_proc_start_time(pid);
    if (start == 0 && kill(pid, 0) != 0 && errno == ESRCH)
        return fail(seg, HS_ERR_NOPROC, "no process with PID %d", (int)pid);
    char path[512];
    const char *dir = hs_seg_dir();
    /* The segment is named by the owner's uid: try ours first, then any. */
    snprintf(path, sizeof(path), "%s/hakmem.%u.%d.%llu", dir, (unsigned)geteuid(), (int)pid,
             (unsigned long long)start);
    if (access(path, F_OK) != 0) {
        DIR *d = opendir(dir);
        path[0] = '\0';
        if (d) {
            struct dirent *e;
            char suffix[64];
            snprintf(suffix, sizeof(suffix), ".%d.%llu", (int)pid, (unsigned long long)start);
            size_t sl = strlen(suffix);
            while ((e = readdir(d)) != NULL) {
                size_t l = strlen(e->d_name);
                if (strncmp(e->d_name, "hakmem.", 7) == 0 && l > sl &&
                    strcmp(e->d_name + l - sl, suffix) == 0) {
                    snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
                    break;
                }
            }
            closedir(d);
        }
        if (path[0] == '\0')
            return fail(seg, HS_ERR_NOSEG,
                        "process %d has no hakmem statistics segment in %s (not using libhakmem, "
                        "or HAKMEM_STATS=0)",
                        (int)pid, dir);
    }
    int status = hs_seg_open_path(seg, path, writable);
    if (status == HS_OK && (seg->pid != pid || seg->start_time != start)) {
        hs_seg_close(seg);
        return fail(seg, HS_ERR_CORRUPT, "%s: segment names process %d, not %d", path,
                    (int)seg->pid, (int)pid);
    }
    return status;
}

void hs_seg_close(hs_seg_t *seg)
{
    if (seg->fd >= 0) close(seg->fd);
    seg->fd = -1;
}

/* A zombie has exited: it still has its start time until its parent reaps it. */
bool hs_seg_alive(const hs_seg_t *seg)
{
    bool zombie;
    return proc_stat(seg->pid, &zombie) == seg->start_time && seg->start_time != 0 && !zombie;
}

int hs_seg_set_profiling(hs_seg_t *seg, uint64_t period)
{
    if (!(seg->flags & HK_STATS_F_PROF_BUILT))
        return fail(seg, HS_ERR_USAGE, "%s: the process's libhakmem was built without profiling",
                    seg->path);
    if (!seg->writable)
        return fail(seg, HS_ERR_PERM, "%s: not writable by this user; cannot change profiling",
                    seg->path);
    if (pwrite(seg->fd, &period, sizeof(period), offsetof(hk_stats_header_t, control)) !=
        (ssize_t)sizeof(period))
        return fail(seg, HS_ERR_SYSTEM, "%s: %s", seg->path, strerror(errno));
    return HS_OK;
}

/* ---------------------------------------------------------------------------------------
 * Listing
 * ------------------------------------------------------------------------------------- */
static bool parse_name(const char *name, uint64_t f[3])
{
    if (strncmp(name, "hakmem.", 7) != 0) return false;
    const char *p = name + 7;
    for (int i = 0; i < 3; i++) {
        char *end;
        if (!isdigit((unsigned char)*p)) return false;
        errno = 0;
        f[i] = strtoull(p, &end, 10);
        if (errno || *end != (i < 2 ? '.' : '\0')) return false;
        p = end + 1;
    }
    return f[1] > 0 && f[1] <= INT32_MAX;
}

int hs_seg_list(void (*fn)(const hs_seg_entry_t *e, void *arg), void *arg)
{
    DIR *d = opendir(hs_seg_dir());
    if (d == NULL) return -1;
    int count = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        uint64_t f[3];
        if (!parse_name(de->d_name, f)) continue;
        hs_seg_entry_t e;
        memset(&e, 0, sizeof(e));
        snprintf(e.name, sizeof(e.name), "%s", de->d_name);
        e.uid = (uid_t)f[0];
        e.pid = (pid_t)f[1];
        e.start_time = f[2];
        uint64_t now = hs_seg_proc_start_time(e.pid);
        bool gone = now == 0 && kill(e.pid, 0) != 0 && errno == ESRCH;
        e.stale = gone || (now != 0 && now != e.start_time);
        char path[768];
        snprintf(path, sizeof(path), "%s/%s", hs_seg_dir(), de->d_name);
        e.readable = access(path, R_OK) == 0;
        fn(&e, arg);
        count++;
    }
    closedir(d);
    return count;
}
