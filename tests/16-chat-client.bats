#!/usr/bin/env bats
# shellcheck disable=SC2030,SC2031,SC2153,SC2154  # STARTED_PIDS, CLIENT_*, ADDR_* and PORT are set by the helpers, in each test's own subshell
# Lesson 16 - chat-client: a client that reads the keyboard and the server at once.
# The client talks to lesson 15's reference chat server (tests/run --ref: a
# student's lesson 16 is graded on its own, whatever their lesson 15 does), and
# a pure-bash line client sits in the room as the other user.
# Its "keyboard" is a pipe or a FIFO the test writes to.

bats_require_minimum_version 1.7.0
load helpers/common

# chat_server ARGS...: start lesson 15's chat-server. (Inside "||", so bash's
# errexit cannot cut start_server's wait for "listening on" short.)
chat_server() {
    # shellcheck disable=SC2034  # read by prog, inside start_server
    local LESSON_DIR=15-chat-server
    if [ -n "${WORKBOOK_REF_BIN:-}" ]; then
        # shellcheck disable=SC2034
        local WORKBOOK_BIN=$WORKBOOK_REF_BIN WORKBOOK_SRC=$BATS_TEST_DIRNAME/../solutions
    fi
    start_server chat-server "$@" || return 1
}

# start_client: run chat-client in the background, its stdin a FIFO that the
# test writes to with `type TEXT`; output in $OUT and $ERR.
start_client() {
    local fifo="$BATS_TEST_TMPDIR/keyboard" path
    path=$(prog chat-client) || return 1
    OUT="$BATS_TEST_TMPDIR/client.out" ERR="$BATS_TEST_TMPDIR/client.err"
    mkfifo "$fifo"
    spawn --stdin "$fifo" "$OUT" "$ERR" "$path" 127.0.0.1 "$PORT"
    CLIENT_PID=$SPAWNED_PID
    exec {KEYBOARD}>"$fifo"
}

type() {
    # shellcheck disable=SC2059  # a printf format on purpose
    printf "$1" >&"$KEYBOARD"
}

# client_exits [SECONDS]: wait for the background client to exit; sets $status.
client_exits() {
    wait_for_exit "$CLIENT_PID" "The client" "$OUT" "$ERR" "${1:-5}" || return 1
    status=$EXIT_STATUS
    check_ended_well "$status" "chat-client" "${1:-5}" "$(cat "$OUT")" "$(cat "$ERR")"
}

# other: a bash client "o" in the room, welcomed.
other() {
    client_open o
    client_expect o '^\* welcome '
}

@test "with piped input, each line reaches the room, the server's replies are printed, and it exits 0" {
    chat_server -m 5 127.0.0.1 0
    other
    printf '/nick bob\nhello from a pipe\n' >"$BATS_TEST_TMPDIR/in.txt"
    run_prog --stdin "$BATS_TEST_TMPDIR/in.txt" chat-client 127.0.0.1 "$PORT"
    expect_status 0
    expect_line '^\* welcome 127\.0\.0\.1:[0-9]+; commands: '
    expect_line '^\* you are now bob$'
    client_expect o '^bob: hello from a pipe$'
}

@test "end of input sends /quit: the server says bye and the others see the client leave" {
    chat_server -m 5 127.0.0.1 0
    other
    printf '/nick carol\n' >"$BATS_TEST_TMPDIR/in.txt"
    run_prog --stdin "$BATS_TEST_TMPDIR/in.txt" chat-client 127.0.0.1 "$PORT"
    expect_status 0
    expect_line '^\* bye$'
    client_expect o '^\* carol left$'
    wait_for_output ' leave carol \(quit\) '
}

@test "typing quit leaves with status 0, and what follows it is never sent" {
    chat_server -m 5 127.0.0.1 0
    other
    printf 'before\nquit\nafter\n' >"$BATS_TEST_TMPDIR/in.txt"
    run_prog --stdin "$BATS_TEST_TMPDIR/in.txt" chat-client 127.0.0.1 "$PORT"
    expect_status 0
    expect_line '^\* bye$'
    client_expect o ': before$'
    client_expect o ' left$'
    expect_no_line 'after' "$CLIENT_o_SEEN"
}

@test "lines from the room are printed while the keyboard is silent" {
    chat_server -m 5 127.0.0.1 0
    other
    start_client
    client_expect o ' joined$'
    client_send o 'are you there\n'
    wait_for_output ': are you there$' 5 "$OUT"
    type 'yes\n'
    client_expect o ': yes$'
    type '/quit\n'
    client_exits 5
    expect_status 0
}

# cpu_ticks PID: the CPU time PID has used so far (user + system), in clock
# ticks (proc(5): fields 14 and 15 of /proc/PID/stat, after the ")" that ends
# the command name).
cpu_ticks() {
    local stat
    stat=$(cat "/proc/$1/stat") || return 1
    stat=${stat##*) }
    awk '{ print $12 + $13 }' <<<"$stat"
}

@test "waiting for the keyboard and the server, the client sleeps in poll: no CPU used while idle" {
    [ -r /proc/self/stat ] || skip "needs /proc (Linux)"
    chat_server -m 5 127.0.0.1 0
    start_client
    wait_for_output '^\* welcome ' 5 "$OUT"
    local hz before after
    hz=$(getconf CLK_TCK)
    before=$(cpu_ticks "$CLIENT_PID")
    sleep 1
    after=$(cpu_ticks "$CLIENT_PID")
    # An idle poll uses nothing; a loop that never sleeps (a poll timeout of
    # 0, a non-blocking read tried over and over) uses the whole second.
    [ $((after - before)) -le $((hz / 5)) ] ||
        fail "While nothing happened for 1 s, the client used $((after - before)) of $hz CPU ticks (a busy loop)." \
             "  poll(2) with timeout -1 (or the time left) sleeps until an fd is ready; a timeout of 0 returns at once."
}

@test "after /quit, a server that never closes: the client leaves anyway once its wait is over" {
    # A listener that never accepts (lesson 03's tool): the client connects,
    # sends /quit into the queue and gets no answer, ever.
    start_listener timeouts-listener "$(tool timeouts-listener)" -b 8
    printf '/quit\n' >"$BATS_TEST_TMPDIR/in.txt"
    run_prog --stdin "$BATS_TEST_TMPDIR/in.txt" chat-client 127.0.0.1 "$PORT"
    expect_status 0
}

@test "when the server goes away, the client says so on stderr and exits 1" {
    chat_server -m 5 127.0.0.1 0
    start_client
    wait_for_output '^\* welcome ' 5 "$OUT"
    stop_server TERM
    client_exits 5
    expect_status 1
    expect_line '^\* server shutting down$' "$(cat "$OUT")"
    expect_line '^\* connection closed by server$' "$(cat "$ERR")"
}

@test "a refused connection is reported with its errno name and exit status 1" {
    chat_server -m 5 127.0.0.1 0
    local port=$PORT
    stop_server TERM
    run_prog chat-client 127.0.0.1 "$port"
    expect_status 1
    expect_stderr_line 'ECONNREFUSED'
}

@test "a bad port gets the usage line and exit status 1" {
    run_prog chat-client 127.0.0.1 99999
    expect_status 1
    expect_stderr_line '^usage: chat-client '
}
