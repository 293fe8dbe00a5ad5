#!/usr/bin/env bats
# shellcheck disable=SC2030,SC2031,SC2034,SC2154  # bats: each test is a subshell; the helpers set and read these
# tests/faults/servers.bats - fault injection against one lesson's server.
#
# Run by tools/hardening/faults once per server, with (all set by it):
#   FAULT_LESSON  the lesson folder, e.g. 11-echo
#   FAULT_PROG    the program, e.g. echo-server
#   FAULT_ARGS    its arguments, ending in "127.0.0.1 0"
#   FAULT_SEND    what a probe client sends (printf escapes), may be empty
#   FAULT_EXPECT  a regex a line of the answer must match
#   FAULT_BULK    echo | lines | receive | none: what a big transfer looks like
#   FAULT_EINTR   1: the server promises to retry EINTR in recv/send (lesson 09
#                 and later; common/net.h send_all and read_line do)
# Each test names the fault it injects; every check says which lesson failed.

bats_require_minimum_version 1.7.0
load ../helpers/common
LESSON_DIR=$FAULT_LESSON

start() {
    # shellcheck disable=SC2086  # FAULT_ARGS is a list of arguments
    start_server "$FAULT_PROG" $FAULT_ARGS
}

# probe: one ordinary client (it sends, then half-closes) gets the ordinary answer.
probe() {
    peer -d "$FAULT_SEND" -H -q 3000 -T 8000 127.0.0.1 "$PORT"
    expect_line "$FAULT_EXPECT" ||
        fail "($FAULT_LESSON $FAULT_PROG: the server no longer answers an ordinary client)"
}

server_alive() {
    kill -0 "$SERVER_PID" 2>/dev/null && return 0
    local st=0
    wait "$SERVER_PID" || st=$?
    fail "$FAULT_LESSON $FAULT_PROG died (status $st) after: $1" \
         "$(show_text "its error output:" "$(server_errors)")"
}

bulk_file() {  # bulk_file BYTES: a file of text lines, BYTES long
    awk -v n="$1" 'BEGIN { for (i = 0; i * 16 < n; i++) printf "payload %07d\n", i }' >"$BATS_TEST_TMPDIR/bulk"
    printf '%s\n' "$BATS_TEST_TMPDIR/bulk"
}

@test "fd leak: open fds stay the same after 60 connect/disconnect cycles" {
    start || return 1
    probe || return 1
    local before
    before=$(open_fds "$SERVER_PID")
    for _ in $(seq 20); do
        peer -N 127.0.0.1 "$PORT"
        peer -R 127.0.0.1 "$PORT"
        peer -d "$FAULT_SEND" -H -q 1000 -T 3000 127.0.0.1 "$PORT"
    done
    server_alive "60 connections" || return 1
    expect_fds_back "$SERVER_PID" "$before" "60 connect/disconnect cycles ($FAULT_LESSON $FAULT_PROG)"
}

@test "reset: a client that resets mid-transfer (SO_LINGER 0) does not hurt the server" {
    start || return 1
    local big
    big=$(bulk_file 262144)
    for _ in 1 2 3; do
        peer -f "$big" -R 127.0.0.1 "$PORT"
        peer -d "$FAULT_SEND" -R 127.0.0.1 "$PORT"
    done
    sleep 0.3
    server_alive "clients that reset" || return 1
    probe
}

@test "half-close: after shutdown(SHUT_WR) the client still gets its answer, then the end of stream" {
    [ -n "$FAULT_SEND" ] || skip "this server reads nothing"
    start || return 1
    peer -H -d "$FAULT_SEND" -T 8000 127.0.0.1 "$PORT"
    expect_line "$FAULT_EXPECT" || return 1
    [ "$status" -eq 0 ] || fail "$FAULT_LESSON: after the client's half-close the server never closed (peer status $status)." \
        "$(show_text "peer's stderr:" "$stderr")"
}

@test "partial sends: a client with a tiny receive buffer that reads slowly still gets every byte" {
    start || return 1
    local big
    case "$FAULT_BULK" in
        echo)
            big=$(bulk_file 524288)
            peer -B 2048 -f "$big" -H -T 30000 127.0.0.1 "$PORT"
            expect_status 0
            [ "$(printf '%s\n' "$output" | cksum)" = "$(cksum <"$big")" ] ||
                fail "$FAULT_LESSON: the echo of 512 KiB through a 2 KiB receive buffer is not the same bytes (got ${#output} bytes)."
            ;;
        lines)
            big=$(bulk_file 160000)
            peer -B 2048 -f "$big" -H -T 30000 127.0.0.1 "$PORT"
            expect_status 0
            local got want
            got=$(grep -c . <<<"$output") want=$(wc -l <"$big")
            [ "$got" -ge "$want" ] || fail "$FAULT_LESSON: sent $want lines through a 2 KiB receive buffer, got $got answers."
            ;;
        receive)
            peer -B 2048 -W 300 -T 30000 127.0.0.1 "$PORT"
            expect_status 0
            expect_line "$FAULT_EXPECT" || return 1
            [ "${#output}" -gt 65536 ] || fail "$FAULT_LESSON: only ${#output} bytes arrived."
            ;;
        *) skip "this server sends nothing big" ;;
    esac
    server_alive "a slow reader"
}

@test "signals: SIGWINCH, SIGCHLD and SIGURG (ignored by default) during blocking calls change nothing" {
    start || return 1
    local sig
    for sig in WINCH CHLD URG WINCH CHLD URG; do
        kill -"$sig" "$SERVER_PID"
        sleep 0.05
    done
    server_alive "SIGWINCH, SIGCHLD, SIGURG" || return 1
    probe
}

@test "signals: SIGTERM with a client that never reads (a sending server blocked in send) stops it cleanly" {
    start || return 1
    local big
    # 8 MiB: an echo of it (half as long again) must outgrow the server's send
    # buffer, which Linux lets grow to tcp_wmem's maximum (4 MiB by default),
    # or an echo server never blocks in send and this proves nothing.
    big=$(bulk_file 8388608)
    # A client that sends much and reads nothing: the server's sends block.
    # -W, not -q: the peer reads nothing for 120 s *after* its own send ends
    # (teardown kills it long before). With -q it read at once whenever the
    # server's receive buffer (tcp_rmem: up to 32 MiB here) had grown enough
    # to take all 8 MiB; then a send_all that ignores the stop finished the
    # echo in about a second and passed (seen once, in a CI run).
    spawn /dev/null /dev/null "$(tool peer)" -B 2048 -f "$big" -W 120000 127.0.0.1 "$PORT"
    # A server that echoes or sends a payload must be blocked in send when
    # SIGTERM comes (a fixed sleep let a loaded CI signal it still in recv,
    # and a send_all that ignores the stop passed). The others (FAULT_BULK
    # none) never send much: for them this is SIGTERM with a client attached.
    case $FAULT_BULK in
        lines | receive | echo) wait_blocked_in_send "$SERVER_PID" 10 || return 1 ;;
        *) sleep 1 ;;
    esac
    stop_server TERM || return 1
    [ "$SERVER_STATUS" -eq 0 ] || fail "$FAULT_LESSON: after SIGTERM the server exited with status $SERVER_STATUS, not 0." \
        "$(show_text "its error output:" "$(server_errors)")"
}

@test "EINTR: every other recv and send failing with EINTR (strace -e inject) changes nothing" {
    [ "${FAULT_EINTR:-0}" = 1 ] || skip "$FAULT_LESSON does not promise to retry EINTR"
    command -v strace >/dev/null || skip "strace is not installed"
    local path out log
    path=$(prog "$FAULT_PROG") || return 1
    out="$BATS_TEST_TMPDIR/eintr.out" log="$BATS_TEST_TMPDIR/eintr.strace"
    # The injection acts on the calls strace traces: trace exactly the ones it
    # tampers with (with -e trace=none, strace 6 injects nothing at all).
    # send(2) and recv(2) are sendto and recvfrom to the kernel; sendmsg and
    # recvmsg are there for a server that uses them. spawn gives strace a
    # process group of its own, so teardown kills the tracee with it.
    local calls=recvfrom,sendto,recvmsg,sendmsg
    # shellcheck disable=SC2086  # FAULT_ARGS is a list of arguments
    spawn "$out" "${out%.out}.err" strace -f -o "$log" -e trace=$calls \
        -e inject=$calls:error=EINTR:when=2+2 -- "$path" $FAULT_ARGS
    SERVER_PID=$SPAWNED_PID SERVER_OUT=$out SERVER_ERR=${out%.out}.err SERVER_NAME=$FAULT_PROG
    wait_for_output 'listening on .*:[0-9]+' 10 "$out" || return 1
    PORT=$(listening_port "$out")
    local i
    for i in 1 2 3; do
        probe || return 1
    done
    if [ "$FAULT_BULK" = echo ]; then
        local big
        big=$(bulk_file 65536)
        peer -f "$big" -H -T 20000 127.0.0.1 "$PORT"
        [ "$(printf '%s\n' "$output" | cksum)" = "$(cksum <"$big")" ] ||
            fail "$FAULT_LESSON: with EINTR injected the echo of 64 KiB differs."
    fi
    # Did strace do what was asked? A check that injected nothing proves nothing.
    local injected
    injected=$(grep -c 'EINTR .*(INJECTED)' "$log" || true)
    [ "$injected" -gt 0 ] ||
        fail "strace injected no EINTR into $FAULT_LESSON $FAULT_PROG ($calls): this check proved nothing." \
             "  (strace $(strace -V | head -n 1); is the injection set on calls the server makes?)" \
             "$(show_text "the end of strace's log:" "$(tail -n 15 "$log")")"
    expect_no_line 'EINTR' "$(server_errors | grep -v '^strace: ')" ||
        fail "$FAULT_LESSON reported an EINTR instead of retrying the call ($injected injected)."
}
