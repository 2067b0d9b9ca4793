# programs-run.sh: one run of one program under one allocator, for bench/programs,
# sourced by it (never run).
#
# run_one PROGRAM ALLOCATOR appends the run's values to $work/raw, one per line:
# "ROUND ALLOCATOR PROGRAM KEY VALUE", or "ROUND ALLOCATOR PROGRAM FAIL WHY".

# Seconds any one command may take before it is killed (a hang is a failed run).
limit=600
have_timeout=no
command -v timeout >/dev/null 2>&1 && have_timeout=yes

# Whatever the caller's environment says about allocators stays out of the runs.
for var in $(env | sed -n 's/^\(HAKMEM_[A-Z_]*\|MALLOC_[A-Z_]*\|MIMALLOC_[A-Z_]*\|TCMALLOC_[A-Z_]*\)=.*/\1/p'); do
    case $var in HAKMEM_SO | MIMALLOC_SO | TCMALLOC_SO) ;; *) unset "$var" ;; esac
done
unset MALLOC_CONF LD_PRELOAD

# record KEY VALUE | record FAIL WHY: one line of the current run.
record() {
    echo "$round $alloc $prog $1 $2" >>"$work/raw"
}

# bounded CMD...: CMD under the time limit, its output to $work/last.out and the log.
bounded() {
    echo "### round $round $alloc $prog: $*" >>"$log"
    if [ "$have_timeout" = yes ]; then
        timeout -k 5 "$limit" "$@" >"$work/last.out" 2>&1
    else
        "$@" >"$work/last.out" 2>&1
    fi
    bounded_status=$?
    cat "$work/last.out" >>"$log"
    return $bounded_status
}

# measured [-p LIBRARY] -- CMD...: run CMD under bench/measure (and the time limit),
# and set `wall` and `rss` to its wall time and peak RSS; returns 1, having recorded
# why, if it failed (a library the loader refused counts: ld.so only warns).
measured() {
    rm -f "$work/measure.out"
    bounded "$measure" -o "$work/measure.out" "$@"
    st=$?
    why=
    if ! [ -s "$work/measure.out" ]; then
        why=$([ "$st" -eq 124 ] && echo timed_out || echo "exit_status_$st")
    elif [ "$st" -ne 0 ]; then
        why=exit_status_$st
    elif grep -q 'cannot be preloaded' "$work/last.out"; then
        why=preload_failed
    fi
    if [ -n "$why" ]; then
        record FAIL "$why"
        return 1
    fi
    wall=$(sed -n 's/.* wall_s=\([^ ]*\).*/\1/p' "$work/measure.out")
    rss=$(sed -n 's/.* peak_rss_kib=\([^ ]*\).*/\1/p' "$work/measure.out")
}

# measured_row ARGS...: measured, then record both values.
measured_row() {
    measured "$@" || return 1
    record wall_s "$wall"
    record peak_rss_kib "$rss"
}

# The preload option of bench/measure for $alloc: "-p LIBRARY", or nothing for glibc.
preload_opt() {
    eval "p=\$so_$alloc"
    [ -z "$p" ] || echo "-p $p"
}

run_xz() {
    rm -f "$work/xz.in.xz"
    # Two blocks, so that -T2 compresses on two threads (a block is 24 MiB at -6).
    # shellcheck disable=SC2046 # an option and its value, or nothing
    measured_row $(preload_opt) -- xz -T2 -6 --block-size=$((xz_bytes / 2)) -k -f "$work/xz.in"
    rm -f "$work/xz.in.xz"
}

run_git_gc() {
    rm -rf "$work/git.run"
    cp -R "$work/git.repo" "$work/git.run" || { record FAIL copy_failed; return; }
    # shellcheck disable=SC2046
    measured_row $(preload_opt) -- env HOME="$work" GIT_CONFIG_NOSYSTEM=1 \
        git -C "$work/git.run" gc --aggressive --quiet
}

run_sqlite3() {
    # shellcheck disable=SC2046
    measured_row $(preload_opt) -- sqlite3 -batch -init /dev/null :memory: ".read $work/sqlite.sql"
}

run_gxx() {
    (
        cd "$work" || exit 1
        files=
        i=1
        while [ "$i" -le "$gxx_files" ]; do files="$files gxx$i.cc"; i=$((i + 1)); done
        # shellcheck disable=SC2046,SC2086
        measured_row $(preload_opt) -- g++ -std=c++17 $gxx_opt -c $files
    )
}

# The system's python3 by preference: a python3 found first on PATH may be a wrapper
# script (pyenv's shim is bash), which would be timed too.
python=python3
[ -x /usr/bin/python3 ] && python=/usr/bin/python3

run_python3() {
    # shellcheck disable=SC2046
    measured_row $(preload_opt) -- env PYTHONMALLOC=malloc PYTHONHASHSEED=0 \
        "$python" -I "$work/dicts.py" "$py_keys"
}

# redis: the server runs under bench/measure with the allocator (glibc's by
# libcmalloc.so, the binary linking jemalloc), the client is timed without one; the
# server's peak RSS comes from its measure line once it has shut down.
run_redis() {
    dir=$work/redis
    rm -rf "$dir"
    mkdir -p "$dir"
    sock=$dir/sock
    pre=$(preload_opt)
    [ -n "$pre" ] || pre="-p $LIBCMALLOC_SO"
    # shellcheck disable=SC2086
    "$measure" $pre -o "$dir/server.measure" -- redis-server --port 0 --unixsocket "$sock" \
        --dir "$dir" --save "" --appendonly no --logfile "$dir/server.log" </dev/null >>"$log" 2>&1 &
    server_pid=$!
    if ! redis_up "$sock"; then
        record FAIL server_did_not_start
        redis_stop
        return
    fi
    pid=$(redis-cli -s "$sock" INFO server | sed -n 's/^process_id:\([0-9]*\).*/\1/p')
    if ! measured -- env HOME="$work" redis-benchmark -s "$sock" -q -n "$redis_requests" -r 100000 \
        -d 64 -c 20 -P 8 -t "$redis_tests"; then
        redis_stop
        return
    fi
    # Let the allocators' delayed purges (hakmem's, jemalloc's decay) have their time.
    sleep "$redis_settle"
    rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
    redis_stop
    peak=$(sed -n 's/.* peak_rss_kib=\([^ ]*\).*/\1/p' "$dir/server.measure" 2>/dev/null)
    if [ -z "$rss" ] || [ -z "$peak" ]; then
        record FAIL no_server_rss
        return
    fi
    record wall_s "$wall"
    record peak_rss_kib "$peak"
    record rss_after_kib "$rss"
}

# redis_up SOCKET: poll (60 s at most) until the server answers PING.
redis_up() {
    n=600
    while [ "$n" -gt 0 ]; do
        [ "$(redis-cli -s "$1" PING 2>/dev/null)" = PONG ] && return 0
        kill -0 "$server_pid" 2>/dev/null || return 1
        sleep 0.1
        n=$((n - 1))
    done
    return 1
}

# redis_stop: shut the server down (KILL if it is still there after 30 s) and reap it.
redis_stop() {
    redis-cli -s "$sock" SHUTDOWN NOSAVE >/dev/null 2>&1
    n=300
    while kill -0 "$server_pid" 2>/dev/null && [ "$n" -gt 0 ]; do
        sleep 0.1
        n=$((n - 1))
    done
    kill -9 "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
    cat "$dir/server.log" >>"$log" 2>/dev/null
    server_pid=
}

run_one() {
    prog=$1
    alloc=$2
    "run_$(fn_of "$prog")"
}
