## ---- tests/security: another local user against hakmem and hakstat ---------------
## hostile.sh replays, as an unprivileged user against root (CI runs as root), every
## attack issue 10 names: forged and planted segments, a 1 GiB sparse file, 50,000
## planted names, a mapped library replaced by a FIFO, --gc and -l across users, and
## the signals that must end hakstat. fifo-helper is the process whose library is
## replaced (it reuses tests/sites' libsitelib.so); peak measures a command's peak RSS.
check_PROGRAMS += %D%/fifo-helper %D%/peak
%C%_peak_SOURCES = %D%/peak.c
%C%_fifo_helper_SOURCES = %D%/fifo-helper.c
%C%_fifo_helper_LDADD = tests/sites/libsitelib.la libhakmem/libhakmem.la

TESTS += %D%/hostile.sh %D%/records.sh
EXTRA_DIST += %D%/hostile.sh %D%/records.sh
