## ---- tests/hakstat -----------------------------------------------------------
## workload-helper: a process with known allocation counts (see its header comment),
## shared by the hakstat tests. screen.sh drives the interactive screen inside tmux.

check_PROGRAMS += %D%/workload-helper
%C%_workload_helper_SOURCES = %D%/workload-helper.c
%C%_workload_helper_LDADD = libhakmem/libhakmem.la $(PTHREAD_LIBS)

HK_HAKSTAT_TESTS = %D%/screen.sh
TESTS += $(HK_HAKSTAT_TESTS)
EXTRA_DIST += $(HK_HAKSTAT_TESTS)
