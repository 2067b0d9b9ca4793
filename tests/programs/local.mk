## ---- tests/programs: the real-program corpus ------------------------------------
## Real programs (curl, wget, PostgreSQL, redis, sqlite3, python3, perl, git, gcc/g++,
## xz/zstd/bzip2, sort, openssl, ssh-keygen, node, a dlopen driver) under LD_PRELOAD of
## the built library, each under glibc and four hakmem settings (tests/programs/lib.sh).
## They take minutes, so `make check` leaves them out: `make check-programs` runs them
## through the same harness, so their results land in .trs files like every other test.

HK_PROGRAM_TESTS = \
	%D%/postgres.sh \
	%D%/redis.sh \
	%D%/http.sh
EXTRA_DIST += %D%/lib.sh $(HK_PROGRAM_TESTS)

check-programs: all
	$(MAKE) $(AM_MAKEFLAGS) check TESTS='$(HK_PROGRAM_TESTS)'

.PHONY: check-programs
