/* options.h: every HAKMEM_* environment variable, once. X(name, kind, field, default, min,
 * max, summary, doc): options.c parses each by its kind, internal.h makes hk_options_t's
 * fields from the list, and man/options.awk renders the ENVIRONMENT section of hakmem(3)
 * from the summary and doc strings (roff; "\n" starts a new line), which nothing compiles
 * in. Kinds:
 *   BOOL  1/yes/on/true or 0/no/off/false;
 *   UINT  a decimal number from min to max;
 *   UINT0 0, or a decimal number from min to max;
 *   PATH  an absolute path (min and max unused);
 *   TEXT  any string (min and max unused). */
#ifndef HK_OPTIONS_H
#define HK_OPTIONS_H

#define HK_OPTIONS(X)                                                                              \
    X(HAKMEM_STATS, BOOL, stats, 1, 0, 0, "Boolean, default 1.",                                   \
      "Set to 0 to publish no statistics segment.\n"                                               \
      "Counting goes on in private memory; the exit reports still work.")                          \
    X(HAKMEM_STATS_DIR, PATH, stats_dir, "/dev/shm", 0, 0,                                         \
      "Absolute path of the directory for the statistics segment, default\n.BR /dev/shm .",        \
      "It should be a tmpfs.")                                                                     \
    X(HAKMEM_STATS_SLOTS, UINT, stats_slots, 128, 1, 4096,                                         \
      "Number of thread slots in the segment, 1 to 4096, default 128.",                            \
      "Each slot takes about 2.4 KiB.\n"                                                           \
      "Threads beyond the slots count in spill blocks (see above): their counts are in the\n"      \
      "totals, but they have no row of their own in\n"                                             \
      ".BR hakstat (1).")                                                                          \
    X(HAKMEM_PROFILE_SAMPLE, UINT, profile_sample, 0, 0, 1u << 30,                                 \
      "Cycle profiling period, 0 to 1073741824, default 0 (off).",                                 \
      "With N > 0, about one call in N is timed with RDTSC (N is rounded up to a power of\n"       \
      "two; a timed call costs about 40 to 50 cycles more), and every cache refill is timed.\n"    \
      "Frees, and allocations that miss the thread cache, are timed one in N of each size\n"       \
      "class; allocations served from the cache are chosen by bytes, as sites are (see\n"          \
      ".BR HAKMEM_SITE_SAMPLE ),\n"                                                                \
      "so that the fast path makes one test for both: the call after the one that reaches an\n"    \
      "exponentially spaced byte count of mean N times the thread's mean request is timed.\n"      \
      "The cost of reading the TSC is measured at start and taken off each sample.\n"              \
      "Changing the segment's control word changes the period while the process runs.")            \
    X(HAKMEM_TINY_PROFILE, BOOL, tiny_profile, 0, 0, 0, "Boolean, default 0.",                     \
      "Time every malloc and free call (period 1) and print at exit, to standard error, one\n"     \
      "line per operation kind (see\n.B EXIT REPORTS\nbelow).")                                    \
    X(HAKMEM_SITE_SAMPLE, UINT0, site_sample, 4 * 1024 * 1024, 256, (uint64_t)1 << 40,             \
      "Bytes between allocation-site samples, 0 (off) or 256 to 2^40, default 4194304.",           \
      "About once per this many bytes allocated, a thread records the return address of the\n"     \
      "allocating call in its slot; a block of s bytes is sampled with probability about\n"        \
      "s / N, so big and small allocations are fairly represented.\n"                              \
      "The cost on the fast path is one compare of the running byte count; a sample itself\n"      \
      "takes one to two microseconds (mostly two system calls that check that the stack it\n"      \
      "walks can be read).\n"                                                                      \
      "A sample also records up to 16 return addresses of the call's stack in the process-wide\n"  \
      "site table and is followed until it is freed, so that each stack has live bytes and\n"      \
      "lifetimes (see\n.BR \"STATISTICS SEGMENT\" ).\n"                                            \
      ".BR hakstat (1)\n"                                                                          \
      "names the sites with the symbol tables and DWARF of the mapped objects.")                   \
    X(HAKMEM_SITE_WRAPPERS, TEXT, site_wrappers, NULL, 0, 0,                                       \
      "Names of the program's own allocation wrappers, comma separated (at most 255\n"             \
      "characters are published); a name ending in\n.B *\nmatches every name that begins with\n"   \
      "the rest.",                                                                                 \
      "The library only publishes the list in its segment;\n.BR hakstat (1)\n"                     \
      "names each site by the first frame of its stack that is neither in libhakmem, nor a\n"      \
      "known allocation wrapper, nor one of these.")                                               \
    X(HAKMEM_TINY_FAST_STATS, BOOL, fast_stats, 0, 0, 0, "Boolean, default 0.",                    \
      "Print each thread's cache statistics to standard error when it exits, and the process\n"    \
      "totals at exit: allocations, frees, refills, drains, blocks moved by refills, the refill\n" \
      "rate (refills per small allocation), the cache hit rate (small allocations served\n"        \
      "without a refill) and remote frees.")

/* The C type of each kind's field. */
#define HK_OPT_TYPE_BOOL  bool
#define HK_OPT_TYPE_UINT  uint64_t
#define HK_OPT_TYPE_UINT0 uint64_t
#define HK_OPT_TYPE_PATH  const char *
#define HK_OPT_TYPE_TEXT  const char *

#endif /* HK_OPTIONS_H */
