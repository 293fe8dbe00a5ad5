#!/usr/bin/env bats
# Lesson 10 - recv: a byte stream has no message boundaries; 0 means closed.
# The server reads each client until recv returns 0, printing every chunk's
# size and the total, and answers "N bytes in K chunks". Two sends can come
# out as one chunk, one send as many; only the total is sure.

bats_require_minimum_version 1.7.0
load helpers/common

# pieces ARGS...: run tests/tools/recv-pieces (one send() per PIECE) against $PORT.
pieces() {
    local opts=()
    while [ "${1:-}" != "--" ]; do opts+=("$1"); shift; done
    shift
    run_tool recv-pieces "${opts[@]}" 127.0.0.1 "$PORT" "$@"
}

@test "the server says where it listens, on the port the kernel chose" {
    start_server recv 127.0.0.1 0
    [ "$PORT" -gt 0 ] || fail "port 0 should become a real port, got $PORT"
}

@test "two sends that are both queued before the first recv come out as ONE chunk" {
    # The server waits 500 ms before its first recv; the client sends
    # "hello " and "world\n" with two send() calls at once.
    start_server recv -d 500 127.0.0.1 0
    pieces -- 'hello ' 'world\n'
    expect_status 0
    expect_equal "the server's answer" "12 bytes in 1 chunks" "$output"
    wait_for_output '^client 1: chunk 1: 12 bytes "hello world\\n"$'
    expect_no_line '^client 1: chunk 2:' "$(server_output)"
}

@test "recv returns what is there without waiting for a full buffer: 5 bytes show while the client waits" {
    # The client sends 5 bytes and keeps the connection open, silent, for
    # 3 s; the server (1024-byte reads) must show them at once, as one
    # chunk, not wait for 1024 bytes or the end of the stream (MSG_WAITALL).
    start_server recv 127.0.0.1 0
    spawn "$BATS_TEST_TMPDIR/p.out" "$BATS_TEST_TMPDIR/p.err" "$(tool peer)" -d 'hello' -q 3000 -T 3000 127.0.0.1 "$PORT"
    wait_for_output '^client 1: chunk 1: 5 bytes "hello"$' 2
}

@test "one send of 100000 bytes comes out as many chunks when the receive buffer is small" {
    start_server recv -r 4096 -s 1000000 -d 200 127.0.0.1 0
    pieces -z 100000 --
    expect_status 0
    expect_line '^100000 bytes in ([2-9]|[1-9][0-9]+) chunks$'
    wait_for_output '^client 1: 100000 bytes in ([2-9]|[1-9][0-9]+) chunks$'
}

@test "recv never returns more than the size asked for: 5000 bytes with -s 1024 are 5 chunks" {
    start_server recv -s 1024 -d 300 127.0.0.1 0
    pieces -z 5000 --
    expect_equal "the server's answer" "5000 bytes in 5 chunks" "$output"
    wait_for_output '^client 1: chunk 5: 904 bytes '
}

@test "the total is exact, however the bytes were split: 1 MiB from a file" {
    head -c 1048576 /dev/urandom >"$BATS_TEST_TMPDIR/data"
    start_server recv -s 3000 127.0.0.1 0
    peer -f "$BATS_TEST_TMPDIR/data" -H 127.0.0.1 "$PORT"
    expect_status 0
    expect_line '^1048576 bytes in [0-9]+ chunks$'
    wait_for_output '^client 1: 1048576 bytes in [0-9]+ chunks$'
}

@test "every chunk's size is printed, and the sizes add up to the total" {
    start_server recv -s 700 127.0.0.1 0
    pieces -g 50 -- 'first piece\n' 'second\n' 'third and last\n'
    wait_for_output '^client 1: [0-9]+ bytes in [0-9]+ chunks$'
    local sum
    sum=$(sed -nE 's/^client 1: chunk [0-9]+: ([0-9]+) bytes .*/\1/p' "$SERVER_OUT" | awk '{ s += $1 } END { print s + 0 }')
    expect_equal "the sum of the chunk sizes" 34 "$sum"
    expect_line '^client 1: 34 bytes in [0-9]+ chunks$' "$(server_output)"
}

@test "recv returning 0 is reported as the client's orderly close" {
    start_server recv 127.0.0.1 0
    peer -d 'bye\n' -H 127.0.0.1 "$PORT"
    wait_for_output '^client 1: recv returned 0: the client closed its side \(orderly shutdown\)$'
    expect_equal "the server's answer" "4 bytes in 1 chunks" "$output"
}

@test "a client that sends nothing and closes gives 0 bytes in 0 chunks" {
    start_server recv 127.0.0.1 0
    peer -H 127.0.0.1 "$PORT"
    expect_equal "the server's answer" "0 bytes in 0 chunks" "$output"
}

@test "a client that resets is an error for that client only; the next is served" {
    start_server recv -d 200 127.0.0.1 0
    peer -d 'abc' -R 127.0.0.1 "$PORT"
    peer -d 'next\n' -H 127.0.0.1 "$PORT"
    expect_equal "the next client's answer" "5 bytes in 1 chunks" "$output"
    expect_line '^client 1: recv: ECONNRESET ' "$(server_errors)"
    expect_no_line '^client 1: recv returned 0' "$(server_output)"
}

@test "clients are served one after another, each counted on its own" {
    start_server recv 127.0.0.1 0
    for i in 1 2 3; do
        peer -d "client $i\\n" -H 127.0.0.1 "$PORT"
        expect_equal "client $i's answer" "9 bytes in 1 chunks" "$output"
    done
    wait_for_output '^client 3: 9 bytes in 1 chunks$'
}

@test "it stops on SIGTERM with status 0, even with a client connected" {
    start_server recv 127.0.0.1 0
    client_open A
    wait_for_output '^client 1: .* connected$'
    stop_server TERM
    expect_equal "the exit status after SIGTERM" 0 "$SERVER_STATUS"
    expect_line '^stopped by SIGTERM$' "$(server_output)"
}

@test "it stops on SIGINT (Ctrl-C) with status 0" {
    start_server recv 127.0.0.1 0
    stop_server INT
    expect_equal "the exit status after SIGINT" 0 "$SERVER_STATUS"
}

@test "a port already in use fails with EADDRINUSE; a bad size gets the usage line" {
    start_server recv 127.0.0.1 0
    run_prog recv 127.0.0.1 "$PORT"
    expect_status 1
    expect_stderr_line '^bind: EADDRINUSE '
    run_prog recv -s 0
    expect_status 1
    expect_stderr_line '^usage: recv '
}
