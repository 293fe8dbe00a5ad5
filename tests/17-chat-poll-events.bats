#!/usr/bin/env bats
# shellcheck disable=SC2030,SC2031  # STARTED_PIDS lives in each test's own subshell
# Lesson 17 - chat-poll: what only the one-thread poll() server promises.
# The chat protocol itself is tested by tests/17-chat-poll.bats (a link to
# lesson 15's tests: both servers speak it identically). These tests are about
# the event loop: hundreds of clients at once, running out of descriptors,
# and a client that never reads. They check behaviour, never timing.

bats_require_minimum_version 1.7.0
load helpers/common
load helpers/chat

# FD_LIMIT: the fd limit for the EMFILE test; the server holds 7 fds of its
# own (stdin, stdout, stderr, the self-pipe's two ends, the spare, the listener).
FD_LIMIT=32

@test "the server raises its soft descriptor limit to the hard limit at start" {
    expect_soft_limit_raised
}

@test "a burst of 500 connects is all served and one line reaches all 499 others" {
    start_chat 127.0.0.1 0 || return 1
    run_tool --timeout 40 chat-poll-crowd -n 500 -T 30000 127.0.0.1 "$PORT"
    expect_line '^connected 500 of 500$'
    expect_line '^welcomed 500 of 500$'
    expect_line '^received 499 of 499$'
    wait_for_output 'join .* \(500 online\)$'
    expect_no_line 'refused|too slow' "$(server_output)"
}

@test "by default a room of more than 1,000 is not told of comings and goings: of 1,010 clients, the first hears 999 joins and 999 departures" {
    start_chat -m 1100 127.0.0.1 0 || return 1     # ANNOUNCE_MAX, chat.h
    expect_big_room_untold 1010 1000
}

@test "out of descriptors (EMFILE), extra clients are refused and the server keeps serving" {
    expect_emfile_refusal $FD_LIMIT
}

@test "a client that never reads is dropped as too slow while the room goes on" {
    start_chat -q 16384 127.0.0.1 0 || return 1
    local dir=$BATS_TEST_TMPDIR
    # The slow one: a tiny receive buffer, and it does not read for 20 s.
    "$(tool peer)" -P -B 2048 -W 20000 -T 25000 -d '' 127.0.0.1 "$PORT" \
        >"$dir/slow.out" 2>"$dir/slow.err" 3>&- &
    STARTED_PIDS+=($!)
    wait_for_output 'join .* \(1 online\)$'
    wait_for_output '^peer: local port [0-9]+$' 5 "$dir/slow.err"
    slow_port=$(sed -nE 's/^peer: local port ([0-9]+)$/\1/p' "$dir/slow.err")
    # A reader that keeps up, until it sees the last line (its time limits
    # are only a safety net, wide for a sanitizer build on a busy machine).
    "$(tool peer)" -u ': the end\n' -q 30000 -T 120000 127.0.0.1 "$PORT" \
        >"$dir/reader.out" 2>"$dir/reader.err" 3>&- &
    STARTED_PIDS+=($!)
    wait_for_output 'join .* \(2 online\)$'
    # Chat at about 2 MB/s, slices of 200 lines, until the server gives up on
    # the slow one (the kernel's buffers on loopback hide ~3 MB first). A reader
    # that reads keeps up with that easily, even on a busy machine.
    local pad i slices=0
    pad=$(printf '%0900d' 0)
    for i in $(seq 1 200); do printf 'line %d %s\n' "$i" "$pad"; done >"$dir/slice.txt"
    client_open a
    client_expect a '^\* welcome '
    while [ "$slices" -lt 100 ] && ! grep -q 'too slow' "$SERVER_OUT"; do
        cat "$dir/slice.txt" >&"$(client_fd a)"
        slices=$((slices + 1))
        sleep 0.1
    done
    client_send a 'the end\n'
    wait_for_output "leave 127\\.0\\.0\\.1:$slow_port \\(too slow\\)" 10
    wait_for_output ': the end$' 20 "$dir/reader.out"
    expect_line "^\\* 127\\.0\\.0\\.1:$slow_port left$" "$(cat "$dir/reader.out")"
    expect_equal "lines of chat the reader got" "$((slices * 200 + 1))" \
        "$(grep -cE ': (line [0-9]+ 0+|the end)$' "$dir/reader.out")"
    expect_no_line 'leave 127\.0\.0\.1:[0-9]+ \(too slow\)' "$(grep -v ":$slow_port " "$SERVER_OUT")"
}

@test "SIGTERM with 300 clients connected tells them all, closes them and exits 0" {
    start_chat 127.0.0.1 0 || return 1
    "$(tool chat-poll-crowd)" -S -n 300 -T 30000 127.0.0.1 "$PORT" \
        >"$BATS_TEST_TMPDIR/crowd.out" 2>&1 3>&- &
    crowd=$!
    STARTED_PIDS+=("$crowd")
    wait_for_output 'join .* \(300 online\)$' 20
    # The crowd prints this line the moment all 299 have the first one's
    # line (it printed it only on exit once, so this wait always ran its 20 s).
    wait_for_output '^received 299 of 299$' 20 "$BATS_TEST_TMPDIR/crowd.out" || return 1
    stop_server TERM
    expect_equal "the exit status after SIGTERM" 0 "$SERVER_STATUS"
    expect_line '^\[[0-9 :-]+\] shutting down \(signal SIGTERM\), 300 clients$' "$(server_output)"
    wait_for_output '^closed 300 of 300$' 20 "$BATS_TEST_TMPDIR/crowd.out"
    expect_line '^told 300 of 300$' "$(cat "$BATS_TEST_TMPDIR/crowd.out")"
}
