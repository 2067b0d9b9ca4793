## ---- tests/sites: sampled allocation sites named by hakstat ----------------------
## A PIE helper with one allocation site of its own and one in a shared library of its
## own (built only for the tests: -rpath makes libtool build a shared object).
check_LTLIBRARIES += %D%/libsitelib.la
%C%_libsitelib_la_SOURCES = %D%/sitelib.c
%C%_libsitelib_la_LDFLAGS = -rpath /nowhere -avoid-version -shared
%C%_libsitelib_la_LIBADD = libhakmem/libhakmem.la

check_PROGRAMS += %D%/site-helper
%C%_site_helper_SOURCES = %D%/site-helper.c
%C%_site_helper_LDADD = %D%/libsitelib.la libhakmem/libhakmem.la

TESTS += %D%/sites.sh
EXTRA_DIST += %D%/sites.sh

## Stand-ins' mappings kept for reuse across threads, and given back a second later.
check_PROGRAMS += %D%/spares-test
%C%_spares_test_SOURCES = %D%/spares.c
TESTS += %D%/spares-test

## A followed large block grows by realloc in place or moved whole, its record following.
check_PROGRAMS += %D%/realloc-test
%C%_realloc_test_SOURCES = %D%/realloc.c
TESTS += %D%/realloc-test

## Programs for the growth, C++ and stress tests: built without the tests' library and run
## with libhakmem preloaded, so the executables are the real files (no libtool wrapper).
check_PROGRAMS += %D%/leak %D%/cxxsites %D%/stress
%C%_leak_SOURCES = %D%/leak.c
%C%_leak_CFLAGS = $(AM_CFLAGS) -g -O1 -fno-inline
%C%_leak_LDADD = $(PTHREAD_LIBS)
%C%_cxxsites_SOURCES = %D%/cxxsites.cc
%C%_cxxsites_CXXFLAGS = $(AM_CXXFLAGS) -g -O1
%C%_cxxsites_LDADD =
%C%_stress_SOURCES = %D%/stress.c
%C%_stress_LDADD = $(PTHREAD_LIBS)

TESTS += %D%/growth.sh %D%/cxx.sh %D%/folded.sh %D%/stress.sh
EXTRA_DIST += %D%/growth.sh %D%/cxx.sh %D%/folded.sh %D%/stress.sh
