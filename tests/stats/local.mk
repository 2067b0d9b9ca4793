## ---- tests/stats ---------------------------------------------------------------
## The statistics segment and the per-thread counters, read the way an outside reader
## reads them (tests/stats/stats-util.h). Each program is linked to libhakmem, so it runs
## on hakmem and has a segment of its own. Each first re-executes itself (through
## /proc/self/exe) without the caller's HAKMEM_* variables, plus any it needs; tests that
## need another process (environment, exit, exec, planted files) run the same program
## again with a mode argument as their helper.

HK_STATS_TESTS = \
	%D%/counts-test \
	%D%/reports-test \
	%D%/segment-test \
	%D%/planted-test \
	%D%/fork-test \
	%D%/slots-test \
	%D%/monotonic-test \
	%D%/prof-test
check_PROGRAMS += $(HK_STATS_TESTS)
TESTS += $(HK_STATS_TESTS)
EXTRA_DIST += %D%/stats-util.h

%C%_counts_test_SOURCES = %D%/counts.c
%C%_reports_test_SOURCES = %D%/reports.c
%C%_segment_test_SOURCES = %D%/segment.c
%C%_planted_test_SOURCES = %D%/planted.c
%C%_fork_test_SOURCES = %D%/fork.c
%C%_slots_test_SOURCES = %D%/slots.c
%C%_monotonic_test_SOURCES = %D%/monotonic.c
%C%_prof_test_SOURCES = %D%/prof.c
