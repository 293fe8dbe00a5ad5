#!/usr/bin/env bats
# Lesson 14 - streams: stdio over a socket (fdopen, fgets, fprintf, fflush).
# hello-server is the source course's Example 1: read 5 bytes, answer
# "Hello Client!", close. lines-server answers each line with its length and
# its text in upper case, on a second stream over the same connection.

bats_require_minimum_version 1.7.0
load helpers/common

# --- hello-server -------------------------------------------------------------

@test "hello-server reads 5 bytes and answers Hello Client!, then closes" {
    start_server hello-server 127.0.0.1 0
    # Exactly 5 bytes: the reply, then the server's close (EOF, exit 0).
    peer -d '12345' 127.0.0.1 "$PORT"
    expect_status 0
    expect_equal "The reply" "Hello Client!" "$output"
    wait_for_output '^client 1: read 5 bytes: 12345$'
    # 8 bytes: it still takes only 5. Bytes it never read may still sit in
    # the kernel when it closes, and then close() sends a reset instead of
    # a FIN (tcp(7)); whether they do depends on how the bytes arrived, so
    # this client stops at the reply instead of waiting for the close.
    peer -d 'abcdefgh' -u 'Hello Client!' 127.0.0.1 "$PORT"
    expect_status 0
    expect_equal "The reply" "Hello Client!" "$output"
    wait_for_output '^client [0-9]+: read 5 bytes: abcde$'
}

@test "hello-server does not answer before it has 5 bytes" {
    start_server hello-server 127.0.0.1 0
    # 4 bytes, then silence: no reply may come (peer gives up after 700 ms).
    peer -d '1234' -q 700 127.0.0.1 "$PORT"
    expect_status 3
    expect_equal "What came back" "" "$output"
}

@test "hello-server answers once the fifth byte arrives in a later piece" {
    start_server hello-server 127.0.0.1 0
    client_open A
    client_send A '12'
    sleep 0.3
    client_send A '345'
    # The reply has no newline: read everything until the server closes.
    reply=''
    IFS= read -r -d '' -t 5 -u "$(client_fd A)" reply || true
    client_close A
    expect_equal "The reply" "Hello Client!" "$reply"
}

@test "hello-server gives no answer to a client that closes after 3 bytes, and goes on" {
    start_server hello-server 127.0.0.1 0
    peer -H -d 'abc' 127.0.0.1 "$PORT"
    expect_status 0
    expect_equal "What came back" "" "$output"
    wait_for_output 'sent 3 bytes, then closed: no answer'
    peer -d '12345' 127.0.0.1 "$PORT"
    expect_equal "The next client's reply" "Hello Client!" "$output"
}

@test "hello-server serves clients one after another and keeps no fd of theirs" {
    start_server hello-server 127.0.0.1 0
    peer -d '11111' 127.0.0.1 "$PORT"
    wait_for_output '^client [0-9]+: closed'
    before=$(open_fds "$SERVER_PID")
    for i in 1 2 3; do
        peer -d "$i$i$i$i$i" 127.0.0.1 "$PORT"
        expect_equal "Reply $i" "Hello Client!" "$output"
    done
    expect_fds_back "$SERVER_PID" "$before" "three more clients"
}

@test "hello-server stops cleanly on SIGTERM" {
    start_server hello-server 127.0.0.1 0
    stop_server TERM
    expect_equal "Exit status" 0 "$SERVER_STATUS"
}

# --- lines-server -------------------------------------------------------------

@test "lines-server answers a line with its length and its text in upper case" {
    start_server lines-server 127.0.0.1 0
    client_open A
    client_send A 'hello\n'
    client_expect A '.'
    expect_equal "The answer to hello" "5 HELLO" "$REPLY"
}

@test "lines-server answers each line while the connection stays open (it flushes)" {
    start_server lines-server 127.0.0.1 0
    client_open A
    client_send A 'one\n'
    client_expect A '.' 3
    expect_equal "Answer 1" "3 ONE" "$REPLY"
    client_send A 'Two words\n'
    client_expect A '.' 3
    expect_equal "Answer 2" "9 TWO WORDS" "$REPLY"
    client_send A 'x\n'
    client_expect A '.' 3
    expect_equal "Answer 3" "1 X" "$REPLY"
}

@test "lines-server answers several lines sent at once, in order, line by line" {
    start_server lines-server 127.0.0.1 0
    client_open A
    client_send A 'a\nbb\nccc\n'
    client_expect A '.'; expect_equal "Answer 1" "1 A" "$REPLY"
    client_expect A '.'; expect_equal "Answer 2" "2 BB" "$REPLY"
    client_expect A '.'; expect_equal "Answer 3" "3 CCC" "$REPLY"
}

@test "lines-server does not count a telnet line end (\\r\\n) in the length" {
    start_server lines-server 127.0.0.1 0
    client_open A
    client_send A 'telnet\r\n'
    client_expect A '.'
    expect_equal "The answer" "6 TELNET" "$REPLY"
}

@test "lines-server answers a line longer than 1000 bytes with an error and goes on" {
    start_server lines-server 127.0.0.1 0
    long=$(printf 'y%.0s' $(seq 1500))
    client_open A
    client_send A "$long\\nafter\\n"
    client_expect A '.'
    expect_equal "The answer to 1500 bytes" "error: line longer than 1000 bytes" "$REPLY"
    client_expect A '.'
    expect_equal "The next answer" "5 AFTER" "$REPLY"
}

@test "lines-server answers a last line without a newline when the client half-closes" {
    start_server lines-server 127.0.0.1 0
    peer -H -d 'last' 127.0.0.1 "$PORT"
    expect_status 0
    expect_equal "The reply" $'4 LAST' "$output"
}

@test "lines-server serves clients one after another" {
    start_server lines-server 127.0.0.1 0
    client_open A
    client_send A 'first\n'
    client_expect A '^5 FIRST$'
    client_close A
    client_open B
    client_send B 'second\n'
    client_expect B '^6 SECOND$'
    client_close B
    wait_for_output 'closed .* after 1 lines'
}

@test "lines-server closes each client's fds once the client leaves" {
    start_server lines-server 127.0.0.1 0
    before=$(open_fds "$SERVER_PID")
    for i in 1 2 3; do
        peer -H -d "line $i\n" 127.0.0.1 "$PORT"
        expect_equal "Reply $i" "6 LINE $i" "$output"
    done
    expect_fds_back "$SERVER_PID" "$before" "three clients came and left"
}

@test "lines-server survives a client that leaves without reading its answers" {
    start_server lines-server 127.0.0.1 0
    peer -R -d 'gone\n' 127.0.0.1 "$PORT"
    peer -d 'still here\n' -u '\n' 127.0.0.1 "$PORT"
    expect_status 0
    expect_equal "The next client's reply" "10 STILL HERE" "$output"
}

@test "lines-server stops cleanly on SIGINT, even with a client connected" {
    start_server lines-server 127.0.0.1 0
    client_open A
    client_send A 'hi\n'
    client_expect A '^2 HI$'
    stop_server INT
    expect_equal "Exit status" 0 "$SERVER_STATUS"
    grep -q '^stopped by SIGINT$' "$SERVER_OUT" || fail "it did not say it was stopping" "$(show_text "output:" "$(server_output)")"
}

# stops_when_signalled_at_accept PROGRAM PARTIAL: SIGTERM lands the moment
# accept returns a client's connection, before the server's first read
# (tests/tools/preload/signal-after-accept.c makes it certain), and the
# client then sends PARTIAL, less than the server waits for. The handler had
# no connection to shut down yet: a server that does not look at the stop
# itself before it reads sleeps in fread/fgets until the client speaks again.
stops_when_signalled_at_accept() {
    local lib path
    lib=$(tool signal-after-accept.so)
    [ -f "$lib" ] || { fail "the test library $lib was not built: run make tools"; return 1; }
    path=$(prog "$1") || return 1
    # env(1) gives the library to the server alone, not to the clients; a
    # preloaded library built without the sanitizers must not stop ASan.
    start_listener "$1" env LD_PRELOAD="$lib" SIGNAL_AFTER_ACCEPT="$(kill -l TERM)" \
        ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" "$path" 127.0.0.1 0 || return 1
    client_open A
    client_send A "$2"
    wait_for_exit "$SERVER_PID" "The server $1" "$SERVER_OUT" "$SERVER_ERR" 5 || return 1
    expect_equal "$1's exit status after the SIGTERM" 0 "$EXIT_STATUS"
}

@test "hello-server stops on a SIGTERM that lands between accept and its first read" {
    stops_when_signalled_at_accept hello-server '12'
}

@test "lines-server stops on a SIGTERM that lands between accept and its first read" {
    stops_when_signalled_at_accept lines-server 'half a li'
}

@test "lines-server with a bad port gets the usage line and exit status 1" {
    run_prog lines-server 127.0.0.1 70000
    expect_status 1
    expect_stderr_line '^usage: lines-server'
}

@test "hello-server with too many arguments gets the usage line and exit status 1" {
    run_prog hello-server 127.0.0.1 9999 extra
    expect_status 1
    expect_stderr_line '^usage: hello-server'
}

@test "lines-server answers a line with a NUL byte with an error and loses none of the next lines" {
    start_server lines-server 127.0.0.1 0
    peer -d 'a\0b\nsecond\nthird\n' -H 127.0.0.1 "$PORT"
    expect_status 0
    expect_equal "the answers" $'error: line contains a NUL byte\n6 SECOND\n5 THIRD' "$output"
}

@test "lines-server answers a 1001-byte line (too long, though it fits the buffer) with an error" {
    start_server lines-server 127.0.0.1 0
    long=$(printf 'q%.0s' $(seq 1001))
    ok=$(printf 'k%.0s' $(seq 1000))
    peer -d "$long\\n$ok\\r\\nend\\n" -H 127.0.0.1 "$PORT"
    expect_status 0
    expect_equal "the answers" "error: line longer than 1000 bytes"$'\n'"1000 ${ok^^}"$'\n'"3 END" "$output"
}
