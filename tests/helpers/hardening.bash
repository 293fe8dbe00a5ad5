# tests/helpers/hardening.bash - the hooks of the hardening tools
# (tools/hardening/ci; docs/hardening.md), sourced by helpers/common.bash only
# when HARDENING_SAN or FRAGPROXY=1 is set. They wrap two of common's helpers
# (stop_started, start_server) without changing what a test sees.
#
# HARDENING_SAN=DIR: the programs under test were built with sanitizers
# (make SAN=address or SAN=thread). Every report is written under DIR
# (log_path), one directory per test, so a report from a server the test
# killed, or one whose stderr a test threw away, is still seen. At teardown
# each started process first gets SIGTERM (a clean exit, so LeakSanitizer
# runs), then SIGKILL; the test fails if any report was written while it ran.
#
# FRAGPROXY=1: start_server puts tests/tools/fragproxy between the test and
# the server. $PORT is then the proxy's port; SERVER_PID is still the server's
# and SERVER_DIRECT_PORT its own port. FRAGPROXY_ARGS adds proxy options.

# hardening_copy_function OLD NEW: define NEW with OLD's body.
hardening_copy_function() {
    local body
    body=$(declare -f "$1") || return 1
    eval "$2${body#"$1"}"
}

# hardening_gentle_stop: SIGTERM every started process still running, and
# give them up to 3 s together to exit by themselves.
hardening_gentle_stop() {
    local pid alive deadline=$((SECONDS + 3))
    for pid in "${STARTED_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null
    done
    while [ "$SECONDS" -le "$deadline" ]; do
        alive=0
        for pid in "${STARTED_PIDS[@]}"; do
            kill -0 "$pid" 2>/dev/null && alive=1
        done
        [ "$alive" -eq 0 ] && break
        nap 0.05
    done
    return 0
}

# hardening_check_sanitizers: fail, showing the report, if a sanitizer wrote
# one during this test (to its log directory or to a server's stderr).
hardening_check_sanitizers() {
    local report="" file
    for file in "$HARDENING_SAN_TEST_DIR"/*; do
        [ -s "$file" ] && { report=$file; break; }
    done
    if [ -z "$report" ]; then
        for file in "$BATS_TEST_TMPDIR"/*.err; do
            [ -f "$file" ] && grep -Eq 'Sanitizer|runtime error:' "$file" && { report=$file; break; }
        done
    fi
    [ -z "$report" ] && return 0
    fail "A sanitizer reported an error in a program this test ran ($report):" \
         "$(head -n 60 "$report")"
}

if [ -n "${HARDENING_SAN:-}" ] && [ -n "${BATS_TEST_TMPDIR:-}" ] &&
   ! declare -F hardening_orig_stop_started >/dev/null; then
    HARDENING_SAN_TEST_DIR="$HARDENING_SAN/$LESSON_DIR.${BATS_SUITE_TEST_NUMBER:-$BATS_TEST_NUMBER}"
    mkdir -p "$HARDENING_SAN_TEST_DIR"
    export ASAN_OPTIONS="${ASAN_OPTIONS:-}:log_path=$HARDENING_SAN_TEST_DIR/asan"
    export UBSAN_OPTIONS="${UBSAN_OPTIONS:-}:log_path=$HARDENING_SAN_TEST_DIR/ubsan"
    export TSAN_OPTIONS="${TSAN_OPTIONS:-}:log_path=$HARDENING_SAN_TEST_DIR/tsan"
    hardening_copy_function stop_started hardening_orig_stop_started
    stop_started() {
        hardening_gentle_stop
        hardening_orig_stop_started
        hardening_check_sanitizers
    }
fi

# With either hook on, start_server is wrapped.
if { [ -n "${HARDENING_SAN:-}" ] || [ "${FRAGPROXY:-}" = 1 ]; } &&
   ! declare -F hardening_orig_start_server >/dev/null; then
    hardening_copy_function start_server hardening_orig_start_server
    start_server() {
        hardening_orig_start_server "$@" || return 1
        [ "${FRAGPROXY:-}" = 1 ] || return 0
        local out="$BATS_TEST_TMPDIR/fragproxy.$RANDOM.out" pid port deadline
        # shellcheck disable=SC2086  # FRAGPROXY_ARGS is a list of options
        "$(tool fragproxy)" ${FRAGPROXY_ARGS:-} 127.0.0.1 "$PORT" >"$out" 2>"${out%.out}.log" \
            </dev/null 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
        pid=$!
        STARTED_PIDS+=("$pid")
        deadline=$((SECONDS + LISTEN_TIMEOUT))
        while [ "$SECONDS" -le "$deadline" ]; do
            port=$(listening_port "$out")
            if [ -n "$port" ]; then
                # shellcheck disable=SC2034  # for tests that need the server's own port
                SERVER_DIRECT_PORT=$PORT
                PORT=$port
                return 0
            fi
            kill -0 "$pid" 2>/dev/null || break
            nap 0.05
        done
        fail "The fragmenting proxy did not start." "$(show_text "Its error output:" "$(cat "${out%.out}.log")")"
    }
fi
