#!/usr/bin/env bats
# Lesson 12 - client: getaddrinfo, IPv4 and IPv6, clear connect errors.
# The client resolves HOST PORT, tries each address, sends one message, prints
# the reply and closes. Its partner here is tests/tools/client-reply-server.c,
# which answers "reply to: MESSAGE" once and closes.

bats_require_minimum_version 1.7.0
load helpers/common

# reply_server ADDRESS: start the one-shot test server on ADDRESS, port 0; sets PORT.
reply_server() {
    start_listener client-reply-server "$(tool client-reply-server)" "$1"
}

have_ipv6_loopback() {
    [ -r /proc/net/if_inet6 ] && grep -q '^0\{31\}1 ' /proc/net/if_inet6
}

@test "the client connects to a server on 127.0.0.1, sends its message and prints the reply" {
    reply_server 127.0.0.1
    run_prog client 127.0.0.1 "$PORT" "hello over IPv4"
    expect_status 0
    expect_line "^connected to 127\.0\.0\.1:$PORT from 127\.0\.0\.1:[0-9]+$"
    expect_line '^received [0-9]+ bytes: reply to: hello over IPv4$'
    wait_for_output '^got: hello over IPv4$'
}

@test "the client connects to a server on ::1 (IPv6) the same way" {
    have_ipv6_loopback || skip "this machine has no IPv6 loopback (::1)"
    reply_server ::1
    run_prog client ::1 "$PORT" "hello over IPv6"
    expect_status 0
    expect_line "^connected to \[::1\]:$PORT from \[::1\]:[0-9]+$"
    expect_line '^received [0-9]+ bytes: reply to: hello over IPv6$'
}

@test "a host name is resolved: localhost reaches a server on 127.0.0.1" {
    getent hosts localhost | grep -q '^127\.0\.0\.1' || skip "localhost does not resolve to 127.0.0.1 here"
    reply_server 127.0.0.1
    run_prog client localhost "$PORT" "by name"
    expect_status 0
    expect_line '^received [0-9]+ bytes: reply to: by name$'
}

@test "the client tries each resolved address in turn and reports every failed one" {
    # A name with two addresses: both loopback families. If ::1 comes first and
    # nothing listens there, the client must go on to 127.0.0.1.
    have_ipv6_loopback || skip "this machine has no IPv6 loopback (::1)"
    getent ahosts localhost | grep -q '^::1' || skip "localhost has no ::1 address in /etc/hosts here"
    reply_server 127.0.0.1
    run_prog client localhost "$PORT" "second try"
    expect_status 0
    expect_line '^received [0-9]+ bytes: reply to: second try$'
}

@test "without MESSAGE the client sends its default message" {
    reply_server 127.0.0.1
    run_prog client 127.0.0.1 "$PORT"
    expect_status 0
    expect_line '^received [0-9]+ bytes: reply to: .+'
}

@test "the client closes its socket before it exits (strace shows the close)" {
    reply_server 127.0.0.1
    run_prog --strace "$BATS_TEST_TMPDIR/trace" "-e trace=socket,connect,close" client 127.0.0.1 "$PORT" bye
    expect_status 0
    fd=$(sed -nE 's/^socket\(AF_INET, SOCK_STREAM.*= ([0-9]+)$/\1/p' "$BATS_TEST_TMPDIR/trace" | head -n 1)
    [ -n "$fd" ] || fail "strace saw no socket created" "$(show_text "trace:" "$(cat "$BATS_TEST_TMPDIR/trace")")"
    grep -qE "^close\($fd\) += 0" "$BATS_TEST_TMPDIR/trace" ||
        fail "the socket (fd $fd) was never closed" "$(show_text "trace:" "$(cat "$BATS_TEST_TMPDIR/trace")")"
}

@test "a closed port: the client says ECONNREFUSED and exits non-zero" {
    # Get a port that was just in use, then is closed: the one-shot server's.
    reply_server 127.0.0.1
    run_prog client 127.0.0.1 "$PORT" first
    expect_status 0
    wait "$SERVER_PID" 2>/dev/null || true
    run_prog client 127.0.0.1 "$PORT" second
    [ "$status" -ne 0 ] || fail "the client exited 0 although nothing listens on port $PORT" "$(show_text "output:" "$output")"
    expect_stderr_line "ECONNREFUSED \(Connection refused\)"
    expect_no_line '^received'
}

@test "a host name that does not exist gets the resolver's message, not an errno" {
    run_prog client no-such-host.invalid 65432
    [ "$status" -ne 0 ] || fail "the client exited 0 for a host that does not exist"
    expect_stderr_line 'no-such-host\.invalid'
    expect_stderr_line '(Name or service not known|not known|No address associated|Temporary failure in name resolution|nodename nor servname)'
    expect_no_line "^connected"
    if grep -Eq 'E[A-Z]+ \(' <<<"${stderr:-}"; then
        fail "a resolver failure is not an errno; use gai_strerror(3):" "$(show_text "stderr:" "$stderr")"
    fi
}

@test "a bad port gets the usage line and exit status 1" {
    run_prog client 127.0.0.1 99999
    expect_status 1
    expect_stderr_line '^usage: .*client'
}

@test "too many arguments get the usage line and exit status 1" {
    run_prog client 127.0.0.1 65432 message extra
    expect_status 1
    expect_stderr_line '^usage: .*client'
}

@test "the client half-closes after its message: a server that answers only at end of stream answers" {
    # client-reply-server -e reads until end of stream before it answers, as
    # nc does. A client that never calls shutdown(fd, SHUT_WR) waits for the
    # reply while the server waits for the end: nothing comes until the
    # server gives up (10 s) and closes.
    start_listener client-reply-server "$(tool client-reply-server)" -e 127.0.0.1
    run_prog client 127.0.0.1 "$PORT" "then nothing more"
    expect_status 0
    expect_line '^received [0-9]+ bytes: reply to: then nothing more$'
    wait_for_output '^got: then nothing more \(then end of stream\)$'
}
