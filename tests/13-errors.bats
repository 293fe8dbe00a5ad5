#!/usr/bin/env bats
# Lesson 13 - errors: provoke and classify each common failure by errno.
# `errors CASE` makes one failure happen on loopback and prints
#     CALL: ENAME (message) -> what the program should do
# exiting 0 when the case produced the error it is about.

bats_require_minimum_version 1.7.0
load helpers/common

# The three verdicts of the chapter, as the program words them.
ATTEMPT='-> ends this connection attempt'
CONNECTION='-> ends this connection; close its fd'
PROGRAM='-> ends the program'

@test "connecting where nothing listens gives ECONNREFUSED, which ends that attempt" {
    run_prog errors refused
    expect_status 0
    expect_line "^connect: ECONNREFUSED \(Connection refused\) $ATTEMPT"
}

@test "binding a port a listener holds gives EADDRINUSE, which ends the program" {
    run_prog errors addrinuse
    expect_status 0
    expect_line "^bind: EADDRINUSE \(Address already in use\) $PROGRAM"
}

@test "binding port 1 without privilege gives EACCES, which ends the program" {
    if [ "$(id -u)" -eq 0 ]; then
        command -v setpriv >/dev/null || skip "running as root and setpriv(1) is missing"
        start=$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start 2>/dev/null || echo 1024)
        [ "$start" -gt 1 ] || skip "net.ipv4.ip_unprivileged_port_start is $start: anyone may bind port 1 here"
    fi
    run_prog --as-nobody errors acces
    expect_status 0
    expect_line "^bind 127\.0\.0\.1:1: EACCES \(Permission denied\) $PROGRAM"
}

@test "as root, binding port 1 succeeds and the program says the error did not happen" {
    [ "$(id -u)" -eq 0 ] || skip "needs root"
    run_prog errors acces
    expect_status 2
    expect_line 'succeeded'
}

@test "a connect to a full accept queue ends by our deadline with ETIMEDOUT, after about a second" {
    start=$(date +%s%N)
    run_prog errors timedout
    elapsed_ms=$((($(date +%s%N) - start) / 1000000))
    expect_status 0
    expect_line "^connect \(deadline 1000 ms, [0-9]+ queued\): ETIMEDOUT \(Connection timed out\) $ATTEMPT"
    [ "$elapsed_ms" -ge 900 ] || fail "ETIMEDOUT came after ${elapsed_ms} ms, before the 1000 ms deadline"
    [ "$elapsed_ms" -le 8000 ] || fail "ETIMEDOUT came only after ${elapsed_ms} ms"
}

@test "a peer that closes with SO_LINGER 0 makes recv fail with ECONNRESET, which ends that connection" {
    run_prog errors reset
    expect_status 0
    expect_line "^recv: ECONNRESET \(Connection reset by peer\) $CONNECTION"
}

@test "sending after the peer closed gives EPIPE (not a SIGPIPE death), which ends that connection" {
    run_prog errors pipe
    expect_status 0
    expect_line "^send \(try [0-9]+\): EPIPE \(Broken pipe\) $CONNECTION"
}

@test "using a closed fd gives EBADF, which is a bug in the program" {
    run_prog errors badf
    expect_status 0
    expect_line '^send on a closed fd: EBADF \(Bad file descriptor\) -> a bug in this program'
}

@test "running out of fds under a lowered RLIMIT_NOFILE gives EMFILE, which ends that call only" {
    run_prog errors mfile
    expect_status 0
    expect_line '^socket \(after [0-9]+ more, limit 16\): EMFILE \(Too many open files\) -> ends this accept or socket call'
}

@test "an unknown case gets the usage line and exit status 1" {
    run_prog errors nosuchcase
    expect_status 1
    expect_stderr_line '^usage: errors CASE'
}

@test "no case at all gets the usage line and exit status 1" {
    run_prog errors
    expect_status 1
    expect_stderr_line '^usage: errors CASE'
}
