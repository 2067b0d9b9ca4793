## ---- tests/programs: the real-program corpus ------------------------------------
## Real programs (curl, wget, PostgreSQL, redis, sqlite3, python3, perl, git, gcc/g++,
## xz/zstd/bzip2, sort, openssl, ssh-keygen, node, a dlopen driver) under LD_PRELOAD of
## the built library, each under glibc and four hakmem settings (tests/programs/lib.sh).
## They take minutes, so `make check` leaves them out: `make check-programs` runs them
## through the same harness, so their results land in .trs files like every other test.
## Each test script runs its own programs' servers (PostgreSQL, redis, an HTTP server)
## in a temporary directory and ends them on every way out.

HK_PROGRAM_TESTS = \
	%D%/postgres.sh \
	%D%/python.sh \
	%D%/cxx.sh \
	%D%/redis.sh \
	%D%/perl.sh \
	%D%/http.sh \
	%D%/node.sh \
	%D%/git.sh \
	%D%/compress.sh \
	%D%/sqlite.sh \
	%D%/sort.sh \
	%D%/openssl.sh \
	%D%/ssh-keygen.sh \
	%D%/dlopen.sh
EXTRA_DIST += %D%/lib.sh %D%/table.sh $(HK_PROGRAM_TESTS)

## Its summary log is its own, so that of `make check` survives; it ends with the table of
## results per program and setting (tests/programs/table.sh).
check-programs: all
	@$(MAKE) $(AM_MAKEFLAGS) check TESTS='$(HK_PROGRAM_TESTS)' \
	    TEST_SUITE_LOG=%D%/test-suite.log; status=$$?; \
	$(SHELL) $(srcdir)/%D%/table.sh $(HK_PROGRAM_TESTS:.sh=.log); exit $$status
CLEANFILES += $(HK_PROGRAM_TESTS:.sh=.log) $(HK_PROGRAM_TESTS:.sh=.trs) %D%/test-suite.log

.PHONY: check-programs

## The dlopen test's driver and its two libraries (one source, DLA_ID 1 and 2), shared
## objects built for the test only: -rpath makes libtool build them shared.
check_PROGRAMS += %D%/dlopen-helper
%C%_dlopen_helper_SOURCES = %D%/dlopen-helper.c
%C%_dlopen_helper_LDFLAGS = -export-dynamic
%C%_dlopen_helper_LDADD = -ldl $(PTHREAD_LIBS)
check_LTLIBRARIES += %D%/libdla1.la %D%/libdla2.la
HK_DLA_LDFLAGS = -module -avoid-version -shared -rpath /nowhere
%C%_libdla1_la_SOURCES = %D%/dlalloc.c
%C%_libdla1_la_CPPFLAGS = $(AM_CPPFLAGS) -DDLA_ID=1
%C%_libdla1_la_LDFLAGS = $(HK_DLA_LDFLAGS)
%C%_libdla2_la_SOURCES = %D%/dlalloc.c
%C%_libdla2_la_CPPFLAGS = $(AM_CPPFLAGS) -DDLA_ID=2
%C%_libdla2_la_LDFLAGS = $(HK_DLA_LDFLAGS)
EXTRA_DIST += %D%/containers.cc
