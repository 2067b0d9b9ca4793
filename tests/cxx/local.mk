## ---- tests/cxx: C++'s operator new and delete ------------------------------------
## new-test is linked to libhakmem; new-plain to nothing of ours, for new.sh to preload.
check_PROGRAMS += %D%/new-test %D%/new-plain
%C%_new_test_SOURCES = %D%/new.cc
%C%_new_test_LDADD = libhakmem/libhakmem.la -ldl
%C%_new_plain_SOURCES = %D%/new.cc
%C%_new_plain_LDADD = -ldl
TESTS += %D%/new-test %D%/new.sh
EXTRA_DIST += %D%/new.sh
