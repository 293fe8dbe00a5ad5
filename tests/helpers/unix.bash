# tests/helpers/unix.bash - helpers for servers that listen on a Unix-domain
# name instead of a port (lesson 22). Load it after helpers/common:
#
#     load helpers/common
#     load helpers/unix
#
# Socket paths live in the test's own $BATS_TEST_TMPDIR; abstract names
# (@NAME) are made unique per test run, so parallel runs never meet.

# sock_path NAME: a socket path for this test, in its temporary directory.
sock_path() {
    printf '%s/%s\n' "$BATS_TEST_TMPDIR" "$1"
}

# abstract_name NAME: an abstract-namespace name (@...) unique to this test.
abstract_name() {
    printf '@workbook-%s-%s-%s-%s\n' "$1" "$$" "${BATS_SUITE_TEST_NUMBER:-$BATS_TEST_NUMBER}" "$RANDOM"
}

# start_unix_server NAME [ARGS...]: start_server for a program that prints
# "listening on SOCKET-NAME" (no port). Waits up to $LISTEN_TIMEOUT s; sets
# SERVER_PID, SERVER_OUT, SERVER_ERR; stop_started kills it by PID.
start_unix_server() {
    local name=$1 path
    shift
    path=$(prog "$name") || return 1
    start_unix_listener "$name" "$path" "$@"
}

# start_unix_listener NAME COMMAND [ARGS...]: the same for any command (a
# program run under setpriv or strace, say); NAME is what messages call it.
start_unix_listener() {
    local name=$1
    shift
    SERVER_OUT="$BATS_TEST_TMPDIR/$name.$RANDOM.out"
    SERVER_ERR="${SERVER_OUT%.out}.err"
    "$@" >"$SERVER_OUT" 2>"$SERVER_ERR" </dev/null 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
    SERVER_PID=$!
    STARTED_PIDS+=("$SERVER_PID")
    local deadline=$((SECONDS + LISTEN_TIMEOUT))
    while [ "$SECONDS" -le "$deadline" ]; do
        grep -q '^listening on ' "$SERVER_OUT" 2>/dev/null && return 0
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            local st=0
            wait "$SERVER_PID" || st=$?
            check_ended_well "$st" "The server $name" "$LISTEN_TIMEOUT" "$(cat "$SERVER_OUT")" "$(cat "$SERVER_ERR")" || return 1
            fail "The server $name exited (status $st) before it printed \"listening on NAME\"." \
                 "$(show_text "Its output:" "$(cat "$SERVER_OUT")")" \
                 "$(show_text "Its error output:" "$(cat "$SERVER_ERR")")"
            return 1
        fi
        sleep 0.05
    done
    fail "The server $name did not print \"listening on NAME\" within ${LISTEN_TIMEOUT}s." \
         "$(show_text "Its output:" "$(cat "$SERVER_OUT")")" \
         "$(show_text "Its error output:" "$(cat "$SERVER_ERR")")"
}

# wait_exit [SECONDS]: wait for the last started server to exit by itself
# (default 5 s) and set SERVER_STATUS; fail, killing it, if it does not.
wait_exit() {
    local seconds=${1:-5} deadline
    deadline=$((SECONDS + seconds))
    while kill -0 "$SERVER_PID" 2>/dev/null && [ "$SECONDS" -le "$deadline" ]; do
        sleep 0.05
    done
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -KILL "$SERVER_PID" 2>/dev/null
        wait "$SERVER_PID" 2>/dev/null
        fail "The program did not exit within ${seconds}s." \
             "$(show_text "What it printed:" "$(cat "$SERVER_OUT")")" \
             "$(show_text "Its error output:" "$(cat "$SERVER_ERR")")"
        return 1
    fi
    SERVER_STATUS=0
    wait "$SERVER_PID" || SERVER_STATUS=$?
}

# as_nobody: the command prefix that runs a program as user and group nobody
# (65534) with no supplementary groups and so no capabilities; empty output
# and status 1 when we are not root (only root may switch user).
as_nobody() {
    [ "$(id -u)" -eq 0 ] || return 1
    command -v setpriv >/dev/null || return 1
    printf '%s\n' "setpriv --reuid=65534 --regid=65534 --clear-groups"
}
