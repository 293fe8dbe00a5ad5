#!/usr/bin/env bats
# SIGTERM stops every server, whenever it comes (issue 15; common/stop.h).
#
# `while (!stop) accept(...)` passes a test that sends SIGTERM to an idle
# server: the signal finds it asleep in accept. It fails when the signal lands
# between the flag test and the blocking call, or while the server is busy
# with a client and goes back to recv after EINTR. So each server is started
# 100 times and sent SIGTERM at a random moment in its first 30 ms, from
# before its handlers exist to the middle of a client's half-sent line
# (tests/tools/stop-anytime.c, -c: a client connects when it can). Each time
# it must be gone within 5 s, by its own exit (status 0) or, before its
# handler is installed, by the signal itself.
#
# The seed of each run is printed: STOP_ANYTIME_SEED=S repeats one.
# Lessonless: tests/run runs it with the full suite only.

bats_require_minimum_version 1.7.0
load helpers/common

TOP=$(cd "$BATS_TEST_DIRNAME/.." && pwd)

# stop_anytime [-c|-d] LESSON/PROGRAM ARGS...: 100 runs, each sent SIGTERM at
# a random moment; fails with the run that did not stop (stop-anytime's -c: a
# client connects; -d: the program keeps SIGTERM's default action).
stop_anytime() {
    local client=()
    case "$1" in -c|-d) client=("$1"); shift ;; esac
    local program=$1 seed=()
    shift
    [ -n "${STOP_ANYTIME_SEED:-}" ] && seed=(-s "$STOP_ANYTIME_SEED")
    [ -x "$WORKBOOK_BIN/$program" ] || { fail "$program was not built ($WORKBOOK_BIN/$program): run make."; return 1; }
    run_tool --timeout 300 stop-anytime -n 100 -m 30 -t 5 "${seed[@]}" "${client[@]}" "$WORKBOOK_BIN/$program" "$@"
    [ "$status" -eq 0 ] || fail "$program did not stop on SIGTERM every time:" "$(show_text "stop-anytime said:" "$output$stderr")"
}

# in_workbook LESSON/PROGRAM: skip, saying so, when the lesson is not in this
# workbook (the lessons being written are listed ahead of them).
in_workbook() {
    [ -f "$TOP/solutions/$1.c" ] || skip "no solutions/$1.c in this workbook"
}

@test "SIGTERM at any moment stops rr-server (05)" { stop_anytime -c 05-nodelay/rr-server 127.0.0.1 0; }
@test "SIGTERM at any moment stops bind (06)" { stop_anytime -c 06-bind/bind 127.0.0.1 0; }
@test "SIGTERM at any moment stops bind -1, waiting to accept (06)" { stop_anytime 06-bind/bind -1 127.0.0.1 0; }
@test "SIGTERM at any moment stops listen (07)" { stop_anytime -c 07-listen/listen 127.0.0.1 0; }
@test "SIGTERM at any moment stops accept (08)" { stop_anytime -c 08-accept/accept 127.0.0.1 0; }
@test "SIGTERM at any moment stops send (09)" { stop_anytime -c 09-send/send -b 65536 -s 4096 127.0.0.1 0; }
@test "SIGTERM at any moment stops recv (10)" { stop_anytime -c 10-recv/recv 127.0.0.1 0; }
@test "SIGTERM at any moment stops echo-server (11)" { stop_anytime -c 11-echo/echo-server 127.0.0.1 0; }
@test "SIGTERM at any moment stops hello-server (14)" { stop_anytime -c 14-streams/hello-server 127.0.0.1 0; }
@test "SIGTERM at any moment stops lines-server (14)" { stop_anytime -c 14-streams/lines-server 127.0.0.1 0; }
@test "SIGTERM at any moment stops the threaded chat-server (15)" { stop_anytime -c 15-chat-server/chat-server 127.0.0.1 0; }
@test "SIGTERM at any moment stops the poll chat-server (17)" { stop_anytime -c 17-chat-poll/chat-server 127.0.0.1 0; }
@test "SIGTERM at any moment stops fork-server (18)" {
    in_workbook 18-fork/fork-server
    stop_anytime -c 18-fork/fork-server 127.0.0.1 0
}
@test "SIGTERM at any moment stops the select chat-server (19)" {
    in_workbook 19-chat-select/chat-server
    stop_anytime -c 19-chat-select/chat-server 127.0.0.1 0
}
@test "SIGTERM at any moment stops the epoll chat-server (20)" {
    in_workbook 20-chat-epoll/chat-server
    stop_anytime -c 20-chat-epoll/chat-server 127.0.0.1 0
}
@test "SIGTERM at any moment stops broadcast-recv (04)" { stop_anytime 04-broadcast/broadcast-recv 0; }
@test "SIGTERM at any moment stops udp-echo-server (21)" { stop_anytime 21-udp/udp-echo-server 127.0.0.1 0; }
@test "SIGTERM at any moment stops unix-echo-server (22)" { stop_anytime 22-unix/unix-echo-server "@workbook-sigterm-$$"; }
# fd-recv waits for one descriptor and exits: SIGTERM's default action, death,
# stops it (its abstract name leaves no file behind).
@test "SIGTERM at any moment stops fd-recv (22)" { stop_anytime -d 22-unix/fd-recv "@workbook-sigterm-fd-$$"; }

@test "every server of the workbook is in this file" {
    # A server announces "listening on": one not listed above is not tested.
    local src name missing=()
    for src in "$TOP"/solutions/[0-9][0-9]-*/*.c; do
        grep -qE 'announce_listening|server_start|listening on' "$src" || continue
        name=${src#"$TOP/solutions/"}
        name=${name%.c}
        grep -qF " $name " "$BATS_TEST_FILENAME" || missing+=("$name")
    done
    [ ${#missing[@]} -eq 0 ] || fail "Servers with no SIGTERM test here: ${missing[*]}"
}
