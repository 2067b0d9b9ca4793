/* planted.c: something already at the segment's exact name is neither followed nor
 * overwritten, and the process still runs (without a segment). The name is known before
 * the helper starts: a fork child knows its pid and start time, both of which survive
 * execve, so it plants the thing and then execs this program as the helper, which
 * allocates and checks its blocks in two threads and exits normally. Planted: a regular
 * file of garbage, a symlink to a file, a dangling symlink, a directory, a FIFO (opening
 * it for reading would block), and, when running as root, a well-formed segment header
 * naming the helper but owned by another user. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdatomic.h>

#include "../tap.h"
#include "../testutil.h"
#include "stats-util.h"

/* ---------------------------------------------------------------------------------------
 * The helper
 * ------------------------------------------------------------------------------------- */
static atomic_ulong helper_bad;

static void *alloc_thread(void *arg)
{
    enum { N = 5000 };
    void *p[N]; /* not TLS: gcc -O1 folds a loop offset into a TLS relocation ld rejects */
    uint64_t seed = (uintptr_t)arg;
    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < N; i++) {
            size_t size = 1 + (size_t)(tu_mix(seed, (uint64_t)i) % 3000);
            p[i] = malloc(size);
            if (p[i] == NULL)
                atomic_fetch_add(&helper_bad, 1);
            else
                tu_fill(p[i], size, tu_mix(seed + 1, (uint64_t)i));
        }
        for (int i = 0; i < N; i++) {
            size_t size = 1 + (size_t)(tu_mix(seed, (uint64_t)i) % 3000);
            if (p[i] && tu_check(p[i], size, tu_mix(seed + 1, (uint64_t)i)) != SIZE_MAX)
                atomic_fetch_add(&helper_bad, 1);
            free(p[i]);
        }
    }
    void *big = malloc(1 << 20);
    if (big == NULL)
        atomic_fetch_add(&helper_bad, 1);
    else
        memset(big, 0x5a, 1 << 20);
    free(big);
    return NULL;
}

static int helper(void)
{
    pthread_t t[2];
    for (uintptr_t i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, alloc_thread, (void *)(i + 1));
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    /* Did we get a segment of our own after all? */
    char path[256];
    st_path_of(path, sizeof path, NULL, getpid());
    st_seg_t s;
    int have = st_map(&s, path, false) && s.hd->pid == getpid();
    if (s.hd) st_unmap(&s);
    char buf[64];
    int n = snprintf(buf, sizeof buf, "bad=%lu\nsegment=%d\n", atomic_load(&helper_bad), have);
    tap_write(buf, (size_t)n);
    return 0;
}

/* ---------------------------------------------------------------------------------------
 * Planting, in the fork child just before execve
 * ------------------------------------------------------------------------------------- */
enum kind { GARBAGE, SYMLINK, DANGLING, DIRECTORY, FIFO, FOREIGN_HEADER, NKINDS };
static const char *kind_names[NKINDS] = {
    "a garbage file", "a symlink to a file",          "a dangling symlink", "a directory",
    "a FIFO",         "another user's segment header"};

struct plant {
    enum kind kind;
    char dir[128];
    char target[256]; /* the symlink's target */
};

#define GARBAGE_LEN 3000

static void garbage(char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (char)('a' + i % 26);
}

static void plant_it(void *arg)
{
    struct plant *pl = arg;
    char path[256], ud[256];
    st_user_dir(ud, sizeof ud, pl->dir);
    mkdir(ud, 0700);
    st_path_of(path, sizeof path, pl->dir, getpid());
    char buf[GARBAGE_LEN];
    garbage(buf, sizeof buf);
    int fd;
    switch (pl->kind) {
    case GARBAGE:
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
        if (fd < 0 || write(fd, buf, sizeof buf) != (ssize_t)sizeof buf) _exit(120);
        close(fd);
        if (fchmodat(AT_FDCWD, path, 0644, 0) != 0) _exit(120);
        break;
    case SYMLINK:
    case DANGLING:
        if (symlink(pl->target, path) != 0) _exit(121);
        break;
    case DIRECTORY:
        if (mkdir(path, 0700) != 0) _exit(122);
        break;
    case FIFO:
        if (mkfifo(path, 0600) != 0) _exit(123);
        break;
    case FOREIGN_HEADER: {
        hk_stats_header_t hd;
        memset(&hd, 0, sizeof hd);
        hd.magic = HK_STATS_MAGIC;
        hd.abi_major = HK_STATS_ABI_MAJOR;
        hd.header_size = sizeof hd;
        hd.pid = getpid();
        hd.start_time = st_start_time(getpid());
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
        if (fd < 0 || write(fd, &hd, sizeof hd) != (ssize_t)sizeof hd) _exit(124);
        if (fchown(fd, 65534, 65534) != 0) _exit(125);
        close(fd);
        break;
    }
    default:
        _exit(126);
    }
}

/* ---------------------------------------------------------------------------------------
 * The checks
 * ------------------------------------------------------------------------------------- */
static bool file_is(const char *path, const char *want, size_t len, mode_t mode)
{
    struct stat st;
    if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size != len ||
        (st.st_mode & 07777) != mode)
        return false;
    char buf[GARBAGE_LEN + 1];
    int fd = open(path, O_RDONLY | O_NOFOLLOW);
    if (fd < 0) return false;
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    return n == (ssize_t)len && memcmp(buf, want, len) == 0;
}

#define N_CASE_CHECKS 4

static void check_case(enum kind kind, const char *dir)
{
    const char *what = kind_names[kind];
    struct plant pl = {.kind = kind};
    snprintf(pl.dir, sizeof pl.dir, "%s", dir);
    char target[256];
    snprintf(target, sizeof target, "%s/target", dir);
    char want[GARBAGE_LEN];
    garbage(want, sizeof want);
    if (kind == SYMLINK) {
        int fd = open(target, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0 || write(fd, want, sizeof want) != (ssize_t)sizeof want) tap_bail("target");
        close(fd);
        snprintf(pl.target, sizeof pl.target, "%s", target);
    } else if (kind == DANGLING) {
        snprintf(pl.target, sizeof pl.target, "%s/nothing-here", dir);
    }

    char env_dir[300];
    snprintf(env_dir, sizeof env_dir, "HAKMEM_STATS_DIR=%s", dir);
    const char *const env[] = {env_dir, NULL};
    char out[256];
    st_spawn_t sp = {.mode = "helper", .env = env, .pre_exec = plant_it, .arg = &pl};
    /* The helper needs well under a second; a FIFO opened for reading blocks forever. */
    int status = st_run(sp, 3, out, sizeof out, NULL, 0);
    if (status == -1) tap_diag("  the helper hung with %s at its name and was killed", what);
    TAP_EQ_I64(status, 0, "%s at the name: the process runs and exits 0", what);
    TAP_EQ_I64(st_kv(out, "bad", -1), 0, "%s at the name: its allocations were all sound", what);
    TAP_EQ_I64(st_kv(out, "segment", -1), 0, "%s at the name: it ran without a segment", what);

    /* Find the planted name: the only segment name in this user's directory. */
    char path[512] = "", ud[256];
    st_user_dir(ud, sizeof ud, dir);
    DIR *d = opendir(ud);
    struct dirent *e;
    int found = 0;
    while (d && (e = readdir(d)) != NULL)
        if (e->d_name[0] >= '0' && e->d_name[0] <= '9') {
            snprintf(path, sizeof path, "%s/%s", ud, e->d_name);
            found++;
        }
    if (d) closedir(d);
    struct stat st;
    char link[256] = "";
    bool intact = found == 1;
    switch (kind) {
    case GARBAGE:
        intact = intact && file_is(path, want, sizeof want, 0644);
        break;
    case SYMLINK:
        intact = intact && lstat(path, &st) == 0 && S_ISLNK(st.st_mode) &&
                 readlink(path, link, sizeof link - 1) > 0 && strcmp(link, target) == 0 &&
                 file_is(target, want, sizeof want, 0600);
        break;
    case DANGLING:
        intact =
            intact && lstat(path, &st) == 0 && S_ISLNK(st.st_mode) && lstat(pl.target, &st) != 0;
        break;
    case DIRECTORY:
        intact =
            intact && lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && st_count_entries(path) == 0;
        break;
    case FIFO:
        intact = intact && lstat(path, &st) == 0 && S_ISFIFO(st.st_mode);
        break;
    case FOREIGN_HEADER:
        intact = intact && lstat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == 65534 &&
                 st.st_size == (off_t)sizeof(hk_stats_header_t);
        break;
    default:
        break;
    }
    tap_ok(intact, "%s at the name: left exactly as it was (found %d)", what, found);
    /* Clean up for the next case. */
    if (kind == DIRECTORY)
        rmdir(path);
    else
        unlink(path);
    unlink(target);
}

int main(int argc, char **argv)
{
    if (argc > 1) return helper();
    st_reexec_clean(argv, NULL);
    tap_plan(NKINDS * N_CASE_CHECKS);
    char dir[128];
    if (!st_mkdtemp(dir, sizeof dir)) tap_bail("mkdtemp in /dev/shm: %s", strerror(errno));
    for (int k = 0; k < NKINDS; k++) {
        if (k == FOREIGN_HEADER && geteuid() != 0) {
            for (int i = 0; i < N_CASE_CHECKS; i++)
                tap_skip(kind_names[k], "needs root to plant another user's file");
            continue;
        }
        check_case((enum kind)k, dir);
    }
    st_rmtree(dir);
    return tap_done();
}
