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
