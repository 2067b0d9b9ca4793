## ---- tests/unit: white-box tests of libhakmem's parts ---------------------------
## Linked to the internal library libhakmem-core.la, which defines no malloc: a test
## calls hk_* functions and reads the structures directly while its own malloc stays
## the C library's.
HK_UNIT_LDADD = libhakmem/libhakmem-core.la $(PTHREAD_LIBS)
HK_UNIT_TESTS = \
	%D%/sizeclass-test \
	%D%/bitmap-test \
	%D%/remote-test \
	%D%/stash-test \
	%D%/check-test \
	%D%/unwind-test \
	%D%/procstat-test \
	%D%/large-cache-test
check_PROGRAMS += $(HK_UNIT_TESTS)
TESTS += $(HK_UNIT_TESTS)

%C%_sizeclass_test_SOURCES = %D%/sizeclass.c
%C%_sizeclass_test_LDADD = $(HK_UNIT_LDADD)
%C%_bitmap_test_SOURCES = %D%/bitmap.c
%C%_bitmap_test_LDADD = $(HK_UNIT_LDADD)
%C%_remote_test_SOURCES = %D%/remote.c %D%/unit.h
%C%_remote_test_LDADD = $(HK_UNIT_LDADD)
%C%_stash_test_SOURCES = %D%/stash.c %D%/unit.h
%C%_stash_test_LDADD = $(HK_UNIT_LDADD)
%C%_check_test_SOURCES = %D%/check.c %D%/unit.h
%C%_check_test_LDADD = $(HK_UNIT_LDADD)
%C%_unwind_test_SOURCES = %D%/unwind.c
%C%_unwind_test_LDADD = $(HK_UNIT_LDADD)
%C%_procstat_test_SOURCES = %D%/procstat.c
%C%_procstat_test_LDADD = $(HK_UNIT_LDADD)
%C%_large_cache_test_SOURCES = %D%/large-cache.c %D%/unit.h
%C%_large_cache_test_LDADD = $(HK_UNIT_LDADD)
