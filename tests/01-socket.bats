#!/usr/bin/env bats
# Lesson 01 - socket: a socket is a file descriptor.
# The program creates sockets, reads back what they are with getsockopt,
# shows the errors of sockets it may not have, and shows fd reuse after close.

bats_require_minimum_version 1.7.0
load helpers/common

# The EPERM tests run the program without CAP_NET_RAW even when the tests run
# as root (CI containers often do): run_prog --without-net-raw (setpriv(1)).

@test "an IPv4 TCP socket is fd 3, the first free number after stdin, stdout and stderr" {
    run_prog socket
    expect_status 0
    expect_line '^socket\(AF_INET, SOCK_STREAM, 0\) = 3: '
}

@test "getsockopt reads back AF_INET, SOCK_STREAM and IPPROTO_TCP for the TCP socket" {
    run_prog socket
    expect_line '^socket\(AF_INET, SOCK_STREAM, 0\) = 3: SO_DOMAIN=AF_INET SO_TYPE=SOCK_STREAM SO_PROTOCOL=IPPROTO_TCP$'
}

@test "an IPv6 UDP socket reads back AF_INET6, SOCK_DGRAM and IPPROTO_UDP" {
    run_prog socket
    expect_line '^socket\(AF_INET6, SOCK_DGRAM, 0\) = 4: SO_DOMAIN=AF_INET6 SO_TYPE=SOCK_DGRAM SO_PROTOCOL=IPPROTO_UDP$'
}

@test "a Unix stream socket reads back AF_UNIX, SOCK_STREAM and protocol 0" {
    run_prog socket
    expect_line '^socket\(AF_UNIX, SOCK_STREAM, 0\) = 5: SO_DOMAIN=AF_UNIX SO_TYPE=SOCK_STREAM SO_PROTOCOL=0$'
}

@test "without CAP_NET_RAW, a raw ICMP socket fails with EPERM" {
    run_prog --without-net-raw socket
    expect_status 0
    expect_line '^socket\(AF_INET, SOCK_RAW, IPPROTO_ICMP\) failed: EPERM \(Operation not permitted\)$'
}

@test "without CAP_NET_RAW, an AF_PACKET socket fails with EPERM" {
    run_prog --without-net-raw socket
    expect_status 0
    expect_line '^socket\(AF_PACKET, SOCK_RAW, htons\(ETH_P_ALL\)\) failed: EPERM \(Operation not permitted\)$'
}

@test "with CAP_NET_RAW (as root), the raw ICMP socket is created" {
    [ "$(id -u)" -eq 0 ] || skip "needs root (or CAP_NET_RAW)"
    run_prog socket
    expect_line '^socket\(AF_INET, SOCK_RAW, IPPROTO_ICMP\) = 6: SO_DOMAIN=AF_INET SO_TYPE=SOCK_RAW SO_PROTOCOL=IPPROTO_ICMP$'
}

@test "an address family the kernel does not know fails with EAFNOSUPPORT" {
    run_prog socket
    expect_line '^socket\(999, SOCK_STREAM, 0\) failed: EAFNOSUPPORT '
}

@test "a stream socket asking for UDP fails with EPROTONOSUPPORT" {
    run_prog socket
    expect_line '^socket\(AF_INET, SOCK_STREAM, IPPROTO_UDP\) failed: EPROTONOSUPPORT '
}

@test "after close(3), the next socket gets fd 3 again" {
    run_prog socket
    expect_line '^after close\(3\), the new socket got fd 3 again'
}

@test "the program leaves no socket open when it exits (strace shows a close for each)" {
    run_prog --strace "$BATS_TEST_TMPDIR/trace" "-f -e trace=socket,close" socket
    expect_status 0
    # Walk the trace in order: a socket() that returned fd N opens N, a
    # successful close(N) closes it. Whatever is still open at the end leaked.
    # (Counting closes alone is not enough: the loader closes files too.)
    opened=$(grep -cE '^([0-9]+ +)?socket\(.*= [0-9]+$' "$BATS_TEST_TMPDIR/trace")
    leaked=$(awk '
        /socket\(.*= [0-9]+$/ { open_fds[$NF] = 1 }
        /close\([0-9]+\) += 0$/ { fd = $0; sub(/.*close\(/, "", fd); sub(/\).*/, "", fd); delete open_fds[fd] }
        END { for (fd in open_fds) printf "%s ", fd }' "$BATS_TEST_TMPDIR/trace")
    [ "$opened" -ge 4 ] || fail "strace saw only $opened sockets created." "$(show_text "trace:" "$(cat "$BATS_TEST_TMPDIR/trace")")"
    [ -z "$leaked" ] || fail "These socket fds were never closed: $leaked" \
        "Every fd that socket() returned needs its own close() before the program ends." \
        "$(show_text "trace:" "$(cat "$BATS_TEST_TMPDIR/trace")")"
}

@test "an argument gets the usage line and exit status 1" {
    run_prog socket extra
    expect_status 1
    expect_stderr_line '^usage: .*socket'
}
