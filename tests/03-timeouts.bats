#!/usr/bin/env bats
# Lesson 03 - timeouts: a recv that gives up, a connect with a deadline.
# `timeouts recv HOST PORT MS` sets SO_RCVTIMEO and waits for data that never
# comes; `timeouts connect HOST PORT MS` connects with a deadline (non-blocking
# connect, poll, SO_ERROR). The partner is tests/tools/timeouts-listener.c: a
# listener that never accepts and never sends, that can fill its own accept
# queue (-b 0 -f 1: on Linux a backlog-0 queue holds one connection), or that
# only binds, so connects are refused (-c).

bats_require_minimum_version 1.7.0
load helpers/common

# listener ARGS...: start timeouts-listener with ARGS; sets PORT and SERVER_OUT.
listener() {
    SERVER_OUT="$BATS_TEST_TMPDIR/listener.$RANDOM.out"
    SERVER_ERR="${SERVER_OUT%.out}.err"
    "$(tool timeouts-listener)" "$@" >"$SERVER_OUT" 2>"$SERVER_ERR" </dev/null 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
    SERVER_PID=$!
    STARTED_PIDS+=("$SERVER_PID")
    wait_for_output '(listening on|closed port) 127\.0\.0\.1:[0-9]+' 5 || return 1
    PORT=$(sed -nE 's/.*127\.0\.0\.1:([0-9]+).*/\1/p' "$SERVER_OUT" | head -n 1)
}

now_ms() {
    echo $(($(date +%s%N) / 1000000))
}

# timed_recv MS: run `timeouts recv` against $PORT with MS; sets ELAPSED (ms, measured here).
timed_recv() {
    local start
    start=$(now_ms)
    run_prog timeouts recv 127.0.0.1 "$PORT" "$1"
    ELAPSED=$(($(now_ms) - start))
}

@test "recv on a silent connection fails with EAGAIN (EWOULDBLOCK) once the receive timeout passes" {
    listener -b 8
    run_prog timeouts recv 127.0.0.1 "$PORT" 300
    expect_status 1
    expect_line "^connected to 127\.0\.0\.1:$PORT\$"
    expect_line '^recv gave up after [0-9]+ ms$'
    expect_stderr_line '^recv: E(AGAIN|WOULDBLOCK) \(Resource temporarily unavailable\)$'
}

@test "a 600 ms receive timeout gives up no sooner than 600 ms and well before a hang" {
    listener -b 8
    timed_recv 600
    expect_status 1
    [ "$ELAPSED" -ge 600 ] || fail "recv gave up after ${ELAPSED} ms, before the 600 ms timeout." \
        "$(show_text "Its output:" "$output")"
    [ "$ELAPSED" -lt 3600 ] || fail "recv took ${ELAPSED} ms to give up; the timeout was 600 ms."
}

@test "the timeout comes from the command line: 1500 ms waits longer than 600 ms would" {
    listener -b 8
    timed_recv 1500
    expect_status 1
    expect_stderr_line '^recv: E(AGAIN|WOULDBLOCK) '
    [ "$ELAPSED" -ge 1500 ] || fail "recv gave up after ${ELAPSED} ms, before the 1500 ms timeout." \
        "$(show_text "Its output:" "$output")"
    [ "$ELAPSED" -lt 4500 ] || fail "recv took ${ELAPSED} ms to give up; the timeout was 1500 ms."
}

@test "a zero timeout means no timeout: recv is still waiting after 1.5 s" {
    listener -b 8
    path=$(prog timeouts)
    run timeout 1.5 "$path" recv 127.0.0.1 "$PORT" 0 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&-
    [ "$status" -eq 124 ] || fail "Expected recv to block until timeout(1) stopped it (status 124), but the program exited with $status." \
        "$(show_text "Its output:" "$output")"
    expect_line '^SO_RCVTIMEO set to 0 ms'
}

@test "connect with a deadline succeeds at once against a listener with room in its queue" {
    listener -b 8
    run_prog timeouts connect 127.0.0.1 "$PORT" 2000
    expect_status 0
    expect_line "^connected to 127\.0\.0\.1:$PORT after [0-9]+ ms\$"
    took=$(sed -nE 's/^connected to .* after ([0-9]+) ms$/\1/p' <<<"$output")
    [ "$took" -lt 1000 ] || fail "connecting on loopback took ${took} ms."
}

@test "connect fails with ETIMEDOUT after about the deadline when the listener's accept queue is full" {
    listener -b 0 -f 1
    wait_for_output '^filled 1 of 1$' 1
    run_prog timeouts connect 127.0.0.1 "$PORT" 500
    expect_status 1
    expect_stderr_line '^connect: ETIMEDOUT \(Connection timed out\)$'
    expect_line "^connect to 127\.0\.0\.1:$PORT failed after [0-9]+ ms\$"
    took=$(sed -nE 's/^connect to .* failed after ([0-9]+) ms$/\1/p' <<<"$output")
    [ "$took" -ge 500 ] || fail "connect gave up after ${took} ms, before its 500 ms deadline."
    [ "$took" -lt 3000 ] || fail "connect took ${took} ms to give up; the deadline was 500 ms."
}

@test "a refused connect is reported from SO_ERROR as ECONNREFUSED, not as connected" {
    listener -c
    run_prog timeouts connect 127.0.0.1 "$PORT" 2000
    expect_status 1
    expect_no_line '^connected'
    expect_stderr_line '^connect: ECONNREFUSED \(Connection refused\)$'
}

@test "a mode other than recv or connect gets the usage line and exit status 1" {
    run_prog timeouts send 127.0.0.1 9999 100
    expect_status 1
    expect_stderr_line '^usage: timeouts'
}

@test "a timeout that is not a number of milliseconds gets the usage line and exit status 1" {
    run_prog timeouts recv 127.0.0.1 9999 1.5
    expect_status 1
    expect_stderr_line '^usage: timeouts'
}

@test "missing arguments get the usage line and exit status 1" {
    run_prog timeouts recv 127.0.0.1
    expect_status 1
    expect_stderr_line '^usage: timeouts'
}
