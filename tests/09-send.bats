#!/usr/bin/env bats
# Lesson 09 - send: send() may send less than asked; a send-all loop; SIGPIPE.
# The server greets each client with "Hello, client!\n" and sends a 4 MiB
# payload ("payload 0000000\n", "payload 0000001\n", ...) whole, reporting how
# many send() calls were short. A client that leaves early is an EPIPE or
# ECONNRESET for that client only: the server never dies of SIGPIPE.

bats_require_minimum_version 1.7.0
load helpers/common

# expected_bytes BYTES: the greeting and the first BYTES bytes of the payload.
expected_bytes() {
    printf 'Hello, client!\n'
    awk -v n="$1" 'BEGIN { for (i = 0; i * 16 < n; i++) printf "payload %07d\n", i }' | head -c "$1"
}

# receive [PEER OPTIONS...]: connect with peer, keep what it receives in
# $BATS_TEST_TMPDIR/got; sets $status.
receive() {
    status=0
    timeout -k 2 20 "$(tool peer)" "$@" 127.0.0.1 "$PORT" >"$BATS_TEST_TMPDIR/got" 2>"$BATS_TEST_TMPDIR/got.err" \
        3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- || status=$?
}

# expect_all_bytes BYTES: what receive got is exactly the greeting and BYTES payload bytes.
expect_all_bytes() {
    local want got
    want=$(expected_bytes "$1" | cksum)
    got=$(cksum <"$BATS_TEST_TMPDIR/got")
    [ "$want" = "$got" ] || fail "The client did not receive the expected bytes." \
        "expected (cksum, size): $want" "received (cksum, size): $got" \
        "$(show_text "the start of what it received:" "$(head -c 200 "$BATS_TEST_TMPDIR/got")")" \
        "$(show_text "peer's error output:" "$(cat "$BATS_TEST_TMPDIR/got.err")")"
}

@test "the server says where it listens, on the port the kernel chose" {
    start_server send 127.0.0.1 0
    [ "$PORT" -gt 0 ] || fail "port 0 should become a real port, got $PORT"
}

@test "a client is greeted with Hello, client! before anything else" {
    start_server send 127.0.0.1 0
    peer -n 15 127.0.0.1 "$PORT"
    expect_status 0
    expect_equal "the first 15 bytes" "Hello, client!" "$output"
}

@test "the client receives all 4 MiB of the payload, byte for byte" {
    start_server send 127.0.0.1 0
    receive
    expect_equal "peer's exit status" 0 "$status"
    expect_all_bytes 4194304
    wait_for_output '^client 1: sent 4194304 bytes in [0-9]+ send\(\) calls'
}

# report_counts: "BYTES CALLS SHORT INTERRUPTED" from the server's line
# "client 1: sent BYTES bytes in CALLS send() calls: SHORT short, INTERRUPTED interrupted (EINTR)".
report_counts() {
    sed -nE 's/^client 1: sent ([0-9]+) bytes in ([0-9]+) send\(\) calls: ([0-9]+) short, ([0-9]+) interrupted.*/\1 \2 \3 \4/p' "$SERVER_OUT" | head -n 1
}

@test "the report's counts add up: every short send is followed by another call, and no call is left out" {
    # SIGALRM every 5 ms while the client waits 300 ms to read: short sends.
    start_server send -a 5 -s 4096 127.0.0.1 0
    receive -W 300
    expect_all_bytes 4194304
    wait_for_output '^client 1: sent 4194304 bytes in ' || return 1
    local bytes calls short interrupted
    read -r bytes calls short interrupted <<<"$(report_counts)"
    [ -n "$interrupted" ] || fail "No report line with all four counts." "$(show_text "server output:" "$(server_output)")"
    # Each short or interrupted call needs one more call after it; the last
    # call is a whole one.
    [ "$calls" -ge $((short + interrupted + 1)) ] ||
        fail "The report says $calls send() calls, $short short and $interrupted interrupted:" \
             "  a short (or interrupted) send is always followed by another call, so there must be at least $((short + interrupted + 1))." \
             "  Count every call to send(2), whatever it returned."
}

@test "a send that fails with EINTR is counted as interrupted and made again (strace -e inject)" {
    command -v strace >/dev/null || skip "strace is not installed"
    local path log="$BATS_TEST_TMPDIR/eintr.strace"
    path=$(prog send) || return 1
    # The 2nd and 3rd sendto (send(2) to the kernel) fail with EINTR, as if a
    # signal had come before any byte went; the 1st is the greeting.
    SERVER_OUT="$BATS_TEST_TMPDIR/send.out" SERVER_ERR="$BATS_TEST_TMPDIR/send.err" SERVER_NAME=send
    spawn "$SERVER_OUT" "$SERVER_ERR" strace -f -o "$log" -e trace=sendto \
        -e inject=sendto:error=EINTR:when=2..3 -- "$path" -b 100000 127.0.0.1 0
    SERVER_PID=$SPAWNED_PID
    wait_for_output 'listening on .*:[0-9]+' 10 || return 1
    PORT=$(listening_port "$SERVER_OUT")
    receive
    expect_all_bytes 100000
    wait_for_output '^client 1: (sent|gave up)' || return 1
    # Did strace inject what was asked? Otherwise this test proves nothing.
    local injected
    injected=$(grep -c 'EINTR .*(INJECTED)' "$log" || true)
    [ "$injected" -eq 2 ] || fail "strace injected $injected EINTR errors into sendto, not 2: this test cannot judge the program." \
        "$(show_text "strace's log:" "$(head -n 20 "$log")")"
    local bytes calls short interrupted
    read -r bytes calls short interrupted <<<"$(report_counts)"
    expect_line '^client 1: sent 100000 bytes' "$(server_output)" || return 1
    expect_equal "the interrupted (EINTR) count in the report" 2 "$interrupted"
}

@test "-b sets the payload size: -b 1000 sends exactly 1000 payload bytes" {
    start_server send -b 1000 127.0.0.1 0
    receive
    expect_all_bytes 1000
}

@test "with a small SO_SNDBUF and a small client SO_RCVBUF every byte still arrives" {
    start_server send -s 4096 127.0.0.1 0
    receive -B 4096
    expect_equal "peer's exit status" 0 "$status"
    expect_all_bytes 4194304
}

@test "when signals interrupt a blocked send, short sends are reported and sent on" {
    # A SIGALRM every 5 ms; the client waits 300 ms before it reads, so the
    # server is blocked in send() with a full buffer when the signals come.
    start_server send -a 5 -s 4096 127.0.0.1 0
    receive -W 300
    expect_all_bytes 4194304
    wait_for_output '^client 1: sent 4194304 bytes in [0-9]+ send\(\) calls: [1-9][0-9]* short'
}

@test "a client that shuts down and leaves after the greeting gives EPIPE, not a SIGPIPE death" {
    start_server send -s 4096 127.0.0.1 0
    # -H: shut down our sending side first (the server sees end-of-file);
    # -n 15: read the greeting, then close with data unread (a reset).
    # -B 4096 and the server's -s 4096 keep the bytes in flight far below the
    # 4 MiB payload, so the server is still sending when we leave.
    peer -B 4096 -H -n 15 127.0.0.1 "$PORT"
    local deadline=$((SECONDS + 5))
    while ! grep -q '^client 1: gave up' "$SERVER_OUT" && kill -0 "$SERVER_PID" 2>/dev/null &&
        [ "$SECONDS" -le "$deadline" ]; do
        sleep 0.05
    done
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        local st=0
        wait "$SERVER_PID" || st=$?
        [ "$st" -gt 128 ] && st="$st, killed by $(signal_name "$st")"
        fail "The server died (exit status $st) when the client left." \
             "$(show_text "Its output:" "$(server_output)")"
        return 1
    fi
    wait_for_output '^client 1: gave up after [0-9]+ of 4194304 payload bytes$'
    expect_line '^client 1: send: EPIPE ' "$(server_errors)"
}

@test "after a client left early, the next client is served in full" {
    start_server send 127.0.0.1 0
    peer -H -n 15 127.0.0.1 "$PORT"
    receive
    expect_all_bytes 4194304
    wait_for_output '^client 2: sent 4194304 bytes'
}

@test "a client that resets the connection is reported (ECONNRESET or EPIPE) and the server goes on" {
    start_server send 127.0.0.1 0
    peer -B 4096 -n 20000 127.0.0.1 "$PORT"
    peer -R 127.0.0.1 "$PORT"
    wait_for_output '^client 2: gave up after'
    expect_line '^client 1: send: (ECONNRESET|EPIPE) ' "$(server_errors)"
    receive -n 15
    expect_equal "what client 3 received" "Hello, client!" "$(cat "$BATS_TEST_TMPDIR/got")"
}

@test "it stops on SIGTERM with status 0" {
    start_server send -b 100 127.0.0.1 0
    receive
    stop_server TERM
    expect_equal "the exit status after SIGTERM" 0 "$SERVER_STATUS"
    expect_line '^stopped by SIGTERM$' "$(server_output)"
}

@test "it stops on SIGINT (Ctrl-C) with status 0, even with a timer running (-a)" {
    start_server send -a 5 127.0.0.1 0
    stop_server INT
    expect_equal "the exit status after SIGINT" 0 "$SERVER_STATUS"
}

@test "a port already in use is a setup error: bind fails with EADDRINUSE, status 1" {
    start_server send 127.0.0.1 0
    run_prog send 127.0.0.1 "$PORT"
    expect_status 1
    expect_stderr_line '^bind: EADDRINUSE '
}

@test "a bad number gets the usage line and status 1" {
    run_prog send -s 0 127.0.0.1 0
    expect_status 1
    expect_stderr_line '^usage: send '
    run_prog send 127.0.0.1 70000
    expect_status 1
    expect_stderr_line '^usage: send '
}

@test "SIGTERM stops the server while its send() is blocked on a client that never reads" {
    # The server's -s 4096 and the client's -B 4096 keep both buffers far
    # below the 4 MiB payload, and the client waits 60 s before it reads a
    # byte: the server sits in send() on a full buffer when SIGTERM comes.
    # A send-all loop that retries after EINTR without asking whether the
    # signal meant "stop" sends on, blocks again, and never stops.
    start_server send -s 4096 127.0.0.1 0
    spawn "$BATS_TEST_TMPDIR/slow.out" "$BATS_TEST_TMPDIR/slow.err" "$(tool peer)" -B 4096 -W 60000 127.0.0.1 "$PORT"
    wait_for_output '^client 1: .* connected$'
    sleep 0.5
    expect_no_line '^client 1: (sent|gave up)' "$(server_output)"
    stop_server TERM
    expect_equal "the exit status after SIGTERM" 0 "$SERVER_STATUS"
    expect_line '^client 1: gave up after [0-9]+ of 4194304 payload bytes$' "$(server_output)"
    expect_line '^stopped by SIGTERM$' "$(server_output)"
}
