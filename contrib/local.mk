## ---- contrib: running hakstat on many hosts --------------------------------------
## The exporter's systemd unit (installed, never enabled) and example Prometheus rules
## (installed under $(pkgdatadir)/prometheus). The unit is made from its .in file so
## that ExecStart names the installed hakstat.
systemdsystemunit_DATA = %D%/systemd/hakstat-exporter.service
promrulesdir = $(pkgdatadir)/prometheus
promrules_DATA = %D%/prometheus/hakmem.rules.yml
EXTRA_DIST += %D%/systemd/hakstat-exporter.service.in %D%/prometheus/hakmem.rules.yml
CLEANFILES += %D%/systemd/hakstat-exporter.service

%D%/systemd/hakstat-exporter.service: %D%/systemd/hakstat-exporter.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) %D%/systemd && \
	sed -e 's|@bindir[@]|$(bindir)|g' $(srcdir)/%D%/systemd/hakstat-exporter.service.in > $@
