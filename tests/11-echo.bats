#!/usr/bin/env bats
# Lesson 11 - echo: the source course's echo server, line by line.
# It greets with "Hello, client!" and answers each line with "Echo: LINE".
# A line ends at "\n"; a "\r" before it (telnet) is not part of the line;
# everything the server sends ends in "\r\n". Lines split over several recvs
# are joined, several lines in one recv are answered one by one. Clients are
# served one after another; one that vanishes does not stop the server.

bats_require_minimum_version 1.7.0
load helpers/common

@test "the server says where it listens, on the port the kernel chose" {
    start_server echo-server 127.0.0.1 0
    [ "$PORT" -gt 0 ] || fail "port 0 should become a real port, got $PORT"
}

@test "a client is greeted with Hello, client!" {
    start_server echo-server 127.0.0.1 0
    client_open A
    client_expect A '^Hello, client!$'
}

@test "a line ending in LF (as nc sends it) is answered with Echo: and the line, CRLF-terminated" {
    start_server echo-server 127.0.0.1 0
    peer -d 'hello\n' -H 127.0.0.1 "$PORT"
    expect_status 0
    expect_equal "the bytes received" $'Hello, client!\r\nEcho: hello\r' "$output"
}

@test "a line ending in CRLF (as telnet sends it) is echoed without its \\r" {
    start_server echo-server 127.0.0.1 0
    peer -d 'hello\r\n' -H 127.0.0.1 "$PORT"
    expect_status 0
    expect_equal "the bytes received" $'Hello, client!\r\nEcho: hello\r' "$output"
    wait_for_output '^client 1: line "hello"$'
}

@test "a conversation as with telnet: each line gets its answer before the next is sent" {
    start_server echo-server 127.0.0.1 0
    client_open A
    client_expect A '^Hello, client!$'
    client_send A 'first line\r\n'
    client_expect A '^Echo: first line$'
    client_send A 'second line\r\n'
    client_expect A '^Echo: second line$'
}

@test "several lines in one send are answered one by one, in order" {
    start_server echo-server 127.0.0.1 0
    peer -d 'one\ntwo\r\nthree\n' -H 127.0.0.1 "$PORT"
    expect_equal "the bytes received" $'Hello, client!\r\nEcho: one\r\nEcho: two\r\nEcho: three\r' "$output"
}

@test "a line sent in 1-byte pieces is still echoed as one line" {
    start_server echo-server 127.0.0.1 0
    run_tool recv-pieces -g 30 127.0.0.1 "$PORT" h e l l o ' ' w o r l d '\r' '\n'
    expect_status 0
    expect_equal "the bytes received" $'Hello, client!\r\nEcho: hello world\r' "$output"
    expect_no_line '^client 1: line "h"$' "$(server_output)"
}

@test "an empty line gets an empty echo" {
    start_server echo-server 127.0.0.1 0
    peer -d '\r\n' -H 127.0.0.1 "$PORT"
    expect_equal "the bytes received" $'Hello, client!\r\nEcho: \r' "$output"
}

@test "a last line without a newline is answered when the client half-closes" {
    start_server echo-server 127.0.0.1 0
    peer -d 'no newline' -H 127.0.0.1 "$PORT"
    expect_equal "the bytes received" $'Hello, client!\r\nEcho: no newline\r' "$output"
    wait_for_output '^client 1: closed the connection after 1 lines$'
}

@test "a line longer than the buffer is answered in pieces, none lost" {
    start_server echo-server 127.0.0.1 0
    local long
    long=$(printf 'x%.0s' $(seq 1500))
    peer -d "${long}\\n" -H 127.0.0.1 "$PORT"
    local echoed
    echoed=$(tr -d '\r\n' <<<"$output" | sed 's/Hello, client!//; s/Echo: //g')
    expect_equal "the x's echoed" "$long" "$echoed"
}

@test "clients are served one after another: the second is greeted when the first leaves" {
    start_server echo-server 127.0.0.1 0
    client_open A
    client_expect A '^Hello, client!$'
    client_open B
    client_send B 'I was waiting\n'
    local fd line
    fd=$(client_fd B)
    if IFS= read -r -t 0.5 -u "$fd" line; then
        fail "Client B got \"$line\" while client A was still being served."
    fi
    client_close A
    client_expect B '^Hello, client!$'
    client_expect B '^Echo: I was waiting$'
}

@test "a client that resets in the middle of a line does not stop the server" {
    start_server echo-server 127.0.0.1 0
    peer -d 'half a li' -R 127.0.0.1 "$PORT"
    wait_for_output '^client 1: (dropped|closed)'
    client_open B
    client_expect B '^Hello, client!$'
    client_send B 'still here?\n'
    client_expect B '^Echo: still here\?$'
}

@test "a client that closes after half a line, without reading, does not stop the server" {
    start_server echo-server 127.0.0.1 0
    peer -d 'half' -N 127.0.0.1 "$PORT"
    peer -d 'half' -N 127.0.0.1 "$PORT"
    wait_for_output '^client 2: (dropped|closed)'
    peer -d 'next\n' -H 127.0.0.1 "$PORT"
    expect_equal "the bytes received" $'Hello, client!\r\nEcho: next\r' "$output"
}

@test "it stops on SIGTERM with status 0 while a client is connected" {
    start_server echo-server 127.0.0.1 0
    client_open A
    client_expect A '^Hello, client!$'
    stop_server TERM
    expect_equal "the exit status after SIGTERM" 0 "$SERVER_STATUS"
    expect_line '^stopped by SIGTERM$' "$(server_output)"
    client_expect_closed A
}

@test "it stops on SIGINT (Ctrl-C) with status 0" {
    start_server echo-server 127.0.0.1 0
    stop_server INT
    expect_equal "the exit status after SIGINT" 0 "$SERVER_STATUS"
}

@test "a port already in use fails with EADDRINUSE; a bad port gets the usage line" {
    start_server echo-server 127.0.0.1 0
    run_prog echo-server 127.0.0.1 "$PORT"
    expect_status 1
    expect_stderr_line '^bind: EADDRINUSE '
    run_prog echo-server 127.0.0.1 port
    expect_status 1
    expect_stderr_line '^usage: echo-server '
}

@test "a line of exactly 1024 bytes (the buffer's size) gets one echo, and no empty one after it" {
    start_server echo-server 127.0.0.1 0
    long=$(printf 'z%.0s' $(seq 1024))
    client_open A
    client_expect A '^Hello, client!$'
    client_send A "$long\\nnext\\n"
    client_expect A '^Echo: '
    expect_equal "the first echo" "Echo: $long" "$REPLY"
    client_expect A '^Echo: '
    expect_equal "the echo after it" "Echo: next" "$REPLY"
}

@test "a 1023-byte line ending in CRLF is echoed without its \\r, and no empty echo follows" {
    start_server echo-server 127.0.0.1 0
    long=$(printf 'w%.0s' $(seq 1023))
    peer -d "$long\\r\\nnext\\r\\n" -H 127.0.0.1 "$PORT"
    expect_status 0
    expect_equal "the bytes received" $'Hello, client!\r\nEcho: '"$long"$'\r\nEcho: next\r' "$output"
}

@test "it stops on SIGTERM while a client that sent half a line waits in silence" {
    start_server echo-server 127.0.0.1 0
    client_open A
    client_expect A '^Hello, client!$'
    client_send A 'half a li'
    wait_for_output '^client 1: .* connected$'
    sleep 0.3
    stop_server TERM
    expect_equal "the exit status after SIGTERM" 0 "$SERVER_STATUS"
    expect_line '^stopped by SIGTERM$' "$(server_output)"
}
