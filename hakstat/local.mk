## ---- hakstat -----------------------------------------------------------------
## The reader library knows nothing of curses or HTTP; only the screen (view.c), the
## exporter's server (serve.c) and main.c link ncursesw and libmicrohttpd. Tests link the library directly.

noinst_LTLIBRARIES += %D%/libhakstat.la
%C%_libhakstat_la_CFLAGS = $(AM_CFLAGS) $(LIBELF_CFLAGS) $(HAKSTAT_CFLAGS)
%C%_libhakstat_la_SOURCES = \
	%D%/seg.h %D%/seg.c \
	%D%/snap.h %D%/snap.c \
	%D%/table.h %D%/table.c \
	%D%/sym.h %D%/sym.c \
	%D%/prom.h %D%/prom.c %D%/scrape.h %D%/scrape.c %D%/out.h %D%/out_text.c %D%/out_json.c %D%/out_prom.c \
	%D%/out_procs.h %D%/out_procs.c \
	%D%/procs.h %D%/procs.c \
	%D%/options.h
%C%_libhakstat_la_LIBADD = $(LIBELF_LIBS) -lm

bin_PROGRAMS += %D%/hakstat
%C%_hakstat_CFLAGS = $(AM_CFLAGS) $(NCURSESW_CFLAGS) $(MHD_CFLAGS) $(HAKSTAT_CFLAGS)
%C%_hakstat_SOURCES = %D%/main.c %D%/view.h %D%/view.c %D%/keys.h %D%/serve.h %D%/serve.c \
	%D%/view_procs.h %D%/view_procs.c
%C%_hakstat_LDADD = %D%/libhakstat.la $(NCURSESW_LIBS) $(MHD_LIBS) $(PTHREAD_LIBS) -lm
