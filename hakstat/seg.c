/* seg.c: the segment reader: find a process's segment, open it, validate its header
 * against the file, and list the segments of the users' directories.
 *
 * Trust: another local user may plant anything anywhere they can write, so a file is
 * believed only when its path says who wrote it. Segments live in $BASE/hakmem-<uid>/,
 * which only that user (and root) can write: the directory must be owned by the uid,
 * carry no group or other bits and not be a symbolic link, and the file in it must be a
 * regular file owned by the same uid. For a process, the uid is the process's (from
 * /proc/PID/status), and the header must name its pid and start time. Every open is
 * non-blocking, follows no final symbolic link, and is checked with fstat on the very
 * descriptor read afterwards. */
#include "config.h"

#include "seg.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define OPEN_FLAGS (O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)

const char *hs_seg_dir(void)
{
    const char *dir = getenv("HAKMEM_STATS_DIR");
    return dir && dir[0] == '/' ? dir : "/dev/shm";
}

void hs_seg_user_dir(uid_t uid, char *buf, size_t len)
{
    snprintf(buf, len, "%s/hakmem-%u", hs_seg_dir(), (unsigned)uid);
}

__attribute__((format(printf, 3, 4))) static int fail(hs_seg_t *seg, int status, const char *fmt,
                                                      ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(seg->error, sizeof(seg->error), fmt, ap);
    va_end(ap);
    return status;
}

/* Read a small /proc file: a regular file opened without blocking, at most len-1 bytes.
 * Returns the length, or -1 with errno. */
ssize_t hs_seg_read_proc(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | OPEN_FLAGS);
    if (fd < 0) return -1;
    struct stat st;
    ssize_t n = -1;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
        n = read(fd, buf, len - 1);
    else
        errno = EINVAL;
    int saved = errno;
    close(fd);
    errno = saved;
    if (n < 0) return -1;
    buf[n] = '\0';
    return n;
}

/* The start time of process pid (0 if unknown), and whether it is a zombie. */
static uint64_t proc_stat(pid_t pid, bool *zombie)
{
    char path[64], buf[1024];
    hk_proc_stat_t st;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    *zombie = false;
    if (hs_seg_read_proc(path, buf, sizeof(buf)) <= 0 || hk_stats_parse_proc_stat(buf, &st) < 0)
        return 0;
    *zombie = st.state == 'Z' || st.state == 'X';
    return st.start_time;
}

uint64_t hs_seg_proc_start_time(pid_t pid)
{
    bool zombie;
    return proc_stat(pid, &zombie);
}

bool hs_seg_proc_uids(pid_t pid, uid_t *ruid, uid_t *euid)
{
    char path[64], buf[4096];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    if (hs_seg_read_proc(path, buf, sizeof(buf)) <= 0) return false;
    const char *p = strstr(buf, "\nUid:");
    unsigned long r, e;
    if (p == NULL || sscanf(p + 5, "%lu %lu", &r, &e) != 2) return false;
    *ruid = (uid_t)r;
    *euid = (uid_t)e;
    return true;
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

/* The bytes of the writer's hk_stat_counters_t: its ncounters counters, then
 * class_alloc and class_free, one counter per class each. */
static uint64_t counters_bytes(const hk_stats_header_t *hd)
{
    return 8ull * (hd->ncounters + 2ull * hd->nclasses);
}

/* The parts appended in ABI 1.1 (part of every ABI 2 writer's), taken where they are
 * whole and plausible and ignored otherwise: a short header still reads without them. */
static void validate_tail(hs_seg_t *seg, const hk_stats_header_t *hd)
{
    seg->shift = 8 * ((int64_t)hd->ncounters - HK_STAT_NCOUNTERS);
    seg->has_tail = seg->slot_has_tail = false;
    seg->ppid = 0;
    seg->exit_ns = 0;
    uint64_t tail_end = (uint64_t)((int64_t)sizeof(hk_stats_header_t) + seg->shift);
    uint64_t slot_end = (uint64_t)((int64_t)sizeof(hk_stat_slot_t) + seg->shift);
    seg->slot_has_tail = hd->slot_size >= slot_end;
    if (hd->header_size < tail_end) return;
    /* Read from the copy at shifted offsets: our struct places them for our counters. */
    unsigned char raw[HS_SEG_MAX_HEADER];
    if (pread(seg->fd, raw, tail_end, 0) != (ssize_t)tail_end) return;
#define TAIL(field) (raw + (int64_t)offsetof(hk_stats_header_t, field) + seg->shift)
    uint64_t off;
    uint32_t size;
    memcpy(&off, TAIL(spill_offset), sizeof(off));
    memcpy(&size, TAIL(spill_size), sizeof(size));
    memcpy(seg->class_slab_blocks, TAIL(class_slab_blocks), sizeof(seg->class_slab_blocks));
    int64_t ppid;
    memcpy(&ppid, TAIL(ppid), sizeof(ppid));
    memcpy(&seg->exit_ns, TAIL(exit_ns), sizeof(seg->exit_ns));
#undef TAIL
    seg->ppid = ppid > 0 && ppid <= INT32_MAX ? (pid_t)ppid : 0;
    if (off % 8 || off < hd->slot_offset + (uint64_t)hd->nslots * hd->slot_size || size % 8 ||
        size > HS_SEG_MAX_SPILL_SIZE ||
        size < offsetof(hk_stat_spill_t, ctr) + counters_bytes(hd) || off > HS_SEG_MAX_SIZE)
        return;
    seg->spill_offset = off;
    seg->spill_size = size;
    seg->has_tail = true;
}

/* The site table's fields of the header tail (shifted as validate_tail's): its place,
 * used only when it lies after the slots, within the file, with the geometry this reader
 * knows; and the writer's wrapper list. */
static void sitetab_place(hs_seg_t *seg, const hk_stats_header_t *hd)
{
    uint64_t tail = (uint64_t)((int64_t)offsetof(hk_stats_header_t, sitetab_offset) + seg->shift);
    struct {
        uint64_t offset, size;
        char wrappers[HK_SITE_WRAPPERS_LEN];
    } t;
    seg->sitetab_offset = 0;
    seg->site_wrappers[0] = '\0';
    if (hd->header_size < tail + sizeof(t) ||
        pread(seg->fd, &t, sizeof(t), (off_t)tail) != (ssize_t)sizeof(t))
        return;
    copy_field(seg->site_wrappers, t.wrappers, sizeof(t.wrappers) - 1);
    hk_stat_sitetab_t head;
    uint64_t slots_end = hd->slot_offset + (uint64_t)hd->nslots * hd->slot_size;
    if (t.offset == 0 || t.offset % 8 || t.offset < slots_end || t.size < sizeof(head) ||
        t.size > HS_SEG_MAX_SITETAB || !in_file(t.offset, t.size, seg->size) ||
        pread(seg->fd, &head, offsetof(hk_stat_sitetab_t, tracked), (off_t)t.offset) !=
            (ssize_t)offsetof(hk_stat_sitetab_t, tracked))
        return;
    if (head.nentries == HK_SITE_ENTRIES && head.nframes == HK_SITE_FRAMES &&
        head.nlife == HK_SITE_LIFE && head.ntracked == HK_SITE_TRACKED_MAX)
        seg->sitetab_offset = t.offset;
}

/* The header against the file: every part it names lies inside, within the bounds a
 * reader can hold. */
static int check_layout(hs_seg_t *seg, const hk_stats_header_t *hd)
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
        hd->ncounters > HS_SEG_MAX_COUNTERS)
        return fail(seg, HS_ERR_CORRUPT, "%s: implausible counter layout (%u counters, %u classes)",
                    seg->path, hd->ncounters, hd->nclasses);
    if (hd->header_size < offsetof(hk_stats_header_t, retired) + counters_bytes(hd) ||
        hd->header_size > size || hd->header_size > HS_SEG_MAX_HEADER)
        return fail(seg, HS_ERR_CORRUPT, "%s: bad header size %u", seg->path, hd->header_size);
    if (hd->desc_size != sizeof(hk_stat_desc_t) || hd->desc_offset < hd->header_size ||
        !in_file(hd->desc_offset, (uint64_t)hd->ncounters * hd->desc_size, size))
        return fail(seg, HS_ERR_CORRUPT, "%s: counter descriptors lie outside the file", seg->path);
    if (hd->nslots > HS_SEG_MAX_SLOTS || hd->slot_size > HS_SEG_MAX_SLOT_SIZE)
        return fail(seg, HS_ERR_CORRUPT,
                    "%s: %u slots of %u bytes: more than a segment holds (%u slots of at most %u "
                    "bytes)",
                    seg->path, hd->nslots, hd->slot_size, HS_SEG_MAX_SLOTS, HS_SEG_MAX_SLOT_SIZE);
    if (hd->slot_size < offsetof(hk_stat_slot_t, ctr) + counters_bytes(hd) || hd->slot_size % 8 ||
        hd->slot_offset % 8 ||
        hd->slot_offset < hd->desc_offset + (uint64_t)hd->ncounters * hd->desc_size ||
        !in_file(hd->slot_offset, (uint64_t)hd->nslots * hd->slot_size, size))
        return fail(seg, HS_ERR_CORRUPT, "%s: thread slots lie outside the file (%u of %u bytes)",
                    seg->path, hd->nslots, hd->slot_size);
    if (hd->pid <= 0 || hd->pid > INT32_MAX)
        return fail(seg, HS_ERR_CORRUPT, "%s: bad pid %lld", seg->path, (long long)hd->pid);
    return HS_OK;
}

/* The counters' names, units and docs, each of which must have a name. */
static int read_descs(hs_seg_t *seg, const hk_stats_header_t *hd)
{
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

/* Check the header against the file and keep validated copies of what later reads
 * rely on. */
static int validate(hs_seg_t *seg, const hk_stats_header_t *hd)
{
    int rc = check_layout(seg, hd);
    if (rc != HS_OK) return rc;
    seg->pid = (pid_t)hd->pid;
    seg->start_time = hd->start_time;
    seg->nslots = hd->nslots;
    seg->ncounters = hd->ncounters;
    seg->nclasses = hd->nclasses;
    seg->slot_size = hd->slot_size;
    seg->header_size = hd->header_size;
    seg->slot_offset = hd->slot_offset;
    seg->desc_offset = hd->desc_offset;
    uint64_t sites_at = offsetof(hk_stat_slot_t, ctr) + counters_bytes(hd);
    seg->sites_offset =
        hd->slot_size >= sites_at + 8 + sizeof(hk_stat_site_t) * HK_STATS_NSITES ? sites_at : 0;
    seg->site_period = hd->site_period;
    seg->flags = hd->flags;
    validate_tail(seg, hd);
    sitetab_place(seg, hd);
    copy_field(seg->comm, hd->comm, sizeof(hd->comm));
    for (uint32_t c = 0; c < HK_STATS_NCLASSES; c++)
        seg->class_size[c] = hd->class_size[c];
    return read_descs(seg, hd);
}

/* Close on failure, keeping the message. */
static int give_up(hs_seg_t *seg, int status)
{
    char keep[sizeof(seg->error)];
    memcpy(keep, seg->error, sizeof(keep));
    hs_seg_close(seg);
    memcpy(seg->error, keep, sizeof(keep));
    return status;
}

static int open_error(hs_seg_t *seg, const char *path, int err)
{
    if (err == EACCES || err == EPERM) return fail(seg, HS_ERR_PERM, "%s: permission denied", path);
    if (err == ENOENT) return fail(seg, HS_ERR_NOSEG, "%s: no such segment", path);
    if (err == ELOOP)
        return fail(seg, HS_ERR_UNSAFE, "%s: a symbolic link, not a segment: refused", path);
    return fail(seg, HS_ERR_SYSTEM, "%s: %s", path, strerror(err));
}

/* Take over an open descriptor: a regular file of a size a segment can have, with a
 * header that validates. `owner`, unless (uid_t)-1, is the uid the file must belong to. */
static int adopt(hs_seg_t *seg, int fd, bool writable, uid_t owner)
{
    seg->fd = fd;
    seg->writable = writable;
    struct stat st;
    if (fstat(fd, &st) != 0)
        return give_up(seg, fail(seg, HS_ERR_SYSTEM, "%s: %s", seg->path, strerror(errno)));
    if (!S_ISREG(st.st_mode))
        return give_up(seg, fail(seg, HS_ERR_UNSAFE, "%s: not a regular file: refused", seg->path));
    if (owner != (uid_t)-1 && st.st_uid != owner)
        return give_up(seg, fail(seg, HS_ERR_UNSAFE, "%s: owned by uid %u, not %u: refused",
                                 seg->path, (unsigned)st.st_uid, (unsigned)owner));
    if (owner != (uid_t)-1 && (st.st_mode & 022))
        return give_up(seg, fail(seg, HS_ERR_UNSAFE, "%s: writable by others (mode %04o): refused",
                                 seg->path, (unsigned)(st.st_mode & 07777)));
    hk_stats_header_t hd;
    memset(&hd, 0, sizeof(hd));
    /* A writer grows its file (spill blocks) and then says so in file_size: a size read
     * between the two is read again, a few times, before it counts as a mismatch. */
    for (int i = 0; i < 8; i++) {
        if (i > 0 && fstat(fd, &st) != 0)
            return give_up(seg, fail(seg, HS_ERR_SYSTEM, "%s: %s", seg->path, strerror(errno)));
        if ((uint64_t)st.st_size > HS_SEG_MAX_SIZE)
            return give_up(seg,
                           fail(seg, HS_ERR_CORRUPT,
                                "%s: file is %llu bytes, larger than any segment (at most %llu)",
                                seg->path, (unsigned long long)st.st_size,
                                (unsigned long long)HS_SEG_MAX_SIZE));
        seg->size = (size_t)st.st_size;
        if (pread(fd, &hd, sizeof(hd), 0) < 0)
            return give_up(seg, fail(seg, HS_ERR_SYSTEM, "%s: %s", seg->path, strerror(errno)));
        if (hd.file_size == seg->size) break;
        sched_yield();
    }
    int status = validate(seg, &hd);
    return status == HS_OK ? HS_OK : give_up(seg, status);
}

static void seg_reset(hs_seg_t *seg, const char *path)
{
    memset(seg, 0, sizeof(*seg));
    seg->fd = -1;
    if (snprintf(seg->path, sizeof(seg->path), "%s", path) >= (int)sizeof(seg->path))
        strcpy(seg->path + sizeof(seg->path) - 4, "...");
}

/* Open `name` in directory dfd, read-write when asked and allowed, else read-only. */
static int open_at(int dfd, const char *name, bool *writable)
{
    int fd = openat(dfd, name, (*writable ? O_RDWR : O_RDONLY) | OPEN_FLAGS);
    if (fd < 0 && *writable && (errno == EACCES || errno == EROFS)) {
        fd = openat(dfd, name, O_RDONLY | OPEN_FLAGS);
        *writable = false;
    }
    return fd;
}

int hs_seg_open_path(hs_seg_t *seg, const char *path, bool writable)
{
    seg_reset(seg, path);
    int fd = open_at(AT_FDCWD, path, &writable);
    if (fd < 0) return open_error(seg, path, errno);
    return adopt(seg, fd, writable, (uid_t)-1);
}

/* Open and check hakmem-<uid>: a directory owned by uid, no group or other bits, not a
 * symbolic link. HS_OK with *dfd set, or an error naming the problem. */
static int open_user_dir(hs_seg_t *seg, uid_t uid, int *dfd)
{
    char dir[sizeof(seg->path)];
    hs_seg_user_dir(uid, dir, sizeof(dir));
    *dfd = open(dir, O_RDONLY | O_DIRECTORY | OPEN_FLAGS);
    if (*dfd < 0) {
        int err = errno;
        if (err == ENOENT) return fail(seg, HS_ERR_NOSEG, "%s: no such directory", dir);
        if (err == EACCES || err == EPERM)
            return fail(seg, HS_ERR_PERM, "%s: permission denied (the segments of uid %u)", dir,
                        (unsigned)uid);
        struct stat lst;
        if (err == ELOOP || err == ENOTDIR)
            return fail(seg, HS_ERR_UNSAFE, "%s: not a directory (%s): refused", dir,
                        lstat(dir, &lst) == 0 && S_ISLNK(lst.st_mode) ? "a symbolic link"
                                                                      : "another kind of file");
        return fail(seg, HS_ERR_SYSTEM, "%s: %s", dir, strerror(err));
    }
    struct stat st;
    int status = HS_OK;
    if (fstat(*dfd, &st) != 0)
        status = fail(seg, HS_ERR_SYSTEM, "%s: %s", dir, strerror(errno));
    else if (st.st_uid != uid)
        status = fail(seg, HS_ERR_UNSAFE, "%s: owned by uid %u, not %u: refused", dir,
                      (unsigned)st.st_uid, (unsigned)uid);
    else if (st.st_mode & 077)
        status = fail(seg, HS_ERR_UNSAFE, "%s: open to others (mode %04o, must be 0700): refused",
                      dir, (unsigned)(st.st_mode & 07777));
    if (status != HS_OK) {
        close(*dfd);
        *dfd = -1;
    }
    return status;
}

/* Open segment `name` of user `uid`, with the directory and file checks. */
static int open_in_user_dir(hs_seg_t *seg, uid_t uid, const char *name, bool writable)
{
    char dir[sizeof(seg->path)], path[sizeof(seg->path) + 64];
    hs_seg_user_dir(uid, dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    seg_reset(seg, path);
    int dfd;
    int status = open_user_dir(seg, uid, &dfd);
    if (status != HS_OK) return status;
    int fd = open_at(dfd, name, &writable);
    int err = errno;
    close(dfd);
    if (fd < 0) return open_error(seg, seg->path, err);
    return adopt(seg, fd, writable, uid);
}

/* The checks that tie an open segment to the live process `pid` started at `start`:
 * the header names both, the process still has that start time, and the file's owner
 * is one of its uids. */
static int check_process(hs_seg_t *seg, pid_t pid, uint64_t start, uid_t owner)
{
    uid_t r, e;
    if (seg->pid != pid || seg->start_time != start)
        return give_up(seg, fail(seg, HS_ERR_UNSAFE,
                                 "%s: segment names process %d started at %llu, not process %d "
                                 "started at %llu: refused",
                                 seg->path, (int)seg->pid, (unsigned long long)seg->start_time,
                                 (int)pid, (unsigned long long)start));
    if (!hs_seg_proc_uids(pid, &r, &e) || hs_seg_proc_start_time(pid) != start)
        return give_up(seg, fail(seg, HS_ERR_NOPROC, "process %d exited", (int)pid));
    if (owner != r && owner != e)
        return give_up(seg, fail(seg, HS_ERR_UNSAFE,
                                 "%s: owned by uid %u, but process %d runs as uid %u: refused",
                                 seg->path, (unsigned)owner, (int)pid, (unsigned)e));
    return HS_OK;
}

int hs_seg_open_pid(hs_seg_t *seg, pid_t pid, bool writable)
{
    seg_reset(seg, "");
    uint64_t start = hs_seg_proc_start_time(pid);
    uid_t uids[2];
    if (start == 0 || !hs_seg_proc_uids(pid, &uids[1], &uids[0])) {
        if (kill(pid, 0) != 0 && errno == ESRCH)
            return fail(seg, HS_ERR_NOPROC, "no process with PID %d", (int)pid);
        return fail(seg, HS_ERR_SYSTEM, "cannot read /proc/%d: %s", (int)pid, strerror(errno));
    }
    char name[64];
    snprintf(name, sizeof(name), "%d.%llu", (int)pid, (unsigned long long)start);
    /* The effective uid first (it creates the file), then the real one. A problem found
     * on the way (a directory that fails the checks) explains a missing segment better
     * than "none", so it is what we report when nothing opens. */
    int best = HS_ERR_NOSEG;
    char why[sizeof(seg->error)] = "";
    for (int i = 0; i < (uids[0] == uids[1] ? 1 : 2); i++) {
        int status = open_in_user_dir(seg, uids[i], name, writable);
        if (status == HS_OK) return check_process(seg, pid, start, uids[i]);
        if (status != HS_ERR_NOSEG && (best == HS_ERR_NOSEG || status == HS_ERR_UNSAFE)) {
            best = status;
            memcpy(why, seg->error, sizeof(why));
        }
    }
    if (best != HS_ERR_NOSEG) {
        seg_reset(seg, "");
        return fail(seg, best, "%s", why);
    }
    char dir[sizeof(seg->path)];
    hs_seg_user_dir(uids[0], dir, sizeof(dir));
    return fail(seg, HS_ERR_NOSEG,
                "process %d has no hakmem statistics segment in %s (not using libhakmem, "
                "or HAKMEM_STATS=0)",
                (int)pid, dir);
}

void hs_seg_close(hs_seg_t *seg)
{
    if (seg->fd >= 0) close(seg->fd);
    seg->fd = -1;
}

/* A zombie has exited: it still has its start time until its parent reaps it. */
bool hs_seg_proc_running(pid_t pid, uint64_t start)
{
    bool zombie;
    return proc_stat(pid, &zombie) == start && start != 0 && !zombie;
}

bool hs_seg_alive(const hs_seg_t *seg)
{
    return hs_seg_proc_running(seg->pid, seg->start_time);
}

/* The descriptor written to is the one whose owner and type were checked at open, so
 * the word lands in the process's own segment and nowhere else. */
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
/* "<prefix><n>[.<m>]" with decimal fields and nothing else; n must be below `max`. */
static bool parse_u64(const char **p, uint64_t *v)
{
    char *end;
    if (!isdigit((unsigned char)**p)) return false;
    errno = 0;
    *v = strtoull(*p, &end, 10);
    if (errno) return false;
    *p = end;
    return true;
}

static bool parse_user_dir(const char *name, uid_t *uid)
{
    uint64_t v;
    if (strncmp(name, "hakmem-", 7) != 0) return false;
    name += 7;
    if (!parse_u64(&name, &v) || *name || v >= (uid_t)-1) return false;
    *uid = (uid_t)v;
    return true;
}

static bool parse_seg_name(const char *name, pid_t *pid, uint64_t *start)
{
    uint64_t p;
    if (!parse_u64(&name, &p) || *name++ != '.' || !parse_u64(&name, start) || *name) return false;
    if (p == 0 || p > INT32_MAX) return false;
    *pid = (pid_t)p;
    return true;
}

static void list_user_dir(int dfd, uid_t uid, const char *dir,
                          void (*fn)(const hs_seg_entry_t *e, void *arg), void *arg,
                          hs_seg_skipped_t *skipped, int *count)
{
    DIR *d = fdopendir(dfd);
    if (d == NULL) {
        close(dfd);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        hs_seg_entry_t e;
        memset(&e, 0, sizeof(e));
        if (!parse_seg_name(de->d_name, &e.pid, &e.start_time)) continue;
        struct stat st;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
        if (!S_ISREG(st.st_mode) || st.st_uid != uid) {
            skipped->files++;
            continue;
        }
        if (*count >= HS_SEG_LIST_MAX) {
            skipped->more++;
            continue;
        }
        if (snprintf(e.name, sizeof(e.name), "%s", de->d_name) >= (int)sizeof(e.name) ||
            snprintf(e.path, sizeof(e.path), "%s/%s", dir, de->d_name) >= (int)sizeof(e.path))
            continue;
        e.uid = st.st_uid;
        uint64_t now = hs_seg_proc_start_time(e.pid);
        bool gone = now == 0 && kill(e.pid, 0) != 0 && errno == ESRCH;
        e.stale = gone || (now != 0 && now != e.start_time);
        uid_t r, eu;
        if (!e.stale && hs_seg_proc_uids(e.pid, &r, &eu) && r != e.uid && eu != e.uid)
            e.foreign = true;
        e.readable = faccessat(dirfd(d), de->d_name, R_OK, AT_EACCESS) == 0;
        fn(&e, arg);
        (*count)++;
    }
    closedir(d);
}

int hs_seg_list(void (*fn)(const hs_seg_entry_t *e, void *arg), void *arg,
                hs_seg_skipped_t *skipped)
{
    memset(skipped, 0, sizeof(*skipped));
    int bfd = open(hs_seg_dir(), O_RDONLY | O_DIRECTORY | O_NONBLOCK | O_CLOEXEC);
    if (bfd < 0) return -1;
    DIR *base = fdopendir(bfd);
    if (base == NULL) {
        int err = errno;
        close(bfd);
        errno = err;
        return -1;
    }
    int count = 0;
    struct dirent *de;
    while ((de = readdir(base)) != NULL) {
        uid_t uid;
        if (!parse_user_dir(de->d_name, &uid)) continue;
        /* Cheap checks first, then the same on the opened descriptor. */
        struct stat st;
        if (fstatat(bfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
        if (!S_ISDIR(st.st_mode) || st.st_uid != uid || (st.st_mode & 077)) {
            skipped->dirs++;
            continue;
        }
        int dfd = openat(bfd, de->d_name, O_RDONLY | O_DIRECTORY | OPEN_FLAGS);
        if (dfd < 0) continue; /* another user's: not ours to list */
        if (fstat(dfd, &st) != 0 || st.st_uid != uid || (st.st_mode & 077)) {
            close(dfd);
            skipped->dirs++;
            continue;
        }
        char dir[512];
        snprintf(dir, sizeof(dir), "%s/%s", hs_seg_dir(), de->d_name);
        list_user_dir(dfd, uid, dir, fn, arg, skipped, &count);
    }
    closedir(base);
    return count;
}

int hs_seg_open_entry(hs_seg_t *seg, const hs_seg_entry_t *e)
{
    int status = open_in_user_dir(seg, e->uid, e->name, false);
    if (status != HS_OK) return status;
    if (e->stale) return HS_OK;
    return check_process(seg, e->pid, e->start_time, e->uid);
}

int hs_seg_list_user(uid_t uid, void (*fn)(const char *name, const struct stat *st, void *arg),
                     void *arg)
{
    hs_seg_t scratch;
    int dfd;
    if (open_user_dir(&scratch, uid, &dfd) != HS_OK) return -1;
    DIR *d = fdopendir(dfd);
    if (d == NULL) {
        close(dfd);
        return -1;
    }
    int count = 0;
    struct dirent *de;
    while (count < HS_SEG_LIST_MAX && (de = readdir(d)) != NULL) {
        struct stat st;
        if (de->d_name[0] == '.' || fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISREG(st.st_mode) || st.st_uid != uid)
            continue;
        fn(de->d_name, &st, arg);
        count++;
    }
    closedir(d);
    return count;
}

int hs_seg_open_record(hs_seg_t *seg, uid_t uid, const char *name)
{
    int status = open_in_user_dir(seg, uid, name, false);
    if (status != HS_OK) return status;
    if (!(seg->flags & HK_STATS_F_RETIRED) || seg->nslots != 0 || seg->size > HS_SEG_MAX_RECORD)
        return give_up(seg, fail(seg, HS_ERR_CORRUPT, "%s: not a retired record", seg->path));
    return HS_OK;
}

int hs_seg_remove_entry(const hs_seg_entry_t *e)
{
    hs_seg_t scratch;
    int dfd;
    if (open_user_dir(&scratch, e->uid, &dfd) != HS_OK) {
        errno = EPERM;
        return -1;
    }
    struct stat st;
    int rc = -1;
    if (fstatat(dfd, e->name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        rc = -1;
    else if (!S_ISREG(st.st_mode) || st.st_uid != e->uid || st.st_uid != geteuid())
        errno = EPERM;
    else
        rc = unlinkat(dfd, e->name, 0);
    int err = errno;
    close(dfd);
    errno = err;
    return rc;
}
