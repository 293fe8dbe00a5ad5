#!/usr/bin/env bats
# Lesson 21 - udp: a UDP echo server and a client that retries.
# udp-echo-server answers each datagram with the same bytes, sent to the
# address recvfrom reported; -b shrinks its buffer (a longer datagram is cut,
# MSG_TRUNC gives the real length), -l drops a share of the datagrams on
# purpose. udp-client sends each message, waits -t ms for its echo, and sends
# again up to -n times; with -c its socket is connected, so a closed port is
# reported as ECONNREFUSED. Everything is on loopback, on ports the kernel picks.

bats_require_minimum_version 1.7.0
load helpers/common
load helpers/unix     # start_eintr_server

# closed_udp_port: set PORT to a UDP port nothing listens on: one the kernel
# just gave our own server, which we then stopped.
closed_udp_port() {
    start_server udp-echo-server 127.0.0.1 0 || return 1
    stop_server TERM
}

@test "the server binds 127.0.0.1 and prints the port the kernel chose" {
    start_server udp-echo-server 127.0.0.1 0
    expect_line '^listening on 127\.0\.0\.1:[1-9][0-9]*$' "$(server_output)"
}

@test "the client gets its message back byte for byte; the server logs the sender and the size" {
    start_server udp-echo-server 127.0.0.1 0
    run_prog udp-client 127.0.0.1 "$PORT" "hello, datagram"
    expect_status 0
    expect_equal "the client's output" "reply: hello, datagram (15 bytes)" "$output"
    wait_for_output '^from 127\.0\.0\.1:[0-9]+: 15 bytes$'
}

@test "each reply goes to the address recvfrom reported: two clients, each gets its own message" {
    start_server udp-echo-server 127.0.0.1 0
    run_tool udp-peer 127.0.0.1 "$PORT" "I am the first"
    expect_status 0
    expect_line '^reply 14 bytes: I am the first$'
    local first_port=${lines[0]#local port }
    run_tool udp-peer 127.0.0.1 "$PORT" "second here"
    expect_status 0
    expect_line '^reply 11 bytes: second here$'
    local second_port=${lines[0]#local port }
    wait_for_output "^from 127\\.0\\.0\\.1:$first_port: 14 bytes\$"
    wait_for_output "^from 127\\.0\\.0\\.1:$second_port: 11 bytes\$"
}

@test "three datagrams sent before the server reads come back as three, never merged (a byte stream merges them)" {
    start_server udp-echo-server 127.0.0.1 0
    run_tool udp-peer 127.0.0.1 "$PORT" one two three
    expect_status 0
    expect_equal "the replies" $'reply 3 bytes: one\nreply 3 bytes: two\nreply 5 bytes: three' "${output#*$'\n'}"
    wait_for_output ': 5 bytes$'
    expect_equal "the sizes the server logged" $'3\n3\n5' "$(sed -nE 's/^from .*: ([0-9]+) bytes$/\1/p' "$SERVER_OUT")"
    # The contrast with lesson 10: the same three sends into a byte stream,
    # and one read takes all 11 bytes with no trace of where each send ended.
    run_tool udp-peer -S one two three
    expect_equal "one read of a byte stream" "stream read 11 bytes: onetwothree" "$output"
}

@test "an empty datagram is a message, not an end: it is echoed as 0 bytes and the server goes on" {
    start_server udp-echo-server 127.0.0.1 0
    run_tool udp-peer 127.0.0.1 "$PORT" ""
    expect_status 0
    expect_line '^reply 0 bytes: $'
    wait_for_output '^from 127\.0\.0\.1:[0-9]+: 0 bytes$'
    run_prog udp-client 127.0.0.1 "$PORT" "still there?"
    expect_status 0
    expect_line '^reply: still there\? \(12 bytes\)$'
}

@test "a datagram longer than the buffer is cut to fit, and MSG_TRUNC tells the server its real length" {
    start_server udp-echo-server -b 16 127.0.0.1 0
    run_tool udp-peer -z 100 127.0.0.1 "$PORT"
    expect_status 0
    expect_line '^reply 16 bytes: z{16}$'
    wait_for_output '^from 127\.0\.0\.1:[0-9]+: 100 bytes, truncated to 16$'
}

@test "a 60000-byte datagram arrives whole, in one recvfrom, and goes back whole" {
    start_server udp-echo-server 127.0.0.1 0
    run_tool udp-peer -z 60000 127.0.0.1 "$PORT"
    expect_status 0
    expect_line '^reply 60000 bytes: z{64}$'
    wait_for_output '^from 127\.0\.0\.1:[0-9]+: 60000 bytes$'
}

@test "the same echo works over IPv6 (::1)" {
    start_server udp-echo-server ::1 0
    expect_line '^listening on \[::1\]:[0-9]+$' "$(server_output)"
    run_prog udp-client ::1 "$PORT" "six"
    expect_status 0
    expect_line '^reply: six \(3 bytes\)$'
    wait_for_output '^from \[::1\]:[0-9]+: 3 bytes$'
}

@test "a connected client (-c) is told nothing listens on the port: ECONNREFUSED, exit 1" {
    closed_udp_port
    # A long timeout: the answer must be the ICMP error, not a timeout.
    run_prog udp-client -c -n 1 -t 5000 127.0.0.1 "$PORT" "anyone?"
    expect_status 1
    expect_stderr_line '^(send|recvfrom|recv|read): ECONNREFUSED \(Connection refused\)$'
    expect_no_line '^no reply'
}

@test "an unconnected client is never told: it times out after its tries and exits 1" {
    closed_udp_port
    run_prog udp-client -n 2 -t 300 127.0.0.1 "$PORT" "anyone?"
    expect_status 1
    expect_line '^no reply within 300 ms, sending again \(try 2 of 2\)$'
    expect_line '^no reply to "anyone\?" after 2 tries$'
    expect_no_line 'ECONNREFUSED' "$stderr"
}

@test "with the server dropping half the datagrams (-l 50), the client retries and gets every reply" {
    start_server udp-echo-server -l 50 127.0.0.1 0
    run_prog --timeout 30 udp-client -n 4 -t 500 127.0.0.1 "$PORT" one two three
    expect_status 0
    expect_line '^reply: one \(3 bytes\)$'
    expect_line '^reply: two \(3 bytes\)$'
    expect_line '^reply: three \(5 bytes\)$'
    expect_line '^no reply within 500 ms, sending again \(try 2 of 4\)$'
    expect_line ', dropped \(-l\)$' "$(server_output)"
}

@test "with a single try (-n 1), a dropped datagram is a failed exchange: exit 1" {
    start_server udp-echo-server -l 50 127.0.0.1 0
    run_prog udp-client -n 1 -t 300 127.0.0.1 "$PORT" "lost"
    expect_status 1
    expect_line '^no reply to "lost" after 1 tries$'
    wait_for_output '^from 127\.0\.0\.1:[0-9]+: 4 bytes, dropped \(-l\)$'
}

@test "a server that drops everything (-l 100): the client gives up after exactly its tries" {
    start_server udp-echo-server -l 100 127.0.0.1 0
    run_prog udp-client -n 3 -t 200 127.0.0.1 "$PORT" "void"
    expect_status 1
    expect_line '^no reply to "void" after 3 tries$'
    # The client has given up; the server logs its third datagram soon after.
    local seen=0 deadline=$((SECONDS + 5))
    while [ "$SECONDS" -le "$deadline" ]; do
        seen=$(grep -c 'dropped (-l)$' "$SERVER_OUT" || true)
        [ "$seen" -ge 3 ] && break
        sleep 0.05
    done
    expect_equal "datagrams the server saw" 3 "$seen"
}

@test "recvfrom failing with EINTR (injected with strace) does not stop the server" {
    command -v strace >/dev/null || skip "strace is not installed (sudo apt-get install strace)"
    local log=$BATS_TEST_TMPDIR/strace.log
    start_eintr_server udp-echo-server "$log" 127.0.0.1 0
    PORT=$(listening_port "$SERVER_OUT")
    run_tool udp-peer 127.0.0.1 "$PORT" first second third
    expect_status 0
    expect_line '^reply 6 bytes: second$'
    expect_injected "$log"
    expect_no_line 'EINTR' "$(server_errors)"
}

@test "one socket serves every client: the server's open fds do not grow over 60 datagrams" {
    start_server udp-echo-server 127.0.0.1 0
    local before
    before=$(open_fds "$SERVER_PID")
    run_tool udp-peer 127.0.0.1 "$PORT" $(seq 30)
    expect_status 0
    run_tool udp-peer 127.0.0.1 "$PORT" $(seq 30)
    expect_status 0
    expect_equal "the server's open fds after 60 datagrams" "$before" "$(open_fds "$SERVER_PID")"
}

@test "it stops on SIGTERM with status 0" {
    start_server udp-echo-server 127.0.0.1 0
    stop_server TERM
    expect_equal "the exit status after SIGTERM" 0 "$SERVER_STATUS"
    expect_line '^stopped by SIGTERM$' "$(server_output)"
}

@test "bad arguments get the usage line and exit status 1" {
    run_prog udp-echo-server -l 150 127.0.0.1 0
    expect_status 1
    expect_stderr_line '^usage: udp-echo-server '
    run_prog udp-client 127.0.0.1 99999 hello
    expect_status 1
    expect_stderr_line '^usage: udp-client '
    run_prog udp-client 127.0.0.1 9999
    expect_status 1
    expect_stderr_line '^usage: udp-client '
}
