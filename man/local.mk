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
	   { gsub(/@PACKAGE_[V]ERSION@/, version); print }' $(srcdir)/%D%/hakmem.3.in > $@ && \
	rm -f $@.counters

## hakstat.1 likewise: the version goes in, and the INTERACTIVE COMMANDS entries come
## from the key table in hakstat/keys.h, the one the screen's help is drawn from.
man_MANS += %D%/hakstat.1
EXTRA_DIST += %D%/hakstat.1.in %D%/keys.awk
CLEANFILES += %D%/hakstat.1

%D%/hakstat.1: %D%/hakstat.1.in %D%/keys.awk hakstat/keys.h
	$(AM_V_GEN)$(MKDIR_P) %D% && \
	$(AWK) -f $(srcdir)/%D%/keys.awk $(srcdir)/hakstat/keys.h > $@.keys && \
	$(AWK) -v version='$(PACKAGE_VERSION)' -v keys=$@.keys -v pkgdatadir='$(pkgdatadir)' \
	  '/@HS_KEY_DOCS@/ { while ((getline l < keys) > 0) print l; next } \
	   { gsub(/@PACKAGE_[V]ERSION@/, version); gsub(/@pkgdata[d]ir@/, pkgdatadir); print }' \
	  $(srcdir)/%D%/hakstat.1.in > $@ && \
	rm -f $@.keys
