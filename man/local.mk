## ---- man pages ---------------------------------------------------------------
## Produced from .in files by configure so the version is filled in.
man_MANS += %D%/hakmem.3
EXTRA_DIST += %D%/hakmem.3.in
