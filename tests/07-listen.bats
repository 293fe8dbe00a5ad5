#!/usr/bin/env bats
# Lesson 07 - listen: the backlog and the accept queue.
# The program listens with a backlog from the command line and never accepts.
# The kernel still completes handshakes and queues them until the accept queue
# holds backlog+1 connections (Linux); then a new SYN gets no answer. ss(8)
# shows a listener's backlog as Send-Q and its queued connections as Recv-Q.

bats_require_minimum_version 1.7.0
load helpers/common

PROBE_OUT=""

# probe_in_background COUNT: open COUNT connections to $PORT (500 ms deadline
# each) and hold those that completed open for 8 s; waits until they are held.
probe_in_background() {
    PROBE_OUT="$BATS_TEST_TMPDIR/probe.out"
    spawn "$PROBE_OUT" "${PROBE_OUT%.out}.err" "$(tool listen-probe)" -t 500 -H 8000 127.0.0.1 "$PORT" "$1"
    wait_for_output '^holding ' 10 "$PROBE_OUT"
}

# listener_queues: "RECVQ SENDQ" of the listening socket on $PORT, from ss -ltn.
listener_queues() {
    ss -Hltn "sport = :$PORT" | awk '$1 == "LISTEN" { print $2, $3; exit }'
}

@test "clients complete the handshake although the server never calls accept" {
    start_server listen -b 2 127.0.0.1 0
    run_tool listen-probe -t 1000 127.0.0.1 "$PORT" 2
    expect_status 0
    expect_line '^completed: 2 of 2$'
}

@test "with backlog 2 the accept queue holds 3 connections and the 4th gets no answer" {
    start_server listen -b 2 127.0.0.1 0
    run_tool listen-probe -t 700 127.0.0.1 "$PORT" 4
    expect_line '^connection 3: connected$'
    expect_line '^connection 4: no answer within 700 ms$'
    expect_line '^completed: 3 of 4$'
}

@test "with backlog 0 one connection still waits in the queue, the second gets no answer" {
    start_server listen -b 0 127.0.0.1 0
    run_tool listen-probe -t 700 127.0.0.1 "$PORT" 2
    expect_line '^connection 1: connected$'
    expect_line '^connection 2: no answer within 700 ms$'
}

@test "a full queue drops new SYNs: the client neither connects nor is refused" {
    start_server listen -b 1 127.0.0.1 0
    run_tool listen-probe -t 700 127.0.0.1 "$PORT" 3
    expect_line '^connection 3: no answer within 700 ms$'
    expect_no_line 'ECONNREFUSED'
}

@test "the program reports its own accept queue filling up (TCP_INFO)" {
    start_server listen -b 2 127.0.0.1 0
    wait_for_output '^accept queue: 0 waiting \(limit 2\)$'
    run_tool listen-probe -t 700 127.0.0.1 "$PORT" 3
    wait_for_output '^accept queue: 3 waiting \(limit 2\)$'
}

@test "ss shows a listener's backlog as Send-Q and its queued connections as Recv-Q" {
    command -v ss >/dev/null || skip "ss (iproute2) is not installed"
    start_server listen -b 5 127.0.0.1 0
    probe_in_background 3
    expect_equal "Recv-Q and Send-Q of the listener (ss -ltn)" "3 5" "$(listener_queues)"
}

@test "ss shows Send-Q 5 for the source course's listen(5) with nobody connected" {
    command -v ss >/dev/null || skip "ss (iproute2) is not installed"
    start_server listen -b 5 127.0.0.1 0
    expect_equal "Recv-Q and Send-Q of the listener (ss -ltn)" "0 5" "$(listener_queues)"
}

@test "a backlog above net.core.somaxconn is capped to somaxconn" {
    [ -r /proc/sys/net/core/somaxconn ] || skip "no /proc/sys/net/core/somaxconn (not Linux?)"
    somaxconn=$(cat /proc/sys/net/core/somaxconn)
    start_server listen -b 1000000 127.0.0.1 0
    wait_for_output "^accept queue: 0 waiting \\(limit $somaxconn\\)$"
}

@test "it listens on IPv6 loopback too" {
    start_server listen -b 1 ::1 0
    expect_line '^listening on \[::1\]:[0-9]+$' "$(server_output)"
    run_tool listen-probe -t 700 ::1 "$PORT" 3
    expect_line '^completed: 2 of 3$'
}

@test "SIGTERM stops it cleanly, with status 0" {
    start_server listen -b 2 127.0.0.1 0
    run_tool listen-probe -t 700 127.0.0.1 "$PORT" 1
    stop_server TERM
    expect_equal "exit status after SIGTERM" 0 "$SERVER_STATUS"
    wait_for_output '^stopped by SIGTERM$'
}

@test "a backlog that is not a number gets the usage line and exit status 1" {
    run_prog listen -b many 127.0.0.1 0
    expect_status 1
    expect_stderr_line '^usage: listen '
}

@test "an address that is not numeric gets the usage line and exit status 1" {
    run_prog listen -b 5 localhost 0
    expect_status 1
    expect_stderr_line '^usage: listen '
}
