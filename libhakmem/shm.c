/* shm.c: the stats segment file. One per process, at
 * $HAKMEM_STATS_DIR/hakmem-<euid>/<pid>.<starttime> (the directory defaults to /dev/shm),
 * created exclusively (never following or reusing a file someone else put there), mode
 * 0600, fully reserved up front so a full tmpfs fails here rather than with SIGBUS later,
 * and unlinked at exit. When any of that fails the process runs on without a segment,
 * silently: hakstat explains what it finds when asked about the process.
 *
 * Why a directory per user (as HotSpot's hsperfdata_<user>): in a directory everyone may
 * write, anyone can plant a file at the name a process will use or pile up names that
 * every start must look through. The user's own directory, mode 0700 and checked to be
 * theirs and not a link, holds only what that user (or root) put there, so a reader that
 * has checked the directory and the file's owner knows who wrote the figures, and the
 * stale sweep is bounded by the user's own files. Only system calls; no allocation. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h> /* renameat */
#include <string.h>
#include <sys/mman.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "prof.h"

static char shm_path[320];
static size_t shm_dir_len; /* shm_path[0, shm_dir_len) is the per-user directory */
static uid_t shm_uid;      /* its owner */
static pid_t shm_pid;      /* the process that created the file, which alone removes it */
static size_t shm_size;    /* the first mapping: header, descriptors, slots */
static size_t shm_grown;   /* the file's size, spill chunks included */
static dev_t shm_dev;      /* the file we made, to know it again when it grows */
static ino_t shm_ino;
static bool shm_stuck; /* a failed growth could not be undone: grow no more */

/* Read up to len-1 bytes of a small /proc file into buf; returns the length or -1. */
static ssize_t read_small(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, len - 1);
    close(fd);
    if (n < 0) return -1;
    buf[n] = '\0';
    return n;
}

/* The process start time, for the header (hk_stats_parse_proc_stat); 0 if unknown. */
static uint64_t start_time_of(const char *stat_path)
{
    char buf[1024];
    hk_proc_stat_t st;
    if (read_small(stat_path, buf, sizeof(buf)) < 0) return 0;
    return hk_stats_parse_proc_stat(buf, &st) == 0 ? st.start_time : 0;
}

static void fill_header(hk_stats_header_t *hd, uint32_t nslots, size_t size, uint64_t start)
{
    hd->abi_major = HK_STATS_ABI_MAJOR;
    hd->abi_minor = HK_STATS_ABI_MINOR;
    hd->header_size = sizeof(hk_stats_header_t);
    hd->desc_size = sizeof(hk_stat_desc_t);
    hd->slot_size = sizeof(hk_stat_slot_t);
    hd->nslots = nslots;
    hd->ncounters = HK_STAT_NCOUNTERS;
    hd->nclasses = HK_NCLASSES;
    hd->file_size = size;
    hd->desc_offset = hk_align_up(sizeof(hk_stats_header_t), 64);
    hd->slot_offset = hk_align_up(hd->desc_offset + HK_STAT_NCOUNTERS * sizeof(hk_stat_desc_t), 64);
    hd->pid = getpid();
    hd->ppid = getppid();
    hd->start_time = start;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    hd->start_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    char comm[HK_STATS_COMM_LEN];
    ssize_t n = read_small("/proc/self/comm", comm, sizeof(comm));
    if (n > 0 && comm[n - 1] == '\n') comm[n - 1] = '\0';
    hk_util_copy_padded(hd->comm, sizeof(hd->comm), n > 0 ? comm : "");
#ifdef HAKMEM_PROF
    hd->flags |= HK_STATS_F_PROF_BUILT;
    hd->start_tsc = hk_tsc_begin();
#endif
    for (uint32_t c = 0; c < HK_NCLASSES; c++) {
        hd->class_size[c] = hk_class_size[c];
        hd->class_slab_blocks[c] = hk_class_slab_blocks(c);
    }
    hd->spill_offset = size; /* spill blocks are appended as the file grows */
    hd->spill_size = sizeof(hk_stat_spill_t);
    hd->sitetab_offset =
        hk_align_up(hd->slot_offset + (uint64_t)nslots * sizeof(hk_stat_slot_t), 64);
    hd->sitetab_size = hk_site_table_size();
    if (hk_opt.site_wrappers)
        hk_util_copy_padded(hd->site_wrappers, sizeof(hd->site_wrappers), hk_opt.site_wrappers);

    static const struct {
        const char *name, *unit, *doc;
    } descs[] = {
#define HK_STAT_DESC(n, u, d) {#n, u, d},
        HK_STAT_COUNTERS(HK_STAT_DESC)
#undef HK_STAT_DESC
    };
    hk_stat_desc_t *dd = (hk_stat_desc_t *)((char *)hd + hd->desc_offset);
    for (int i = 0; i < HK_STAT_NCOUNTERS; i++) {
        hk_util_copy_padded(dd[i].name, sizeof(dd[i].name), descs[i].name);
        hk_util_copy_padded(dd[i].unit, sizeof(dd[i].unit), descs[i].unit);
        hk_util_copy_padded(dd[i].doc, sizeof(dd[i].doc), descs[i].doc);
    }
    /* The magic goes last: a reader that sees it sees a complete header. */
    __atomic_store_n(&hd->magic, HK_STATS_MAGIC, __ATOMIC_RELEASE);
}

/* ---------------------------------------------------------------------------------------
 * The per-user directory
 * ------------------------------------------------------------------------------------- */
/* Open $BASE/hakmem-<euid>, making it (0700) if it is not there, and check it is ours to
 * trust: a directory, not a symbolic link, owned by our effective uid, with no group or
 * other permission bits. Anything else someone may have put in its place (a link, a
 * directory of another user, a directory opened up with chmod) is refused and the
 * process runs without a segment. Returns the directory's descriptor or -1; `path` gets
 * its name, `created` whether this call made it. */
static int user_dir_open(char *path, size_t cap, bool *created)
{
    hk_strbuf_t b = {path, 0, cap};
    hk_strbuf_put(&b, hk_opt.stats_dir);
    hk_strbuf_put(&b, "/hakmem-");
    hk_strbuf_put_u64(&b, geteuid(), false);
    if (b.len + 1 >= cap) return -1;
    *created = mkdir(path, 0700) == 0;
    int dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0) return -1;
    struct stat st;
    if (fstat(dfd, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
        (st.st_mode & 077) != 0) {
        close(dfd);
        return -1;
    }
    return dfd;
}

/* ---------------------------------------------------------------------------------------
 * Stale segments: a process killed by a signal or leaving through _exit (as dash does)
 * never removes its file. Like the JVM's hsperfdata, a new process removes files of this
 * user's processes that are gone (or whose pid now names a newer process), but only in
 * the user's own directory, at most SWEEP_MAX names at a time, and at most once every
 * SWEEP_INTERVAL_S seconds for all the user's processes together: the stamp file's
 * mtime says when the last sweep began, so a start normally costs one fstatat.
 * ------------------------------------------------------------------------------------- */
#define SWEEP_STAMP      ".sweep"
#define SWEEP_INTERVAL_S 60
#define SWEEP_MAX        256 /* names looked at per sweep */

struct dirent64_raw {
    uint64_t ino;
    int64_t off;
    unsigned short reclen;
    unsigned char type;
    char name[];
};

/* Parse "<pid>.<start>"; false for any other name. */
static bool parse_name(const char *p, uint64_t f[2])
{
    for (int i = 0; i < 2; i++) {
        uint64_t v = 0;
        const char *start = p;
        for (; *p >= '0' && *p <= '9' && p - start < 20; p++)
            v = v * 10 + (uint64_t)(*p - '0');
        if (p == start || *p != (i < 1 ? '.' : '\0')) return false;
        f[i] = v;
        p++;
    }
    return true;
}

/* Whether a sweep is due, and if so claim it by touching the stamp. A stamp we cannot
 * write means no sweep (rather than a sweep at every start). */
static bool sweep_due(int dfd)
{
    struct stat st;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    if (fstatat(dfd, SWEEP_STAMP, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
        st.st_mtime <= now.tv_sec && now.tv_sec - st.st_mtime < SWEEP_INTERVAL_S)
        return false;
    int fd =
        openat(dfd, SWEEP_STAMP, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
    if (fd < 0) return false;
    bool ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && futimens(fd, NULL) == 0;
    close(fd);
    return ok;
}

/* Retired records ("retired-<n>", and "retiring-<pid>" while one is written) older than
 * their documented age: a watcher has had time to read them. */
#define RETIRED_PREFIX "retir"

static void remove_old_record(int dfd, const char *name)
{
    struct stat st;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
        now.tv_sec - st.st_mtime > HK_STATS_RETIRED_AGE_S)
        unlinkat(dfd, name, 0);
}

static void remove_stale(int dfd)
{
    int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    char buf[4096];
    long n;
    int seen = 0;
    while (seen < SWEEP_MAX && (n = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0) {
        for (long at = 0; at < n && seen < SWEEP_MAX;) {
            struct dirent64_raw *d = (struct dirent64_raw *)(buf + at);
            at += d->reclen;
            uint64_t f[2];
            /* Not counted: at most HK_STATS_RETIRED_NAMES of them, each one fstatat. */
            if (strncmp(d->name, RETIRED_PREFIX, sizeof(RETIRED_PREFIX) - 1) == 0) {
                remove_old_record(dfd, d->name);
                continue;
            }
            if (!parse_name(d->name, f) || f[0] == 0 || f[0] > INT32_MAX) continue;
            seen++;
            char path[64];
            hk_strbuf_t b = HK_STRBUF(path);
            hk_strbuf_put(&b, "/proc/");
            hk_strbuf_put_u64(&b, f[0], false);
            hk_strbuf_put(&b, "/stat");
            bool gone = kill((pid_t)f[0], 0) != 0 && errno == ESRCH;
            uint64_t start = gone ? 0 : start_time_of(path); /* 0: cannot tell */
            if (gone || (start != 0 && start != f[1])) unlinkat(dfd, d->name, 0);
        }
    }
    close(fd);
}

/* A file at our name that is a segment this very process left before it exec'd (same
 * pid and start time, ours, a plain file) may be replaced; nothing else may. */
static bool is_own_leftover(int dfd, const char *name, uint64_t start)
{
    int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return false;
    struct stat st;
    hk_stats_header_t hd;
    bool own = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
               st.st_nlink == 1 && pread(fd, &hd, sizeof(hd), 0) == (ssize_t)sizeof(hd) &&
               hd.magic == HK_STATS_MAGIC && hd.pid == getpid() && hd.start_time == start;
    close(fd);
    return own;
}

/* A fork child does not sweep: its parent did (or found it not due) at its own start, and
 * a program that forks at a high rate would otherwise pay for it per child. */
hk_stats_header_t *hk_shm_create(bool sweep)
{
    if (!hk_opt.stats) return NULL;
    int saved_errno = errno;
    uint64_t start = start_time_of("/proc/self/stat");
    bool created;
    int dfd = user_dir_open(shm_path, sizeof(shm_path), &created);
    if (dfd < 0) goto fail;
    if (sweep && !created && sweep_due(dfd)) remove_stale(dfd);
    shm_dir_len = strlen(shm_path);
    shm_uid = geteuid();
    hk_strbuf_t b = {shm_path, shm_dir_len, sizeof(shm_path)};
    hk_strbuf_put(&b, "/");
    hk_strbuf_put_u64(&b, (uint64_t)getpid(), false);
    hk_strbuf_put(&b, ".");
    hk_strbuf_put_u64(&b, start, false);
    if (b.len + 1 >= sizeof(shm_path)) goto fail_dir;
    const char *name = shm_path + shm_dir_len + 1; /* the file, in dfd */

    uint32_t nslots = (uint32_t)hk_opt.stats_slots;
    size_t size = hk_align_up(sizeof(hk_stats_header_t), 64) +
                  hk_align_up(HK_STAT_NCOUNTERS * sizeof(hk_stat_desc_t), 64) +
                  (size_t)nslots * sizeof(hk_stat_slot_t);
    size = hk_align_up(size, 64) + hk_site_table_size(); /* fill_header places it so */
    size = hk_align_up(size, HK_OS_PAGE);

    int flags = O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
    int fd = openat(dfd, name, flags, 0600);
    if (fd < 0 && errno == EEXIST && is_own_leftover(dfd, name, start)) {
        unlinkat(dfd, name, 0);
        fd = openat(dfd, name, flags, 0600);
    }
    if (fd < 0) goto fail_dir;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() || st.st_nlink != 1 ||
        fallocate(fd, 0, 0, (off_t)size) != 0) {
        unlinkat(dfd, name, 0);
        close(fd);
        goto fail_dir;
    }
    void *map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (map == MAP_FAILED) {
        unlinkat(dfd, name, 0);
        goto fail_dir;
    }
    close(dfd);
    fill_header(map, nslots, size, start);
    shm_pid = getpid();
    shm_size = shm_grown = size;
    shm_stuck = false;
    shm_dev = st.st_dev;
    shm_ino = st.st_ino;
    errno = saved_errno;
    return map;
fail_dir:
    close(dfd);
fail:
    shm_path[0] = '\0';
    errno = saved_errno;
    return NULL;
}

/* Grow the file by `bytes` (a multiple of the page size) and map the new part: zeroed,
 * reserved (so a full tmpfs fails here, not with SIGBUS later), and published in the
 * header's file_size after it exists. The file is opened again by name and must be the
 * very one this process made; a descriptor kept open could be closed or reused under
 * us by a program that tidies its descriptors. NULL when any of that fails. The
 * caller holds stats_lock. */
void *hk_shm_grow(size_t bytes)
{
    if (shm_path[0] == '\0' || shm_pid != getpid() || shm_stuck) return NULL;
    int saved_errno = errno;
    void *map = NULL;
    int fd = open(shm_path, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0) goto out;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_dev == shm_dev &&
        st.st_ino == shm_ino && st.st_uid == geteuid() && (size_t)st.st_size == shm_grown &&
        fallocate(fd, 0, (off_t)shm_grown, (off_t)bytes) == 0) {
        map = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)shm_grown);
        if (map == MAP_FAILED) {
            map = NULL; /* back to the size the header gives, for readers */
            if (ftruncate(fd, (off_t)shm_grown) != 0) shm_stuck = true;
        } else {
            shm_grown += bytes;
            __atomic_store_n(&hk_stats_header->file_size, shm_grown, __ATOMIC_RELEASE);
        }
    }
    close(fd);
out:
    errno = saved_errno;
    return map;
}

/* Unmap a segment inherited from the parent, leaving its file alone. */
void hk_shm_detach(hk_stats_header_t *seg)
{
    munmap(seg, shm_size);
    shm_path[0] = '\0';
}

/* ---------------------------------------------------------------------------------------
 * The retired record (hakmem_stats.h): the header and descriptors of the segment with
 * the final totals, written whole under a name of this process and renamed into place,
 * so a reader never sees half of one. Built in a static buffer: no allocation at exit.
 * ------------------------------------------------------------------------------------- */
#define RECORD_SIZE                                                                                \
    (((sizeof(hk_stats_header_t) + 63) & ~(size_t)63) + HK_STAT_NCOUNTERS * sizeof(hk_stat_desc_t))

static int record_dir_open(void)
{
    char dir[sizeof(shm_path)];
    memcpy(dir, shm_path, shm_dir_len);
    dir[shm_dir_len] = '\0';
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (dfd >= 0 && (fstat(dfd, &st) != 0 || st.st_uid != shm_uid || (st.st_mode & 077))) {
        close(dfd);
        dfd = -1;
    }
    return dfd;
}

/* The name for this process's record (hakmem_stats.h): a free or old one near its pid. */
static void record_slot(int dfd, char *name, size_t cap, uint64_t now_s)
{
    for (int i = 0; i <= HK_STATS_RETIRED_PROBES; i++) {
        int k = i < HK_STATS_RETIRED_PROBES ? i : 0; /* every one fresh: the first */
        hk_strbuf_t b = {name, 0, cap};
        hk_strbuf_put(&b, "retired-");
        hk_strbuf_put_u64(&b, ((uint64_t)shm_pid + (uint64_t)k) % HK_STATS_RETIRED_NAMES, false);
        struct stat st;
        if (i == HK_STATS_RETIRED_PROBES || fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
            (uint64_t)st.st_mtime + HK_STATS_RETIRED_FRESH_S < now_s)
            return;
    }
}

void hk_shm_retire(const hk_stat_counters_t *total)
{
    static char rec[RECORD_SIZE] __attribute__((aligned(64)));
    if (!shm_path[0] || shm_pid != getpid() ||
        hk_stats_header->desc_offset + HK_STAT_NCOUNTERS * sizeof(hk_stat_desc_t) != RECORD_SIZE)
        return;
    int saved_errno = errno;
    memcpy(rec, hk_stats_header, RECORD_SIZE);
    hk_stats_header_t *hd = (hk_stats_header_t *)rec;
    hd->nslots = 0;
    hd->file_size = hd->slot_offset = RECORD_SIZE;
    hd->flags |= HK_STATS_F_RETIRED;
    hd->retired_gen = 0;
    hd->unslotted = 0;
    hd->spill_count = 0; /* a record is the header alone */
    hd->spill_offset = RECORD_SIZE;
    hd->retired = *total;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    hd->exit_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    char tmp[48], name[48];
    hk_strbuf_t b = HK_STRBUF(tmp);
    hk_strbuf_put(&b, "retiring-");
    hk_strbuf_put_u64(&b, (uint64_t)shm_pid, false);
    int dfd = record_dir_open();
    if (dfd >= 0) {
        record_slot(dfd, name, sizeof(name), hd->exit_ns / 1000000000u);
        unlinkat(dfd, tmp, 0); /* a leftover of an earlier process with this pid */
        int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0) {
            bool whole = write(fd, rec, RECORD_SIZE) == (ssize_t)RECORD_SIZE;
            close(fd);
            if (!whole || renameat(dfd, tmp, dfd, name) != 0) unlinkat(dfd, tmp, 0);
        }
        close(dfd);
    }
    errno = saved_errno;
}

void hk_shm_remove(void)
{
    if (shm_path[0] && shm_pid == getpid()) unlink(shm_path);
}
