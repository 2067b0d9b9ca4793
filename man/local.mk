## ---- man pages ---------------------------------------------------------------
## hakmem.3 is rendered from its .in file: the version goes in, and the counter list
## comes from the X-macro in hakmem_stats.h so the page cannot drift from the code.
man_MANS += %D%/hakmem.3
EXTRA_DIST += %D%/hakmem.3.in %D%/counters.awk
CLEANFILES += %D%/hakmem.3

%D%/hakmem.3: %D%/hakmem.3.in %D%/counters.awk libhakmem/include/hakmem_stats.h
	$(AM_V_GEN)$(MKDIR_P) %D% && \
	$(AWK) -f $(srcdir)/%D%/counters.awk $(srcdir)/libhakmem/include/hakmem_stats.h > $@.counters && \
	$(AWK) -v version='$(PACKAGE_VERSION)' -v counters=$@.counters \
	  '/@HK_COUNTER_DOCS@/ { while ((getline l < counters) > 0) print l; next } \
	   { gsub(/@PACKAGE_VERSION@/, version); print }' $(srcdir)/%D%/hakmem.3.in > $@ && \
	rm -f $@.counters
