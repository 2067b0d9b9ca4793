## ---- tests/fuzz: libFuzzer harnesses (make fuzz) -----------------------------------
## fuzz-seg feeds the segment reader (open, snapshots, every view and output format);
## fuzz-elf feeds the ELF symbolizer. Both are built with clang's libFuzzer, ASan and
## UBSan from hakstat's reader sources, outside the gcc build; configure finds clang
## (FUZZ_CC) and checks that -fsanitize=fuzzer links. `make fuzz` runs each for
## FUZZ_SECONDS (default 60) from the seeds in corpus/, new inputs going to a temporary
## directory; a crash stops it with the input kept as tests/fuzz/crash-<target>-*.

FUZZ_SECONDS = 60
FUZZ_CFLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_CPPFLAGS = -I$(top_builddir) -I$(top_srcdir)/libhakmem/include -I$(top_srcdir)/hakstat \
	$(LIBELF_CFLAGS) $(LIBDW_CFLAGS)
FUZZ_READER_SRC = $(srcdir)/hakstat/seg.c $(srcdir)/hakstat/snap.c $(srcdir)/hakstat/sym.c \
	$(srcdir)/hakstat/lines.c $(srcdir)/hakstat/demangle.c $(srcdir)/hakstat/stack.c \
	$(srcdir)/hakstat/table.c $(srcdir)/hakstat/table_sites.c $(srcdir)/hakstat/out_text.c \
	$(srcdir)/hakstat/out_json.c $(srcdir)/hakstat/out_prom.c $(srcdir)/hakstat/prom.c \
	$(srcdir)/hakstat/out_folded.c
FUZZ_READER_LIBS = $(LIBDW_LIBS) $(LIBELF_LIBS) -ldl -lm
FUZZ_TARGETS = %D%/fuzz-seg %D%/fuzz-elf

EXTRA_DIST += %D%/fuzz-seg.c %D%/fuzz-elf.c %D%/corpus
CLEANFILES += $(FUZZ_TARGETS)

if HAVE_LIBFUZZER
%D%/fuzz-seg: %D%/fuzz-seg.c $(FUZZ_READER_SRC) config.h
	$(AM_V_CC)$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_CPPFLAGS) -o $@ $(srcdir)/%D%/fuzz-seg.c \
	  $(FUZZ_READER_SRC) $(FUZZ_READER_LIBS)
%D%/fuzz-elf: %D%/fuzz-elf.c $(FUZZ_READER_SRC) config.h
	$(AM_V_CC)$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_CPPFLAGS) -o $@ $(srcdir)/%D%/fuzz-elf.c \
	  $(FUZZ_READER_SRC) $(FUZZ_READER_LIBS)

fuzz: $(FUZZ_TARGETS)
	@for t in seg elf; do \
	  work=$$(mktemp -d "$${TMPDIR:-/tmp}/hakmem-fuzz-$$t.XXXXXX") || exit 1; \
	  echo "fuzz-$$t: $(FUZZ_SECONDS) s from $(srcdir)/%D%/corpus/$$t"; \
	  ./%D%/fuzz-$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=1024 \
	    -print_final_stats=1 -artifact_prefix=%D%/crash-$$t- \
	    "$$work" $(srcdir)/%D%/corpus/$$t 2>%D%/fuzz-$$t.log; \
	  st=$$?; rm -rf "$$work"; \
	  grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb)|^#[0-9]+.*DONE' %D%/fuzz-$$t.log; \
	  if [ $$st -ne 0 ]; then tail -40 %D%/fuzz-$$t.log; echo "fuzz-$$t failed (status $$st)"; exit 1; fi; \
	done
else
fuzz:
	@echo "make fuzz needs clang with libFuzzer: apt-get install clang libclang-rt-14-dev, then ./configure" >&2
	@exit 1
endif
.PHONY: fuzz
