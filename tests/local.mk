## ---- tests -------------------------------------------------------------------
## Every test prints TAP (tests/tap.h for C, tests/preload/lib.sh for shell).
## api/:     black-box checks of the C/POSIX allocation API, linked to libhakmem.
## threads/: threads, fork, thread and process teardown, limits and RSS, linked too.
## preload/: real programs run with LD_PRELOAD=$HAKMEM_SO, output compared.
## C programs are named <dir>/<name>-test (built from <dir>/<name>.c).

## The default for every program without an _LDADD of its own: test programs run on
## libhakmem. Programs that must not (bench/, the preload helpers) say so with an empty
## _LDADD.
LDADD = libhakmem/libhakmem.la $(PTHREAD_LIBS)

EXTRA_DIST += %D%/tap.h %D%/testutil.h %D%/preload/lib.sh

## api
HK_API_TESTS = \
	%D%/api/usable-test \
	%D%/api/aligned-test \
	%D%/api/enomem-test \
	%D%/api/calloc-test \
	%D%/api/realloc-test \
	%D%/api/zero-test \
	%D%/api/free-test \
	%D%/api/sized-free-test \
	%D%/api/libc-alias-test \
	%D%/api/identity-test \
	%D%/api/large-test \
	%D%/api/large-limits-test \
	%D%/api/large-fork-test
check_PROGRAMS += $(HK_API_TESTS)
TESTS += $(HK_API_TESTS)

%C%_api_usable_test_SOURCES = %D%/api/usable.c
%C%_api_aligned_test_SOURCES = %D%/api/aligned.c
%C%_api_enomem_test_SOURCES = %D%/api/enomem.c
%C%_api_calloc_test_SOURCES = %D%/api/calloc.c
%C%_api_realloc_test_SOURCES = %D%/api/realloc.c
%C%_api_zero_test_SOURCES = %D%/api/zero.c
%C%_api_free_test_SOURCES = %D%/api/free.c
%C%_api_sized_free_test_SOURCES = %D%/api/sized-free.c
%C%_api_libc_alias_test_SOURCES = %D%/api/libc-alias.c
%C%_api_identity_test_SOURCES = %D%/api/identity.c
%C%_api_identity_test_LDADD = $(LDADD) -ldl
%C%_api_large_test_SOURCES = %D%/api/large.c
%C%_api_large_limits_test_SOURCES = %D%/api/large-limits.c
%C%_api_large_fork_test_SOURCES = %D%/api/large-fork.c

## errno-table runs under glibc's malloc and under libhakmem (errno.sh), so it links to
## neither. -fno-builtin: GCC assumes its built-in malloc leaves errno alone, and would
## check the value from before the call.
check_PROGRAMS += %D%/api/errno-table
%C%_api_errno_table_SOURCES = %D%/api/errno-table.c
%C%_api_errno_table_CFLAGS = $(AM_CFLAGS) -fno-builtin
%C%_api_errno_table_LDADD = -ldl
TESTS += %D%/api/errno.sh
EXTRA_DIST += %D%/api/errno.sh

## threads
HK_THREAD_TESTS = \
	%D%/threads/remote-free-test \
	%D%/threads/churn-test \
	%D%/threads/fork-test \
	%D%/threads/tls-dtor-test \
	%D%/threads/rlimit-test \
	%D%/threads/rss-drop-test \
	%D%/threads/check-test \
	%D%/threads/fork-signal-test
check_PROGRAMS += $(HK_THREAD_TESTS)
TESTS += $(HK_THREAD_TESTS)

%C%_threads_remote_free_test_SOURCES = %D%/threads/remote-free.c
%C%_threads_churn_test_SOURCES = %D%/threads/churn.c
%C%_threads_fork_test_SOURCES = %D%/threads/fork.c
%C%_threads_tls_dtor_test_SOURCES = %D%/threads/tls-dtor.c
%C%_threads_rlimit_test_SOURCES = %D%/threads/rlimit.c
%C%_threads_rss_drop_test_SOURCES = %D%/threads/rss-drop.c
%C%_threads_check_test_SOURCES = %D%/threads/check.c
%C%_threads_fork_signal_test_SOURCES = %D%/threads/fork-signal.c
%C%_threads_fork_signal_test_LDADD = $(LDADD) -lrt

## the api and threads programs again under other option sets
TESTS += %D%/settings.sh
EXTRA_DIST += %D%/settings.sh

## preload (shell; run by $(SHELL) through SH_LOG_DRIVER)
HK_PRELOAD_TESTS = \
	%D%/preload/identity.sh \
	%D%/preload/shell.sh \
	%D%/preload/python.sh \
	%D%/preload/perl.sh \
	%D%/preload/gcc.sh \
	%D%/preload/git.sh \
	%D%/preload/fork.sh \
	%D%/preload/options.sh
TESTS += $(HK_PRELOAD_TESTS)
EXTRA_DIST += $(HK_PRELOAD_TESTS)

## bench/programs' quick mode: every real program once under every allocator.
TESTS += %D%/bench/programs.sh
EXTRA_DIST += %D%/bench/programs.sh

## identity.sh's helpers: got-probe, a library preloaded next to libhakmem that reports
## where each loaded object's GOT slots for malloc/free/realloc/calloc point; and a plain
## program built as non-PIE (the shape of Debian's python3) and as static-PIE (which no
## preload can reach). -rpath makes libtool build got-probe as a shared object.
check_LTLIBRARIES += %D%/preload/libgotprobe.la
%C%_preload_libgotprobe_la_SOURCES = %D%/preload/got-probe.c
%C%_preload_libgotprobe_la_LDFLAGS = -rpath /nowhere -avoid-version -shared -module

check_PROGRAMS += %D%/preload/exe-nopie-helper %D%/preload/exe-static-helper
%C%_preload_exe_nopie_helper_SOURCES = %D%/preload/exe-helper.c
%C%_preload_exe_nopie_helper_CFLAGS = $(AM_CFLAGS) -fno-pie
%C%_preload_exe_nopie_helper_LDFLAGS = -no-pie
%C%_preload_exe_nopie_helper_LDADD =
%C%_preload_exe_static_helper_SOURCES = %D%/preload/exe-helper.c
%C%_preload_exe_static_helper_CPPFLAGS = $(AM_CPPFLAGS) -DEXE_HELPER_STATIC
%C%_preload_exe_static_helper_CFLAGS = $(AM_CFLAGS) -fPIE
%C%_preload_exe_static_helper_LDFLAGS = -static-pie
%C%_preload_exe_static_helper_LDADD =
