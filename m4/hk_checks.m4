# hk_checks.m4: small probes of our own, so the build needs no autoconf-archive.

# HK_CHECK_CFLAG(FLAG, ACTION-IF-OK): run ACTION when the C compiler accepts FLAG
# without a warning.
AC_DEFUN([HK_CHECK_CFLAG], [
  AS_VAR_PUSHDEF([hk_var], [hk_cv_cflag_$1])
  AC_CACHE_CHECK([whether $CC accepts $1], [hk_var], [
    hk_save_CFLAGS="$CFLAGS"
    CFLAGS="$CFLAGS -Werror $1"
    AC_COMPILE_IFELSE([AC_LANG_PROGRAM([], [])],
      [AS_VAR_SET([hk_var], [yes])], [AS_VAR_SET([hk_var], [no])])
    CFLAGS="$hk_save_CFLAGS"])
  AS_VAR_IF([hk_var], [yes], [$2])
  AS_VAR_POPDEF([hk_var])
])

# HK_CHECK_PTHREAD: set PTHREAD_CFLAGS and PTHREAD_LIBS. glibc 2.34 and later keep
# pthreads in libc; older ones need -pthread at compile and link time.
AC_DEFUN([HK_CHECK_PTHREAD], [
  AC_CACHE_CHECK([how to build with POSIX threads], [hk_cv_pthread], [
    hk_cv_pthread=no
    hk_save_CFLAGS="$CFLAGS"
    hk_save_LIBS="$LIBS"
    for hk_flag in "" "-pthread" "-lpthread"; do
      CFLAGS="$hk_save_CFLAGS $hk_flag"
      LIBS="$hk_save_LIBS $hk_flag"
      AC_LINK_IFELSE([AC_LANG_PROGRAM([[#include <pthread.h>
static void *f(void *a) { return a; }]],
        [[pthread_t t; pthread_create(&t, 0, f, 0); pthread_join(t, 0);
          pthread_key_create(0, 0); pthread_atfork(0, 0, 0);]])],
        [hk_cv_pthread="${hk_flag:-none needed}"; break])
    done
    CFLAGS="$hk_save_CFLAGS"
    LIBS="$hk_save_LIBS"])
  AS_CASE([$hk_cv_pthread],
    [no], [AC_MSG_ERROR([POSIX threads are required])],
    ["none needed"], [PTHREAD_CFLAGS=""; PTHREAD_LIBS=""],
    [-pthread], [PTHREAD_CFLAGS="-pthread"; PTHREAD_LIBS="-pthread"],
    [PTHREAD_CFLAGS=""; PTHREAD_LIBS="$hk_cv_pthread"])
  AC_SUBST([PTHREAD_CFLAGS])
  AC_SUBST([PTHREAD_LIBS])
])
