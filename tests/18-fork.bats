#!/usr/bin/env bats
# Lesson 18 - fork: lesson 11's echo server, one process per client.
# The parent accepts and forks; the child serves one client (greeting
# "Hello, client!", "Echo: LINE" for each line) and exits. The child closes
# the listening socket, the parent the connection. Ended children are reaped
# by a SIGCHLD handler (waitpid(-1, ..., WNOHANG) in a loop), so no zombie is
# left. -m N: one client more than N is told the server is full. SIGTERM or
# SIGINT: every child is told, the server exits 0 and leaves no process.

bats_require_minimum_version 1.7.0
load helpers/common

# children_of PID: one line "CHILD STATE" for each child process of PID
# (from /proc/*/stat; state Z is a zombie: ended, not yet reaped).
children_of() {
    { cat /proc/[0-9]*/stat 2>/dev/null || true; } |
        sed -nE 's/^([0-9]+) \(.*\) ([A-Za-z]) ([0-9]+) .*/\1 \2 \3/p' |
        awk -v p="$1" '$3 == p { print $1, $2 }'
}

# wait_children N [SECONDS]: the server has exactly N child processes, none of
# them a zombie, within SECONDS (default 5); else fail, listing them.
wait_children() {
    local want=$1 seconds=${2:-5} list count zombies deadline
    seconds=$(fail_fast_limit "$seconds") || return 1
    deadline=$((SECONDS + seconds))
    while :; do
        list=$(children_of "$SERVER_PID")
        count=$(grep -c . <<<"$list" || true)
        zombies=$(grep -c ' Z$' <<<"$list" || true)
        [ "$count" -eq "$want" ] && [ "$zombies" -eq 0 ] && return 0
        [ "$SECONDS" -le "$deadline" ] || break
        sleep 0.05
    done
    if [ "$zombies" -gt 0 ]; then
        fail "The server has $zombies zombie children ($count children in all, $want expected) after ${seconds}s:" \
             "  a child that has ended stays a zombie (<defunct> in ps) until its parent calls waitpid(2) for it." \
             "  One SIGCHLD may stand for several children: reap in a loop, waitpid(-1, ..., WNOHANG), until it returns 0 or -1." \
             "$(show_text "Its children (PID and state):" "$list")"
    else
        fail "The server has $count child processes, $want expected (waited ${seconds}s)." \
             "  A child serves one client, then exits: it must never go back to the accept loop." \
             "$(show_text "Its children (PID and state):" "$list")" \
             "$(show_text "Its output:" "$(tail -n 20 "$SERVER_OUT")")"
    fi
}

# peers_at_once N ARGS...: run N copies of `peer ARGS... 127.0.0.1 $PORT` at
# the same moment; the output of copy i is in $BATS_TEST_TMPDIR/peer.i.out,
# its exit status in PEER_STATUS[i]. ARGS may contain {i}, replaced by i.
peers_at_once() {
    local n=$1 i pids=() args
    shift
    for i in $(seq "$n"); do
        args=("${@//\{i\}/$i}")
        timeout -k 2 30 "$(tool peer)" "${args[@]}" 127.0.0.1 "$PORT" \
            >"$BATS_TEST_TMPDIR/peer.$i.out" 2>"$BATS_TEST_TMPDIR/peer.$i.err" 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
        pids[i]=$!
        STARTED_PIDS+=("$!")
    done
    PEER_STATUS=()
    for i in $(seq "$n"); do
        PEER_STATUS[i]=0
        wait "${pids[i]}" || PEER_STATUS[i]=$?
    done
}

@test "the server says where it listens; a bad -m or port gets the usage line" {
    start_server fork-server 127.0.0.1 0
    [ "$PORT" -gt 0 ] || fail "port 0 should become a real port, got $PORT"
    run_prog fork-server -m 0 127.0.0.1 0
    expect_status 1
    expect_stderr_line '^usage: fork-server '
    run_prog fork-server 127.0.0.1 port
    expect_status 1
    expect_stderr_line '^usage: fork-server '
}

@test "a client is greeted and each line echoed (LF, CRLF, a last line without newline), then sees the close" {
    start_server fork-server 127.0.0.1 0
    peer -d 'one\ntwo\r\nthree' -H -q 3000 127.0.0.1 "$PORT"
    expect_equal "the bytes received" $'Hello, client!\r\nEcho: one\r\nEcho: two\r\nEcho: three\r' "$output"
    [ "$status" -eq 0 ] ||
        fail "The client never saw the connection closed (peer status $status, 3 = waited 3 s in silence)." \
             "  The child closed it; does the parent still hold its copy of the connection? After fork(2)" \
             "  both processes have the fd, and the connection ends only when every copy is closed."
    wait_for_output '^client 1: closed the connection after 3 lines$'
}

@test "two clients are served at the same time: the second is greeted while the first is connected and silent" {
    start_server fork-server 127.0.0.1 0
    client_open A
    client_expect A '^Hello, client!$'
    client_open B
    client_expect B '^Hello, client!$' 3 ||
        fail "Client B was not greeted while client A stayed connected: is each client served by a child of its own (fork), while the parent goes back to accept?"
    client_send B 'B speaks\n'
    client_expect B '^Echo: B speaks$'
    client_send A 'A speaks\n'
    client_expect A '^Echo: A speaks$'
}

@test "each client is served by a process of its own, a child of the server" {
    start_server fork-server 127.0.0.1 0
    client_open A
    client_expect A '^Hello, client!$'
    client_open B
    client_expect B '^Hello, client!$'
    wait_children 2 || return 1
    local list pids
    list=$(children_of "$SERVER_PID")
    pids=$(sed -nE 's/^client [12]: .* connected \(process ([0-9]+)\)$/\1/p' "$SERVER_OUT" | sort -u | paste -sd ' ')
    expect_equal "the processes serving clients 1 and 2 (from the log)" \
        "$(cut -d ' ' -f 1 <<<"$list" | sort | paste -sd ' ')" "$pids"
}

@test "the parent closes every connection it hands to a child: its fds stay the same over 20 clients" {
    start_server fork-server 127.0.0.1 0
    peer -d 'warm up\n' -H 127.0.0.1 "$PORT"
    wait_children 0 || return 1
    local before after
    before=$(open_fds "$SERVER_PID")
    for i in $(seq 10); do
        peer -d "client $i\\n" -H -q 3000 127.0.0.1 "$PORT"
        expect_line "^Echo: client $i" || return 1
        peer -N 127.0.0.1 "$PORT"
    done
    wait_children 0 || return 1
    after=$(open_fds "$SERVER_PID")
    [ "$after" -le "$before" ] ||
        fail "fd leak: the parent had $before open fds, and $after after 20 clients; every accepted fd must be closed in the parent once the child has it." \
             "$(ls -l "/proc/$SERVER_PID/fd" 2>/dev/null)"
}

@test "a child does not keep the listening socket: once the parent is killed, the port is free although a child still serves" {
    start_server fork-server 127.0.0.1 0
    client_open A
    client_expect A '^Hello, client!$'
    local parent=$SERVER_PID port=$PORT
    kill -KILL "$parent"
    { wait "$parent"; } 2>/dev/null || true
    # The child outlives its parent and goes on serving its client.
    client_send A 'still served?\n'
    client_expect A '^Echo: still served\?$'
    # Nobody should be listening on the port now.
    peer -q 1000 -T 2000 127.0.0.1 "$port"
    if [ "$status" -ne 1 ] || ! grep -q ECONNREFUSED <<<"$stderr"; then
        fail "After the parent died, a connect to port $port was not refused (peer status $status): a child still holds the listening socket." \
             "  The child must close the listening fd: it belongs to the parent, and a child that keeps it keeps the port for as long as it lives." \
             "$(show_text "peer's error output:" "$stderr")"
        return 1
    fi
    # And a new server can take the port while the old child still serves.
    start_server fork-server 127.0.0.1 "$port"
}

@test "ended children are reaped: 40 that end while the parent is stopped are all reaped once it goes on" {
    start_server fork-server 127.0.0.1 0
    local i list zombies=0 deadline
    for i in $(seq 40); do
        client_open "C$i" || return 1
    done
    wait_for_output '^client 40: .* connected' || return 1
    wait_children 40 || return 1
    # Stop the parent (SIGSTOP), end every child: they become zombies, and
    # their SIGCHLDs wait for the parent as one (signals do not queue).
    kill -STOP "$SERVER_PID"
    for i in $(seq 40); do
        client_close "C$i"
    done
    deadline=$((SECONDS + 10))
    while [ "$SECONDS" -le "$deadline" ]; do
        list=$(children_of "$SERVER_PID")
        zombies=$(grep -c ' Z$' <<<"$list" || true)
        [ "$zombies" -eq 40 ] && break
        sleep 0.05
    done
    kill -CONT "$SERVER_PID"
    [ "$zombies" -eq 40 ] ||
        fail "Only $zombies of the 40 children ended after their clients closed (the parent was stopped)." \
             "$(show_text "Its children (PID and state):" "$list")" || return 1
    wait_children 0
}

@test "children ending while the parent waits do not disturb it: 100 clients one after another, then one more conversation" {
    start_server fork-server 127.0.0.1 0
    local i fd greeting echo
    # Plain bash clients (/dev/tcp), quick enough for 100 in a row: connect,
    # read the greeting, send a line, read its echo, close.
    for i in $(seq 100); do
        if ! { exec {fd}<>"/dev/tcp/127.0.0.1/$PORT"; } 2>/dev/null; then
            fail "Client $i (of 100, one after another) could not connect: is the server still running?" || return 1
        fi
        greeting="" echo=""
        printf 'n%d\n' "$i" >&"$fd"
        IFS= read -r -t 5 -u "$fd" greeting || true
        IFS= read -r -t 5 -u "$fd" echo || true
        exec {fd}>&-
        [ "$greeting|$echo" = $'Hello, client!\r|Echo: n'"$i"$'\r' ] ||
            fail "Client $i (of 100, one after another) got a wrong answer." \
                 "$(show_text "It got:" "$greeting"$'\n'"$echo")" || return 1
    done
    wait_children 0 || return 1
    client_open A
    client_expect A '^Hello, client!$'
    client_send A 'after 100\n'
    client_expect A '^Echo: after 100$'
    [ ! -s "$SERVER_ERR" ] || fail "The server reported errors while its children came and went:" "$(show_text "Its error output:" "$(server_errors)")"
}

@test "accept failing with EINTR (strace -e inject) is tried again without a word, and the client is served" {
    command -v strace >/dev/null || skip "strace is not installed"
    local path out log
    path=$(prog fork-server) || return 1
    out="$BATS_TEST_TMPDIR/eintr.out" log="$BATS_TEST_TMPDIR/eintr.strace"
    # Every other accept fails with EINTR, as when a signal lands while accept
    # waits. accept(2) is accept or accept4 to the kernel, depending on libc.
    spawn "$out" "${out%.out}.err" strace -o "$log" -e trace=accept,accept4 \
        -e inject=accept,accept4:error=EINTR:when=1+2 -- "$path" 127.0.0.1 0
    SERVER_PID=$SPAWNED_PID SERVER_OUT=$out SERVER_ERR=${out%.out}.err SERVER_NAME=fork-server
    wait_for_output 'listening on .*:[0-9]+' 10 "$out" || return 1
    PORT=$(listening_port "$out")
    local i
    for i in 1 2 3 4; do
        peer -d "try $i\\n" -H -q 3000 127.0.0.1 "$PORT"
        expect_equal "the bytes client $i received" $'Hello, client!\r\nEcho: try '"$i"$'\r' "$output" || return 1
    done
    local injected
    injected=$(grep -c 'EINTR .*(INJECTED)' "$log" || true)
    [ "$injected" -ge 2 ] ||
        fail "strace injected $injected EINTRs into accept: this test proved nothing." \
             "$(show_text "the end of strace's log:" "$(tail -n 15 "$log")")" || return 1
    expect_no_line 'EINTR|accept' "$(grep -v '^strace: ' "${out%.out}.err")" ||
        fail "An accept interrupted by a signal (EINTR) is not an error: go round the loop again, without a word."
}

@test "with -m 2, a third client is told the server is full and closed; once a client leaves, the next is served" {
    start_server fork-server -m 2 127.0.0.1 0
    client_open A
    client_expect A '^Hello, client!$'
    client_open B
    client_expect B '^Hello, client!$'
    peer -q 3000 127.0.0.1 "$PORT"
    expect_equal "what the third client received" $'Sorry, the server is full (2 clients); try again later.\r' "$output"
    [ "$status" -eq 0 ] || fail "The refused client was not closed (peer status $status)." || return 1
    wait_for_output '^client 3: refused, 2 clients already$' || return 1
    client_close A
    wait_children 1 || return 1
    peer -d 'my turn\n' -H -q 3000 127.0.0.1 "$PORT"
    expect_equal "what the fourth client received, after client 1 left" $'Hello, client!\r\nEcho: my turn\r' "$output"
}

@test "20 clients at once, unpaced: each sends 300 lines in one go and gets all 300 echoes, in order" {
    start_server fork-server 127.0.0.1 0
    local i
    for i in $(seq 20); do
        awk -v c="$i" 'BEGIN { for (l = 1; l <= 300; l++) printf "client %d line %d\n", c, l }' >"$BATS_TEST_TMPDIR/lines.$i"
    done
    peers_at_once 20 -f "$BATS_TEST_TMPDIR/lines.{i}" -H -q 5000 -T 25000
    local want got
    for i in $(seq 20); do
        want=$(printf 'Hello, client!\n'; sed 's/^/Echo: /' "$BATS_TEST_TMPDIR/lines.$i")
        got=$(tr -d '\r' <"$BATS_TEST_TMPDIR/peer.$i.out")
        expect_equal "client $i's echoes (peer status ${PEER_STATUS[i]})" "$want" "$got" || return 1
    done
    wait_children 0
}

@test "10 clients at once, each sending a line a byte at a time, each get their own line back whole" {
    start_server fork-server 127.0.0.1 0
    local i pids=() c
    for i in $(seq 10); do
        local bytes=()
        for c in $(grep -o . <<<"client-$i-bytewise"); do bytes+=("$c"); done
        timeout -k 2 20 "$(tool recv-pieces)" -g 5 127.0.0.1 "$PORT" "${bytes[@]}" '\n' \
            >"$BATS_TEST_TMPDIR/pieces.$i.out" 2>/dev/null 3>&- &
        pids[i]=$!
        STARTED_PIDS+=("$!")
    done
    for i in $(seq 10); do
        wait "${pids[i]}" || true
    done
    for i in $(seq 10); do
        expect_equal "what client $i received" $'Hello, client!\r\nEcho: client-'"$i"$'-bytewise\r' \
            "$(cat "$BATS_TEST_TMPDIR/pieces.$i.out")" || return 1
    done
}

# stop_leaves_no_child: SIGTERM the server, which must exit 0, and then none
# of the children it had may be left (each gets 5 s to go).
stop_leaves_no_child() {
    local list pid deadline
    list=$(children_of "$SERVER_PID" | cut -d ' ' -f 1)
    stop_server TERM || return 1
    expect_equal "the exit status after SIGTERM" 0 "$SERVER_STATUS" || return 1
    deadline=$((SECONDS + 5))
    for pid in $list; do
        while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -le "$deadline" ]; do sleep 0.05; done
        ! kill -0 "$pid" 2>/dev/null || fail "Child process $pid is still running after the server stopped." || return 1
    done
}

@test "a client that never reads blocks only its own child: others are served, and SIGTERM still stops everything" {
    start_server fork-server 127.0.0.1 0
    awk 'BEGIN { for (i = 0; i < 524288; i++) printf "payload %07d\n", i }' >"$BATS_TEST_TMPDIR/big"
    # 8 MiB sent, then nothing read for 120 s (-W: the wait begins once the
    # peer's send is done, however long that takes; teardown kills it): its
    # child blocks in send.
    spawn /dev/null /dev/null "$(tool peer)" -B 2048 -f "$BATS_TEST_TMPDIR/big" -W 120000 127.0.0.1 "$PORT"
    wait_for_output '^client 1: .* connected' || return 1
    wait_blocked_in_send "$SERVER_PID" 10 || return 1
    client_open B
    client_expect B '^Hello, client!$'
    client_send B 'not stuck\n'
    client_expect B '^Echo: not stuck$'
    stop_leaves_no_child || return 1
    client_expect_closed B
}

@test "SIGTERM: every child is told, each client sees its connection closed, the server exits 0 and leaves no process" {
    start_server fork-server 127.0.0.1 0
    client_open A
    client_expect A '^Hello, client!$'
    client_open B
    client_expect B '^Hello, client!$'
    client_send B 'half a li'
    wait_children 2 || return 1
    stop_leaves_no_child || return 1
    expect_line '^stopped by SIGTERM$' "$(server_output)" || return 1
    expect_line '^client 1: disconnected, the server is stopping$' "$(server_output)" || return 1
    client_expect_closed A || return 1
    client_expect_closed B
}

@test "SIGINT (Ctrl-C) stops it with status 0 too" {
    start_server fork-server 127.0.0.1 0
    client_open A
    client_expect A '^Hello, client!$'
    stop_server INT
    expect_equal "the exit status after SIGINT" 0 "$SERVER_STATUS"
    client_expect_closed A
}

@test "SIGTERM sent to one child ends only that client: the parent goes on serving" {
    start_server fork-server 127.0.0.1 0
    client_open A
    client_expect A '^Hello, client!$'
    wait_for_output '^client 1: served by process [0-9]+' || return 1
    local child
    child=$(sed -nE 's/^client 1: served by process ([0-9]+).*/\1/p' "$SERVER_OUT" | head -n 1)
    kill -TERM "$child"
    client_expect_closed A || return 1
    wait_children 0 || return 1
    kill -0 "$SERVER_PID" 2>/dev/null ||
        fail "The server stopped when one of its children got SIGTERM: does the child share the parent's stop pipe? (common/stop.h: call stop_init() again in the child)" || return 1
    client_open B
    client_expect B '^Hello, client!$'
    expect_no_line '^stopped by' "$(server_output)"
}
