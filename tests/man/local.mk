
## ---- tests/man: the pages cover the code ---------------------------------------
TESTS += %D%/man.sh
EXTRA_DIST += %D%/man.sh
