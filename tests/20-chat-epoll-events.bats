#!/usr/bin/env bats
# shellcheck disable=SC2030,SC2031,SC2153,SC2154  # STARTED_PIDS, CLIENT_*, ADDR_* and PORT are set by the helpers, in each test's own subshell
# Lesson 20 - chat-epoll: what only the edge-triggered epoll server promises.
# The chat protocol itself is tested by tests/20-chat-epoll.bats (a link to
# lesson 15's tests). These tests are about edges: epoll reports a socket
# when something new arrives, so bytes that are already waiting, a pending
# connection, or an end of stream that came with the last line must be taken
# by the server on its own. To make "already waiting" certain rather than
# likely, several tests stop the server (SIGSTOP), let the bytes arrive, and
# let it go on (SIGCONT): it then gets exactly one edge for all of them.
# They check behaviour, never timing.

bats_require_minimum_version 1.7.0
load helpers/common
load helpers/chat

# The EMFILE test's descriptor limit: the server holds 8 fds of its own
# (stdin, stdout, stderr, epoll, the self-pipe's two ends, the spare, the listener).
FD_LIMIT=32

# waiting_bytes PORT [STATE]: bytes received and not yet read by the server
# on its connections from local port PORT (/proc/net/tcp: rx_queue, in hex),
# in TCP state STATE (01 established, 08 close-wait: the peer's FIN came too).
waiting_bytes() {
    local hex sum=0 q
    hex=$(printf '%04X' "$1")
    # Not awk's strtonum (gawk only): bash reads the hex itself.
    for q in $(awk -v port="$hex" -v st="${2:-01}" '
            NR > 1 { split($2, l, ":"); split($5, q, ":"); if (l[2] == port && $4 == st) print q[2] }' /proc/net/tcp); do
        sum=$((sum + 16#$q))
    done
    echo "$sum"
}

# wait_waiting PORT BYTES [STATE]: until the server has BYTES unread (10 s).
wait_waiting() {
    local i now
    for i in $(seq 1 200); do
        now=$(waiting_bytes "$1" "${3:-01}")
        [ "$now" -ge "$2" ] && return 0
        sleep 0.05
    done
    fail "The server's connections never held $2 unread bytes (they hold $now): the bytes did not arrive while it was stopped."
}

# pause_server / resume_server: SIGSTOP and SIGCONT to the server we started.
pause_server() { kill -STOP "$SERVER_PID"; }
resume_server() { kill -CONT "$SERVER_PID"; }

# sender_open PEER_OPTIONS...: a peer that connects now and sends only what
# the test later writes to fd $SENDER (a FIFO; closing it is the peer's end
# of input), so nothing is sent before the test is ready for it.
sender_open() {
    local fifo=$BATS_TEST_TMPDIR/sender.fifo
    mkfifo "$fifo"
    exec {SENDER}<>"$fifo"              # read-write: opening it never blocks
    # {SENDER}>&-: the peer must not hold a writer itself, or it never sees EOF.
    "$(tool peer)" -f - "$@" 127.0.0.1 "$PORT" <"$fifo" >/dev/null 2>&1 3>&- {SENDER}>&- &
    STARTED_PIDS+=($!)
}

@test "the server raises its soft descriptor limit to the hard limit at start, and logs the room it has" {
    expect_soft_limit_raised || return 1
    expect_line "open files: soft limit raised from 256 to the hard limit $(ulimit -Hn): room for [0-9]+ clients\$" "$(server_output)"
}

@test "edge-triggered: 90 KB of lines that arrive while the server is stopped all reach the room, with no further edge" {
    start_chat 127.0.0.1 0 || return 1
    local dir=$BATS_TEST_TMPDIR i
    # The reader: a peer that reads everything until the last line.
    "$(tool peer)" -u ': line 149 ' -q 30000 -T 60000 127.0.0.1 "$PORT" \
        >"$dir/reader.out" 2>&1 3>&- &
    STARTED_PIDS+=($!)
    wait_for_output 'join .* \(1 online\)$'
    # 150 lines of 600 bytes: 90,000 bytes, more than one read (64 KiB) and
    # less than what the kernel buffers for a server that does not read, so
    # nothing more arrives after them: no second edge. The sender then stays
    # connected and silent (a close would be a new edge).
    for i in $(seq -w 0 149); do printf 'line %s %0590d\n' "$i" 0; done >"$dir/lines.txt"
    sender_open -W 60000 -T 60000
    wait_for_output 'join .* \(2 online\)$'
    pause_server
    cat "$dir/lines.txt" >&"$SENDER"
    exec {SENDER}>&-
    wait_waiting "$PORT" 90000
    resume_server
    wait_for_output ': line 149 0+$' 20 "$dir/reader.out" ||
        fail "The last line never came: the server read once after the edge and waited for another (under EPOLLET, read until EAGAIN)." \
             "$(show_text "The last line the reader got:" "$(grep ': line ' "$dir/reader.out" | tail -n 1 | cut -c 1-60)")"
    expect_equal "lines relayed to the reader" 150 "$(grep -cE ': line [0-9]+ 0+$' "$dir/reader.out")"
}

@test "edge-triggered: a last line and the end of stream that arrive together: the line is relayed, then the client leaves" {
    start_chat 127.0.0.1 0 || return 1
    join a
    # As `printf 'last words\n' | nc -N`: the line, then shutdown(SHUT_WR).
    sender_open -H -T 20000
    wait_for_output 'join .* \(2 online\)$'
    pause_server
    printf 'last words\n' >&"$SENDER"
    exec {SENDER}>&-
    # 11 bytes waiting, on a connection in CLOSE_WAIT: the FIN came too. The
    # server gets one edge with EPOLLIN and EPOLLRDHUP set at once.
    wait_waiting "$PORT" 11 08
    resume_server
    client_expect a '^127\.0\.0\.1:[0-9]+: last words$' 10 ||
        fail "The line sent just before the end of stream was lost: EPOLLRDHUP says the peer will send no more, not that nothing is left to read." \
             "$(show_text "Client a got:" "$(seen a)")"
    client_expect a '^\* 127\.0\.0\.1:[0-9]+ left$'
    wait_for_output 'leave 127\.0\.0\.1:[0-9]+ \(closed\) \(1 online\)$'
}

@test "a burst of 1,000 connects is all accepted (accept4 until EAGAIN) and one line reaches all 999 others" {
    start_chat 127.0.0.1 0 || return 1
    run_tool --timeout 60 chat-poll-crowd -n 1000 -T 50000 127.0.0.1 "$PORT"
    expect_line '^connected 1000 of 1000$'
    expect_line '^welcomed 1000 of 1000$'
    expect_line '^received 999 of 999$'
    wait_for_output 'join .* \(1000 online\)$'
    expect_no_line 'refused|too slow' "$(server_output)"
}

@test "by default a room of more than 1,000 is not told of comings and goings: of 1,010 clients, the first hears 999 joins and 999 departures" {
    start_chat -m 1100 127.0.0.1 0 || return 1     # ANNOUNCE_MAX, chat.h
    expect_big_room_untold 1010 1000
}

@test "connections that wait while the server is stopped are all accepted after one edge" {
    start_chat 127.0.0.1 0 || return 1
    pause_server
    local i
    for i in 1 2 3 4 5; do
        client_open "c$i"
    done
    resume_server
    for i in 1 2 3 4 5; do
        client_expect "c$i" '^\* welcome 127\.0\.0\.1:[0-9]+; ' 10 ||
            fail "Client c$i was never welcomed: the listener had one edge for five connections, and the server accepted fewer (accept4 until EAGAIN)."
    done
    wait_for_output 'join .* \(5 online\)$'
}

@test "a client whose queue filled (EPOLLOUT asked for) and drained leaves the server asleep" {
    start_chat -t 20 127.0.0.1 0 || return 1
    join a
    local dir=$BATS_TEST_TMPDIR i
    # A reader with a 4 KiB receive buffer that reads only after 2 s, and
    # 8 MB for it, written at once: more than the kernel's send buffer takes
    # on loopback (tcp_wmem's maximum, 4 MB), so the server's sends stop with
    # EAGAIN and it must ask for EPOLLOUT. (With 900 KB, or with the lines
    # written one printf at a time, everything fit: no EAGAIN, no EPOLLOUT,
    # and a test that could not fail.)
    # It stays connected (and idle) after it has read everything.
    "$(tool peer)" -B 4096 -W 2000 -q 30000 -T 60000 127.0.0.1 "$PORT" \
        >"$dir/slow.out" 2>&1 3>&- &
    STARTED_PIDS+=($!)
    wait_for_output 'join .* \(2 online\)$'
    for i in $(seq -w 0 8999); do printf 'line %s %0890d\n' "$i" 0; done >"$dir/lines.txt"
    cat "$dir/lines.txt" >&"$(client_fd a)"
    wait_for_output ': line 8999 ' 60 "$dir/slow.out"
    # Now nothing is queued for anyone: over 2 s of silence the server must
    # sleep. Measured as time on a CPU *plus time waiting for one*
    # (/proc/PID/schedstat, in ns): a loop that never sleeps fills the 2 s
    # whatever the machine's load, while its CPU ticks alone shrink when other
    # jobs share the CPUs (on this machine, at a load of 14, a spinning
    # server got 35 ticks of 200 and passed a ticks-only check).
    local before after busy_ms
    [ -r "/proc/$SERVER_PID/schedstat" ] || skip "no /proc/PID/schedstat on this kernel"
    before=$(awk '{ printf "%.0f\n", $1 + $2 }' "/proc/$SERVER_PID/schedstat")
    sleep 2
    after=$(awk '{ printf "%.0f\n", $1 + $2 }' "/proc/$SERVER_PID/schedstat")
    busy_ms=$(( (after - before) / 1000000 ))
    [ "$busy_ms" -le 1000 ] ||
        fail "The server was running or ready to run for $busy_ms ms of 2000 after every queue drained:" \
             "  is EPOLLOUT still asked for with nothing to send (level-triggered, it is reported on every wait)?"
}

@test "out of descriptors (EMFILE), extra clients are refused with the reason and the server keeps serving" {
    expect_emfile_refusal $FD_LIMIT
}
