## ---- tests/release: what a newcomer meets ------------------------------------------
## dist.sh: the `make dist` tarball has the README's scripts and .ci, and builds with
## ./configure && make. install.sh: `make install` puts the exporter's systemd unit
## (not enabled), the example rules and the headers in place, and the installed
## hakmem.h declares free_sized/free_aligned_sized without a warning under -Werror.
## docs.sh: what the README, the man pages and the error messages tell a newcomer.
TESTS += %D%/dist.sh %D%/install.sh %D%/docs.sh
EXTRA_DIST += %D%/dist.sh %D%/install.sh %D%/docs.sh
