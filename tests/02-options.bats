#!/usr/bin/env bats
# Lesson 02 - options: socket options, read, set and read back.
# The program prints, for one TCP socket, each option's default, the value it
# set and the value getsockopt reads back afterwards; SO_TYPE and SO_ERROR are
# read-only. The buffer size it asks for comes from the command line.

bats_require_minimum_version 1.7.0
load helpers/common

# sysctl_field FILE N: the Nth number in a /proc/sys file, or skip without it.
sysctl_field() {
    [ -r "$1" ] || skip "$1 is missing (not Linux?)"
    awk -v n="$2" '{ print $n }' "$1"
}

@test "the program exits 0 and names the TCP socket it made" {
    run_prog options
    expect_status 0
    expect_line '^socket\(AF_INET, SOCK_STREAM, 0\) = 3$'
}

@test "SO_REUSEADDR, SO_REUSEPORT and SO_KEEPALIVE are off by default and read back 1 once set" {
    run_prog options
    expect_line '^SOL_SOCKET +SO_REUSEADDR: default 0, set 1, read back 1$'
    expect_line '^SOL_SOCKET +SO_REUSEPORT: default 0, set 1, read back 1$'
    expect_line '^SOL_SOCKET +SO_KEEPALIVE: default 0, set 1, read back 1$'
}

@test "TCP_NODELAY is off by default and reads back 1 once set, at level IPPROTO_TCP" {
    run_prog options
    expect_line '^IPPROTO_TCP +TCP_NODELAY: default 0, set 1, read back 1$'
}

@test "TCP_NODELAY really is set at the TCP level (strace shows SOL_TCP, not SOL_SOCKET)" {
    run_prog --strace "$BATS_TEST_TMPDIR/trace" "-e trace=setsockopt" options
    expect_status 0
    trace=$(cat "$BATS_TEST_TMPDIR/trace")
    expect_line '^setsockopt\([0-9]+, SOL_TCP, TCP_NODELAY, \[1\], 4\) = 0$' "$trace"
    expect_line '^setsockopt\([0-9]+, SOL_SOCKET, SO_RCVBUF, \[8192\], 4\) = 0$' "$trace"
}

@test "the default SO_RCVBUF and SO_SNDBUF of a TCP socket are tcp_rmem's and tcp_wmem's middle values" {
    rmem=$(sysctl_field /proc/sys/net/ipv4/tcp_rmem 2)
    wmem=$(sysctl_field /proc/sys/net/ipv4/tcp_wmem 2)
    run_prog options
    expect_line "^SOL_SOCKET +SO_RCVBUF: default $rmem, "
    expect_line "^SOL_SOCKET +SO_SNDBUF: default $wmem, "
}

@test "asking for 8192 bytes of SO_RCVBUF reads back 16384: Linux doubles it" {
    run_prog options
    expect_line '^SOL_SOCKET +SO_RCVBUF: default [0-9]+, set 8192, read back 16384$'
}

@test "asking for 8192 bytes of SO_SNDBUF reads back 16384 too" {
    run_prog options
    expect_line '^SOL_SOCKET +SO_SNDBUF: default [0-9]+, set 8192, read back 16384$'
}

@test "the buffer size comes from the command line: 50000 reads back 100000" {
    run_prog options 50000
    expect_status 0
    expect_line '^SOL_SOCKET +SO_RCVBUF: default [0-9]+, set 50000, read back 100000$'
    expect_line '^SOL_SOCKET +SO_SNDBUF: default [0-9]+, set 50000, read back 100000$'
}

@test "a request above rmem_max is capped at rmem_max, then doubled" {
    max=$(sysctl_field /proc/sys/net/core/rmem_max 1)
    [ "$max" -lt $((1 << 29)) ] || skip "rmem_max ($max) is too large for this test"
    ask=$((max + 100000))
    run_prog options "$ask"
    expect_status 0
    expect_line "^SOL_SOCKET +SO_RCVBUF: default [0-9]+, set $ask, read back $((2 * max))\$"
    expect_line "^/proc/sys/net/core/rmem_max = $max\$"
}

@test "SO_TYPE reads SOCK_STREAM and cannot be set (ENOPROTOOPT)" {
    run_prog options
    expect_line '^SOL_SOCKET +SO_TYPE: 1 \(SOCK_STREAM\), read-only: setsockopt fails with ENOPROTOOPT \(Protocol not available\)$'
}

@test "SO_ERROR reads 0 on a fresh socket and cannot be set (ENOPROTOOPT)" {
    run_prog options
    expect_line '^SOL_SOCKET +SO_ERROR: 0 \(no pending error\), read-only: setsockopt fails with ENOPROTOOPT '
}

@test "a buffer size that is not a number gets the usage line and exit status 1" {
    run_prog options 8k
    expect_status 1
    expect_stderr_line '^usage: options'
}

@test "two arguments get the usage line and exit status 1" {
    run_prog options 8192 8192
    expect_status 1
    expect_stderr_line '^usage: options'
}
