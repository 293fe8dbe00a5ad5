# tests/helpers/common.bash - what every lesson's tests share.
#
# Load it at the top of a test file (not inside setup, so a file may still
# define its own teardown, which must then call stop_started):
#
#     bats_require_minimum_version 1.7.0
#     load helpers/common
#
# The program under test comes from $WORKBOOK_BIN (set by tests/run): the
# reference build for "make test", the student's for "make grade". Each test's
# lesson folder is named after the test file: tests/01-socket.bats tests
# $WORKBOOK_BIN/01-socket/*.
#
# Every step is bounded in time. A program that hangs or crashes fails the test
# with a message that says so, and never hangs the run.

LESSON_DIR=$(basename "$BATS_TEST_FILENAME" .bats)
# How long one run of a program may take, and how long a server has to say it listens.
PROG_TIMEOUT=${PROG_TIMEOUT:-10}
LISTEN_TIMEOUT=${LISTEN_TIMEOUT:-5}
STARTED_PIDS=()

# --- failing with a message a student can read -------------------------------

# fail MESSAGE...: end the test, printing MESSAGE (one argument per line).
fail() {
    printf '%s\n' "$@" >&2
    return 1
}

# visible: show stdin with its invisible characters spelled out: \r, \t, \0 (as
# \000), other control bytes in octal, and "$" where each line ends, so a
# missing final newline or a stray \r shows.
visible() {
    LC_ALL=C sed -n 'l' | sed 's/^/    | /'
}

# show_text LABEL TEXT: a labelled, visible rendering of TEXT for a failure message.
show_text() {
    if [ -z "$2" ]; then
        printf '%s (nothing at all)\n' "$1"
    else
        printf '%s\n' "$1"
        printf '%s' "$2" | visible
    fi
}

# --- finding and running the program under test ------------------------------

# prog NAME: the path of this lesson's program NAME, or fail saying it is not built.
prog() {
    local path="$WORKBOOK_BIN/$LESSON_DIR/$1"
    if [ ! -x "$path" ]; then
        fail "The program $LESSON_DIR/$1 was not built ($path is missing)." \
             "Run make and read the compiler's messages."
        return 1
    fi
    printf '%s\n' "$path"
}

# tool NAME: the path of a test tool (tests/tools/NAME.c).
tool() {
    printf '%s\n' "$WORKBOOK_TOOLS/$1"
}

signal_name() {  # signal_name STATUS: "SIGSEGV" for 139
    local name
    name=$(kill -l $(($1 - 128)) 2>/dev/null) || name="signal $(($1 - 128))"
    printf 'SIG%s' "${name#SIG}"
}

# check_ended_well STATUS WHAT SECONDS OUT ERR: fail on a timeout or a crash.
check_ended_well() {
    local status=$1 what=$2 seconds=$3 out=$4 err=$5
    if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
        fail "$what did not finish: it was stopped after ${seconds}s." \
             "$(show_text "Its output before that:" "$out")" \
             "$(show_text "Its error output:" "$err")"
        return 1
    fi
    if [ "$status" -gt 128 ]; then
        fail "$what crashed: it was killed by $(signal_name "$status")." \
             "$(show_text "Its output before that:" "$out")" \
             "$(show_text "Its error output:" "$err")"
        return 1
    fi
}

# run_prog [--timeout S] [--stdin FILE] NAME [ARGS...]
# Run this lesson's program NAME to completion and set:
#   $status, $output (stdout), $stderr, $lines (stdout as an array)
# A hang (past S seconds, default $PROG_TIMEOUT) or a crash fails the test.
run_prog() {
    local seconds=$PROG_TIMEOUT input=/dev/null
    while true; do
        case "$1" in
            --timeout) seconds=$2; shift 2 ;;
            --stdin) input=$2; shift 2 ;;
            *) break ;;
        esac
    done
    local name=$1 path
    shift
    path=$(prog "$name") || return 1
    run_command "$seconds" "$input" "$name" "$path" "$@"
}

# run_tool [--timeout S] [--stdin FILE] NAME [ARGS...]: run_prog for a test tool.
run_tool() {
    local seconds=$PROG_TIMEOUT input=/dev/null
    while true; do
        case "$1" in
            --timeout) seconds=$2; shift 2 ;;
            --stdin) input=$2; shift 2 ;;
            *) break ;;
        esac
    done
    local name=$1
    shift
    run_command "$seconds" "$input" "the test tool $name" "$(tool "$name")" "$@"
}

run_command() {  # run_command SECONDS INPUT WHAT PATH ARGS...
    local seconds=$1 input=$2 what=$3 path=$4
    shift 4
    local out="$BATS_TEST_TMPDIR/run.out" err="$BATS_TEST_TMPDIR/run.err"
    # Close the fds bats keeps open (3 and up), so the program starts with only
    # 0, 1 and 2, as it would from a shell: fd numbers in its output are the real ones.
    status=0
    timeout -k 2 "$seconds" "$path" "$@" <"$input" >"$out" 2>"$err" 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- || status=$?
    output=$(cat "$out")
    stderr=$(cat "$err")
    # shellcheck disable=SC2034  # read by the tests
    mapfile -t lines <"$out"
    check_ended_well "$status" "$what" "$seconds" "$output" "$stderr"
}

# --- assertions with readable failures ---------------------------------------

# expect_status N: the last run exited with status N.
expect_status() {
    if [ "$status" -ne "$1" ]; then
        fail "Expected the program to exit with status $1, but it exited with $status." \
             "$(show_text "Its output:" "$output")" \
             "$(show_text "Its error output:" "${stderr:-}")"
    fi
}

# expect_line REGEX [TEXT]: some line of TEXT (default: $output) matches the
# extended regular expression REGEX.
expect_line() {
    local regex=$1 text=${2-$output}
    if ! grep -Eq -- "$regex" <<<"$text"; then
        fail "Expected a line matching:" "    $regex" \
             "$(show_text "but the output was:" "$text")"
    fi
}

# expect_no_line REGEX [TEXT]: no line of TEXT (default: $output) matches REGEX.
expect_no_line() {
    local regex=$1 text=${2-$output} hit
    if hit=$(grep -E -m 1 -- "$regex" <<<"$text"); then
        fail "Expected no line matching:" "    $regex" "but found this one:" "    $hit"
    fi
}

# expect_stderr_line REGEX: some line of the last run's error output matches REGEX.
expect_stderr_line() {
    expect_line "$1" "${stderr:-}" || fail "(that was the program's error output, stderr)"
}

# expect_equal WHAT EXPECTED ACTUAL: the two strings are the same; on failure,
# show both and mark the first byte where they differ.
expect_equal() {
    local what=$1 expected=$2 actual=$3
    [ "$expected" = "$actual" ] && return 0
    local i=0
    while [ "$i" -lt "${#expected}" ] && [ "${expected:i:1}" = "${actual:i:1}" ]; do
        i=$((i + 1))
    done
    fail "$what is not what was expected; they first differ at byte $i:" \
         "$(show_text "expected:" "$expected")" \
         "$(show_text "actual:" "$actual")" \
         "$(show_text "  expected from there:" "${expected:i:40}")" \
         "$(show_text "  actual from there:" "${actual:i:40}")"
}

# --- servers in the background -----------------------------------------------

# start_server NAME [ARGS...]
# Start this lesson's program NAME in the background and wait (up to
# $LISTEN_TIMEOUT s) until it prints a line "listening on ADDRESS:PORT".
# Sets SERVER_PID, PORT (the port it got: tests pass port 0), SERVER_OUT and
# SERVER_ERR (files with its output so far). stop_started kills it by PID.
start_server() {
    local name=$1 path
    shift
    path=$(prog "$name") || return 1
    SERVER_OUT="$BATS_TEST_TMPDIR/$name.$RANDOM.out"
    SERVER_ERR="${SERVER_OUT%.out}.err"
    # 3>&- : bats waits for fd 3 to close; a background server must not hold it.
    "$path" "$@" >"$SERVER_OUT" 2>"$SERVER_ERR" </dev/null 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
    SERVER_PID=$!
    STARTED_PIDS+=("$SERVER_PID")
    local deadline=$((SECONDS + LISTEN_TIMEOUT)) line
    while [ "$SECONDS" -le "$deadline" ]; do
        line=$(grep -E -m 1 'listening on .*:[0-9]+' "$SERVER_OUT" 2>/dev/null)
        if [ -n "$line" ]; then
            PORT=$(sed -E 's/.*listening on .*:([0-9]+).*/\1/' <<<"$line")
            return 0
        fi
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            local st=0
            wait "$SERVER_PID" || st=$?
            check_ended_well "$st" "The server $name" "$LISTEN_TIMEOUT" "$(cat "$SERVER_OUT")" "$(cat "$SERVER_ERR")" || return 1
            fail "The server $name exited (status $st) before it printed \"listening on ADDRESS:PORT\"." \
                 "$(show_text "Its output:" "$(cat "$SERVER_OUT")")" \
                 "$(show_text "Its error output:" "$(cat "$SERVER_ERR")")"
            return 1
        fi
        sleep 0.05
    done
    fail "The server $name did not print \"listening on ADDRESS:PORT\" within ${LISTEN_TIMEOUT}s." \
         "$(show_text "Its output:" "$(cat "$SERVER_OUT")")" \
         "$(show_text "Its error output:" "$(cat "$SERVER_ERR")")"
}

# server_output / server_errors: what the last started server printed so far.
server_output() { cat "$SERVER_OUT"; }
server_errors() { cat "$SERVER_ERR"; }

# wait_for_output REGEX [SECONDS] [FILE]: wait until a line of the server's output
# (or FILE) matches REGEX; fail with what it printed if it does not in time.
wait_for_output() {
    local regex=$1 seconds=${2:-5} file=${3:-$SERVER_OUT}
    local deadline=$((SECONDS + seconds))
    while [ "$SECONDS" -le "$deadline" ]; do
        grep -Eq -- "$regex" "$file" 2>/dev/null && return 0
        sleep 0.05
    done
    fail "Waited ${seconds}s for the program to print a line matching:" "    $regex" \
         "$(show_text "but its output was:" "$(cat "$file")")" \
         "$(show_text "and its error output:" "$(cat "${file%.out}.err" 2>/dev/null)")"
}

# stop_server [SIGNAL]: send SIGNAL (default TERM) to the last started server,
# wait up to 5 s for it to exit, and set SERVER_STATUS to its exit status.
stop_server() {
    local sig=${1:-TERM}
    kill "-$sig" "$SERVER_PID" 2>/dev/null
    local deadline=$((SECONDS + 5))
    while kill -0 "$SERVER_PID" 2>/dev/null && [ "$SECONDS" -le "$deadline" ]; do
        sleep 0.05
    done
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -KILL "$SERVER_PID" 2>/dev/null
        wait "$SERVER_PID" 2>/dev/null
        fail "The server did not exit within 5s of SIG$sig."
        return 1
    fi
    SERVER_STATUS=0
    wait "$SERVER_PID" || SERVER_STATUS=$?
}

# open_fds PID: how many file descriptors the process PID has open (Linux /proc).
open_fds() {
    find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l
}

# stop_started: kill every process this test started, by PID, and only those.
stop_started() {
    local pid
    for pid in "${STARTED_PIDS[@]}"; do
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    STARTED_PIDS=()
    return 0
}

teardown() {
    stop_started
}

# --- talking to a server as a client ----------------------------------------

# peer ARGS... HOST PORT: run the peer test tool (tests/tools/peer.c, see its
# header for the options); sets $status, $output, $stderr like run_prog.
peer() {
    run_tool peer "$@"
}

# Line-protocol clients in pure bash (/dev/tcp), for echo and chat tests. A client
# has a short NAME (a letter); its socket fd is kept in $CLIENT_NAME.
#   client_open A [HOST]         connect to HOST (default 127.0.0.1) port $PORT
#   client_send A TEXT           send TEXT; printf escapes (\n, \r\n) are understood
#   client_expect A REGEX [S]    read lines until one matches REGEX (within S s, default 5)
#   client_close A               close our end
client_open() {
    local name=$1 host=${2:-127.0.0.1} fd
    if ! exec {fd}<>"/dev/tcp/$host/$PORT"; then
        fail "Client $name could not connect to $host port $PORT."
        return 1
    fi
    printf -v "CLIENT_$name" '%s' "$fd"
    printf -v "CLIENT_${name}_SEEN" '%s' ""
}

client_fd() {
    local var="CLIENT_$1"
    printf '%s' "${!var}"
}

client_send() {
    local fd
    fd=$(client_fd "$1")
    # shellcheck disable=SC2059  # the text is a printf format on purpose
    printf "$2" >&"$fd" 2>/dev/null || fail "Client $1 could not send (the connection is closed)."
}

# client_expect sets REPLY to the matching line (with any trailing \r removed).
client_expect() {
    local name=$1 regex=$2 seconds=${3:-5} fd line seen_var="CLIENT_${1}_SEEN"
    fd=$(client_fd "$name")
    local deadline=$((SECONDS + seconds))
    while [ "$SECONDS" -le "$deadline" ]; do
        if IFS= read -r -t 1 -u "$fd" line; then
            line=${line%$'\r'}
            printf -v "$seen_var" '%s%s\n' "${!seen_var}" "$line"
            if grep -Eq -- "$regex" <<<"$line"; then
                REPLY=$line
                return 0
            fi
        elif [ $? -le 128 ]; then
            fail "Client $name: the server closed the connection while we waited for a line matching:" \
                 "    $regex" "$(show_text "Lines it received:" "${!seen_var}")"
            return 1
        fi
    done
    fail "Client $name waited ${seconds}s for a line matching:" "    $regex" \
         "$(show_text "Lines it received:" "${!seen_var}")"
}

# client_expect_closed A [S]: the server closes A's connection within S s (default 5).
client_expect_closed() {
    local name=$1 seconds=${2:-5} fd line deadline
    fd=$(client_fd "$name")
    deadline=$((SECONDS + seconds))
    while [ "$SECONDS" -le "$deadline" ]; do
        if IFS= read -r -t 1 -u "$fd" line; then
            continue
        elif [ $? -le 128 ]; then
            return 0
        fi
    done
    fail "Client $name: the server did not close the connection within ${seconds}s."
}

client_close() {
    local fd
    fd=$(client_fd "$1")
    exec {fd}>&-
}
