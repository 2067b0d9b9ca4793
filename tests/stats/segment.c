/* segment.c: the segment file. Our own: at /dev/shm/hakmem-<euid>/<pid>.<starttime>, in a
 * directory of ours with mode 0700, a regular file of ours, mode 0600, one link, with a header that
 * validates (magic, ABI, sizes, offsets within the file, pid, start time, command name,
 * descriptors, class sizes). Helper runs of this program, held alive through a pipe while they are
 * looked at: HAKMEM_STATS_DIR places the file there and nowhere else, the file is removed when the
 * helper exits normally, HAKMEM_STATS=0 makes none, HAKMEM_STATS_SLOTS sizes it (a bad value is
 * reported and ignored), a segment a process left when it exec'd is replaced by the new image's,
 * and a file left by _exit is removed by the next process of the user to start once the sweep is
 * due (at most once a minute), while live processes' and other users' files are kept. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <poll.h>
#include <pthread.h>

#include "../tap.h"
#include "../testutil.h"
#include "stats-util.h"

/* ---------------------------------------------------------------------------------------
 * The helper: allocate in two threads, say "ready", wait for stdin to close, exit.
 * ------------------------------------------------------------------------------------- */
static void *helper_thread(void *arg)
{
    for (int i = 0; i < 100; i++)
        free(tu_launder(malloc((size_t)i * 10 + 1)));
    return arg;
}

static int helper(const char *mode)
{
    void *p = tu_launder(malloc(100));
    pthread_t t;
    pthread_create(&t, NULL, helper_thread, NULL);
    pthread_join(t, NULL);
    tap_write("ready\n", 6);
    char c;
    while (read(0, &c, 1) > 0) {
    }
    free(p);
    if (strcmp(mode, "hold-_exit") == 0) _exit(0);
    return 0; /* a normal exit: atexit handlers run */
}

/* ---------------------------------------------------------------------------------------
 * Holding a helper
 * ------------------------------------------------------------------------------------- */
struct held {
    pid_t pid;
    int to, from, errfd;
    bool ready;
    char err[4096];
    char path[256]; /* its segment's name in `dir` */
};

static bool held_start(struct held *h, const char *mode, const char *const *env, const char *dir,
                       bool keep_fork_segment)
{
    memset(h, 0, sizeof *h);
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC)) tap_bail("pipe2: %s", strerror(errno));
    char tmpl[] = "/tmp/hakmem-stats-err.XXXXXX";
    h->errfd = mkstemp(tmpl);
    if (h->errfd >= 0) unlink(tmpl);
    st_spawn_t sp = {.mode = mode,
                     .env = env,
                     .in_fd = in[0],
                     .out_fd = out[1],
                     .err_fd = h->errfd,
                     .keep_fork_segment = keep_fork_segment};
    h->pid = st_spawn(&sp);
    close(in[0]);
    close(out[1]);
    h->to = in[1];
    h->from = out[0];
    char buf[16];
    size_t got = 0;
    struct pollfd pfd = {.fd = h->from, .events = POLLIN};
    while (got < 6 && poll(&pfd, 1, 20000) > 0) {
        ssize_t n = read(h->from, buf + got, sizeof buf - 1 - got);
        if (n <= 0) break;
        got += (size_t)n;
    }
    buf[got] = '\0';
    h->ready = strcmp(buf, "ready\n") == 0;
    st_path_of(h->path, sizeof h->path, dir, h->pid);
    return h->ready;
}

/* Let the helper exit; returns its wait status (-1: it hung and was killed). */
static int held_finish(struct held *h)
{
    close(h->to);
    int status = st_wait(h->pid, 20);
    close(h->from);
    ssize_t n = h->errfd >= 0 ? pread(h->errfd, h->err, sizeof h->err - 1, 0) : -1;
    h->err[n > 0 ? n : 0] = '\0';
    if (h->errfd >= 0) close(h->errfd);
    return status;
}

static bool is_regular_0600_ours(const char *path, struct stat *st)
{
    return lstat(path, st) == 0 && S_ISREG(st->st_mode) && (st->st_mode & 07777) == 0600 &&
           st->st_uid == geteuid() && st->st_nlink == 1;
}

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* ---------------------------------------------------------------------------------------
 * Checks
 * ------------------------------------------------------------------------------------- */
static const struct {
    const char *name, *unit;
} descs[] = {
#define DESC(n, u, d) {#n, u},
    HK_STAT_COUNTERS(DESC)
#undef DESC
};

#define N_OWN_CHECKS 16

static void check_own(void)
{
    free(tu_launder(malloc(10)));
    char path[256];
    uint64_t start = st_start_time(getpid());
    st_path(path, sizeof path, NULL, getpid(), start);
    struct stat st;
    char ud[256];
    st_user_dir(ud, sizeof ud, NULL);
    tap_ok(lstat(ud, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0700 &&
               st.st_uid == geteuid(),
           "our directory %s is a directory of ours, mode 0700", ud);
    int lr = lstat(path, &st);
    tap_ok(lr == 0, "our segment exists at %s", path);
    tap_ok(lr == 0 && S_ISREG(st.st_mode), "it is a regular file (not a link)");
    TAP_EQ_U64(lr == 0 ? st.st_mode & 07777 : 0, 0600, "its mode is 0600");
    TAP_EQ_U64(lr == 0 ? st.st_uid : (uint64_t)-1, geteuid(), "its owner is our effective uid");
    TAP_EQ_U64(lr == 0 ? st.st_nlink : 0, 1, "it has one link");
    st_seg_t s;
    bool mapped = st_map(&s, path, false);
    if (!tap_ok(mapped, "its header validates (magic, ABI, sizes, offsets within the file)")) {
        tap_diag("  %s", s.why);
        for (int i = 8; i <= N_OWN_CHECKS; i++)
            tap_ok(0, "no header to check");
        return;
    }
    hk_stats_header_t *hd = s.hd;
    TAP_EQ_I64(hd->pid, getpid(), "header pid is ours");
    TAP_EQ_U64(hd->start_time, start, "header start_time is field 22 of /proc/self/stat");
    char comm[64] = "";
    int fd = open("/proc/self/comm", O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, comm, sizeof comm - 1) : -1;
    if (fd >= 0) close(fd);
    comm[n > 0 ? n : 0] = '\0';
    if (n > 0 && comm[n - 1] == '\n') comm[n - 1] = '\0';
    tap_ok(strncmp(hd->comm, comm, sizeof hd->comm) == 0 && hd->comm[HK_STATS_COMM_LEN - 1] == 0,
           "header comm '%.64s' is /proc/self/comm", hd->comm);
    TAP_EQ_U64(hd->nslots, 128, "128 slots by default");
    TAP_EQ_U64(hd->abi_minor, HK_STATS_ABI_MINOR, "ABI minor is the installed header's");

    const hk_stat_desc_t *dd = (const hk_stat_desc_t *)((const char *)hd + hd->desc_offset);
    int bad = -1;
    for (int i = 0; i < HK_STAT_NCOUNTERS && bad < 0; i++)
        if (strncmp(dd[i].name, descs[i].name, HK_STATS_NAME_LEN) ||
            dd[i].name[HK_STATS_NAME_LEN - 1] ||
            strncmp(dd[i].unit, descs[i].unit, HK_STATS_NAME_LEN) ||
            dd[i].unit[HK_STATS_NAME_LEN - 1] || dd[i].doc[0] == '\0' ||
            dd[i].doc[HK_STATS_DOC_LEN - 1])
            bad = i;
    if (!tap_ok(bad < 0, "descriptors: names and units of HK_STAT_COUNTERS, NUL-terminated docs"))
        tap_diag("  descriptor %d: '%.16s' '%.16s'", bad, dd[bad].name, dd[bad].unit);

    bool classes_ok = hd->class_size[0] == 16 && hd->class_size[HK_STATS_NCLASSES - 1] == 131072;
    for (int c = 1; c < HK_STATS_NCLASSES; c++)
        if (hd->class_size[c] <= hd->class_size[c - 1] || hd->class_size[c] % 16)
            classes_ok = false;
    tap_ok(classes_ok, "class sizes rise from 16 to 131072 in multiples of 16");

    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    uint64_t now_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
    tap_ok(hd->start_ns <= now_ns && now_ns - hd->start_ns < 3600ull * 1000000000u,
           "header start_ns is the recent past");
    hk_stat_slot_t sl;
    int idx = st_find_tid(&s, (uint64_t)getpid(), &sl);
    tap_ok(idx >= 0 && sl.start_ns >= hd->start_ns && sl.start_ns <= now_ns,
           "the main thread's slot is live, tid == pid, started after the process");
    st_unmap(&s);
}

#define N_DIR_CHECKS 9

static void check_dir(const char *dir)
{
    char env_dir[300];
    snprintf(env_dir, sizeof env_dir, "HAKMEM_STATS_DIR=%s", dir);
    const char *const env[] = {env_dir, NULL};
    struct held h;
    tap_ok(held_start(&h, "hold", env, dir, false), "helper with HAKMEM_STATS_DIR started");
    struct stat st;
    tap_ok(is_regular_0600_ours(h.path, &st), "its segment is in that directory: %s", h.path);
    char def[256];
    st_path_of(def, sizeof def, "/dev/shm", h.pid);
    tap_ok(!exists(def), "and not in /dev/shm");
    TAP_EQ_I64(st_count_segments(dir), 1, "the directory holds that one segment");
    st_seg_t s;
    bool mapped = st_map(&s, h.path, false);
    tap_ok(mapped && s.hd->pid == h.pid && s.hd->start_time == st_start_time(h.pid),
           "its header names the helper (pid %d)", (int)h.pid);
    if (mapped) st_unmap(&s);
    int status = held_finish(&h);
    TAP_EQ_I64(status, 0, "helper exited normally");
    tap_ok(!exists(h.path), "its segment was removed at exit");
    TAP_EQ_I64(st_count_segments(dir), 0, "the directory holds no segment again");
    TAP_EQ_I64(strlen(h.err), 0, "helper wrote nothing to stderr");
}

#define N_OFF_CHECKS 4

static void check_off(const char *dir)
{
    char env_dir[300];
    snprintf(env_dir, sizeof env_dir, "HAKMEM_STATS_DIR=%s", dir);
    const char *const env[] = {env_dir, "HAKMEM_STATS=0", NULL};
    struct held h;
    tap_ok(held_start(&h, "hold", env, dir, false), "helper with HAKMEM_STATS=0 started");
    TAP_EQ_I64(st_count_segments(dir) > 0, 0, "HAKMEM_STATS=0: no file in its directory");
    char def[256];
    st_path_of(def, sizeof def, "/dev/shm", h.pid);
    tap_ok(!exists(def), "HAKMEM_STATS=0: no file in /dev/shm either");
    TAP_EQ_I64(held_finish(&h), 0, "HAKMEM_STATS=0: helper exited normally");
}

#define N_SLOTS_CHECKS 8

/* The slot count a helper run with `value` gets, and its stderr. */
static uint32_t slots_with(const char *dir, const char *value, char *err, size_t cap, int *status)
{
    char env_dir[300], env_slots[64];
    snprintf(env_dir, sizeof env_dir, "HAKMEM_STATS_DIR=%s", dir);
    snprintf(env_slots, sizeof env_slots, "HAKMEM_STATS_SLOTS=%s", value);
    const char *const env[] = {env_dir, env_slots, NULL};
    struct held h;
    uint32_t n = 0;
    if (held_start(&h, "hold", env, dir, false)) {
        st_seg_t s;
        if (st_map(&s, h.path, false)) {
            n = s.hd->nslots;
            struct stat st;
            if (stat(h.path, &st) != 0 || (uint64_t)st.st_size != s.hd->file_size) n = 0;
            st_unmap(&s);
        }
    }
    *status = held_finish(&h);
    snprintf(err, cap, "%s", h.err);
    return n;
}

static void check_slots(const char *dir)
{
    char err[4096];
    int status;
    TAP_EQ_U64(slots_with(dir, "7", err, sizeof err, &status), 7, "HAKMEM_STATS_SLOTS=7: 7 slots");
    TAP_EQ_I64(status, 0, "HAKMEM_STATS_SLOTS=7: exit 0");
    TAP_EQ_U64(slots_with(dir, "1", err, sizeof err, &status), 1, "HAKMEM_STATS_SLOTS=1: 1 slot");
    TAP_EQ_U64(slots_with(dir, "4096", err, sizeof err, &status), 4096,
               "HAKMEM_STATS_SLOTS=4096: 4096 slots");
    TAP_EQ_U64(slots_with(dir, "0", err, sizeof err, &status), 128,
               "HAKMEM_STATS_SLOTS=0 is out of range: default 128");
    tap_ok(strstr(err, "HAKMEM_STATS_SLOTS=0") != NULL, "and is reported on stderr");
    TAP_EQ_U64(slots_with(dir, "4097", err, sizeof err, &status), 128,
               "HAKMEM_STATS_SLOTS=4097 is out of range: default 128");
    TAP_EQ_U64(slots_with(dir, "12abc", err, sizeof err, &status), 128,
               "HAKMEM_STATS_SLOTS=12abc is ignored: default 128");
}

#define N_EXEC_CHECKS 4

/* A fork child has a segment of its own; when it execs a program that uses hakmem, the
 * new image finds that file at its own name and replaces it with its own. */
static void check_exec(void)
{
    char env_dir[300];
    snprintf(env_dir, sizeof env_dir, "HAKMEM_STATS_DIR=%s", st_dir());
    const char *const env[] = {env_dir, "HAKMEM_STATS_SLOTS=5", NULL};
    struct held h;
    tap_ok(held_start(&h, "hold", env, st_dir(), true), "helper exec'd from a fork child started");
    st_seg_t s;
    bool mapped = st_map(&s, h.path, false);
    tap_ok(mapped && s.hd->nslots == 5 && s.hd->pid == h.pid,
           "the fork child's leftover segment was replaced by the new image's (5 slots)");
    if (mapped) st_unmap(&s);
    TAP_EQ_I64(held_finish(&h), 0, "helper exited normally");
    tap_ok(!exists(h.path), "and removed its segment");
}

#define N_STALE_CHECKS 12

static void check_stale(const char *dir)
{
    char env_dir[300];
    snprintf(env_dir, sizeof env_dir, "HAKMEM_STATS_DIR=%s", dir);
    const char *const env[] = {env_dir, NULL};
    struct held h;
    held_start(&h, "hold-_exit", env, dir, false);
    TAP_EQ_I64(held_finish(&h), 0, "a helper that leaves through _exit exits 0");
    char dead[256];
    snprintf(dead, sizeof dead, "%s", h.path);
    tap_ok(exists(dead), "_exit leaves its segment behind");

    /* Names that must survive and names that must go. Another user's files are in that
     * user's directory, which the sweep never looks at. */
    char live[300], reused[300], other_dir[300], other_user[400], odd1[300], odd2[300];
    uint64_t start = st_start_time(getpid());
    st_path(live, sizeof live, dir, getpid(), start);
    st_path(reused, sizeof reused, dir, getpid(), start + 12345);
    snprintf(other_dir, sizeof other_dir, "%s/hakmem-%u", dir, (unsigned)geteuid() + 1);
    snprintf(other_user, sizeof other_user, "%s/%d.1", other_dir, (int)h.pid);
    st_user_dir(odd1, sizeof odd1, dir);
    strcat(odd1, "/12345");
    st_user_dir(odd2, sizeof odd2, dir);
    strcat(odd2, "/notes.txt");
    mkdir(other_dir, 0700);
    const char *planted[] = {live, reused, other_user, odd1, odd2};
    for (size_t i = 0; i < 5; i++) {
        int fd = open(planted[i], O_WRONLY | O_CREAT | O_EXCL, 0600);
        if (fd < 0) tap_bail("cannot create %s: %s", planted[i], strerror(errno));
        close(fd);
    }
    /* The helpers above swept when they began using this directory; within the minute
     * nobody sweeps again. */
    struct held h2;
    tap_ok(held_start(&h2, "hold", env, dir, false), "a helper started within the minute");
    tap_ok(exists(dead) && exists(reused), "did not sweep again (the sweep is not at every start)");
    TAP_EQ_I64(held_finish(&h2), 0, "and exited normally");
    st_age_stamp(dir, 120);
    tap_ok(held_start(&h2, "hold", env, dir, false), "the next helper, a sweep being due, started");
    tap_ok(!exists(dead), "it removed the dead process's segment");
    tap_ok(!exists(reused), "and a file whose pid is alive but whose start time is not its");
    tap_ok(exists(live), "but kept a file naming a live process (this one)");
    tap_ok(exists(other_user), "and another user's file, in that user's directory");
    tap_ok(exists(odd1) && exists(odd2), "and names that are not segments' names");
    TAP_EQ_I64(held_finish(&h2), 0, "the next helper exited normally");
    for (size_t i = 0; i < 5; i++)
        unlink(planted[i]);
    rmdir(other_dir);
}

int main(int argc, char **argv)
{
    if (argc > 1) return helper(argv[1]);
    st_reexec_clean(argv, NULL);
    tap_plan(N_OWN_CHECKS + N_DIR_CHECKS + N_OFF_CHECKS + N_SLOTS_CHECKS + N_EXEC_CHECKS +
             N_STALE_CHECKS);
    char dir[128];
    if (!st_mkdtemp(dir, sizeof dir)) tap_bail("mkdtemp in /dev/shm: %s", strerror(errno));
    check_own();
    check_dir(dir);
    check_off(dir);
    check_slots(dir);
    check_exec();
    check_stale(dir);
    st_rmtree(dir);
    return tap_done();
}
