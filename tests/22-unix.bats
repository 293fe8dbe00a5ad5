#!/usr/bin/env bats
# Lesson 22 - unix: Unix-domain sockets.
# unix-echo-server listens on a path (a socket file it unlinks when stopped)
# or an abstract name (@NAME: no file), echoes each client's bytes and logs
# the client's pid, uid and gid from SO_PEERCRED; unix-client connects,
# sends its messages and prints the echo. pair talks to its child over a
# socketpair. fd-send passes an open file to fd-recv with SCM_RIGHTS.
# Socket paths live in each test's own temporary directory; abstract names
# are unique per test; every process is killed by its PID.

bats_require_minimum_version 1.7.0
load helpers/common
load helpers/unix

@test "the server binds a path: a socket file appears there" {
    local path
    path=$(sock_path echo.sock)
    start_unix_server unix-echo-server "$path"
    expect_equal "the server's first line" "listening on $path" "$(head -n 1 "$SERVER_OUT")"
    [ -S "$path" ] || fail "Expected a socket file at $path after bind, but:" "$(ls -la "$BATS_TEST_TMPDIR")"
}

@test "a client's bytes come back unchanged; the server counts them" {
    local path
    path=$(sock_path echo.sock)
    start_unix_server unix-echo-server "$path"
    run_prog unix-client "$path" "hello" "unix world"
    expect_status 0
    expect_equal "what the client received" $'hello\nunix world' "${output#*$'\n'}"
    wait_for_output '^client 1: closed after 17 bytes$'
}

@test "SO_PEERCRED: the server learns the client's pid, uid and gid" {
    local path
    path=$(sock_path echo.sock)
    start_unix_server unix-echo-server "$path"
    run_prog unix-client "$path" "who am I"
    expect_status 0
    expect_line "^connected to .* as pid [0-9]+\$"
    local pid=${lines[0]##* }
    wait_for_output "^client 1: pid $pid, uid $(id -u), gid $(id -g)\$"
}

@test "SO_PEERCRED cannot be faked: a client running as nobody is reported as uid 65534" {
    local nobody name
    nobody=$(as_nobody) || skip "needs root (to run the client as nobody with setpriv)"
    $nobody test -x "$(prog unix-client)" || skip "user nobody cannot run $(prog unix-client) (a folder on the way is closed to others)"
    name=$(abstract_name peercred)
    cd "$BATS_TEST_TMPDIR"      # where a wrong abstract name would leave a file
    start_unix_server unix-echo-server "$name"
    run_command 10 /dev/null "unix-client (as nobody)" $nobody "$(prog unix-client)" "$name" "hi"
    expect_status 0
    wait_for_output '^client 1: pid [0-9]+, uid 65534, gid 65534$'
}

@test "a clean stop (SIGTERM) removes the socket file" {
    local path
    path=$(sock_path echo.sock)
    start_unix_server unix-echo-server "$path"
    stop_server TERM
    expect_equal "the exit status after SIGTERM" 0 "$SERVER_STATUS"
    expect_line '^stopped by SIGTERM$' "$(server_output)"
    [ ! -e "$path" ] || fail "The socket file $path is still there after the server stopped:" \
        "  it must unlink(2) it, or the next server cannot bind that path (EADDRINUSE)."
}

@test "a server killed with SIGKILL leaves its file: connect is refused, the next bind fails with EADDRINUSE" {
    local path
    path=$(sock_path echo.sock)
    start_unix_server unix-echo-server "$path"
    stop_server KILL
    [ -S "$path" ] || fail "Expected the dead server's socket file to stay at $path."
    run_prog unix-client "$path" "anyone?"
    expect_status 1
    expect_stderr_line '^connect: ECONNREFUSED \(Connection refused\)$'
    run_prog unix-echo-server "$path"
    expect_status 1
    expect_stderr_line '^bind: EADDRINUSE \(Address already in use\)$'
    # Removing the stale file is all it takes.
    rm "$path"
    start_unix_server unix-echo-server "$path"
    run_prog unix-client "$path" "back"
    expect_status 0
    expect_line '^back$'
}

@test "a client of a path where no socket is fails with ENOENT" {
    run_prog unix-client "$(sock_path nothing-here.sock)" "hello"
    expect_status 1
    expect_stderr_line '^connect: ENOENT \(No such file or directory\)$'
}

@test "a path too long for sun_path is refused (ENAMETOOLONG), never cut short" {
    local long
    long=$BATS_TEST_TMPDIR/$(printf 'x%.0s' $(seq 120)).sock
    run_prog unix-echo-server "$long"
    expect_status 1
    expect_stderr_line 'ENAMETOOLONG'
    local left
    left=$(find "$BATS_TEST_TMPDIR" -type s)
    [ -z "$left" ] || fail "The server bound a cut-short path instead of refusing:" "    $left"
}

@test "an abstract name (@NAME) makes no file, is listed in /proc/net/unix, and a client reaches it" {
    local name
    name=$(abstract_name echo)
    cd "$BATS_TEST_TMPDIR"
    start_unix_server unix-echo-server "$name"
    grep -q -- " $name\$" /proc/net/unix || fail "/proc/net/unix does not list $name" \
        "$(grep workbook /proc/net/unix)"
    run_prog unix-client "$name" "abstract"
    expect_status 0
    expect_line '^abstract$'
    local files
    files=$(find "$BATS_TEST_TMPDIR" -type s)
    [ -z "$files" ] || fail "An abstract name must not create a file, but there is:" "    $files"
    stop_server TERM
    expect_equal "the exit status after SIGTERM" 0 "$SERVER_STATUS"
    ! grep -q -- " $name\$" /proc/net/unix || fail "$name is still listed after the server stopped"
}

@test "clients are served one after another, and every connection's fd is closed" {
    local path before
    path=$(sock_path echo.sock)
    start_unix_server unix-echo-server "$path"
    before=$(open_fds "$SERVER_PID")
    for i in $(seq 20); do
        run_prog unix-client "$path" "client $i"
        expect_line "^client $i\$"
    done
    wait_for_output '^client 20: closed after 10 bytes$'
    expect_equal "the server's open fds after 20 clients" "$before" "$(open_fds "$SERVER_PID")"
}

@test "recv failing with EINTR (injected with strace) does not stop the server" {
    command -v strace >/dev/null || skip "strace is not installed (sudo apt-get install strace)"
    local path log
    path=$(sock_path echo.sock)
    log=$BATS_TEST_TMPDIR/strace.log
    start_eintr_server unix-echo-server "$log" "$path"
    run_prog unix-client "$path" "interrupted" "but whole"
    expect_status 0
    expect_equal "what the client received" $'interrupted\nbut whole' "${output#*$'\n'}"
    expect_injected "$log"
    expect_no_line 'EINTR' "$(server_errors)"
}

@test "socketpair: parent and child exchange a message; the parent sees end of stream when the child exits" {
    run_prog --timeout 5 pair "hello child"
    expect_status 0
    expect_line '^parent [0-9]+: sent "hello child" to child [0-9]+$'
    expect_line '^child [0-9]+: got "hello child" from parent [0-9]+$'
    expect_line '^parent [0-9]+: got "pong: hello child"$'
    expect_line '^parent [0-9]+: child [0-9]+ exited with status 0$'
}

@test "SCM_RIGHTS: a receiver that cannot open a file reads it through the descriptor it is passed" {
    local file name nobody
    file=$BATS_TEST_TMPDIR/secret.txt
    printf 'for the owner only\n' >"$file"
    name=$(abstract_name fd)
    cd "$BATS_TEST_TMPDIR"      # where a wrong abstract name would leave a file
    if nobody=$(as_nobody); then
        # Root may open anything: the receiver runs as nobody instead, and
        # the file is root's, mode 0600.
        chmod 600 "$file"
        $nobody test -x "$(prog fd-recv)" || skip "user nobody cannot run $(prog fd-recv) (a folder on the way is closed to others)"
        # shellcheck disable=SC2086  # $nobody is a command prefix
        start_unix_listener fd-recv $nobody "$(prog fd-recv)" "$name" "$file"
        expect_equal "the receiver's uid" 65534 "$(awk '/^Uid:/ { print $2 }' "/proc/$SERVER_PID/status")"
        run_prog fd-send "$name" "$file"
    else
        [ "$(id -u)" -ne 0 ] || skip "root needs setpriv (util-linux) to run the receiver as nobody"
        # Not root: the file is ours, but with mode 000 nobody may open it,
        # us included; the sender gets it already open, as its stdin.
        local fd
        exec {fd}<"$file"
        chmod 000 "$file"
        start_unix_server fd-recv "$name" "$file"
        status=0
        output=$(timeout 10 "$(prog fd-send)" "$name" - <&"$fd" 2>&1) || status=$?
        exec {fd}<&-
    fi
    expect_status 0
    expect_line "^sent fd [0-9]+ "
    wait_exit 5
    expect_equal "the receiver's exit status" 0 "$SERVER_STATUS"
    expect_line "^open $file myself: EACCES \\(Permission denied\\)\$" "$(server_output)"
    expect_line '^received fd [0-9]+$' "$(server_output)"
    expect_line '^for the owner only$' "$(server_output)"
    expect_line '^read 19 bytes through fd [0-9]+$' "$(server_output)"
}

@test "a message with no descriptor in it is refused, not read as one" {
    local path
    path=$(sock_path fd.sock)
    start_unix_server fd-recv "$path"
    run_prog unix-client "$path" "just bytes"
    wait_exit 5
    expect_equal "the receiver's exit status" 1 "$SERVER_STATUS"
    expect_line '^fd-recv: no file descriptor came with the message$' "$(server_errors)"
    expect_no_line '^received fd' "$(server_output)"
}

@test "bad arguments get the usage line and exit status 1" {
    run_prog unix-echo-server
    expect_status 1
    expect_stderr_line '^usage: unix-echo-server '
    run_prog unix-client
    expect_status 1
    expect_stderr_line '^usage: unix-client '
    run_prog fd-send only-one-argument
    expect_status 1
    expect_stderr_line '^usage: fd-send '
}
