/* unwind.c: the return addresses on the calling thread's stack, for sampled allocation
 * sites. Most code is built without frame pointers, so frames are walked with the DWARF
 * call frame information every object carries for exceptions (.eh_frame, indexed by
 * .eh_frame_hdr), and with the frame-pointer chain only where a pc has no such
 * information (JIT code, hand-written assembly).
 *
 * It runs inside malloc, so it allocates nothing, takes no lock of its own and never
 * faults: objects are found with _dl_find_object, which takes no lock (glibc 2.35 on;
 * dl_iterate_phdr elsewhere, and for the check that none came or went), every read of a
 * stack slot is checked against the bounds of the mapping that holds the stack (below
 * the thread pointer, checked on every walk, or the mapping /proc/self/maps names, read
 * once per thread), every read of unwind tables stays within the object's
 * PT_GNU_EH_FRAME segment and its mapped text, and a frame the interpreter does not
 * understand (a DWARF expression, an unknown opcode) ends the walk. x86-64 only; elsewhere
 * hk_unwind returns what the caller gave it. */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "internal.h"

#if defined(__x86_64__)

/* DWARF register numbers on x86-64 (System V psABI). */
enum { R_RBP = 6, R_RSP = 7, R_RA = 16, NREGS = 17 };

/* ---------------------------------------------------------------------------------------
 * The stack's bounds, so that no read of a saved slot can fault
 * ------------------------------------------------------------------------------------- */
static __thread uintptr_t stack_lo, stack_hi __attribute__((tls_model("initial-exec")));

static uintptr_t parse_hex(const char **s)
{
    uintptr_t v = 0;
    for (;; (*s)++) {
        char c = **s;
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0) return v;
        v = v * 16 + (uintptr_t)d;
    }
}

/* Walks read /proc/self/maps (maps_reads counts them, for tests/unit/unwind.c) only
 * when a thread's stack is not found below its thread pointer. */
uint64_t hk_unwind_maps_reads;

/* A thread that glibc or musl started has its descriptor, the thread pointer, at the top
 * of its stack's mapping, above every frame: from sp's page up to it is the stack. That
 * holds when every page of it can be read, which process_vm_readv on ourselves checks
 * (one byte of each page, PROBE_PAGES pages per system call, and it stops at the first
 * page that cannot be read); the maps file costs a short-lived thread more than its
 * work. The check is made on every walk, so that a stack of the program's own making (a
 * coroutine's) below the thread pointer is read only while all of that range is there.
 * The main thread's descriptor lies below its stack: it reads the maps. */
#define PROBE_PAGES  128
#define STACK_TP_MAX ((uintptr_t)16 << 20) /* farther than this: read the maps */

/* process_vm_readv on ourselves: a read of memory that may not be mapped, which fails
 * instead of faulting. Bytes read, or -1; errno is left as it was. */
static ssize_t read_self(const struct iovec *into, unsigned long n_into, const struct iovec *from,
                         unsigned long n_from)
{
    int saved_errno = errno;
    ssize_t n = process_vm_readv(getpid(), into, n_into, from, n_from, 0);
    errno = saved_errno;
    return n;
}

static bool stack_below_tp(uintptr_t sp, uintptr_t *lo_out, uintptr_t *hi_out)
{
    uintptr_t lo = sp & ~(uintptr_t)(HK_OS_PAGE - 1), tp = (uintptr_t)pthread_self();
    if (tp <= sp || tp - lo > STACK_TP_MAX) return false;
    char got[PROBE_PAGES];
    struct iovec into = {got, sizeof got}, from[PROBE_PAGES];
    bool readable = true;
    for (uintptr_t a = lo; a < tp && readable;) {
        int n = 0;
        for (; n < PROBE_PAGES && a < tp; n++, a += HK_OS_PAGE)
            from[n] = (struct iovec){(void *)a, 1};
        into.iov_len = (size_t)n;
        readable = read_self(&into, 1, from, (unsigned long)n) == n;
    }
    *lo_out = lo;
    *hi_out = tp;
    return readable;
}

/* The mapping of /proc/self/maps that holds `sp`, read in pieces into a stack buffer. */
static bool find_stack(uintptr_t sp)
{
    __atomic_fetch_add(&hk_unwind_maps_reads, 1, __ATOMIC_RELAXED);
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    char buf[4096];
    size_t have = 0;
    bool found = false;
    for (;;) {
        ssize_t n = read(fd, buf + have, sizeof(buf) - 1 - have);
        if (n <= 0) break;
        have += (size_t)n;
        buf[have] = '\0';
        char *line = buf, *nl;
        while ((nl = strchr(line, '\n')) != NULL) {
            const char *p = line;
            uintptr_t lo = parse_hex(&p);
            uintptr_t hi = *p == '-' ? (p++, parse_hex(&p)) : 0;
            if (sp >= lo && sp < hi) {
                stack_lo = lo;
                stack_hi = hi;
                found = true;
                goto done;
            }
            line = nl + 1;
        }
        have = (size_t)(buf + have - line);
        memmove(buf, line, have);
        if (have == sizeof(buf) - 1) have = 0; /* a line longer than the buffer */
    }
done:
    close(fd);
    return found;
}

static bool on_stack(uintptr_t a)
{
    return a >= stack_lo && a + 8 <= stack_hi && (a & 7) == 0;
}

/* The bounds of the stack that holds sp, for one walk: below the thread pointer, or the
 * mapping found in the maps file (kept for the thread's later walks). */
static bool stack_bounds(uintptr_t sp, uintptr_t *lo, uintptr_t *hi)
{
    if (stack_below_tp(sp, lo, hi)) return true;
    if (!on_stack(sp) && !find_stack(sp)) return false;
    *lo = stack_lo;
    *hi = stack_hi;
    return true;
}

static uintptr_t stack_word(uintptr_t a)
{
    return *(const uintptr_t *)a;
}

/* ---------------------------------------------------------------------------------------
 * Reading unwind tables: a cursor that never passes its end
 * ------------------------------------------------------------------------------------- */
typedef struct cursor_s {
    const uint8_t *p, *end;
    bool bad;
} cursor_t;

static uint64_t rd_bytes(cursor_t *c, size_t n)
{
    if (c->bad || (size_t)(c->end - c->p) < n) {
        c->bad = true;
        return 0;
    }
    uint64_t v = 0;
    memcpy(&v, c->p, n); /* little-endian */
    c->p += n;
    return v;
}

static uint64_t rd_uleb(cursor_t *c)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        uint8_t b = (uint8_t)rd_bytes(c, 1);
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return v;
    }
    c->bad = true;
    return 0;
}

static int64_t rd_sleb(cursor_t *c)
{
    int64_t v = 0;
    unsigned shift = 0;
    uint8_t b;
    do {
        b = (uint8_t)rd_bytes(c, 1);
        v |= (int64_t)((uint64_t)(b & 0x7f) << shift);
        shift += 7;
    } while ((b & 0x80) && shift < 64);
    if (shift < 64 && (b & 0x40)) v |= -((int64_t)1 << shift);
    return v;
}

/* A pointer in DW_EH_PE encoding `enc`; `datarel` is the base of datarel values. */
static uintptr_t rd_encoded(cursor_t *c, uint8_t enc, uintptr_t datarel)
{
    if (enc == 0xff) return 0; /* DW_EH_PE_omit */
    uintptr_t at = (uintptr_t)c->p, v;
    switch (enc & 0x0f) {
    case 0x00:
        v = (uintptr_t)rd_bytes(c, 8);
        break; /* absptr */
    case 0x01:
        v = (uintptr_t)rd_uleb(c);
        break; /* uleb128 */
    case 0x02:
        v = (uintptr_t)(uint16_t)rd_bytes(c, 2);
        break; /* udata2 */
    case 0x03:
        v = (uintptr_t)(uint32_t)rd_bytes(c, 4);
        break; /* udata4 */
    case 0x04:
        v = (uintptr_t)rd_bytes(c, 8);
        break; /* udata8 */
    case 0x09:
        v = (uintptr_t)rd_sleb(c);
        break; /* sleb128 */
    case 0x0a:
        v = (uintptr_t)(int16_t)rd_bytes(c, 2);
        break; /* sdata2 */
    case 0x0b:
        v = (uintptr_t)(int32_t)rd_bytes(c, 4);
        break; /* sdata4 */
    case 0x0c:
        v = (uintptr_t)rd_bytes(c, 8);
        break; /* sdata8 */
    default:
        c->bad = true;
        return 0;
    }
    switch (enc & 0x70) {
    case 0x00:
        break; /* absolute */
    case 0x10:
        v += at;
        break; /* pcrel */
    case 0x30:
        v += datarel;
        break; /* datarel */
    default:
        c->bad = true;
    }
    if (enc & 0x80) c->bad = true; /* indirect: not used for what we read */
    return v;
}

/* ---------------------------------------------------------------------------------------
 * Finding a pc's FDE
 * ------------------------------------------------------------------------------------- */
typedef struct object_s {
    uintptr_t pc;                 /* looked up */
    const uint8_t *hdr, *hdr_end; /* .eh_frame_hdr */
    uintptr_t text_lo, text_hi;   /* the PT_LOAD segment holding pc */
    uintptr_t eh_lo, eh_hi;       /* the readable PT_LOAD segment holding .eh_frame */
} object_t;

static int object_from_phdrs(struct dl_phdr_info *info, size_t size, void *arg)
{
    object_t *o = arg;
    (void)size;
    const ElfW(Phdr) *eh = NULL, *text = NULL;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && o->pc >= lo && o->pc < lo + ph->p_memsz) text = ph;
        if (ph->p_type == PT_GNU_EH_FRAME) eh = ph;
    }
    if (text == NULL) return 0;
    o->text_lo = info->dlpi_addr + text->p_vaddr;
    o->text_hi = o->text_lo + text->p_memsz;
    if (eh == NULL) return 1; /* found, but without unwind tables */
    o->hdr = (const uint8_t *)(info->dlpi_addr + eh->p_vaddr);
    o->hdr_end = o->hdr + eh->p_memsz;
    /* .eh_frame itself sits in some readable PT_LOAD segment: all of them bound reads. */
    o->eh_lo = UINTPTR_MAX;
    o->eh_hi = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_R)) continue;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        if (lo < o->eh_lo) o->eh_lo = lo;
        if (lo + ph->p_memsz > o->eh_hi) o->eh_hi = lo + ph->p_memsz;
    }
    return 1;
}

/* A fork child may have inherited the loader's lock held (by a thread of its parent, or by
 * the forking thread itself, interrupted inside dl_iterate_phdr): it never calls
 * dl_iterate_phdr. */
static bool loader_lock_unsafe;

void hk_unwind_fork_child(void)
{
    loader_lock_unsafe = true;
}

/* The object holding o->pc, from the loader's list (which takes its lock). */
static bool lookup_locked(object_t *o)
{
    return !loader_lock_unsafe && dl_iterate_phdr(object_from_phdrs, o) != 0;
}

#if HAVE__DL_FIND_OBJECT
/* The object holding o->pc without the loader's lock (glibc 2.35 on): _dl_find_object
 * names its mapping, load bias and .eh_frame_hdr, and the program headers are copied
 * from the ELF header at the mapping's start, where the first PT_LOAD of every object a
 * linker makes puts it. Headers that are not there, or name another .eh_frame_hdr or a
 * text outside the mapping, send the lookup to the loader's list. */
#define MAX_PHDRS 32 /* linkers emit about a dozen */
static bool lookup_object(object_t *o)
{
    struct dl_find_object fo;
    ElfW(Ehdr) eh;
    ElfW(Phdr) ph[MAX_PHDRS];
    if (_dl_find_object((void *)o->pc, &fo) != 0 || fo.dlfo_link_map == NULL) return false;
    uintptr_t start = (uintptr_t)fo.dlfo_map_start, end = (uintptr_t)fo.dlfo_map_end;
    struct iovec into = {&eh, sizeof eh}, from = {(void *)start, sizeof eh};
    if (read_self(&into, 1, &from, 1) != (ssize_t)sizeof eh ||
        memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_phentsize != sizeof ph[0] ||
        eh.e_phnum > MAX_PHDRS || eh.e_phoff > end - start ||
        eh.e_phnum * sizeof ph[0] > end - start - eh.e_phoff)
        return lookup_locked(o);
    into = (struct iovec){ph, eh.e_phnum * sizeof ph[0]};
    from = (struct iovec){(void *)(start + eh.e_phoff), into.iov_len};
    struct dl_phdr_info info = {
        .dlpi_addr = fo.dlfo_link_map->l_addr, .dlpi_phdr = ph, .dlpi_phnum = eh.e_phnum};
    if (read_self(&into, 1, &from, 1) != (ssize_t)into.iov_len ||
        !object_from_phdrs(&info, sizeof info, o) || o->text_lo < start || o->text_hi > end ||
        o->hdr != fo.dlfo_eh_frame) {
        *o = (object_t){.pc = o->pc};
        return lookup_locked(o);
    }
    return true;
}
#else
static bool lookup_object(object_t *o)
{
    return lookup_locked(o);
}
#endif

/* The FDE covering pc, through the sorted table of .eh_frame_hdr; NULL if none. */
static const uint8_t *find_fde(const object_t *o, uintptr_t pc)
{
    cursor_t c = {o->hdr, o->hdr_end, false};
    uintptr_t base = (uintptr_t)o->hdr;
    uint8_t version = (uint8_t)rd_bytes(&c, 1), ptr_enc = (uint8_t)rd_bytes(&c, 1);
    uint8_t count_enc = (uint8_t)rd_bytes(&c, 1), table_enc = (uint8_t)rd_bytes(&c, 1);
    rd_encoded(&c, ptr_enc, base);
    uintptr_t count = rd_encoded(&c, count_enc, base);
    if (c.bad || version != 1 || table_enc != 0x3b) return NULL; /* datarel sdata4 pairs */
    const uint8_t *table = c.p;
    if (count > (uintptr_t)(o->hdr_end - table) / 8) return NULL;
    size_t lo = 0, hi = count;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        int32_t start;
        memcpy(&start, table + mid * 8, 4);
        if (base + (uintptr_t)(intptr_t)start <= pc)
            lo = mid;
        else
            hi = mid;
    }
    if (count == 0) return NULL;
    int32_t start, fde;
    memcpy(&start, table + lo * 8, 4);
    memcpy(&fde, table + lo * 8 + 4, 4);
    if (base + (uintptr_t)(intptr_t)start > pc) return NULL;
    return (const uint8_t *)(base + (uintptr_t)(intptr_t)fde);
}

/* ---------------------------------------------------------------------------------------
 * The CFA program: only what is needed to find the CFA, the return address and rbp
 * ------------------------------------------------------------------------------------- */
enum { RULE_SAME = 0, RULE_UNDEF, RULE_OFFSET, RULE_REG };

typedef struct frame_rules_s {
    uint8_t cfa_reg;
    int64_t cfa_off;
    struct {
        uint8_t how;
        int64_t arg;
    } reg[NREGS];
} frame_rules_t;

typedef struct cie_s {
    uint64_t code_align;
    int64_t data_align;
    uint8_t ra_reg, fde_enc;
    bool has_aug;
    cursor_t init; /* initial instructions */
} cie_t;

static bool parse_cie(const uint8_t *p, const object_t *o, cie_t *cie)
{
    cursor_t c = {p, (const uint8_t *)o->eh_hi, false};
    uint32_t len = (uint32_t)rd_bytes(&c, 4);
    if (len == 0 || len == 0xffffffffu || (size_t)(c.end - c.p) < len) return false;
    c.end = c.p + len;
    if (rd_bytes(&c, 4) != 0) return false; /* CIE id */
    uint8_t version = (uint8_t)rd_bytes(&c, 1);
    const char *aug = (const char *)c.p;
    size_t alen = strnlen(aug, (size_t)(c.end - c.p));
    c.p += alen + 1;
    cie->code_align = rd_uleb(&c);
    cie->data_align = rd_sleb(&c);
    cie->ra_reg = version == 1 ? (uint8_t)rd_bytes(&c, 1) : (uint8_t)rd_uleb(&c);
    cie->fde_enc = 0;
    cie->has_aug = aug[0] == 'z';
    if (cie->has_aug) {
        uint64_t adlen = rd_uleb(&c);
        const uint8_t *after = c.p + adlen;
        for (size_t i = 1; i < alen; i++) {
            if (aug[i] == 'R')
                cie->fde_enc = (uint8_t)rd_bytes(&c, 1);
            else if (aug[i] == 'P')
                rd_encoded(&c, (uint8_t)rd_bytes(&c, 1) & 0x7f, 0); /* personality */
            else if (aug[i] == 'L')
                rd_bytes(&c, 1);
            else if (aug[i] != 'S')
                return false;
        }
        if (after > c.end) return false;
        c.p = after;
    }
    cie->init = c;
    return !c.bad && cie->ra_reg == R_RA;
}

/* A register's rule, for the registers this unwinder tracks (the others are read past). */
static void set_rule(frame_rules_t *r, uint64_t reg, uint8_t how, int64_t arg)
{
    if (reg < NREGS) r->reg[reg].how = how, r->reg[reg].arg = arg;
}

static void restore_rule(frame_rules_t *r, uint64_t reg, const frame_rules_t *initial)
{
    if (reg < NREGS && initial) r->reg[reg] = initial->reg[reg];
}

/* Whether op is an advance_loc instruction, and by how many code units. */
static bool advance_of(cursor_t *c, uint8_t op, uint64_t *delta)
{
    if (op >> 6 == 1)
        *delta = op & 0x3f;
    else if (op >= 0x02 && op <= 0x04) /* advance_loc1, 2 and 4 */
        *delta = rd_bytes(c, op == 0x02 ? 1 : op == 0x03 ? 2 : 4);
    else
        return false;
    return true;
}

/* The states remember_state saves for restore_state, at most RULE_STACK_DEPTH deep: a
 * program that nests deeper gives up on its frame. */
#define RULE_STACK_DEPTH 4
typedef struct rule_stack_s {
    frame_rules_t saved[RULE_STACK_DEPTH];
    int n;
} rule_stack_t;

/* One instruction other than an advance. False on one this unwinder does not run
 * (expressions and the rest): the frame is given up. */
static bool cfa_op(cursor_t *c, const cie_t *cie, uint8_t op, frame_rules_t *r,
                   const frame_rules_t *initial, rule_stack_t *st)
{
    uint64_t reg;
    if (op >> 6 == 2) {
        set_rule(r, op & 0x3f, RULE_OFFSET, (int64_t)rd_uleb(c) * cie->data_align); /* offset */
        return true;
    }
    if (op >> 6 == 3) {
        restore_rule(r, op & 0x3f, initial); /* restore */
        return true;
    }
    switch (op) {
    case 0x00: /* nop */
        return true;
    case 0x05: /* offset_extended */
        reg = rd_uleb(c);
        set_rule(r, reg, RULE_OFFSET, (int64_t)rd_uleb(c) * cie->data_align);
        return true;
    case 0x06: /* restore_extended */
        restore_rule(r, rd_uleb(c), initial);
        return true;
    case 0x07: /* undefined */
        set_rule(r, rd_uleb(c), RULE_UNDEF, 0);
        return true;
    case 0x08: /* same_value */
        set_rule(r, rd_uleb(c), RULE_SAME, 0);
        return true;
    case 0x09: /* register */
        reg = rd_uleb(c);
        set_rule(r, reg, RULE_REG, (int64_t)rd_uleb(c));
        return true;
    case 0x0a: /* remember_state */
        if (st->n == RULE_STACK_DEPTH) return false;
        st->saved[st->n++] = *r;
        return true;
    case 0x0b: /* restore_state: the CFA rule too, as GCC's own unwinder has it */
        if (st->n == 0) return false;
        *r = st->saved[--st->n];
        return true;
    case 0x0c: /* def_cfa */
        r->cfa_reg = (uint8_t)rd_uleb(c), r->cfa_off = (int64_t)rd_uleb(c);
        return true;
    case 0x0d: /* def_cfa_register */
        r->cfa_reg = (uint8_t)rd_uleb(c);
        return true;
    case 0x0e: /* def_cfa_offset */
        r->cfa_off = (int64_t)rd_uleb(c);
        return true;
    case 0x11: /* offset_extended_sf */
        reg = rd_uleb(c);
        set_rule(r, reg, RULE_OFFSET, rd_sleb(c) * cie->data_align);
        return true;
    case 0x12: /* def_cfa_sf */
        r->cfa_reg = (uint8_t)rd_uleb(c), r->cfa_off = rd_sleb(c) * cie->data_align;
        return true;
    case 0x13: /* def_cfa_offset_sf */
        r->cfa_off = rd_sleb(c) * cie->data_align;
        return true;
    case 0x2e: /* GNU_args_size */
        rd_uleb(c);
        return true;
    default:
        return false;
    }
}

/* Run CFA instructions until the row for `pc` (loc starts at `loc`). */
static bool run_cfa(cursor_t c, const cie_t *cie, uintptr_t loc, uintptr_t pc, frame_rules_t *r,
                    const frame_rules_t *initial)
{
    rule_stack_t st = {.n = 0};
    while (c.p < c.end && !c.bad) {
        uint8_t op = (uint8_t)rd_bytes(&c, 1);
        uint64_t delta;
        if (!advance_of(&c, op, &delta)) {
            if (!cfa_op(&c, cie, op, r, initial, &st)) return false;
            continue;
        }
        loc += delta * cie->code_align;
        if (loc > pc) return true;
    }
    return !c.bad;
}

/* The rules in force at pc, from its FDE. */
static bool frame_rules(const object_t *o, const uint8_t *fde, uintptr_t pc, frame_rules_t *r)
{
    cursor_t c = {fde, (const uint8_t *)o->eh_hi, false};
    if ((uintptr_t)fde < o->eh_lo) return false;
    uint32_t len = (uint32_t)rd_bytes(&c, 4);
    if (len == 0 || len == 0xffffffffu || (size_t)(c.end - c.p) < len) return false;
    c.end = c.p + len;
    const uint8_t *id_at = c.p;
    uint32_t cie_off = (uint32_t)rd_bytes(&c, 4);
    const uint8_t *cie_at = id_at - cie_off;
    if (cie_off == 0 || (uintptr_t)cie_at < o->eh_lo) return false;
    cie_t cie;
    if (!parse_cie(cie_at, o, &cie)) return false;
    uintptr_t start = rd_encoded(&c, cie.fde_enc, 0);
    uintptr_t range = rd_encoded(&c, cie.fde_enc & 0x0f, 0);
    if (c.bad || pc < start || pc >= start + range) return false;
    if (cie.has_aug) c.p += rd_uleb(&c);
    if (c.p > c.end) return false;
    memset(r, 0, sizeof(*r));
    if (!run_cfa(cie.init, &cie, start, UINTPTR_MAX, r, NULL)) return false;
    frame_rules_t initial = *r;
    return run_cfa(c, &cie, start, pc, r, &initial);
}

/* ---------------------------------------------------------------------------------------
 * The walk
 * ------------------------------------------------------------------------------------- */
/* ---------------------------------------------------------------------------------------
 * The rule cache: what step() needs of a pc's rules, kept per heap (hk_unwind_cache_t),
 * so that a stack seen before is walked without an object lookup, the FDE search or the
 * CFA program: a hash probe and two stack reads a frame. An entry may outlive its object
 * (dlclose): every read it leads to is still bounded by the stack, so it can only name
 * wrong frames, and the cache is emptied when the loader's count of objects loaded and
 * unloaded has moved, which is checked every HK_UNWIND_RECHECK walks (never in a fork
 * child, whose entries may then outlive a dlclose for good).
 * ------------------------------------------------------------------------------------- */
enum { C_EMPTY = 0, C_CFA, C_FP, C_NONE };

static uint32_t cache_slot(uintptr_t pc)
{
    return (uint32_t)(((uint64_t)pc * 0x9e3779b97f4a7c15ull) >> (64 - HK_UNWIND_CACHE_BITS));
}

static int loader_count(struct dl_phdr_info *info, size_t size, void *arg)
{
    if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof(info->dlpi_subs))
        *(uint64_t *)arg = (uint64_t)info->dlpi_adds + ((uint64_t)info->dlpi_subs << 32);
    return 1; /* the first object says it all */
}

static void cache_check(hk_unwind_cache_t *c)
{
    if (c->walks++ % HK_UNWIND_RECHECK || loader_lock_unsafe) return;
    uint64_t count = 0;
    dl_iterate_phdr(loader_count, &count);
    if (count != c->loader) {
        memset(c->e, 0, sizeof(c->e));
        c->memo.valid = false;
    }
    c->loader = count;
}

/* The rules at pc (already moved back into the call for a return address): from the
 * cache, else from the unwind tables into it. */
static const hk_unwind_rule_t *rules_at(hk_unwind_cache_t *c, uintptr_t pc, hk_unwind_rule_t *out)
{
    hk_unwind_rule_t *e = c ? &c->e[cache_slot(pc)] : NULL;
    if (e && e->kind != C_EMPTY && e->pc == pc) return e;
    object_t o = {.pc = pc};
    const uint8_t *fde = NULL;
    bool found = lookup_object(&o);
    if (found && o.hdr) fde = find_fde(&o, o.pc);
    frame_rules_t r;
    *out = (hk_unwind_rule_t){.pc = pc, .kind = C_FP};
    if (fde && frame_rules(&o, fde, o.pc, &r)) {
        bool fits = r.cfa_off == (int32_t)r.cfa_off &&
                    r.reg[R_RA].arg == (int32_t)r.reg[R_RA].arg &&
                    r.reg[R_RBP].arg == (int32_t)r.reg[R_RBP].arg;
        if ((r.cfa_reg != R_RSP && r.cfa_reg != R_RBP) || r.reg[R_RA].how != RULE_OFFSET || !fits) {
            out->kind = C_NONE; /* the walk ends here */
        } else {
            out->kind = C_CFA;
            out->cfa_rbp = r.cfa_reg == R_RBP;
            out->cfa_off = (int32_t)r.cfa_off;
            out->ra_off = (int32_t)r.reg[R_RA].arg;
            out->bp_saved = r.reg[R_RBP].how == RULE_OFFSET;
            out->bp_off = (int32_t)r.reg[R_RBP].arg;
        }
    }
    if (e && (found || !loader_lock_unsafe)) *e = *out; /* else the loader was not asked */
    return out;
}

/* One step from (pc, sp, bp) to the caller's; false at the end of the stack. `first`:
 * pc is exact (not a return address, which points after its call). */
/* The stack's bounds, found once per walk (stack_bounds). */
typedef struct bounds_s {
    uintptr_t lo, hi;
} bounds_t;

static bool in_bounds(const bounds_t *b, uintptr_t a)
{
    return a >= b->lo && a + 8 <= b->hi && (a & 7) == 0;
}

/* A stack read, remembered for the memo when `m` is given; a walk with more reads than
 * fit is not remembered. */
static uintptr_t read_word(hk_unwind_cache_t *m, uintptr_t a)
{
    uintptr_t v = stack_word(a);
    if (m) {
        if (m->memo.nreads < HK_UNWIND_MEMO_READS) {
            m->memo.at[m->memo.nreads] = a;
            m->memo.val[m->memo.nreads] = v;
        }
        m->memo.nreads++;
    }
    return v;
}

static bool step(hk_unwind_cache_t *c, const bounds_t *sb, uintptr_t *pc, uintptr_t *sp,
                 uintptr_t *bp, bool first)
{
    hk_unwind_rule_t scratch;
    const hk_unwind_rule_t *r = rules_at(c, *pc - (first ? 0 : 1), &scratch);
    if (r->kind == C_NONE) return false;
    if (r->kind == C_CFA) {
        uintptr_t base = r->cfa_rbp ? *bp : *sp;
        if (base == 0) return false;
        uintptr_t cfa = base + (uintptr_t)(intptr_t)r->cfa_off;
        uintptr_t ra_at = cfa + (uintptr_t)(intptr_t)r->ra_off;
        if (!in_bounds(sb, ra_at)) return false;
        uintptr_t new_bp = *bp;
        if (r->bp_saved) {
            uintptr_t bp_at = cfa + (uintptr_t)(intptr_t)r->bp_off;
            if (!in_bounds(sb, bp_at)) return false;
            new_bp = read_word(c, bp_at);
        }
        *pc = read_word(c, ra_at);
        *sp = cfa;
        *bp = new_bp;
    } else {
        /* No unwind information: follow the frame-pointer chain if it looks like one. */
        if (!in_bounds(sb, *bp) || !in_bounds(sb, *bp + 8) || *bp < *sp) return false;
        *pc = read_word(c, *bp + 8);
        *sp = *bp + 16;
        *bp = read_word(c, *bp);
    }
    return *pc > 4096;
}

/* The memo: a walk depends only on where it starts and on the stack words it reads, so
 * a walk from the same registers whose words all still hold what they held gives the
 * same frames, at the cost of comparing them. The words are checked against this
 * thread's stack bounds first (a heap, and its memo, may pass to another thread). */
static bool memo_hit(const hk_unwind_cache_t *c, const hk_unwind_ctx_t *ctx, void *first_kept,
                     const bounds_t *sb)
{
    if (!c->memo.valid || c->memo.pc != ctx->pc || c->memo.sp != ctx->sp || c->memo.bp != ctx->bp ||
        c->memo.first_kept != (uintptr_t)first_kept)
        return false;
    for (uint32_t i = 0; i < c->memo.nreads; i++)
        if (!in_bounds(sb, c->memo.at[i]) || stack_word(c->memo.at[i]) != c->memo.val[i])
            return false;
    return true;
}

static void memo_keep(hk_unwind_cache_t *c, const hk_unwind_ctx_t *ctx, void *first_kept,
                      void *const *out, int kept)
{
    if (c->memo.nreads > HK_UNWIND_MEMO_READS || kept > HK_UNWIND_MEMO_PCS) return;
    c->memo.pc = ctx->pc;
    c->memo.sp = ctx->sp;
    c->memo.bp = ctx->bp;
    c->memo.first_kept = (uintptr_t)first_kept;
    c->memo.npcs = (uint32_t)kept;
    for (int i = 0; i < kept; i++)
        c->memo.pcs[i] = (uintptr_t)out[i];
    c->memo.valid = true;
}

/* Fill out[0..max) with return addresses from the caller of hk_unwind outwards, starting
 * at `first_kept` when that is one of them (an entry point passes its caller's address,
 * so that its own frames and libhakmem's are left out; when that frame is not found, as
 * after a tail call, the stack is that address alone); NULL keeps them all. Returns the
 * count. */
static int unwind(hk_unwind_cache_t *cache, const hk_unwind_ctx_t *ctx, void **out, int max,
                  void *first_kept)
{
    uintptr_t pc = ctx->pc, sp = ctx->sp, bp = ctx->bp, pcs[64];
    int n = 0, from = first_kept ? -1 : 0;
    if (cache) cache_check(cache);
    bounds_t sb;
    if (stack_bounds(sp, &sb.lo, &sb.hi)) {
        if (cache && memo_hit(cache, ctx, first_kept, &sb)) {
            int k = (int)cache->memo.npcs < max ? (int)cache->memo.npcs : max;
            for (int i = 0; i < k; i++)
                out[i] = (void *)cache->memo.pcs[i];
            return k;
        }
        if (cache) cache->memo.valid = false, cache->memo.nreads = 0;
        for (bool first = true; n < 64 && step(cache, &sb, &pc, &sp, &bp, first); first = false) {
            if (from < 0 && pc == (uintptr_t)first_kept) from = n;
            pcs[n++] = pc;
            if (from >= 0 && n - from >= max) break;
        }
    }
    if (from < 0) {
        if (max < 1) return 0;
        out[0] = first_kept;
        return 1;
    }
    int kept = 0;
    for (int i = from; i < n && kept < max; i++)
        out[kept++] = (void *)pcs[i];
    if (cache) memo_keep(cache, ctx, first_kept, out, kept);
    return kept;
}

HK_NOINLINE int hk_unwind(void **out, int max, void *first_kept)
{
    hk_unwind_ctx_t ctx;
    HK_UNWIND_HERE(&ctx);
    return unwind(NULL, &ctx, out, max, first_kept);
}

/* From a point of a caller (HK_UNWIND_HERE, in a frame still live), with a rule cache
 * that only this thread uses meanwhile: the frames between are not walked at all. */
int hk_unwind_from(hk_unwind_cache_t *cache, const hk_unwind_ctx_t *ctx, void **out, int max,
                   void *first_kept)
{
    return unwind(cache, ctx, out, max, first_kept);
}

#else
void hk_unwind_fork_child(void) {}

int hk_unwind_from(hk_unwind_cache_t *cache, const hk_unwind_ctx_t *ctx, void **out, int max,
                   void *first_kept)
{
    (void)cache, (void)ctx;
    return hk_unwind(out, max, first_kept);
}

int hk_unwind(void **out, int max, void *first_kept)
{
    if (max < 1 || first_kept == NULL) return 0;
    out[0] = first_kept;
    return 1;
}
#endif
