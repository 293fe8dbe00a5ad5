#!/usr/bin/env bats
# Lesson 05 - nodelay: Nagle's algorithm, delayed ACKs and TCP_NODELAY.
# rr-client sends each request as two small writes (header, then body) and
# waits for rr-server's reply, timing each round trip. The tests check what is
# robust on any machine: the option reads back as set, round trips with
# TCP_NODELAY are fast, the pattern is really write-write-read. They never
# assert how slow the run without TCP_NODELAY is.

bats_require_minimum_version 1.7.0
load helpers/common

# median_ms: the median from the client's summary line, in whole milliseconds.
median_ms() {
    sed -nE 's/^round trips: min [0-9.]+ ms, median ([0-9]+)\.[0-9]+ ms, max [0-9.]+ ms$/\1/p' <<<"$output"
}

@test "with -n the client reads TCP_NODELAY back as on" {
    start_server rr-server 127.0.0.1 0
    run_prog rr-client -n -c 3 127.0.0.1 "$PORT"
    expect_status 0
    expect_line '^TCP_NODELAY is on \(read back: 1\)$'
}

@test "without -n TCP_NODELAY reads back as off: Nagle's algorithm is on by default" {
    start_server rr-server 127.0.0.1 0
    run_prog rr-client -c 3 127.0.0.1 "$PORT"
    expect_status 0
    expect_line '^TCP_NODELAY is off \(read back: 0\)$'
}

@test "with TCP_NODELAY the median round trip is well under 20 ms" {
    start_server rr-server 127.0.0.1 0
    run_prog rr-client -n -c 30 127.0.0.1 "$PORT"
    expect_status 0
    median=$(median_ms)
    [ -n "$median" ] || fail "No summary line \"round trips: min ... ms, median ... ms, max ... ms\"." \
        "$(show_text "Output:" "$output")"
    [ "$median" -lt 20 ] || fail "With TCP_NODELAY the median round trip was ${median} ms; expected well under 20 ms." \
        "Is TCP_NODELAY really set before the first request?" "$(show_text "Output:" "$output")"
}

@test "without TCP_NODELAY every round still completes and is timed" {
    start_server rr-server 127.0.0.1 0
    run_prog rr-client -c 5 127.0.0.1 "$PORT"
    expect_status 0
    expect_line '^round 5: [0-9]+\.[0-9]{3} ms$'
    expect_line '^round trips: min [0-9.]+ ms, median [0-9.]+ ms, max [0-9.]+ ms$'
}

@test "each round is two sends (header, body) and then the reply: write-write-read" {
    start_server rr-server 127.0.0.1 0
    run_prog --strace "$BATS_TEST_TMPDIR/trace" "-e trace=sendto,sendmsg,write,recvfrom" \
        rr-client -n -c 3 -s 50 127.0.0.1 "$PORT"
    expect_status 0
    trace=$(cat "$BATS_TEST_TMPDIR/trace")
    headers=$(grep -cE '^sendto\([0-9]+, "\\0\\0\\0002", 4,' <<<"$trace" || true)
    bodies=$(grep -cE '^sendto\([0-9]+, "x+"\.*, 50,' <<<"$trace" || true)
    [ "$headers" -eq 3 ] && [ "$bodies" -eq 3 ] ||
        fail "Expected 3 sends of a 4-byte header and 3 sends of a 50-byte body; saw $headers and $bodies." \
             "$(show_text "strace:" "$trace")"
}

@test "the server answers every request and says how many each client sent" {
    start_server rr-server 127.0.0.1 0
    run_prog rr-client -n -c 7 127.0.0.1 "$PORT"
    expect_status 0
    wait_for_output '^client 1: closed after 7 requests$'
}

@test "the server serves one client after another" {
    start_server rr-server 127.0.0.1 0
    run_prog rr-client -n -c 2 127.0.0.1 "$PORT"
    expect_status 0
    run_prog rr-client -n -c 2 127.0.0.1 "$PORT"
    expect_status 0
    wait_for_output '^client .* closed after 2 requests$'
    expect_equal "number of clients the server saw" 2 "$(grep -c ' connected$' "$SERVER_OUT")"
}

@test "a client with no server to talk to fails with connect: ECONNREFUSED" {
    start_server rr-server 127.0.0.1 0
    stop_server
    run_prog rr-client -n -c 1 127.0.0.1 "$PORT"
    expect_status 1
    expect_stderr_line '^connect: ECONNREFUSED \(Connection refused\)$'
}

@test "the server stops on SIGTERM with status 0" {
    start_server rr-server 127.0.0.1 0
    stop_server TERM
    expect_equal "exit status after SIGTERM" 0 "$SERVER_STATUS"
}

@test "a round count that is not a positive number gets the usage line and exit status 1" {
    run_prog rr-client -c 0 127.0.0.1 9
    expect_status 1
    expect_stderr_line '^usage: rr-client '
}

@test "a server port above 65535 gets the usage line and exit status 1" {
    run_prog rr-server 127.0.0.1 70000
    expect_status 1
    expect_stderr_line '^usage: rr-server '
}

@test "the server stops on SIGTERM while a client is connected and silent" {
    # The server waits for the client's next request; SIGTERM must end that
    # wait too, not only the wait for the next client.
    start_server rr-server 127.0.0.1 0
    client_open A
    wait_for_output '^client 1: 127\.0\.0\.1:[0-9]+ connected$'
    stop_server TERM
    expect_equal "exit status after SIGTERM" 0 "$SERVER_STATUS"
    expect_line '^stopped by SIGTERM$' "$(server_output)"
}
