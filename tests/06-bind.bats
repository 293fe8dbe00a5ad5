#!/usr/bin/env bats
# Lesson 06 - bind: give a socket its local address and port.
# The program binds ADDRESS PORT, prints what getsockname(2) reports, listens
# and waits. The tests provoke each bind error (EADDRINUSE, EADDRNOTAVAIL,
# EINVAL, EACCES) and the TIME_WAIT restart with and without SO_REUSEADDR.

bats_require_minimum_version 1.7.0
load helpers/common

# bound_port: the port in the server's "bound to ADDRESS:PORT" line.
bound_port() {
    sed -nE 's/^bound to .*:([0-9]+)$/\1/p' "$SERVER_OUT" | head -n 1
}

# leave_time_wait [-r]: start "bind -1" (with -r: SO_REUSEADDR on), connect
# once, let the server close first and exit. Its port, $PORT, is then held
# by a TIME_WAIT entry on the server's side.
leave_time_wait() {
    start_server bind "$@" -1 127.0.0.1 0 || return 1
    peer -q 3000 127.0.0.1 "$PORT"
    expect_status 0 || return 1
    local deadline=$((SECONDS + 5))
    while kill -0 "$SERVER_PID" 2>/dev/null && [ "$SECONDS" -le "$deadline" ]; do
        sleep 0.05
    done
    kill -0 "$SERVER_PID" 2>/dev/null && { fail "bind -1 did not exit after its one connection."; return 1; }
    wait_for_output '^accepted 127\.0\.0\.1:[0-9]+'
    if command -v ss >/dev/null; then
        # The server's side reaches TIME_WAIT once the client's FIN is in.
        deadline=$((SECONDS + 3))
        until [ -n "$(ss -Htan state time-wait "sport = :$PORT")" ]; do
            [ "$SECONDS" -le "$deadline" ] || { fail "ss shows no TIME_WAIT on port $PORT." "$(ss -tan "sport = :$PORT")"; return 1; }
            sleep 0.05
        done
    fi
}

@test "port 0 gets a port chosen by the kernel, read back with getsockname" {
    start_server bind 127.0.0.1 0
    got=$(bound_port)
    [ -n "$got" ] || fail "No line \"bound to 127.0.0.1:PORT\"." "$(show_text "Output:" "$(server_output)")"
    [ "$got" -ne 0 ] || fail "getsockname still says port 0: did you read the address back after bind?"
    expect_equal "the bound port and the listening port" "$PORT" "$got"
}

@test "the chosen port lies in net.ipv4.ip_local_port_range" {
    [ -r /proc/sys/net/ipv4/ip_local_port_range ] || skip "no ip_local_port_range (not Linux?)"
    read -r low high </proc/sys/net/ipv4/ip_local_port_range
    start_server bind 127.0.0.1 0
    got=$(bound_port)
    [ -n "$got" ] && [ "$got" -ge "$low" ] && [ "$got" -le "$high" ] ||
        fail "bound port '$got' is outside $low-$high." "$(show_text "Output:" "$(server_output)")"
}

@test "a given free port is bound exactly as given" {
    start_server bind 127.0.0.1 0
    free=$PORT
    stop_server
    start_server bind 127.0.0.1 "$free"
    expect_line "^bound to 127\\.0\\.0\\.1:$free\$" "$(server_output)"
}

@test "a second server on the same address and port fails with EADDRINUSE" {
    start_server bind 127.0.0.1 0
    run_prog bind 127.0.0.1 "$PORT"
    expect_status 1
    expect_stderr_line '^bind: EADDRINUSE \(Address already in use\)$'
}

@test "SO_REUSEADDR does not let a second server share a port that is listening" {
    start_server bind -r 127.0.0.1 0
    run_prog bind -r 127.0.0.1 "$PORT"
    expect_status 1
    expect_stderr_line '^bind: EADDRINUSE '
}

@test "the same port on another loopback address (127.0.0.2) is a different address and binds" {
    [ "$(uname -s)" = Linux ] || skip "only Linux routes all of 127.0.0.0/8 to lo by default"
    start_server bind 127.0.0.1 0
    start_server bind 127.0.0.2 "$PORT"
    expect_line "^bound to 127\\.0\\.0\\.2:$PORT\$" "$(server_output)"
}

@test "the IPv6 loopback address ::1 binds and prints as [::1]:PORT" {
    start_server bind ::1 0
    expect_line "^bound to \\[::1\\]:$PORT\$" "$(server_output)"
}

@test "an address that is not on this machine fails with EADDRNOTAVAIL" {
    # 203.0.113.7 is TEST-NET-3 (RFC 5737); bind sends nothing anywhere.
    run_prog bind 203.0.113.7 0
    expect_status 1
    expect_stderr_line '^bind: EADDRNOTAVAIL \(Cannot assign requested address\)$'
}

@test "binding the same socket a second time fails with EINVAL" {
    run_prog bind -2 127.0.0.1 0
    expect_status 1
    expect_line '^bound to 127\.0\.0\.1:[1-9][0-9]*$'
    expect_stderr_line '^bind \(the same socket again\): EINVAL \(Invalid argument\)$'
}

@test "as an unprivileged user, a port below ip_unprivileged_port_start fails with EACCES" {
    start=1024
    [ -r /proc/sys/net/ipv4/ip_unprivileged_port_start ] && start=$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start)
    [ "$start" -gt 1 ] || skip "net.ipv4.ip_unprivileged_port_start is $start: every port is unprivileged here"
    # As nobody, under the same time limit as every run: a bind that wrongly
    # succeeds (a port without htons lands above 1024) leaves the program
    # listening, and the test must end it, not wait for it.
    run_prog --as-nobody bind 127.0.0.1 $((start - 1))
    expect_status 1
    expect_stderr_line '^bind: EACCES \(Permission denied\)$'
}

@test "after the server closed first, a restart without SO_REUSEADDR fails with EADDRINUSE (TIME_WAIT)" {
    leave_time_wait -r
    run_prog bind 127.0.0.1 "$PORT"
    expect_status 1
    expect_stderr_line '^bind: EADDRINUSE '
}

@test "a restart during TIME_WAIT binds when both the old and the new server set SO_REUSEADDR" {
    leave_time_wait -r
    start_server bind -r 127.0.0.1 "$PORT"
    expect_line "^bound to 127\\.0\\.0\\.1:$PORT\$" "$(server_output)"
}

@test "on Linux, SO_REUSEADDR on the new server alone is not enough: the TIME_WAIT keeps the old setting" {
    [ "$(uname -s)" = Linux ] || skip "Linux-specific: BSD and macOS decide by the new socket alone"
    leave_time_wait
    run_prog bind -r 127.0.0.1 "$PORT"
    expect_status 1
    expect_line '^SO_REUSEADDR is on$'
    expect_stderr_line '^bind: EADDRINUSE '
}

@test "SIGTERM stops the waiting server with status 0" {
    start_server bind 127.0.0.1 0
    stop_server TERM
    expect_equal "exit status after SIGTERM" 0 "$SERVER_STATUS"
    wait_for_output '^stopped by SIGTERM$'
}

@test "a port above 65535 gets the usage line and exit status 1" {
    run_prog bind 127.0.0.1 70000
    expect_status 1
    expect_stderr_line '^usage: bind '
}

@test "a host name instead of a numeric address gets the usage line and exit status 1" {
    run_prog bind localhost 0
    expect_status 1
    expect_stderr_line '^usage: bind '
}
