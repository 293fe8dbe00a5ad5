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
    spawn "$SERVER_OUT" "$SERVER_ERR" "$(tool timeouts-listener)" "$@"
    SERVER_PID=$SPAWNED_PID
    wait_for_output '(listening on|closed port) 127\.0\.0\.1:[0-9]+' 5 || return 1
    PORT=$(sed -nE 's/.*127\.0\.0\.1:([0-9]+).*/\1/p' "$SERVER_OUT" | head -n 1)
}

# still_waiting_after SECONDS ARGS...: start `timeouts ARGS` in the background
# and check it is still running SECONDS later (teardown kills it); sets
# WAITER_OUT to the file with its output.
still_waiting_after() {
    local seconds=$1 path
    shift
    path=$(prog timeouts) || return 1
    WAITER_OUT="$BATS_TEST_TMPDIR/waiter.out"
    spawn "$WAITER_OUT" "${WAITER_OUT%.out}.err" "$path" "$@"
    sleep "$seconds"
    kill -0 "$SPAWNED_PID" 2>/dev/null && return 0
    local st=0
    { wait "$SPAWNED_PID"; } 2>/dev/null || st=$?
    fail "Expected timeouts $* to be still waiting after ${seconds}s (0 means no limit), but it exited with status $st." \
        "$(show_text "Its output:" "$(cat "$WAITER_OUT")")" \
        "$(show_text "Its error output:" "$(cat "${WAITER_OUT%.out}.err")")"
}

now_ms() {
    echo $(($(date +%s%N) / 1000000))
}

# timed_recv MS: run `timeouts recv` against $PORT with MS; sets ELAPSED (ms,
# measured here, so it also counts the program's start, which a sanitizer
# build on a loaded machine can stretch by seconds) and TOOK (the ms the
# program itself reports for the recv alone: the upper bounds use it).
timed_recv() {
    local start
    start=$(now_ms)
    run_prog timeouts recv 127.0.0.1 "$PORT" "$1"
    ELAPSED=$(($(now_ms) - start))
    TOOK=$(sed -nE 's/^recv gave up after ([0-9]+) ms$/\1/p' <<<"$output")
}

# gives_up_between MS LIMIT: against a listener that never answers, recv with
# an MS ms timeout fails with EAGAIN no sooner than MS ms (timed from outside)
# and in less than LIMIT ms (the program's own clock around recv: a sanitizer
# build's start on a loaded machine must not count).
gives_up_between() {
    listener -b 8
    timed_recv "$1"
    expect_status 1
    expect_line '^recv gave up after [0-9]+ ms$'
    expect_stderr_line '^recv: E(AGAIN|WOULDBLOCK) '
    [ "$ELAPSED" -ge "$1" ] || fail "recv gave up after ${ELAPSED} ms, before the $1 ms timeout." \
        "$(show_text "Its output:" "$output")"
    [ "$TOOK" -lt "$2" ] || fail "recv took ${TOOK} ms to give up (the program says); the timeout was $1 ms."
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
    gives_up_between 600 3600
}

@test "the timeout comes from the command line: 1500 ms waits longer than 600 ms would" {
    gives_up_between 1500 4500
}

@test "a zero timeout means no timeout: recv is still waiting after 1.5 s" {
    listener -b 8
    still_waiting_after 1.5 recv 127.0.0.1 "$PORT" 0 || return 1
    expect_line '^SO_RCVTIMEO set to 0 ms' "$(cat "$WAITER_OUT")"
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

@test "a zero deadline means no deadline: connect to a full accept queue is still waiting after 1.5 s" {
    listener -b 0 -f 1
    wait_for_output '^filled 1 of 1$' 1
    still_waiting_after 1.5 connect 127.0.0.1 "$PORT" 0
}

# expect_blocking_again STATUS ARGS...: run `timeouts ARGS` under strace; it
# exits with STATUS, and the last fcntl(3, F_SETFL, ...) on its socket (fd 3)
# clears the O_NONBLOCK that the first one set.
expect_blocking_again() {
    local want=$1
    shift
    run_prog --strace "$BATS_TEST_TMPDIR/trace" "-e trace=fcntl" timeouts "$@"
    expect_status "$want" || return 1
    local trace setfl
    trace=$(cat "$BATS_TEST_TMPDIR/trace")
    setfl=$(grep -E '^fcntl\(3, F_SETFL, ' <<<"$trace" || true)
    [ -n "$setfl" ] || fail "strace saw no fcntl(3, F_SETFL, ...): the connect was not made non-blocking with fcntl(2)." \
        "$(show_text "strace:" "$trace")" || return 1
    expect_line 'O_NONBLOCK' "$(head -n 1 <<<"$setfl")" || return 1
    expect_no_line 'O_NONBLOCK' "$(tail -n 1 <<<"$setfl")" ||
        fail "timeouts $* left its socket non-blocking: connect_with_deadline must restore the flags it found, on every path (fd is left in blocking mode, says its comment)." \
             "$(show_text "strace:" "$trace")"
}

@test "after a timed connect, made or timed out, the socket is blocking again (strace: the last F_SETFL clears O_NONBLOCK)" {
    listener -b 8
    expect_blocking_again 0 connect 127.0.0.1 "$PORT" 2000 || return 1
    stop_started
    listener -b 0 -f 1
    wait_for_output '^filled 1 of 1$' 1
    expect_blocking_again 1 connect 127.0.0.1 "$PORT" 300
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

@test "a connect that times out leaves the socket blocking again (fcntl F_SETFL restores the flags)" {
    listener -b 0 -f 1
    wait_for_output '^filled 1 of 1$' 1
    run_prog --strace "$BATS_TEST_TMPDIR/trace" "-e trace=fcntl" timeouts connect 127.0.0.1 "$PORT" 300
    expect_status 1
    expect_stderr_line '^connect: ETIMEDOUT '
    local last
    last=$(grep 'F_SETFL' "$BATS_TEST_TMPDIR/trace" | tail -n 1)
    [[ -n "$last" && "$last" != *O_NONBLOCK* ]] ||
        fail "connect_with_deadline must make the socket blocking again on every path, a failed one too; its last F_SETFL was: ${last:-(none)}" \
             "$(show_text "strace:" "$(cat "$BATS_TEST_TMPDIR/trace")")"
}

@test "the error reported is connect's own, even when printing the failure line fails first" {
    # strace makes the first write(2), the "connect to ... failed" line, fail
    # with EIO. A program that prints before it reads errno reports that EIO.
    listener -b 0 -f 1
    wait_for_output '^filled 1 of 1$' 1
    run_prog --strace "$BATS_TEST_TMPDIR/trace" "-e trace=write -e inject=write:error=EIO:when=1" \
        timeouts connect 127.0.0.1 "$PORT" 300
    expect_status 1
    expect_stderr_line '^connect: ETIMEDOUT '
}
