# fork.sh: a threaded program forking under LD_PRELOAD=libhakmem: python threads
# allocate while the main thread calls os.fork() and runs subprocesses; every child must
# be able to allocate and exit, and the whole run must finish within the timeout.

. "$abs_top_srcdir/tests/preload/lib.sh"

tap_plan 3
require python3 true

cat >"$HK_TMP/fork.py" <<'PY'
import os, subprocess, sys, threading
stop = False
def churn(seed):
    n = 0
    while not stop:
        d = {i: str(i * seed) * (i % 7) for i in range(500)}
        l = [bytes(i % 300) for i in range(200)]
        n += len(d) + len(l)
    return n
threads = [threading.Thread(target=churn, args=(s,)) for s in range(1, 4)]
for t in threads:
    t.start()
forked = 0
for i in range(20):
    pid = os.fork()
    if pid == 0:
        try:
            data = [{"k%d" % j: list(range(j % 50))} for j in range(2000)]
            ok = sum(len(x) for x in data) == 2000
        except BaseException:
            ok = False
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    forked += os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
spawned = 0
for i in range(20):
    r = subprocess.run(["true"])
    spawned += r.returncode == 0
stop = True
for t in threads:
    t.join()
print("forked", forked, "spawned", spawned)
PY
out=$(preload python3 -W ignore "$HK_TMP/fork.py")
status=$?
check_eq "python3 with 3 allocating threads finished within 60 s" "0" "$status"
check_contains "all 20 os.fork() children allocated and exited 0" "forked 20" "$out"
check_contains "all 20 subprocess.run() children ran" "spawned 20" "$out"

tap_done
