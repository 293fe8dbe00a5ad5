#!/usr/bin/env bats
# Lesson 04 - broadcast: UDP broadcast on the loopback network.
# broadcast-recv binds 0.0.0.0:PORT and prints each datagram with its sender;
# broadcast-send sends one datagram to 127.255.255.255:PORT, which the kernel
# refuses (EACCES) unless -b set SO_BROADCAST. Only the loopback broadcast
# address is ever used: nothing leaves this machine.

bats_require_minimum_version 1.7.0
load helpers/common

@test "the receiver binds 0.0.0.0 and prints the port the kernel chose" {
    start_server broadcast-recv 0
    expect_line '^listening on 0\.0\.0\.0:[1-9][0-9]*$' "$(server_output)"
}

@test "without SO_BROADCAST, sending to 127.255.255.255 fails with EACCES" {
    start_server broadcast-recv 0
    run_prog broadcast-send "$PORT"
    expect_status 1
    expect_line '^SO_BROADCAST is 0 \(off\)$'
    expect_stderr_line '^sendto: EACCES \(Permission denied\)$'
}

@test "a send refused for want of SO_BROADCAST delivers nothing" {
    start_server broadcast-recv 0
    run_prog broadcast-send "$PORT" "should not arrive"
    sleep 0.5
    expect_no_line '^from ' "$(server_output)"
}

@test "with -b the sender sets SO_BROADCAST and the send succeeds" {
    start_server broadcast-recv 0
    run_prog broadcast-send -b "$PORT" "hello, everyone"
    expect_status 0
    expect_line '^SO_BROADCAST is 1 \(on\)$'
    expect_line "^sent 15 bytes to 127\.255\.255\.255:$PORT\$"
}

@test "a receiver bound to 0.0.0.0 gets the broadcast datagram and prints the sender's address" {
    start_server broadcast-recv 0
    run_prog broadcast-send -b "$PORT" "hello broadcast"
    expect_status 0
    wait_for_output '^from 127\.0\.0\.1:[0-9]+: hello broadcast \(15 bytes\)$' 5
}

@test "two receivers on the same port both get one broadcast datagram" {
    start_server broadcast-recv 0
    first_out=$SERVER_OUT
    start_server broadcast-recv "$PORT"
    run_prog broadcast-send -b "$PORT" "to all of you"
    expect_status 0
    wait_for_output '^from 127\.0\.0\.1:[0-9]+: to all of you \(13 bytes\)$' 5 "$first_out"
    wait_for_output '^from 127\.0\.0\.1:[0-9]+: to all of you \(13 bytes\)$' 5 "$SERVER_OUT"
}

@test "the receiver prints every datagram, one line each" {
    start_server broadcast-recv 0
    run_prog broadcast-send -b "$PORT" "first"
    run_prog broadcast-send -b "$PORT" "second"
    wait_for_output ': second \(6 bytes\)$' 5
    expect_line ': first \(5 bytes\)$' "$(server_output)"
}

@test "a bind that fails (a privileged port, as user nobody) ends the receiver with the bind error" {
    # A receiver whose bind failed unnoticed would wait for ever on a port
    # nobody sends to; it must say why and stop.
    start=1024
    [ -r /proc/sys/net/ipv4/ip_unprivileged_port_start ] && start=$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start)
    [ "$start" -gt 1 ] || skip "net.ipv4.ip_unprivileged_port_start is $start: every port is unprivileged here"
    run_prog --as-nobody --timeout 5 broadcast-recv $((start - 1))
    expect_status 1
    expect_stderr_line '^bind: EACCES \(Permission denied\)$'
}

@test "the receiver stops cleanly on SIGTERM" {
    start_server broadcast-recv 0
    stop_server TERM
    expect_equal "the receiver's exit status" 0 "$SERVER_STATUS"
    expect_line '^stopped by signal' "$(server_output)"
}

@test "a port out of range gets the usage line and exit status 1 (sender)" {
    run_prog broadcast-send -b 70000
    expect_status 1
    expect_stderr_line '^usage: broadcast-send'
}

@test "a port that is not a number gets the usage line and exit status 1 (receiver)" {
    run_prog broadcast-recv http
    expect_status 1
    expect_stderr_line '^usage: broadcast-recv'
}
