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

# with_fake_hosts NAME ADDRS: run the next run_prog with getaddrinfo(3) answering
# NAME with the numeric addresses ADDRS (comma-separated), in that order,
# through tests/tools/preload/fake-hosts.c, on any machine whatever its
# /etc/hosts says. The calls it saw are logged in $FAKE_HOSTS_LOG.
with_fake_hosts() {
    export LD_PRELOAD="$(tool fake-hosts.so)" FAKE_HOSTS_NAME=$1 FAKE_HOSTS_ADDRS=$2
    export FAKE_HOSTS_LOG="$BATS_TEST_TMPDIR/getaddrinfo.log"
    # ASan wants to be the first library loaded; the fake resolver is harmless before it.
    export ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0"
    [ -f "$LD_PRELOAD" ] || fail "the test library $LD_PRELOAD was not built: run make tools"
}

@test "the client tries each resolved address in turn and reports every failed one" {
    # A name with three addresses, as "localhost" often has two: nothing
    # listens on the first two, so the client must report each refusal and go on.
    reply_server 127.0.0.1
    with_fake_hosts two.workbook.test 127.0.0.2,127.0.0.3,127.0.0.1
    run_prog client two.workbook.test "$PORT" "third try"
    expect_status 0
    expect_line "^trying 127\.0\.0\.2:$PORT$"
    expect_stderr_line "127\.0\.0\.2:$PORT: ECONNREFUSED \(Connection refused\)"
    expect_stderr_line "127\.0\.0\.3:$PORT: ECONNREFUSED \(Connection refused\)"
    expect_line "^connected to 127\.0\.0\.1:$PORT from 127\.0\.0\.1:[0-9]+$"
    expect_line '^received [0-9]+ bytes: reply to: third try$'
}

@test "the client asks getaddrinfo for stream sockets of any family, and frees the list" {
    reply_server 127.0.0.1
    with_fake_hosts one.workbook.test 127.0.0.1
    run_prog client one.workbook.test "$PORT" "hints"
    expect_status 0
    [ -s "$FAKE_HOSTS_LOG" ] || fail "the client never called getaddrinfo(3) for one.workbook.test"
    # family=0 is AF_UNSPEC; socktype=1 is SOCK_STREAM (socket(2), getaddrinfo(3)).
    expect_line '^getaddrinfo one\.workbook\.test family=0 socktype=1 ' "$(cat "$FAKE_HOSTS_LOG")"
    expect_line '^freeaddrinfo$' "$(cat "$FAKE_HOSTS_LOG")"
}

@test "every address refused: the client exits non-zero after trying them all, and closes each socket" {
    reply_server 127.0.0.1
    with_fake_hosts none.workbook.test 127.0.0.2,127.0.0.3
    run_prog --strace "$BATS_TEST_TMPDIR/trace" "-f -e trace=socket,connect,close" client none.workbook.test "$PORT" nobody-home
    [ "$status" -ne 0 ] || fail "the client exited 0 although no address accepted" "$(show_text "output:" "$output")"
    local sockets closed fd
    mapfile -t sockets < <(sed -nE 's/^([0-9]+ +)?socket\(AF_INET, SOCK_STREAM.*= ([0-9]+)$/\2/p' "$BATS_TEST_TMPDIR/trace")
    [ "${#sockets[@]}" -eq 2 ] || fail "expected one socket per address (2), strace saw ${#sockets[@]}: a failed socket must not be reused for the next address" \
        "$(show_text "trace:" "$(cat "$BATS_TEST_TMPDIR/trace")")"
    for fd in "${sockets[@]}"; do
        closed=$(grep -cE "^([0-9]+ +)?close\($fd\) += 0" "$BATS_TEST_TMPDIR/trace")
        [ "$closed" -ge 1 ] || fail "the socket fd $fd was never closed after its connect failed (a leak per address)" \
            "$(show_text "trace:" "$(cat "$BATS_TEST_TMPDIR/trace")")"
    done
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
