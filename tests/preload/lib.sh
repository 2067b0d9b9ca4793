# lib.sh: shared helpers for the LD_PRELOAD tests, sourced (never run) by each
# tests/preload/*.sh. It prints TAP, runs commands with and without the built library
# preloaded — always under `timeout`, so a hang is a failure — and cleans up a temp dir.
#
# Environment (exported by `make check`): HAKMEM_SO, the built libhakmem.so;
# HK_TIMEOUT (optional), seconds allowed for each external command, default 60.

set -u

tap_run=0
tap_failed=0
tap_planned=0
HK_TIMEOUT=${HK_TIMEOUT:-60}

tap_plan() {
    tap_planned=$1
    echo "1..$1"
}

diag() {
    printf '%s\n' "$@" | sed 's/^/# /'
}

ok() {
    tap_run=$((tap_run + 1))
    echo "ok $tap_run - $*"
}

not_ok() {
    tap_run=$((tap_run + 1))
    tap_failed=$((tap_failed + 1))
    echo "not ok $tap_run - $*"
}

# check DESC CMD...: ok when CMD succeeds.
check() {
    hk_desc=$1
    shift
    if "$@"; then ok "$hk_desc"; else not_ok "$hk_desc"; fi
}

# check_eq DESC EXPECTED ACTUAL: ok when the strings are equal; prints both otherwise
# (long values are cut to their first lines).
check_eq() {
    if [ "$2" = "$3" ]; then
        ok "$1"
    else
        not_ok "$1"
        diag "expected:" "$(printf '%s\n' "$2" | head -5)" "got:" "$(printf '%s\n' "$3" | head -5)"
    fi
}

# check_contains DESC NEEDLE HAYSTACK
check_contains() {
    case $3 in
    *"$2"*) ok "$1" ;;
    *)
        not_ok "$1"
        diag "expected to contain: $2" "got:" "$(printf '%s\n' "$3" | head -5)"
        ;;
    esac
}

# tap_done: exit 0 only when every planned result ran and passed.
tap_done() {
    if [ "$tap_run" -ne "$tap_planned" ]; then
        diag "planned $tap_planned results but ran $tap_run"
        exit 1
    fi
    [ "$tap_failed" -eq 0 ] || diag "$tap_failed of $tap_run results failed"
    [ "$tap_failed" -eq 0 ]
    exit
}

# fail_rest REASON: report every remaining planned result as failed and finish.
fail_rest() {
    diag "$1"
    while [ "$tap_run" -lt "$tap_planned" ]; do
        not_ok "$1"
    done
    tap_done
}

# require PROGRAM...: the programs this test exercises must be installed (.ci/run
# installs them); a missing one fails the test rather than skipping it.
require() {
    hk_missing=
    for hk_cmd in timeout "$@"; do
        command -v "$hk_cmd" >/dev/null 2>&1 || hk_missing="$hk_missing $hk_cmd"
    done
    [ -z "$hk_missing" ] || fail_rest "required program not installed:$hk_missing"
    case ${HAKMEM_SO:-} in
    /*) [ -r "$HAKMEM_SO" ] || fail_rest "HAKMEM_SO=$HAKMEM_SO is not a readable file" ;;
    *) fail_rest "HAKMEM_SO must be the absolute path of the built libhakmem.so" ;;
    esac
}

# A private temp dir, removed on exit.
HK_TMP=$(mktemp -d "${TMPDIR:-/tmp}/hakmem-test.XXXXXX") || exit 1
trap 'rm -rf "$HK_TMP"' EXIT

# plain CMD...: run CMD with the system allocator, under the timeout.
plain() {
    timeout -k 5 "$HK_TIMEOUT" "$@"
}

# preload CMD...: run CMD (and its children) with libhakmem preloaded, under the
# timeout. The dynamic loader merely warns when it cannot preload a library and then runs
# the program with the system allocator, so its warning is turned into a failure here.
# Returns CMD's status (124 when it timed out).
preload() {
    hk_err="$HK_TMP/preload.stderr"
    hk_status=0
    timeout -k 5 "$HK_TIMEOUT" env LD_PRELOAD="$HAKMEM_SO" "$@" 2>"$hk_err" || hk_status=$?
    if grep -q 'cannot be preloaded' "$hk_err"; then
        diag "the loader refused HAKMEM_SO:" "$(cat "$hk_err")"
        return 126
    fi
    [ "$hk_status" -ne 124 ] || diag "timed out after $HK_TIMEOUT s: $*"
    cat "$hk_err" >&2
    return "$hk_status"
}
