#!/usr/bin/env bats
# shellcheck disable=SC2030,SC2031  # STARTED_PIDS and the CLIENT_* variables live in each test's own subshell
# Lesson 19 - chat-select: what only the select() server must get right.
# The chat protocol is tested by tests/19-chat-select.bats (a link to lesson
# 15's tests). These tests are about select itself: the sets it overwrites,
# nfds, and the wall at FD_SETSIZE (1024), where a client must be refused
# cleanly while the room goes on. They check behaviour, never timing.

bats_require_minimum_version 1.7.0
load helpers/common
load helpers/chat

# How many clients the wall tests connect: past the wall by a dozen or so.
CROWD=1030

# A wall test runs chat-wall for up to 90 s (a thousand clients, under a
# sanitizer build, on a loaded CI): the suite's 60 s safety net would cut it
# before its own deadline, and a server that never refuses would then fail by
# bats' timeout instead of by what the test says about it.
BATS_TEST_TIMEOUT=150

# need_hard_limit N: skip (saying why) when the hard RLIMIT_NOFILE is below N:
# the test needs a soft limit past FD_SETSIZE and cannot raise the hard one.
need_hard_limit() {
    local hard
    hard=$(ulimit -Hn)
    [ "$hard" = unlimited ] || [ "$hard" -ge "$1" ] ||
        skip "the hard descriptor limit ($hard) is below $1: this test needs more descriptors than FD_SETSIZE"
}

@test "the newest client, on the highest descriptor, is heard: nfds is the highest fd + 1" {
    start_chat 127.0.0.1 0 || return 1
    server_answers || return 1
    # The stop pipe (common/stop.c) sits at fd 100 or so, above the first
    # clients: join 20 more clients than that, one after another, so that
    # the last one holds the server's highest descriptor, and it speaks.
    local highest
    highest=$(find "/proc/$SERVER_PID/fd" -mindepth 1 -printf '%f\n' | sort -n | tail -n 1)
    run_tool --timeout 60 chat-wall -l -n $((highest + 20)) -T 50000 127.0.0.1 "$PORT"
    expect_line "^welcomed $((highest + 20))\$"
    expect_line "^received $((highest + 19)) of $((highest + 19))\$"
}

@test "quiet clients are still heard after another spoke many times: select gets fresh copies of the sets each turn" {
    start_chat 127.0.0.1 0 || return 1
    join a b c
    local i
    for i in 1 2 3 4 5; do
        client_send a "line $i\\n"
        client_expect b ": line $i\$"
    done
    client_send b 'b was quiet\n'
    client_expect c ': b was quiet$'
    client_send c 'c too\n'
    client_expect a ': c too$'
}

@test "past FD_SETSIZE: a client whose fd would be 1024 or more is told the server is full and closed, while the 1,017 below chat on" {
    need_hard_limit 2048
    # Let the kernel hand out descriptors past 1023, so that the server
    # itself must stop at select's wall.
    ulimit -Sn 2048
    start_chat 127.0.0.1 0 || return 1
    server_answers || return 1
    local own room
    own=$(open_fds "$SERVER_PID")       # its own: 0-2, the self-pipe, the spare, the listener
    room=$((1024 - own))                # fds own .. 1023 are left for clients
    run_tool --timeout 100 chat-wall -n $CROWD -k -T 90000 127.0.0.1 "$PORT"
    expect_line "^connected $CROWD of $CROWD\$"
    expect_line "^welcomed $room\$"
    expect_line "^refused $((CROWD - room))\$"
    expect_line '^refusal: \* server full \(fd 10[0-9][0-9] >= FD_SETSIZE 1024\), try again later$'
    expect_line "^closed after refusal $((CROWD - room)) of $((CROWD - room))\$"
    expect_line '^closed without a line 0$'
    expect_line '^welcomed but closed 0$'
    # The room below the wall works: one line reaches all the others...
    expect_line "^received $((room - 1)) of $((room - 1))\$"
    # ...and when one of them leaves, its descriptor can be taken again.
    expect_line '^rejoined 1 of 1$'
    # Every refusal is logged with the descriptor it was for, each >= 1024.
    local refused
    refused=$(grep -E 'refused 127\.0\.0\.1:[0-9]+: ' "$SERVER_OUT")
    expect_equal "refusals in the server's log" "$((CROWD - room))" "$(grep -c . <<<"$refused")"
    expect_no_line 'server full \(fd (10[01][0-9]|10[2][0-3]|[0-9]{1,3}) ' "$refused"
    expect_line "join .* \\($room online\\)\$" "$(server_output)"
    kill -0 "$SERVER_PID" || fail "The server died."
}

@test "at the usual soft limit of 1024 descriptors the wall is EMFILE: the extra clients are told so, while the room chats on" {
    need_hard_limit 1024
    ulimit -Sn 1024
    start_chat 127.0.0.1 0 || return 1
    server_answers || return 1
    local own room
    own=$(open_fds "$SERVER_PID")
    room=$((1024 - own))
    run_tool --timeout 100 chat-wall -n $CROWD -T 90000 127.0.0.1 "$PORT"
    expect_line "^welcomed $room\$"
    expect_line "^refused $((CROWD - room))\$"
    expect_line '^refusal: \* out of file descriptors \(EMFILE\), try again later$'
    expect_line "^closed after refusal $((CROWD - room)) of $((CROWD - room))\$"
    expect_line "^received $((room - 1)) of $((room - 1))\$"
    wait_for_output 'refused 127\.0\.0\.1:[0-9]+: out of file descriptors \(EMFILE\)$'
    # The tool has gone: the room is empty, and new clients are served.
    wait_for_output 'leave .* \(0 online\)$' 20
    join x y
    client_send x 'after the wall\n'
    client_expect y ': after the wall$'
}
