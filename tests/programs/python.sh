# python.sh: Debian's /usr/bin/python3 under each setting, with PYTHONMALLOC=malloc so
# that its objects come from malloc rather than from pymalloc's arenas: threads building
# dicts and lists, multiprocessing pools with the fork and the spawn start methods (the
# workers inherit the setting), and asyncio (a TCP echo server on 127.0.0.1 with 50
# clients, and queues). Each prints figures computed from its work; they must equal
# those of a reference run under glibc.

. "$abs_top_srcdir/tests/programs/lib.sh"

corpus_plan 4
py=/usr/bin/python3
require "$py"
PYTHONMALLOC=malloc
PYTHONDONTWRITEBYTECODE=1
export PYTHONMALLOC PYTHONDONTWRITEBYTECODE

cat >"$HK_TMP/threads.py" <<'PY'
import hashlib, threading
results = [None] * 4
def work(t):
    h = hashlib.sha256()
    for rnd in range(4):
        d = {"k%d-%d" % (t, i): [i] * (i % 13) for i in range(20000)}
        rows = sorted(d.items(), key=lambda kv: (len(kv[1]), kv[0]))
        h.update(repr(rows[:: 997]).encode())
        del d[next(iter(d))]
    results[t] = h.hexdigest()[:16]
threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
for th in threads: th.start()
for th in threads: th.join()
print(" ".join(results))
PY

# One script for both start methods: the method is its argument.
cat >"$HK_TMP/pool.py" <<'PY'
import hashlib, multiprocessing as mp, sys
def work(i):
    d = {j: str(j * i) * (j % 7) for j in range(3000)}
    s = sorted(d.values(), key=len)
    return i, sum(map(len, s)), hashlib.md5("".join(s[::50]).encode()).hexdigest()[:8]
if __name__ == "__main__":
    with mp.get_context(sys.argv[1]).Pool(2) as pool:
        out = pool.map(work, range(40), chunksize=3)
    print(sys.argv[1], len(out), sum(r[1] for r in out),
          hashlib.md5(repr(out).encode()).hexdigest())
PY

cat >"$HK_TMP/aio.py" <<'PY'
import asyncio, hashlib
async def handle(reader, writer):
    while line := await reader.readline():
        writer.write(line.upper())
        await writer.drain()
    writer.close()
async def client(port, c):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    h = hashlib.sha256()
    for i in range(200):
        writer.write(b"client %d line %d %s\n" % (c, i, b"x" * (i % 50)))
        await writer.drain()
        h.update(await reader.readline())
    writer.close()
    await writer.wait_closed()
    return h.hexdigest()
async def queues():
    q = asyncio.Queue(maxsize=64)
    async def producer(p):
        for i in range(2000):
            await q.put([p] * (i % 20))
    async def consumer():
        n = 0
        while (item := await q.get()) is not None:
            n += len(item)
        return n
    consumers = [asyncio.create_task(consumer()) for _ in range(3)]
    await asyncio.gather(*(producer(p) for p in range(5)))
    for _ in consumers:
        await q.put(None)
    return sum(await asyncio.gather(*consumers))
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    digests = await asyncio.gather(*(client(port, c) for c in range(50)))
    server.close()
    await server.wait_closed()
    print(hashlib.sha256("".join(digests).encode()).hexdigest(), await queues())
asyncio.run(main())
PY

want_threads=$(plain "$py" "$HK_TMP/threads.py")
want_fork=$(plain "$py" "$HK_TMP/pool.py" fork)
want_spawn=$(plain "$py" "$HK_TMP/pool.py" spawn)
want_aio=$(plain "$py" "$HK_TMP/aio.py")

body() {
    check_eq "4 threads building and sorting dicts" "$want_threads" "$(run "$py" "$HK_TMP/threads.py")"
    check_eq "multiprocessing Pool(2), fork: 40 tasks" "$want_fork" "$(run "$py" "$HK_TMP/pool.py" fork)"
    check_eq "multiprocessing Pool(2), spawn: 40 tasks" "$want_spawn" \
        "$(run "$py" "$HK_TMP/pool.py" spawn)"
    check_eq "asyncio: echo server with 50 clients, queues" "$want_aio" "$(run "$py" "$HK_TMP/aio.py")"
}
# The reference must be a real result, or every comparison would pass on nothing.
[ -n "$want_threads" ] && [ -n "$want_fork" ] && [ -n "$want_spawn" ] && [ -n "$want_aio" ] ||
    fail_rest "the reference run under glibc failed"
corpus_run body

tap_done
