## ---- libhakmem ---------------------------------------------------------------
## Everything but the public entry points goes into a convenience library that
## white-box tests link without replacing their own malloc; the installed library
## adds malloc.c and the version script.

HK_CORE_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden -ftls-model=initial-exec \
	-fno-builtin-malloc -fno-builtin-free -fno-builtin-calloc -fno-builtin-realloc \
	-fno-stack-protector -fno-plt

noinst_LTLIBRARIES += %D%/libhakmem-core.la
%C%_libhakmem_core_la_CFLAGS = $(HK_CORE_CFLAGS)
%C%_libhakmem_core_la_SOURCES = \
	%D%/include/hakmem.h \
	%D%/include/hakmem_stats.h \
	%D%/types.h \
	%D%/internal.h \
	%D%/debug.h \
	%D%/check.c \
	%D%/sizeclass.h \
	%D%/sizeclass.c \
	%D%/tcache.h \
	%D%/tcache.c \
	%D%/slab.h \
	%D%/slab.c \
	%D%/remote.c \
	%D%/large.c \
	%D%/os.c \
	%D%/lock.h \
	%D%/options.h \
	%D%/lock.c \
	%D%/heap.c \
	%D%/thread.c \
	%D%/init.c \
	%D%/options.c \
	%D%/stats.c \
	%D%/report.c \
	%D%/prof.h \
	%D%/prof.c \
	%D%/shm.c \
	%D%/site.c \
	%D%/sitetab.c \
	%D%/unwind.c \
	%D%/util.c

lib_LTLIBRARIES += %D%/libhakmem.la
## -fexceptions: a std::bad_alloc thrown from operator new unwinds through cxx.c.
%C%_libhakmem_la_CFLAGS = $(HK_CORE_CFLAGS) -fexceptions
%C%_libhakmem_la_SOURCES = %D%/malloc.c %D%/cxx.c
%C%_libhakmem_la_LIBADD = %D%/libhakmem-core.la $(PTHREAD_LIBS)
%C%_libhakmem_la_LDFLAGS = -version-info 0:0:0 -no-undefined \
	-Wl,--version-script=$(srcdir)/%D%/libhakmem.sym -Wl,-z,now
EXTRA_libhakmem_libhakmem_la_DEPENDENCIES = %D%/libhakmem.sym

include_HEADERS += %D%/include/hakmem.h %D%/include/hakmem_stats.h
pkgconfig_DATA = %D%/libhakmem.pc
EXTRA_DIST += %D%/libhakmem.sym %D%/libhakmem.pc.in
