## ---- man pages ---------------------------------------------------------------
## hakmem.3 is rendered from its .in file: the version goes in, the counter list comes
## from the X-macro in hakmem_stats.h and the ENVIRONMENT entries from the option table in
## libhakmem/options.h, so the page cannot drift from the code.
man_MANS += %D%/hakmem.3
EXTRA_DIST += %D%/hakmem.3.in %D%/counters.awk %D%/options.awk
CLEANFILES += %D%/hakmem.3

%D%/hakmem.3: %D%/hakmem.3.in %D%/counters.awk %D%/options.awk \
	  libhakmem/include/hakmem_stats.h libhakmem/options.h
	$(AM_V_GEN)$(MKDIR_P) %D% && \
	$(AWK) -f $(srcdir)/%D%/counters.awk $(srcdir)/libhakmem/include/hakmem_stats.h > $@.counters && \
	$(AWK) -f $(srcdir)/%D%/options.awk $(srcdir)/libhakmem/options.h > $@.options && \
	$(AWK) -v version='$(PACKAGE_VERSION)' -v counters=$@.counters -v options=$@.options \
	  '/@HK_COUNTER_DOCS@/ { while ((getline l < counters) > 0) print l; next } \
	   /@HK_OPTION_DOCS@/ { while ((getline l < options) > 0) print l; next } \
	   { gsub(/@PACKAGE_[V]ERSION@/, version); print }' $(srcdir)/%D%/hakmem.3.in > $@ && \
	rm -f $@.counters $@.options

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
