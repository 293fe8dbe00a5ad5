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
    LISTEN_ON=name start_server "$@"
}

# start_unix_listener NAME COMMAND [ARGS...]: the same for any command (a
# program run under setpriv or strace, say); NAME is what messages call it.
start_unix_listener() {
    LISTEN_ON=name start_listener "$@"
}

# wait_exit [SECONDS]: wait for the last started server to exit by itself
# (default 5 s) and set SERVER_STATUS; fail, killing it, if it does not.
wait_exit() {
    wait_for_exit "$SERVER_PID" "The program" "$SERVER_OUT" "$SERVER_ERR" "${1:-5}" || return 1
    SERVER_STATUS=$EXIT_STATUS
}

# as_nobody: the command prefix that runs a program as user and group nobody
# (65534) with no supplementary groups and so no capabilities; empty output
# and status 1 when we are not root (only root may switch user).
as_nobody() {
    [ "$(id -u)" -eq 0 ] || return 1
    command -v setpriv >/dev/null || return 1
    printf '%s\n' "setpriv --reuid=65534 --regid=65534 --clear-groups"
}

# start_eintr_server NAME LOG [ARGS...]: start this lesson's program NAME under
# strace, every other recvfrom (recv(2) is recvfrom to the kernel) failing
# with EINTR, injected: no signal is sent (docs/hardening.md, "Signals and
# EINTR"). strace's log goes to LOG; check it with expect_injected. The
# traced program's own PID joins STARTED_PIDS before strace's: strace killed
# alone would leave its tracee running.
start_eintr_server() {
    local name=$1 log=$2 path child
    shift 2
    path=$(prog "$name") || return 1
    # Trace exactly the call tampered with: strace 6 injects nothing into a
    # call it does not trace (-e trace=none).
    start_unix_listener "$name" strace -f -o "$log" -e trace=recvfrom \
        -e inject=recvfrom:error=EINTR:when=1+2 -- "$path" "$@" || return 1
    child=$(pgrep -P "$SERVER_PID" | head -n 1)
    if [ -z "$child" ]; then
        fail "The program $name, run under strace with EINTR injected, is gone already." \
             "$(show_text "Its error output:" "$(cat "$SERVER_ERR")")" \
             "$(show_text "the end of strace's log:" "$(tail -n 5 "$log")")"
        return 1
    fi
    STARTED_PIDS=("$child" "${STARTED_PIDS[@]}")
}

# expect_injected LOG: strace really injected an EINTR (a check that injected
# nothing proves nothing).
expect_injected() {
    grep -q 'EINTR .*(INJECTED)' "$1" ||
        fail "strace injected no EINTR: this check proved nothing." \
             "$(show_text "the end of strace's log:" "$(tail -n 10 "$1")")"
}
