## ---- tests/hakstat -----------------------------------------------------------
## workload-helper: a process with known allocation counts (see its header comment),
## shared by the hakstat tests. screen.sh drives the interactive screen inside tmux.

check_PROGRAMS += %D%/workload-helper
%C%_workload_helper_SOURCES = %D%/workload-helper.c

HK_HAKSTAT_TESTS = %D%/screen.sh
TESTS += $(HK_HAKSTAT_TESTS)
EXTRA_DIST += $(HK_HAKSTAT_TESTS)

## reader-test: the segment reader (hakstat/libhakstat.la) on crafted, broken and
## changing segment files. cli.sh: hakstat end to end against workload-helper and
## busy-helper (which allocates until its stdin closes, for --profile): every output
## format, -l/--gc, and each documented exit status.
check_PROGRAMS += %D%/reader-test %D%/busy-helper
%C%_reader_test_SOURCES = %D%/reader.c
%C%_reader_test_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/hakstat
%C%_reader_test_CFLAGS = $(AM_CFLAGS) $(HAKSTAT_CFLAGS)
%C%_reader_test_LDADD = hakstat/libhakstat.la $(PTHREAD_LIBS)
%C%_busy_helper_SOURCES = %D%/busy-helper.c

TESTS += %D%/reader-test %D%/cli.sh
EXTRA_DIST += %D%/cli.sh

## churn-helper: short-lived threads one after another (and memory held), for threads.sh:
## thread figures, memory, exact totals with more threads than slots, cycles' dashes.
check_PROGRAMS += %D%/churn-helper
%C%_churn_helper_SOURCES = %D%/churn-helper.c
TESTS += %D%/threads.sh %D%/widths.sh
EXTRA_DIST += %D%/threads.sh %D%/widths.sh

## tree.sh: several processes as one: -p with a list (a dead PID in it), --tree over
## tree-helper's short children and grandchildren and over `make -j2` of a generated
## project, and -l refreshing.
check_PROGRAMS += %D%/tree-helper
%C%_tree_helper_SOURCES = %D%/tree-helper.c
TESTS += %D%/tree.sh %D%/records.sh
EXTRA_DIST += %D%/tree.sh %D%/records.sh
