# python.sh: CPython under LD_PRELOAD=libhakmem — allocation-heavy work with dicts,
# lists and strings, and several threads building lists — gives the same output as
# without the preload.

. "$abs_top_srcdir/tests/preload/lib.sh"

tap_plan 4
require python3

cat >"$HK_TMP/dicts.py" <<'PY'
import hashlib, json
d = {}
for i in range(60000):
    d["key-%d" % i] = {"n": i, "sq": i * i, "s": "v" * (i % 37), "l": list(range(i % 11))}
blob = json.dumps(d, sort_keys=True)
print(len(blob), hashlib.sha256(blob.encode()).hexdigest())
back = json.loads(blob)
print(sum(v["sq"] for v in back.values()) % 1000003)
words = sorted(("%x" % (i * 2654435761 % 2**32)) * (1 + i % 5) for i in range(50000))
print(hashlib.sha256("".join(words).encode()).hexdigest())
PY
want=$(plain python3 "$HK_TMP/dicts.py")
got=$(preload python3 "$HK_TMP/dicts.py")
check_eq "python3: json.dumps of a 60,000-key dict, sorted strings: same output" "$want" "$got"
check "... and the run printed its three lines" test "$(printf '%s\n' "$got" | wc -l)" -eq 3

cat >"$HK_TMP/threads.py" <<'PY'
import threading
results = [None] * 4
def work(t):
    total = 0
    for rnd in range(10):
        rows = [[(t * 31 + rnd * 7 + i) % 1000 for i in range(j % 50)] for j in range(2000)]
        text = {str(k): "x" * (k % 100) for k in range(1000)}
        total += sum(map(sum, rows)) + sum(map(len, text.values()))
    results[t] = total
threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
for th in threads: th.start()
for th in threads: th.join()
print(results)
PY
want=$(plain python3 "$HK_TMP/threads.py")
got=$(preload python3 "$HK_TMP/threads.py")
check_eq "python3: 4 threads building lists and dicts: same output" "$want" "$got"

# Many small objects created and dropped: the garbage collector and free lists at work.
script='import gc
xs = []
for i in range(150000):
    xs.append((i, str(i), [i]))
    if i % 1000 == 999:
        del xs[::2]
gc.collect()
print(len(xs), sum(x[0] for x in xs) % 99991)'
check_eq "python3: creating and dropping 150,000 tuples: same output" \
    "$(plain python3 -c "$script")" "$(preload python3 -c "$script")"

tap_done
