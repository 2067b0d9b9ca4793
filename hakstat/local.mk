## ---- hakstat -----------------------------------------------------------------
## The reader library knows nothing of curses; only the screen (view.c) and main.c
## link ncursesw. Tests link the library directly.

noinst_LTLIBRARIES += %D%/libhakstat.la
%C%_libhakstat_la_CFLAGS = $(AM_CFLAGS) $(LIBELF_CFLAGS) $(LIBDW_CFLAGS) $(HAKSTAT_CFLAGS)
%C%_libhakstat_la_SOURCES = \
	%D%/seg.h %D%/seg.c \
	%D%/snap.h %D%/snap.c \
	%D%/table.h %D%/table.c %D%/table_sites.c \
	%D%/sym.h %D%/sym.c \
	%D%/lines.h %D%/lines.c \
	%D%/demangle.h %D%/demangle.c \
	%D%/stack.h %D%/stack.c \
	%D%/out.h %D%/out_text.c %D%/out_json.c %D%/out_prom.c %D%/out_folded.c \
	%D%/out_procs.h %D%/out_procs.c \
	%D%/procs.h %D%/procs.c \
	%D%/options.h
%C%_libhakstat_la_LIBADD = $(LIBDW_LIBS) $(LIBELF_LIBS) -lm

bin_PROGRAMS += %D%/hakstat
%C%_hakstat_CFLAGS = $(AM_CFLAGS) $(NCURSESW_CFLAGS) $(HAKSTAT_CFLAGS)
%C%_hakstat_SOURCES = %D%/main.c %D%/view.h %D%/view.c %D%/keys.h
%C%_hakstat_LDADD = %D%/libhakstat.la $(NCURSESW_LIBS) -lm
