## ---- bench -------------------------------------------------------------------
## Workloads that use the system malloc; bench/compare swaps the allocator by
## LD_PRELOAD and runs them under hakmem and its peers. They are check programs so
## that bench/smoke.sh can run each briefly in `make check`; `make bench` builds them
## and libhakmem, then runs the comparison. Pass driver options with BENCH_FLAGS, e.g.
## `make bench BENCH_FLAGS='-r 5 -t "1 2 4 8 16"'`.

BENCH_PROGS = %D%/larson %D%/pair %D%/prodcons %D%/sweep %D%/churn \
	%D%/large %D%/handoff %D%/mix %D%/scratch %D%/containers %D%/larsonxx
check_PROGRAMS += $(BENCH_PROGS)

%C%_larson_SOURCES = %D%/larson.c %D%/bench.h
%C%_larson_LDADD = $(PTHREAD_LIBS)
%C%_pair_SOURCES = %D%/pair.c %D%/bench.h
## pair and sweep need no library; the empty _LDADD keeps the tests' default out.
%C%_pair_LDADD =
%C%_prodcons_SOURCES = %D%/prodcons.c %D%/bench.h
%C%_prodcons_LDADD = $(PTHREAD_LIBS)
%C%_sweep_SOURCES = %D%/sweep.c %D%/bench.h
%C%_sweep_LDADD =
%C%_churn_SOURCES = %D%/churn.c %D%/bench.h
%C%_churn_LDADD = $(PTHREAD_LIBS)
%C%_large_SOURCES = %D%/large.c %D%/bench.h
%C%_handoff_SOURCES = %D%/handoff.c %D%/bench.h
%C%_handoff_LDADD = $(PTHREAD_LIBS)
%C%_mix_SOURCES = %D%/mix.c %D%/bench.h
%C%_mix_LDADD = $(PTHREAD_LIBS)
%C%_scratch_SOURCES = %D%/scratch.c %D%/bench.h
%C%_scratch_LDADD = $(PTHREAD_LIBS)
## The C++ workloads free by sized delete, as a C++14 compiler does by default; the flag
## says so for any g++.
%C%_containers_SOURCES = %D%/containers.cc %D%/bench.h
%C%_containers_CXXFLAGS = $(AM_CXXFLAGS) -fsized-deallocation
%C%_containers_LDADD = $(PTHREAD_LIBS)
%C%_larsonxx_SOURCES = %D%/larsonxx.cc %D%/bench.h
%C%_larsonxx_CXXFLAGS = $(AM_CXXFLAGS) -fsized-deallocation
%C%_larsonxx_LDADD = $(PTHREAD_LIBS)

TESTS += %D%/smoke.sh
EXTRA_DIST += %D%/smoke.sh %D%/compare

## bench/programs times real programs (xz, git gc, sqlite3, redis, g++, python3) under
## each allocator. measure runs each command and reports its wall time and peak RSS;
## libcmalloc.so is glibc's malloc as a preload, for redis-server, which links jemalloc.
## tests/bench/programs.sh runs its quick mode in `make check`.
check_PROGRAMS += %D%/measure
%C%_measure_SOURCES = %D%/measure.c
%C%_measure_LDADD =
check_LTLIBRARIES += %D%/libcmalloc.la
%C%_libcmalloc_la_SOURCES = %D%/libcmalloc.c
%C%_libcmalloc_la_LDFLAGS = -rpath /nowhere -avoid-version -shared -module
%C%_libcmalloc_la_LIBADD = -ldl
EXTRA_DIST += %D%/programs %D%/programs-inputs.sh %D%/programs-run.sh %D%/programs-table.awk

## Pass driver options with PROGRAMS_FLAGS, e.g. `make bench-programs PROGRAMS_FLAGS='-r 5'`.
PROGRAMS_FLAGS =
bench-programs: %D%/measure %D%/libcmalloc.la libhakmem/libhakmem.la
	HAKMEM_SO='$(abs_top_builddir)/libhakmem/.libs/libhakmem.so' \
	BENCH_DIR='$(abs_top_builddir)/%D%' \
	$(SHELL) '$(srcdir)/%D%/programs' $(PROGRAMS_FLAGS)

BENCH_FLAGS =
bench: $(BENCH_PROGS) libhakmem/libhakmem.la
	HAKMEM_SO='$(abs_top_builddir)/libhakmem/.libs/libhakmem.so' \
	BENCH_DIR='$(abs_top_builddir)/%D%' \
	$(SHELL) '$(srcdir)/%D%/compare' $(BENCH_FLAGS)

.PHONY: bench bench-programs
