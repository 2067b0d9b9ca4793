## ---- hakstat -----------------------------------------------------------------
## The reader library knows nothing of curses or HTTP; only the screens (view.c,
## view_procs.c, screen.c), the exporter's server (serve.c) and main.c use ncursesw and
## libmicrohttpd (which serve.c loads with dlopen: only its header is needed to build).
## Tests link the library directly.

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
	%D%/prom.h %D%/prom.c %D%/scrape.h %D%/scrape.c \
	%D%/out.h %D%/out_text.c %D%/out_json.c %D%/out_prom.c %D%/out_folded.c \
	%D%/out_procs.h %D%/out_procs.c \
	%D%/procs.h %D%/procs.c \
	%D%/list.h %D%/list.c \
	%D%/options.h %D%/clock.h
%C%_libhakstat_la_LIBADD = $(LIBDW_LIBS) $(LIBELF_LIBS) -lm

bin_PROGRAMS += %D%/hakstat
%C%_hakstat_CFLAGS = $(AM_CFLAGS) $(NCURSESW_CFLAGS) $(MHD_CFLAGS) $(HAKSTAT_CFLAGS)
%C%_hakstat_SOURCES = %D%/main.c %D%/view.h %D%/view.c %D%/keys.h %D%/screen.h %D%/screen.c \
	%D%/serve.h %D%/serve.c \
	%D%/view_procs.h %D%/view_procs.c
%C%_hakstat_LDADD = %D%/libhakstat.la $(NCURSESW_LIBS) $(PTHREAD_LIBS) -ldl -lm
