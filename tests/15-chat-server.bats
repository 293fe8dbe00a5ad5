#!/usr/bin/env bats
# shellcheck disable=SC2030,SC2031,SC2153,SC2154  # STARTED_PIDS, CLIENT_*, ADDR_* and PORT are set by the helpers, in each test's own subshell
# Lesson 15 - chat-server: a group chat, one thread per client.
# These tests speak only the chat protocol (docs/15-chat-server.md), so they
# test lesson 17's poll() server as well: tests/17-chat-poll.bats is a link to
# this file, and the helpers take the program from the lesson folder named by
# the test file's name. Clients are pure-bash /dev/tcp line clients (like nc
# or telnet would be) and the peer tool, for bytes bash cannot send.

bats_require_minimum_version 1.7.0
load helpers/common
load helpers/chat

# The flood tests below give chat-flood up to 90 s in all (-T) and kill it
# at 100 s: room for a sanitizer build on a loaded CI, not speed limits. The
# suite's safety net (60 s; 90 under a sanitizer) is shorter, so a flood that
# ran long was cut by bats' timeout with nothing said, where chat-flood would
# have reported what it saw (delivered, longest stall, why it gave up). The
# net must outlast the tool's own limits.
BATS_TEST_TIMEOUT=150

# The log's timestamp, "[2026-11-24 10:15:02] ".
STAMP='^\[[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\] '

# three_in_the_room: a server and clients a, b and c, each welcomed; a and b
# have seen everyone after them join, so the room is complete for all.
three_in_the_room() {
    start_chat -m 5 127.0.0.1 0
    join a b c
    client_expect a "^\\* $ADDR_c joined\$"
    client_expect b "^\\* $ADDR_c joined\$"
}

@test "a line from one client reaches the two others, prefixed with its sender, and not the sender" {
    three_in_the_room
    client_send a 'hello room\n'
    client_expect b "^$ADDR_a: hello room\$"
    client_expect c "^$ADDR_a: hello room\$"
    # Had the server echoed a's line back, a would read it before c's reply.
    client_send c 'hi a\n'
    client_expect a "^$ADDR_c: hi a\$"
    expect_no_line 'hello room' "$(seen a)"
}

@test "everyone else is told when a client joins and when it leaves, and the server logs both" {
    three_in_the_room
    expect_line "^\\* $ADDR_b joined\$" "$(seen a)"
    expect_no_line 'joined' "$(seen c)"
    client_close b
    client_expect a "^\\* $ADDR_b left\$"
    client_expect c "^\\* $ADDR_b left\$"
    wait_for_output "${STAMP}leave $ADDR_b \\(closed\\) \\(2 online\\)\$"
    expect_line "${STAMP}join $ADDR_c \\(3 online\\)\$" "$(server_output)"
}

@test "/nick renames a client: it is told, the others are told, and its lines carry the new name" {
    three_in_the_room
    client_send a '/nick alice\n'
    client_expect a '^\* you are now alice$'
    client_expect b "^\\* $ADDR_a is now alice\$"
    client_send a 'it is me\n'
    client_expect c '^alice: it is me$'
    wait_for_output "${STAMP}nick $ADDR_a -> alice\$"
}

@test "a name that is taken or not 1-20 of A-Z a-z 0-9 _ - is refused" {
    three_in_the_room
    client_send a '/nick alice\n'
    client_expect a '^\* you are now alice$'
    client_send b '/nick alice\n'
    client_expect b '^\* name alice is taken$'
    client_send b '/nick bad name!\n'
    client_expect b '^\* invalid name \(1-20 of A-Z a-z 0-9 _ -\)$'
    client_send b '/nick abcdefghijklmnopqrstu\n'
    client_expect b '^\* invalid name '
    # b kept its address as its name.
    client_send b 'still me\n'
    client_expect c "^$ADDR_b: still me\$"
}

@test "/who lists everyone online, in join order, to the asker only" {
    three_in_the_room
    client_send b '/nick bob\n'
    client_expect b '^\* you are now bob$'
    client_send c '/who\n'
    client_expect c "^\\* online \\(3\\): $ADDR_a, bob, $ADDR_c\$"
    client_send a 'marker\n'
    client_expect b ": marker\$"
    expect_no_line '^\* online' "$(seen b)"
}

@test "/quit says bye, closes the connection, and the others are told" {
    three_in_the_room
    client_send a '/quit\n'
    client_expect a '^\* bye$'
    client_expect_closed a
    client_expect b "^\\* $ADDR_a left\$"
    wait_for_output "${STAMP}leave $ADDR_a \\(quit\\) \\(2 online\\)\$"
}

@test "an unknown command gets the list of commands and is not sent to anyone" {
    three_in_the_room
    client_send a '/dance now\n'
    client_expect a '^\* unknown command; commands: /nick NAME, /who, /quit$'
    client_send a 'after\n'
    client_expect b ": after\$"
    expect_no_line 'dance' "$(seen b)"
}

@test "telnet's CRLF line ends work: the \\r is neither part of a name nor passed on" {
    start_chat -m 5 127.0.0.1 0
    join a
    "$(tool peer)" -u 'tele: hi there\n' -q 8000 -T 10000 127.0.0.1 "$PORT" \
        >"$BATS_TEST_TMPDIR/b.out" 2>&1 3>&- &
    STARTED_PIDS+=($!)
    client_expect a ' joined$'
    client_send a '/nick tele\r\n'
    client_expect a '^\* you are now tele$'
    client_send a 'hi there\r\n'
    wait_for_output '^tele: hi there$' 10 "$BATS_TEST_TMPDIR/b.out"
    [ "$(grep -c $'\r' "$BATS_TEST_TMPDIR/b.out")" -eq 0 ] ||
        fail "A \\r reached the other client." "$(show_text "It received:" "$(cat "$BATS_TEST_TMPDIR/b.out")")"
}

@test "a line of exactly 1000 bytes is delivered whole; 1001 bytes is dropped and the sender told" {
    three_in_the_room
    local long
    long=$(printf 'y%.0s' $(seq 1 1000))
    client_send a "$long\\n"
    client_expect b "^$ADDR_a: $long\$"
    client_send a "${long}z\\n"
    client_expect a '^\* line too long \(max 1000 bytes\), dropped$'
    client_send a 'short\n'
    client_expect b "^$ADDR_a: short\$"
    expect_no_line 'z$' "$(seen b)"
}

@test "a 100 KB line without a newline is dropped whole and does not corrupt the next message" {
    three_in_the_room
    head -c 102400 /dev/zero | tr '\0' 'x' >&"$(client_fd a)"
    client_expect a '^\* line too long \(max 1000 bytes\), dropped$'
    client_send a '\nnext message\n'
    client_expect b "^$ADDR_a: next message\$"
    client_expect c "^$ADDR_a: next message\$"
    expect_no_line 'xxx' "$(seen b)"
    kill -0 "$SERVER_PID" || fail "The server died."
}

@test "ANSI escapes, NUL and DEL arrive as ?, while TAB and UTF-8 pass" {
    three_in_the_room
    peer -d 'ctl \x1b[31mred\0x\x7f\tend \xc3\xa9\n' -w 200 -W 300 -q 500 127.0.0.1 "$PORT"
    client_expect b $'^127\\.0\\.0\\.1:[0-9]+: ctl \\?\\[31mred\\?x\\?\tend \xc3\xa9$'
    expect_no_line $'\x1b' "$(seen b)"
}

@test "a client killed in the middle of a line is removed, its half line is dropped, and the others keep chatting" {
    three_in_the_room
    peer -P -d 'half a li' -w 200 -R 127.0.0.1 "$PORT"
    local port
    port=$(sed -nE 's/^peer: local port ([0-9]+)$/\1/p' <<<"$stderr")
    client_expect b "^\\* 127\\.0\\.0\\.1:$port left\$"
    wait_for_output "${STAMP}leave 127\\.0\\.0\\.1:$port \\((reset|closed)\\) \\(3 online\\)\$"
    client_send a 'still here\n'
    client_expect c "^$ADDR_a: still here\$"
    expect_no_line 'half a li' "$(seen b)"
}

# flood ARGS...: run the chat-flood tool (tests/tools/chat-flood.c) against
# the server. It first checks, with 5 s waits, that every client is welcomed
# and that one line reaches them all, so a server that does not relay fails
# in seconds; the flood's own limits (10 s without a line, 90 s in all) are a
# safety net for sanitizer builds on a busy machine, not a speed bound.
flood() {
    run_tool --timeout 100 chat-flood -w 5000 -q 10000 -T 90000 "$@" 127.0.0.1 "$PORT"
}

# expect_flood_delivered N READERS: the flood reached every reading client
# whole: N lines in all, none garbled or out of order, nobody cut off.
expect_flood_delivered() {
    expect_line "^delivered $1 of $1\$" || return 1
    expect_line '^garbled 0$' || return 1
    expect_line '^out of order 0$' || return 1
    expect_line "^disconnected 0 of $2\$" ||
        fail "A client that was reading was disconnected." \
             "$(show_text "The server's log:" "$(server_output | grep -E 'leave|too slow' | head -n 5)")"
}

@test "one client pours 4 MB of lines in a single write: a reader gets every line in order, one that never reads is dropped within the grace time" {
    start_chat -t 1 127.0.0.1 0
    # 20,000 lines of 200 bytes in ONE send(2), as `cat big.txt | nc` would.
    # The non-reader has a 4 KiB receive buffer and never reads.
    flood -s 1 -l 20000 -b 200 -r 1 -z 1
    expect_flood_delivered 20000 2
    local port
    port=$(sed -nE 's/^non-reader port ([0-9]+)$/\1/p' <<<"$output")
    wait_for_output "${STAMP}leave 127\\.0\\.0\\.1:$port \\(too slow\\)"
    # Backpressure waits for the non-reader; with -t 1 the room may stall
    # for about a second, never for good. (5 s of slack for a loaded machine.)
    local stall
    stall=$(sed -nE 's/^longest stall ([0-9]+)\.[0-9]+ s$/\1/p' <<<"$output")
    [ -n "$stall" ] && [ "$stall" -lt 6 ] ||
        fail "The room stalled too long while the non-reader held out (-t 1 allows 1 s):" "$(show_text "chat-flood said:" "$output")"
    # What the non-reader was sent before it was dropped is whole lines, in order.
    expect_line '^non-readers closed by the server 1 of 1$'
    kill -0 "$SERVER_PID" || fail "The server died."
}

@test "eight clients send at once, unpaced, while all read: nobody is disconnected and no line is lost" {
    start_chat 127.0.0.1 0
    # 8 senders x 2,500 lines of 100 bytes, each in one write; 16 clients,
    # every one reading: 300,000 deliveries.
    flood -s 8 -l 2500 -b 100 -r 8
    expect_flood_delivered 300000 16
    expect_no_line 'too slow' "$(server_output)"
}

@test "a reader that is slow but keeps reading (64 KiB every 50 ms) is never dropped while one client floods 6 MB" {
    # 6 MB is more than the kernel's buffers hide, so the server's own queue
    # fills and stays near its limit: the sender must be slowed, not the
    # slow reader dropped. The kernel reports room in a socket only once a
    # third of its send buffer is free (up to a megabyte here), so a slow
    # reader's progress comes in steps; -t 10 leaves a loaded machine room.
    start_chat -t 10 127.0.0.1 0
    flood -s 1 -l 30000 -b 200 -r 1 -y 1 -Y 65536 -B 1000000
    expect_flood_delivered 60000 3
    expect_no_line 'too slow' "$(server_output)"
}

@test "a client that sends /who again and again and never reads is cut off: its queue cannot grow without bound" {
    start_chat -q 4096 -t 2 127.0.0.1 0
    join a
    local dir=$BATS_TEST_TMPDIR port
    # 150,000 "/who" (750 kB), each answered with 48 bytes: 7 MB of answers
    # for a client with a 4 KiB receive buffer that never reads, more than
    # the kernel's send buffer can take (tcp_wmem's maximum, 4 MB). Answers
    # to a command never wait for room, so only a hard limit (or the grace
    # time, where reading stops) can stop that queue.
    seq 150000 | sed "s,.*,/who," >"$dir/who.txt"
    "$(tool peer)" -P -B 4096 -f "$dir/who.txt" -W 60000 -T 60000 127.0.0.1 "$PORT" \
        >/dev/null 2>"$dir/who.err" 3>&- &
    STARTED_PIDS+=($!)
    wait_for_output '^peer: local port [0-9]+$' 5 "$dir/who.err"
    port=$(sed -nE 's/^peer: local port ([0-9]+)$/\1/p' "$dir/who.err")
    wait_for_output "${STAMP}leave 127\\.0\\.0\\.1:$port \\(too slow\\)" 20
    client_expect a "^\\* 127\\.0\\.0\\.1:$port left\$" 10
    client_send a '/who\n'
    client_expect a "^\\* online \\(1\\): $ADDR_a\$"
}

# server_busy_ns: nanoseconds the server's threads have spent running or
# runnable (sched(7): /proc/PID/task/TID/schedstat), summed over its threads.
server_busy_ns() {
    local files=("/proc/$SERVER_PID"/task/*/schedstat)
    [ -r "${files[0]}" ] || { fail "Cannot read ${files[0]}: this kernel has no schedstat (CONFIG_SCHED_INFO)."; return 1; }
    awk '{ sum += $1 + $2 } END { printf "%.0f\n", sum }' "${files[@]}"
}

@test "an idle room costs no CPU: the server sleeps until something happens" {
    three_in_the_room
    client_send a 'hello\n'
    client_expect b "^$ADDR_a: hello\$"
    # Over 2 s in which nobody says anything, the time the server's threads
    # were running *or ready to run* (/proc/PID/task/*/schedstat, fields 1
    # and 2, in ns). A loop that polls for POLLOUT with nothing to send, or
    # never blocks, fills the 2 s whatever the machine's load; its CPU time
    # alone shrinks when other jobs share the CPUs (at a load of 14, a
    # spinning server got 35 ticks of 200 and passed a ticks-only check).
    local before after busy_ms
    before=$(server_busy_ns) || return 1
    sleep 2
    after=$(server_busy_ns) || return 1
    busy_ms=$(( (after - before) / 1000000 ))
    [ "$busy_ms" -le 1000 ] ||
        fail "The server was running or waiting for a CPU for $busy_ms ms of 2000 while the room was idle:" \
             "  it never sleeps (is POLLOUT asked for with nothing to send? a loop that never blocks?)"
}

@test "past the client limit (-m), one more client is told the server is full, closed, and never announced" {
    start_chat -m 2 127.0.0.1 0
    join a b
    client_open c
    client_expect c '^\* server full \(2 clients\), try again later$'
    client_expect_closed c
    wait_for_output "${STAMP}refused 127\\.0\\.0\\.1:[0-9]+: server full \\(2 clients\\)\$"
    client_send b 'room ok\n'
    client_expect a ": room ok\$"
    expect_no_line 'joined' "$(seen a | grep -v "$ADDR_b")"
    # A seat that frees up can be taken again.
    client_close b
    wait_for_output ' \(1 online\)$'
    join d
}

@test "a room of more than -a clients is not told of comings and goings: of 12 with -a 5, the first hears 4 joins and 4 departures" {
    # The default, 1,000, is tried by lessons 17 and 20's own tests.
    start_chat -a 5 127.0.0.1 0 || return 1
    expect_big_room_untold 12 5
}

@test "SIGTERM tells every client, closes every connection and exits with status 0" {
    three_in_the_room
    stop_server TERM
    expect_equal "the exit status after SIGTERM" 0 "$SERVER_STATUS"
    local name
    for name in a b c; do
        client_expect "$name" '^\* server shutting down$'
        client_expect_closed "$name"
    done
    expect_line "${STAMP}shutting down \\(signal SIGTERM\\), 3 clients\$" "$(server_output)"
}

@test "1,000 joins and leaves (closed, reset, /quit) leave the server's fd count where it started" {
    start_chat -m 5 127.0.0.1 0
    before=$(open_fds "$SERVER_PID")
    run_tool --timeout 30 chat-churn -n 1000 -T 25000 127.0.0.1 "$PORT"
    expect_line '^cycles 1000 of 1000$'
    local deadline=$((SECONDS + 10)) now
    while now=$(open_fds "$SERVER_PID") && [ "$now" -ne "$before" ] && [ "$SECONDS" -le "$deadline" ]; do
        sleep 0.1
    done
    expect_equal "the server's open fds after 1,000 clients came and went" "$before" "$now"
    # And the room is empty and works.
    join z
    client_send z '/who\n'
    client_expect z "^\\* online \\(1\\): $ADDR_z\$"
}

@test "a bad -m is refused with the usage line and exit status 1" {
    run_prog chat-server -m zero 127.0.0.1 0
    expect_status 1
    expect_stderr_line '^usage: chat-server '
}
