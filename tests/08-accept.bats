#!/usr/bin/env bats
# Lesson 08 - accept: an accept loop, one new fd per connection.
# The server accepts connections one at a time, prints each one's new fd, its
# local address (getsockname) and the peer's (getpeername), greets the client
# and closes the fd. The listening fd stays open; -n COUNT stops after COUNT.

bats_require_minimum_version 1.7.0
load helpers/common

@test "the server says where it listens, on the port the kernel chose" {
    start_server accept 127.0.0.1 0
    [ "$PORT" -gt 0 ] || fail "port 0 should become a real port, got $PORT"
    wait_for_output "^listening on 127\.0\.0\.1:$PORT$"
}

@test "each connection gets a new fd, not the listening socket's" {
    start_server accept 127.0.0.1 0
    wait_for_output '^the listening socket is fd 3$'
    peer 127.0.0.1 "$PORT"
    expect_status 0
    wait_for_output '^connection 1: fd 4, '
}

@test "the local address of a connection is the address and port the server listens on" {
    start_server accept 127.0.0.1 0
    peer 127.0.0.1 "$PORT"
    wait_for_output "^connection 1: fd [0-9]+, local 127\.0\.0\.1:$PORT, peer 127\.0\.0\.1:[0-9]+$"
}

@test "the peer port the server prints is the client's own port" {
    start_server accept 127.0.0.1 0
    peer -P 127.0.0.1 "$PORT"
    expect_status 0
    local client_port
    # shellcheck disable=SC2154  # $stderr is set by peer (run_tool)
    client_port=$(sed -n 's/^peer: local port //p' <<<"$stderr")
    [ -n "$client_port" ] || fail "peer did not print its local port." "$(show_text "its stderr:" "$stderr")"
    wait_for_output "^connection 1: .*, peer 127\.0\.0\.1:$client_port$"
}

@test "the client is told its own address and port, then reads end-of-file" {
    start_server accept 127.0.0.1 0
    peer -P 127.0.0.1 "$PORT"
    expect_status 0
    local client_port
    # shellcheck disable=SC2154  # $stderr is set by peer (run_tool)
    client_port=$(sed -n 's/^peer: local port //p' <<<"$stderr")
    expect_equal "what the client received" \
        "connection 1: you are 127.0.0.1:$client_port, I am 127.0.0.1:$PORT" "$output"
}

@test "the listening fd stays open: three clients in a row are all served" {
    start_server accept 127.0.0.1 0
    for i in 1 2 3; do
        peer 127.0.0.1 "$PORT"
        expect_status 0
        expect_line "^connection $i: you are " || return 1
    done
    wait_for_output '^connection 3: closed fd '
}

@test "each accepted fd is closed, so the next connection reuses its number" {
    start_server accept 127.0.0.1 0
    for _ in 1 2 3; do peer 127.0.0.1 "$PORT"; done
    wait_for_output '^connection 3: fd '
    expect_line '^connection 2: fd 4, ' "$(server_output)"
    expect_line '^connection 3: fd 4, ' "$(server_output)"
}

@test "after the clients leave, the server holds no more fds than before they came" {
    [ -d /proc/self/fd ] || skip "needs Linux /proc"
    start_server accept 127.0.0.1 0
    local before after
    before=$(open_fds "$SERVER_PID")
    for _ in 1 2 3 4 5; do peer 127.0.0.1 "$PORT"; done
    wait_for_output '^connection 5: closed fd '
    after=$(open_fds "$SERVER_PID")
    [ "$after" -eq "$before" ] || fail "The server had $before fds open before 5 clients and $after after they left:" \
        "an accepted fd was not closed." "$(show_text "ls -l /proc/PID/fd:" "$(ls -l "/proc/$SERVER_PID/fd" 2>&1)")"
}

@test "with -n 2 the server serves two connections and exits with status 0" {
    start_server accept -n 2 127.0.0.1 0
    peer 127.0.0.1 "$PORT"
    peer 127.0.0.1 "$PORT"
    local deadline=$((SECONDS + 5))
    while kill -0 "$SERVER_PID" 2>/dev/null && [ "$SECONDS" -le "$deadline" ]; do sleep 0.05; done
    ! kill -0 "$SERVER_PID" 2>/dev/null || fail "The server still runs after serving 2 connections with -n 2."
    local st=0
    wait "$SERVER_PID" || st=$?
    expect_equal "the exit status" 0 "$st"
    expect_line '^served 2 connections$' "$(server_output)"
}

@test "it stops on SIGTERM with status 0" {
    start_server accept 127.0.0.1 0
    peer 127.0.0.1 "$PORT"
    wait_for_output '^connection 1: closed'
    stop_server TERM
    expect_equal "the exit status after SIGTERM" 0 "$SERVER_STATUS"
    expect_line '^stopped by SIGTERM after 1 connections$' "$(server_output)"
}

@test "it stops on SIGINT (Ctrl-C) with status 0" {
    start_server accept 127.0.0.1 0
    stop_server INT
    expect_equal "the exit status after SIGINT" 0 "$SERVER_STATUS"
}

@test "a port already in use is a setup error: bind fails with EADDRINUSE, status 1" {
    start_server accept 127.0.0.1 0
    run_prog accept 127.0.0.1 "$PORT"
    expect_status 1
    expect_stderr_line '^bind: EADDRINUSE '
}

@test "a bad port or option gets the usage line and status 1" {
    run_prog accept 127.0.0.1 99999
    expect_status 1
    expect_stderr_line '^usage: accept '
    run_prog accept -n zero
    expect_status 1
    expect_stderr_line '^usage: accept '
}
