# tests/helpers/chat.bash - what every chat server test file shares (lessons
# 15, 17, 19 and 20 speak one protocol: docs/15-chat-server.md). Load it after
# helpers/common:
#
#     load helpers/common
#     load helpers/chat

# start_chat ARGS...: start this lesson's chat-server (start_server). Call it
# in an `||` list (`start_chat ... || return 1`): errexit must not end the test
# while start_server still polls for the "listening on" line.
start_chat() {
    start_server chat-server "$@" || return 1
}

# join NAME...: connect each client and wait for its welcome line; the
# server's address for it ("127.0.0.1:PORT") goes into ADDR_NAME.
join() {
    local name
    for name in "$@"; do
        client_open "$name" || return 1
        client_expect "$name" '^\* welcome 127\.0\.0\.1:[0-9]+; commands: /nick NAME, /who, /quit$' || return 1
        local addr=${REPLY#\* welcome }
        printf -v "ADDR_$name" '%s' "${addr%%;*}"
    done
}

# seen NAME: every line client NAME has read so far.
seen() {
    local var="CLIENT_${1}_SEEN"
    printf '%s' "${!var}"
}

# server_answers: one client joins and leaves, and the server logs it. Tests
# that then run a tool with a long deadline (a thousand clients under a
# sanitizer build need one) look first, so that a server that does not chat
# at all fails in seconds, not after the tool's whole deadline.
server_answers() {
    join probe || return 1
    client_close probe
    wait_for_output 'leave .* \(0 online\)$' 10
}

# expect_big_room_untold CLIENTS ANNOUNCE_MAX: with the chat server running,
# the first of CLIENTS clients is welcomed alone, the others connect at once,
# all receive its line, then they close, and it asks /who until it is alone
# (chat-poll-crowd -J). Joins into a room of 2 to ANNOUNCE_MAX are told to
# it, and departures from a room of ANNOUNCE_MAX down to 2: ANNOUNCE_MAX - 1
# of each, and none in a bigger room (chat.h: N*N/2 lines to fill a room).
expect_big_room_untold() {
    local clients=$1 told=$(($2 - 1))
    run_tool --timeout 60 chat-poll-crowd -J -n "$clients" -T 50000 127.0.0.1 "$PORT"
    expect_line "^received $((clients - 1)) of $((clients - 1))\$"
    expect_line '^alone yes$'
    expect_line "^heard $told joins\$"
    expect_line "^heard $told departures\$"
    expect_status 0
}

# expect_emfile_refusal FD_LIMIT: with the running server's descriptor limit
# lowered to FD_LIMIT (prlimit, as if it had started under ulimit -n), 30
# clients connect. The last cannot get a descriptor: it must be accepted on
# the spare one, told the real reason (not "server full": the room is not),
# and closed; the room goes on, and once the clients leave new ones chat.
expect_emfile_refusal() {
    local limit=$1 i last=30
    command -v prlimit >/dev/null || skip "prlimit(1) is missing"
    start_chat 127.0.0.1 0 || return 1
    if ! prlimit --pid "$SERVER_PID" --nofile="$limit:$limit"; then
        kill -0 "$SERVER_PID" 2>/dev/null || fail "The server exited right after it started."
        skip "prlimit --pid is not permitted here"
    fi
    for i in $(seq 1 $last); do
        client_open "c$i" || return 1
    done
    client_expect "c$last" '^\* out of file descriptors \(EMFILE\), try again later$' 10 || return 1
    client_expect_closed "c$last" || return 1
    wait_for_output 'refused 127\.0\.0\.1:[0-9]+: out of file descriptors \(EMFILE\)$' || return 1
    client_expect c1 '^\* welcome ' || return 1
    for i in $(seq 1 $last); do
        client_close "c$i"
    done
    wait_for_output 'leave .* \(0 online\)$' 10 || return 1
    join x y || return 1
    client_send x 'still here\n'
    client_expect y ': still here$' || return 1
    kill -0 "$SERVER_PID" || fail "The server died."
}

# expect_soft_limit_raised: a server started with a soft descriptor limit of
# 256 runs with its soft limit at the hard one (lessons 17 and 20 raise it,
# getrlimit(2)/setrlimit(2)); skips, saying why, where the hard limit leaves
# nothing to see. Leaves the server running, for more checks.
expect_soft_limit_raised() {
    local hard soft
    hard=$(ulimit -Hn)
    [ "$hard" = unlimited ] && skip "the hard limit is unlimited here"
    [ "$hard" -gt 256 ] || skip "the hard limit ($hard) is too low to see a change"
    ulimit -Sn 256
    start_chat 127.0.0.1 0 || return 1
    [ -r "/proc/$SERVER_PID/limits" ] || fail "The server exited right after it started." || return 1
    soft=$(awk '/^Max open files/ { print $4 }' "/proc/$SERVER_PID/limits")
    expect_equal "the server's soft limit (Max open files in /proc/PID/limits)" "$hard" "$soft"
}
