## ---- tests/early: allocation before libhakmem's initialisation ---------------------
## libearly's constructor allocates before libhakmem's (as p11-kit's does); early-test
## links libearly only and runs with libhakmem preloaded (early.sh); early-preinit-test
## makes its first call from a preinit_array entry; early-linked-test is linked to
## libhakmem as well.
check_LTLIBRARIES += %D%/libearly.la
%C%_libearly_la_SOURCES = %D%/early-lib.c %D%/exercise.h
%C%_libearly_la_LDFLAGS = -rpath /nowhere -avoid-version -shared
%C%_libearly_la_LIBADD = $(PTHREAD_LIBS)

check_PROGRAMS += %D%/early-test %D%/early-preinit-test %D%/early-linked-test
%C%_early_test_SOURCES = %D%/early.c
%C%_early_test_LDADD = %D%/libearly.la $(PTHREAD_LIBS)
%C%_early_preinit_test_SOURCES = %D%/early.c
%C%_early_preinit_test_CPPFLAGS = $(AM_CPPFLAGS) -DEARLY_PREINIT
%C%_early_preinit_test_LDADD = $(%C%_early_test_LDADD)
%C%_early_linked_test_SOURCES = %D%/early.c
%C%_early_linked_test_CPPFLAGS = $(AM_CPPFLAGS) -DEARLY_PREINIT
%C%_early_linked_test_LDADD = %D%/libearly.la libhakmem/libhakmem.la $(PTHREAD_LIBS)

TESTS += %D%/early.sh %D%/early-linked-test
EXTRA_DIST += %D%/early.sh
