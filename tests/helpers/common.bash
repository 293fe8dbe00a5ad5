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

# The lesson folder is named after the test file; a lesson's second file,
# NN-topic-events.bats, tests the same lesson's program.
LESSON_DIR=$(basename "$BATS_TEST_FILENAME" .bats)
LESSON_DIR=${LESSON_DIR%-events}
# How long one run of a program may take, and how long a server has to say it listens.
PROG_TIMEOUT=${PROG_TIMEOUT:-10}
LISTEN_TIMEOUT=${LISTEN_TIMEOUT:-5}
STARTED_PIDS=()

# --- a broken program fails fast (grading) -----------------------------------
# A fundamentally broken program (one that hangs, never listens, never answers)
# would make every test of its lesson wait out its own time limits. When
# WORKBOOK_FAIL_FAST=S is set (tests/run --grade and the student tools set it;
# `make test` does not), the failed tests of a lesson may take S seconds in
# all: each failed test's time is counted at its end, every wait of a later
# test is cut to what is left, and once nothing is left a wait fails at once.
# Tests that pass cost nothing, so a correct program never meets this limit,
# and the quick tests of a half-done lesson still run and count.
_FAIL_FAST_SPENT="${BATS_RUN_TMPDIR:-${TMPDIR:-/tmp}}/workbook-failed-ms"

# fail_fast_limit SECONDS: SECONDS, or what is left of the budget if less;
# fails the test at once when the budget is used up.
fail_fast_limit() {
    local seconds=$1 spent left
    if [ -n "${WORKBOOK_FAIL_FAST:-}" ] && [ -f "$_FAIL_FAST_SPENT" ]; then
        spent=$(cat "$_FAIL_FAST_SPENT")
        left=$(( WORKBOOK_FAIL_FAST - spent / 1000 ))
        if [ "$left" -le 0 ]; then
            fail "Not run to the end: earlier tests of this lesson failed and used up the ${WORKBOOK_FAIL_FAST}s the grader gives failing tests." \
                 "  Fix the first failing test first (tests/run --bin DIR LESSON shows every test in full)."
            return 1
        fi
        [ "$left" -lt "${seconds%.*}" ] && seconds=$left
    fi
    printf '%s\n' "$seconds"
}

# fail_fast_note: at the end of a failed test, count the time it took.
fail_fast_note() {
    [ -n "${WORKBOOK_FAIL_FAST:-}" ] || return 0
    [ -z "${BATS_TEST_COMPLETED:-}" ] && [ -z "${BATS_TEST_SKIPPED:-}" ] || return 0
    local spent=0 now
    [ -f "$_FAIL_FAST_SPENT" ] && spent=$(cat "$_FAIL_FAST_SPENT")
    now=$(( ${EPOCHREALTIME/./} / 1000 ))
    printf '%s\n' "$(( spent + now - ${BATS_TEST_START_TIME:-$now} ))" >"$_FAIL_FAST_SPENT"
}

# --- failing with a message a student can read -------------------------------

# fail MESSAGE...: end the test, printing MESSAGE (one argument per line).
fail() {
    printf '%s\n' "$@" >&2
    return 1
}

# visible: show stdin with its invisible characters spelled out, one line per
# line, each behind "    | ": \r, \t, a NUL byte as \000, other control bytes
# in octal, and "$" where each line ends, so a stray \r or trailing space shows.
# Input that does not end with a newline gets a note saying so. Long input is
# cut after $VISIBLE_MAX_LINES lines (default 40), saying how many were left out.
if LC_ALL=C sed -n 'l 0' </dev/null >/dev/null 2>&1; then
    _VISIBLE_SED='l 0'      # GNU sed: never wrap long lines
else
    _VISIBLE_SED='l'        # BSD/macOS sed: wraps at 70 columns, ending with \\
fi
visible() {
    local tmp max=${VISIBLE_MAX_LINES:-40} total
    tmp=$(mktemp "${BATS_TEST_TMPDIR:-${TMPDIR:-/tmp}}/visible.XXXXXX") || { sed 's/^/    | /'; return; }
    cat >"$tmp"
    if [ ! -s "$tmp" ]; then
        printf '    (nothing at all)\n'
        rm -f "$tmp"
        return
    fi
    LC_ALL=C sed -n "$_VISIBLE_SED" "$tmp" | sed 's/^/    | /' | head -n "$max"
    total=$(LC_ALL=C sed -n '$=' "$tmp")
    [ "${total:-0}" -gt "$max" ] && printf '    ... (%d more lines not shown)\n' "$((total - max))"
    [ -n "$(tail -c 1 "$tmp")" ] && printf '    (no newline at the end of the last line)\n'
    rm -f "$tmp"
    return 0
}

# show_text LABEL TEXT: a labelled, visible rendering of TEXT for a failure message.
# TEXT is taken as whole lines (output captured by $(...) has lost its final newline).
show_text() {
    show_exact "$1" "${2:+$2$'\n'}"
}

# --- finding and running the program under test ------------------------------

# prog NAME: the path of this lesson's program NAME, or fail saying why there
# is none to test. A lesson counts as one piece of work: if any of its programs
# failed to compile (make leaves PROGRAM.compile-errors, see the Makefile),
# every test of the lesson fails with the compiler's first error. A binary
# older than a source it is built from ($WORKBOOK_SRC, set by tests/run, and
# common/) is never run: it would grade code the student no longer has.
prog() {
    local path="$WORKBOOK_BIN/$LESSON_DIR/$1" errors first newer
    for errors in "$WORKBOOK_BIN/$LESSON_DIR"/*.compile-errors; do
        [ -f "$errors" ] || continue
        first=$(grep -m 1 -E '(error|Error)' "$errors" || head -n 1 "$errors")
        fail "$LESSON_DIR does not compile: $first" \
             "  (every test of a lesson fails until all its programs compile; run make to see every message)" \
             "$(show_text "The compiler said:" "$(head -n 20 "$errors")")"
        return 1
    done
    if [ ! -x "$path" ]; then
        fail "The program $LESSON_DIR/$1 was not built ($path is missing)." \
             "Run make and read the compiler's messages."
        return 1
    fi
    if [ -n "${WORKBOOK_SRC:-}" ] && [ -d "$WORKBOOK_SRC/$LESSON_DIR" ]; then
        # What the Makefile builds it from: NAME.c, the lesson's headers, common/.
        newer=$(find "$WORKBOOK_SRC/$LESSON_DIR" "$BATS_TEST_DIRNAME/../common" \
                     -maxdepth 1 -type f \( -name "$1.c" -o -name '*.h' -o -path '*/common/*.c' \) \
                     -newer "$path" 2>/dev/null | head -n 1)
        if [ -n "$newer" ]; then
            fail "The program $LESSON_DIR/$1 is older than its source $newer: it was not rebuilt." \
                 "Run make (a source that does not compile leaves no program to test)."
            return 1
        fi
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

# signal_meaning SIGNAME: what that signal usually means in a student's program.
signal_meaning() {
    case "$1" in
        SIGSEGV) echo "a segmentation fault: the program read or wrote memory it does not own (a bad or NULL pointer, a buffer overrun, a freed pointer)." ;;
        SIGBUS)  echo "a bus error: a bad pointer, much like SIGSEGV." ;;
        SIGABRT) echo "abort(): an assert() failed, or the C library found corrupted memory (a double free, a buffer overrun)." ;;
        SIGFPE)  echo "an arithmetic error, most often a division by zero." ;;
        SIGPIPE) echo "it wrote to a socket or pipe whose other end was already closed (see send(2): MSG_NOSIGNAL, or ignore SIGPIPE)." ;;
        SIGILL)  echo "an illegal instruction: often a function that fell off its end without returning, or undefined behaviour caught by the compiler." ;;
        SIGKILL) echo "it was killed outright (by the test's time limit, or the system ran out of memory)." ;;
        SIGTERM|SIGINT) echo "it was asked to stop and did not handle the signal." ;;
        *) echo "see signal(7) for what it means." ;;
    esac
}

# check_ended_well STATUS WHAT SECONDS OUT ERR: fail on a timeout or a crash.
check_ended_well() {
    local status=$1 what=$2 seconds=$3 out=$4 err=$5
    if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
        fail "$what did not finish: the test stopped it after ${seconds}s (a time limit, not a crash)." \
             "  A program that hangs is usually blocked in a call that waits for something" \
             "  that never comes (accept, connect, recv, read, fgets), or stuck in a loop." \
             "$(show_text "What it printed before it was stopped:" "$out")" \
             "$(show_text "Its error output (stderr):" "$err")"
        return 1
    fi
    if [ "$status" -gt 128 ]; then
        local sig
        sig=$(signal_name "$status")
        fail "$what crashed: the kernel killed it with $sig (exit status $status)." \
             "  $sig means $(signal_meaning "$sig")" \
             "$(show_text "What it printed before it crashed:" "$out")" \
             "$(show_text "Its error output (stderr):" "$err")"
        return 1
    fi
}

# run_prog [OPTIONS] NAME [ARGS...]
# Run this lesson's program NAME to completion and set:
#   $status, $output (stdout), $stderr, $lines (stdout as an array)
# A hang (past S seconds, default $PROG_TIMEOUT) or a crash fails the test.
# OPTIONS:
#   --timeout S         the time limit (default $PROG_TIMEOUT)
#   --stdin FILE        its standard input (default /dev/null)
#   --as-nobody         run it as user nobody (uid 65534), without root's
#                       capabilities (setpriv(1)); when the tests do not run
#                       as root, it already is unprivileged and runs as is
#   --without-net-raw   run it without CAP_NET_RAW (setpriv(1)); as is when not root
#   --strace FILE OPTS  run it under strace -o FILE OPTS, OPTS split on spaces
#                       ("-f -e trace=socket,close"); skips without strace
# However it is run, it runs under the same time limit and nothing of it
# outlives the run (run_command).
run_prog() {
    local seconds=$PROG_TIMEOUT input=/dev/null via=()
    _run_options "$@" || return 1
    shift "$_RUN_SHIFT"
    local name=$1 path
    shift
    path=$(prog "$name") || return 1
    _run_check_via "$path" || return 1
    run_command "$seconds" "$input" "$name" "${via[@]}" "$path" "$@"
}

# run_tool [OPTIONS] NAME [ARGS...]: run_prog for a test tool (same OPTIONS).
run_tool() {
    local seconds=$PROG_TIMEOUT input=/dev/null via=()
    _run_options "$@" || return 1
    shift "$_RUN_SHIFT"
    local name=$1
    shift
    _run_check_via "$(tool "$name")" || return 1
    run_command "$seconds" "$input" "the test tool $name" "${via[@]}" "$(tool "$name")" "$@"
}

# _run_options ARGS...: parse run_prog's OPTIONS into the caller's seconds,
# input and via (the command to put in front of the program); sets
# _RUN_SHIFT to how many arguments they took.
_run_options() {
    _RUN_SHIFT=0
    local opts
    while true; do
        case "$1" in
            --timeout) seconds=$2; shift 2; _RUN_SHIFT=$((_RUN_SHIFT + 2)) ;;
            --stdin) input=$2; shift 2; _RUN_SHIFT=$((_RUN_SHIFT + 2)) ;;
            --as-nobody)
                [ "$(id -u)" -eq 0 ] && via+=(setpriv --reuid=65534 --regid=65534 --clear-groups)
                shift; _RUN_SHIFT=$((_RUN_SHIFT + 1)) ;;
            --without-net-raw)
                [ "$(id -u)" -eq 0 ] && via+=(setpriv --bounding-set -net_raw --inh-caps -net_raw)
                shift; _RUN_SHIFT=$((_RUN_SHIFT + 1)) ;;
            --strace)
                command -v strace >/dev/null || skip "strace is not installed"
                read -ra opts <<<"$3"
                via+=(strace -o "$2" "${opts[@]}" --)
                shift 3; _RUN_SHIFT=$((_RUN_SHIFT + 3)) ;;
            *) return 0 ;;
        esac
    done
}

# _run_check_via PATH: skip the test if the caller's via cannot run PATH here
# (no setpriv, or user nobody may not execute PATH).
_run_check_via() {
    [ "${via[0]:-}" = setpriv ] || return 0
    command -v setpriv >/dev/null || skip "running as root and setpriv(1) is missing"
    "${via[@]}" test -x "$1" 2>/dev/null || skip "${via[*]} cannot run $1 here"
}

# run_command SECONDS INPUT WHAT COMMAND [ARGS...]: run COMMAND (a path, or a
# wrapper such as setpriv or strace followed by the path) to completion, as
# run_prog does. timeout(1) runs it in a process group of its own and, after
# SECONDS, sends SIGTERM to that whole group, then SIGKILL 2 s later; when the
# run ends, for whatever reason, whatever of that group is left (a child it
# forked, a tracee) is killed too. The run happens in the background and the
# test waits for it with `wait`, which a signal interrupts: bats' own per-test
# timeout can then end the test, and teardown kills the group (RUNNING_PID).
run_command() {
    local seconds=$1 input=$2 what=$3
    shift 3
    seconds=$(fail_fast_limit "$seconds") || return 1
    LAST_RUN_WHAT=$what
    local out="$BATS_TEST_TMPDIR/run.out" err="$BATS_TEST_TMPDIR/run.err"
    # Close the fds bats keeps open (3 and up), so the program starts with only
    # 0, 1 and 2, as it would from a shell: fd numbers in its output are the real ones.
    status=0
    timeout -k 2 "$seconds" "$@" <"$input" >"$out" 2>"$err" 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
    RUNNING_PID=$!
    # The braces keep bash's own "Segmentation fault" notice out of the test's
    # output: check_ended_well says it better.
    { wait "$RUNNING_PID"; } 2>/dev/null || status=$?
    kill_group "$RUNNING_PID"
    RUNNING_PID=""
    output=$(cat "$out")
    stderr=$(cat "$err")
    # shellcheck disable=SC2034  # read by the tests
    mapfile -t lines <"$out"
    check_ended_well "$status" "$what" "$seconds" "$output" "$stderr"
}

# kill_group PID: SIGKILL the process group PID leads (one that run_command's
# timeout or spawn's setsid made), if anything of it is left.
kill_group() {
    kill -KILL -- "-$1" 2>/dev/null || true
}

# --- looking without starting a process --------------------------------------
# Every process a test starts costs it milliseconds of CPU (bash forks a copy of
# itself first: about 6 ms for a grep or a sleep here), and the suite checks
# thousands of lines and waits in thousands of 50 ms steps. These two do the
# same inside the shell.

# has_line REGEX TEXT: some line of TEXT matches the extended regular
# expression REGEX, as `grep -Eq` would say; the first such line is left in
# HAS_LINE_HIT. A REGEX that is not one fails the test (status 2). GNU's
# backslash classes (\s, \w, \b, \<) go to grep itself, and so do texts over
# 4 KiB: [[ =~ ]] compiles the expression again for every line, and from
# about that size one grep costs less (1,000 lines: 56 ms in the shell, 13 ms
# for grep).
has_line() {
    local regex=$1 line rc=0
    HAS_LINE_HIT=""
    _shell_regex "$regex" || rc=$?
    if [ "$rc" -eq 2 ]; then
        return 2
    elif [ "$rc" -eq 1 ] || [ "${#2}" -gt 4096 ]; then
        HAS_LINE_HIT=$(grep -E -m 1 -- "$regex" <<<"$2") && return 0
        return 1
    fi
    local -a text_lines
    mapfile -t text_lines <<<"$2"
    for line in "${text_lines[@]}"; do
        if [[ $line =~ $regex ]]; then
            HAS_LINE_HIT=$line
            return 0
        fi
    done
    return 1
}

# _shell_regex REGEX: 0 if the shell's [[ =~ ]] reads REGEX as grep -E does; 1
# if it uses GNU's backslash classes, which only grep knows; 2 (and the test
# fails, saying so) if it is no extended regular expression at all.
_shell_regex() {
    [[ $1 == *\\[sSwWbB\<\>]* ]] && return 1
    local valid=0
    # shellcheck disable=SC2319  # the status of [[ =~ ]] is the point: 2 is "not a regex"
    [[ "" =~ $1 ]] || valid=$?
    [ "$valid" -ne 2 ] && return 0
    fail "The test's regular expression \"$1\" is not a valid extended regular expression."
    return 2
}

# nap SECONDS: sleep(1), without starting it: the shell's read waits on a FIFO nobody
# writes to, opened for that one read (so no program the test starts
# inherits it), and times out.
nap() {
    local fifo="${BATS_TEST_TMPDIR:-${BATS_RUN_TMPDIR:-/tmp}}/.nap"
    if [ ! -p "$fifo" ] && ! mkfifo "$fifo" 2>/dev/null && [ ! -p "$fifo" ]; then
        sleep "$1"
        return 0
    fi
    read -r -t "$1" _ <>"$fifo" || true
}

# --- assertions with readable failures ---------------------------------------

# expect_status N: the last run exited with status N.
expect_status() {
    if [ "$status" -ne "$1" ]; then
        local who=${LAST_RUN_WHAT:-the program} said
        said=$(printf '%s\n' "${stderr:-}" | grep -m 1 -v '^[[:space:]]*$')
        [ -n "$said" ] || said=$(printf '%s\n' "$output" | tail -n 1)
        fail "Expected $who to exit with status $1, but it exited with $status; it said: ${said:-(nothing at all)}" \
             "$(show_text "Its output (stdout):" "$output")" \
             "$(show_text "Its error output (stderr):" "${stderr:-}")"
    fi
}

# expect_line REGEX [TEXT]: some line of TEXT (default: $output) matches the
# extended regular expression REGEX.
expect_line() {
    local regex=$1 text=${2-$output}
    if ! has_line "$regex" "$text"; then
        local first
        first=$(printf '%s\n' "$text" | grep -m 1 -v '^[[:space:]]*$')
        fail "Expected a line matching \"$regex\", but none does; the first line was: ${first:-(no output at all)}" \
             "$(show_text "The whole output:" "$text")"
    fi
}

# expect_no_line REGEX [TEXT]: no line of TEXT (default: $output) matches REGEX.
expect_no_line() {
    local regex=$1 text=${2-$output} rc=0
    has_line "$regex" "$text" || rc=$?
    if [ "$rc" -eq 0 ]; then
        fail "Expected no line matching \"$regex\", but found this one: $HAS_LINE_HIT"
    elif [ "$rc" -eq 2 ]; then
        return 1
    fi
}

# expect_stderr_line REGEX: some line of the last run's error output matches REGEX.
expect_stderr_line() {
    local regex=$1 first
    has_line "$regex" "${stderr:-}" && return 0
    first=$(printf '%s\n' "${stderr:-}" | grep -m 1 -v '^[[:space:]]*$')
    fail "Expected ${LAST_RUN_WHAT:-the program} to print an error line matching \"$regex\" on stderr; its first error line was: ${first:-(it printed no error at all)}" \
         "$(show_text "Its whole error output (stderr):" "${stderr:-}")" \
         "$(show_text "Its output (stdout):" "$output")"
}

# expect_equal WHAT EXPECTED ACTUAL: the two strings are the same, byte for
# byte; on failure, show both visibly and point at the first byte that differs.
expect_equal() {
    local what=$1 expected=$2 actual=$3
    [ "$expected" = "$actual" ] && return 0
    # Two numbers: say them whole (6001 vs 4701), not by their first byte.
    if [[ "$expected" =~ ^-?[0-9]+$ && "$actual" =~ ^-?[0-9]+$ ]]; then
        fail "$what: expected $expected, got $actual."
        return 1
    fi
    local LC_ALL=C   # compare bytes, not characters
    local i=0 n=${#expected}
    [ "${#actual}" -lt "$n" ] && n=${#actual}
    while [ "$i" -lt "$n" ] && [ "${expected:i:1}" = "${actual:i:1}" ]; do
        i=$((i + 1))
    done
    # Where is byte i: line number, and the text of that line on both sides.
    local before=${expected:0:i} line_no column prefix exp_line act_line why
    local nl=${before//[!$'\n']/}
    line_no=$(( ${#nl} + 1 ))
    prefix=${before##*$'\n'}
    column=$(( ${#prefix} + 1 ))
    exp_line=${expected:i-${#prefix}}
    exp_line=${exp_line%%$'\n'*}
    act_line=${actual:i-${#prefix}}
    act_line=${act_line%%$'\n'*}
    if [ "$i" -eq "${#actual}" ]; then
        why="the actual text stops there: ${#actual} bytes came, ${#expected} were expected."
    elif [ "$i" -eq "${#expected}" ]; then
        why="the actual text goes on: ${#actual} bytes came, only ${#expected} were expected."
    else
        why="expected $(_byte_name "${expected:i:1}"), got $(_byte_name "${actual:i:1}")."
    fi
    local esc_prefix esc_exp esc_act
    esc_prefix=$(printf '%s\n' "$prefix" | sed -n "$_VISIBLE_SED" | sed 's/\$$//')
    esc_exp=$(printf '%s\n' "$exp_line" | sed -n "$_VISIBLE_SED")
    esc_act=$(printf '%s\n' "$act_line" | sed -n "$_VISIBLE_SED")
    fail "$what is not what was expected: they first differ at byte $i (line $line_no, column $column): $why" \
         "$(show_exact "expected:" "$expected")" \
         "$(show_exact "actual:" "$actual")" \
         "  line $line_no, expected: $esc_exp" \
         "  line $line_no, actual:   $esc_act" \
         "                   $(printf '%*s' "$(( ${#line_no} + ${#esc_prefix} ))" '')^ first difference" \
         "  (\$ marks the end of a line; \r, \t and \000 are a carriage return, a tab and a NUL byte)"
}

# show_exact LABEL TEXT: like show_text, but TEXT is taken byte for byte, so a
# missing final newline is reported.
show_exact() {
    if [ -z "$2" ]; then
        printf '%s (nothing at all)\n' "$1"
    else
        printf '%s\n' "$1"
        printf '%s' "$2" | visible
    fi
}

# _byte_name C: a readable name for one byte.
_byte_name() {
    case "$1" in
        $'\n') printf '%s\n' 'a newline (\n)' ;;
        $'\r') printf '%s\n' 'a carriage return (\r)' ;;
        $'\t') printf '%s\n' 'a tab (\t)' ;;
        ' ') echo 'a space' ;;
        *) printf '"%s"' "$(printf '%s' "$1" | LC_ALL=C sed -n "$_VISIBLE_SED" | sed 's/\$$//')" ;;
    esac
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
    start_listener "$name" "$path" "$@"
}

# start_listener NAME PATH [ARGS...]: start_server for any program, such as a
# test tool (PATH from `tool`); NAME is what the messages call it.
# LISTEN_ON=name (helpers/unix.bash) waits for "listening on NAME" instead.
start_listener() {
    _start_and_wait "${LISTEN_ON:-port}" "$@"
}

# _start_and_wait port|name NAME COMMAND [ARGS...]: spawn COMMAND and wait up
# to $LISTEN_TIMEOUT s for its "listening on" line: with a port (sets PORT),
# or with any name (a Unix-domain socket's path, helpers/unix.bash).
_start_and_wait() {
    local what=$1 name=$2
    shift 2
    SERVER_OUT="$BATS_TEST_TMPDIR/$name.$RANDOM.out"
    SERVER_ERR="${SERVER_OUT%.out}.err"
    # spawn: a process group of its own, which stop_started kills whole, so a
    # program under strace goes with strace even when this start fails.
    spawn "$SERVER_OUT" "$SERVER_ERR" "$@"
    SERVER_PID=$SPAWNED_PID
    SERVER_NAME=$name
    local limit port line='"listening on ADDRESS:PORT"'
    [ "$what" = port ] || line='"listening on NAME"'
    limit=$(fail_fast_limit "$LISTEN_TIMEOUT") || return 1
    local deadline=$((SECONDS + limit))
    while [ "$SECONDS" -le "$deadline" ]; do
        if [ "$what" = port ]; then
            port=$(listening_port "$SERVER_OUT")
            [ -n "$port" ] && { PORT=$port; return 0; }
        else
            grep -q '^listening on ' "$SERVER_OUT" 2>/dev/null && return 0
        fi
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            local st=0
            wait "$SERVER_PID" || st=$?
            check_ended_well "$st" "The server $name" "$limit" "$(cat "$SERVER_OUT")" "$(cat "$SERVER_ERR")" || return 1
            fail "The server $name exited (status $st) before it printed $line; its first error line: $(grep -m 1 -v '^[[:space:]]*$' "$SERVER_ERR" || echo '(none)')" \
                 "$(show_text "Its output:" "$(cat "$SERVER_OUT")")" \
                 "$(show_text "Its error output:" "$(cat "$SERVER_ERR")")"
            return 1
        fi
        nap 0.05
    done
    fail "The server $name did not print $line within ${limit}s; its last line: $(tail -n 1 "$SERVER_OUT" | grep . || echo '(none: it printed nothing)')" \
         "$(show_text "Its output:" "$(cat "$SERVER_OUT")")" \
         "$(show_text "Its error output:" "$(cat "$SERVER_ERR")")"
}

# listening_port FILE: the port in FILE's first "listening on ADDRESS:PORT"
# line; nothing (and status 0) while there is no such line or no FILE yet.
listening_port() {
    local line
    local -a out_lines
    [ -f "$1" ] && mapfile -t out_lines <"$1" 2>/dev/null
    for line in "${out_lines[@]}"; do
        if [[ $line =~ listening\ on\ .*:([0-9]+) ]]; then
            printf '%s\n' "${BASH_REMATCH[1]}"
            return 0
        fi
    done
    return 0
}

# server_output / server_errors: what the last started server printed so far.
server_output() { cat "$SERVER_OUT"; }
server_errors() { cat "$SERVER_ERR"; }

# wait_for_output REGEX [SECONDS] [FILE]: wait until a line of the server's output
# (or FILE) matches REGEX; fail with what it printed if it does not in time.
wait_for_output() {
    local regex=$1 seconds=${2:-5} file=${3:-$SERVER_OUT} who last
    seconds=$(fail_fast_limit "$seconds") || return 1
    local deadline=$((SECONDS + seconds)) rc=0
    # grep, not has_line: outputs grow to megabytes, and grep reads them far
    # faster than the shell matches line by line (it compiles the expression
    # once; [[ =~ ]] compiles it for every line). Its status 2 below may mean
    # only "no such file yet" (the file can appear between two checks of
    # ours), so an invalid REGEX is told apart once, here, on no input.
    # (has_line asks the shell instead, in _shell_regex: it matches in the
    # shell. Here grep alone matches, so grep alone judges, GNU classes too.)
    grep -Eq -- "$regex" </dev/null 2>/dev/null || rc=$?
    if [ "$rc" -eq 2 ]; then
        fail "The test's regular expression \"$regex\" is not a valid extended regular expression."
        return 1
    fi
    while [ "$SECONDS" -le "$deadline" ]; do
        grep -Eq -- "$regex" "$file" 2>/dev/null && return 0
        nap 0.05
    done
    who=$(output_owner "$file")
    last=$(tail -n 1 "$file" 2>/dev/null)
    fail "$who never printed a line matching \"$regex\" (waited ${seconds}s); its last line: ${last:-(none: it printed nothing)}" \
         "$(show_text "Its output:" "$(cat "$file")")" \
         "$(show_text "Its error output:" "$(cat "${file%.out}.err" 2>/dev/null)")"
}

# output_owner FILE: who writes FILE, for messages ("The server chat-server").
output_owner() {
    case "$1" in
        "${SERVER_OUT:-}") printf 'The server %s\n' "${SERVER_NAME:-under test}" ;;
        *fragproxy*) printf 'The test tool fragproxy\n' ;;
        *) printf 'The program writing %s\n' "$(basename "$1")" ;;
    esac
}

# stop_server [SIGNAL]: send SIGNAL (default TERM) to the last started server,
# wait up to 5 s for it to exit, and set SERVER_STATUS to its exit status.
stop_server() {
    local sig=${1:-TERM} limit
    limit=$(fail_fast_limit 5) || return 1
    kill "-$sig" "$SERVER_PID" 2>/dev/null
    local deadline=$((SECONDS + limit))
    while kill -0 "$SERVER_PID" 2>/dev/null && [ "$SECONDS" -le "$deadline" ]; do
        nap 0.05
    done
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        # The subshell keeps bash's "Killed" job notice out of the message.
        ( kill -KILL "$SERVER_PID" 2>/dev/null ) 2>/dev/null
        { wait "$SERVER_PID"; } 2>/dev/null || true
        fail "The server ${SERVER_NAME:-under test} did not exit within ${limit}s of SIG$sig, so the test killed it (SIGKILL)." \
             "  A server must stop on SIG$sig: catch it, leave the loop, close and exit (see the lesson's chapter)." \
             "$(show_text "Its last output:" "$(tail -n 5 "$SERVER_OUT" 2>/dev/null)")"
        return 1
    fi
    SERVER_STATUS=0
    { wait "$SERVER_PID"; } 2>/dev/null || SERVER_STATUS=$?
}

# open_fds PID: how many file descriptors the process PID has open (Linux /proc).
open_fds() {
    local -a fds=(/proc/"$1"/fd/*)
    [ -e "${fds[0]}" ] || fds=()
    printf '%s\n' "${#fds[@]}"
}

# expect_fds_back PID COUNT WHAT: the open fd count of PID comes back to at
# most COUNT within 5 s (a server closes a client's socket a moment after the
# client sees its answer); fail naming WHAT happened in between.
expect_fds_back() {
    local pid=$1 want=$2 now deadline=$((SECONDS + 5))
    while now=$(open_fds "$pid"); [ "$now" -gt "$want" ] && [ "$SECONDS" -le "$deadline" ]; do
        nap 0.05
    done
    [ "$now" -le "$want" ] || fail "The server had $want fds open, and $now after $3: it leaks an fd per client." \
        "$(ls -l "/proc/$pid/fd" 2>/dev/null)"
}

# wait_for_exit PID WHO OUT ERR [SECONDS]: wait (5 s unless told) for the
# process PID, started by this test, to exit by itself; set EXIT_STATUS. If
# it does not, kill it and fail, showing OUT and ERR (what it printed); WHO
# names it ("The client").
wait_for_exit() {
    local pid=$1 who=$2 out=$3 err=$4 seconds
    seconds=$(fail_fast_limit "${5:-5}") || return 1
    local deadline=$((SECONDS + seconds))
    while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -le "$deadline" ]; do
        nap 0.05
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null
        { wait "$pid"; } 2>/dev/null
        fail "$who did not exit within ${seconds}s." \
             "$(show_text "Its output:" "$(cat "$out")")" \
             "$(show_text "Its error output:" "$(cat "$err")")"
        return 1
    fi
    EXIT_STATUS=0
    { wait "$pid"; } 2>/dev/null || EXIT_STATUS=$?
}

# wait_blocked_in_send PID [SECONDS]: wait (5 s unless told) until a thread
# of PID or of a child of PID (a forking server's) has sat in a sending
# system call (send, sendto, sendmsg, write, writev) for three looks 100 ms
# apart: it is blocked on a full send buffer.
# A fixed sleep is not enough: on a loaded machine a server may still be in
# recv when the test acts, and a test about a blocked send proves nothing.
# /proc/PID/task/TID/syscall (proc(5)) starts with the syscall's number.
_child_tasks() {  # the syscall files of PID's children's threads
    local child children
    children=$(cat /proc/"$1"/task/*/children 2>/dev/null)   # space-separated PIDs
    for child in $children; do
        printf '%s\n' /proc/"$child"/task/*/syscall
    done
}
wait_blocked_in_send() {
    local pid=$1 limit=${2:-5} nums seen=0 deadline task nr
    case $(uname -m) in
        x86_64) nums=' 1 20 44 46 ' ;;            # write writev sendto sendmsg
        aarch64 | riscv64) nums=' 64 66 206 211 ' ;;
        *) fail "wait_blocked_in_send: no syscall table for $(uname -m)"; return 1 ;;
    esac
    deadline=$((SECONDS + limit))
    while [ "$SECONDS" -le "$deadline" ]; do
        local found=0
        for task in /proc/"$pid"/task/*/syscall $(_child_tasks "$pid"); do
            read -r nr _ <"$task" 2>/dev/null || continue
            case $nums in *" $nr "*) found=1 ;; esac
        done
        if [ "$found" = 1 ]; then
            seen=$((seen + 1))
            [ "$seen" -ge 3 ] && return 0
        else
            seen=0
        fi
        nap 0.1
    done
    fail "The process $pid was not blocked in a send within ${limit}s, so this test cannot check what it is about." \
         "$(for task in /proc/"$pid"/task/*/syscall $(_child_tasks "$pid"); do printf '  %s: %s\n' "$task" "$(cat "$task" 2>&1)"; done)"
}

# spawn [--stdin FILE] OUT ERR COMMAND [ARGS...]: start COMMAND in the
# background, with stdin /dev/null (or FILE, a FIFO the test writes to),
# stdout to OUT, stderr to ERR and no fd above 2 (bats waits for
# fd 3 to close: a background program must not hold it). It gets a process
# group of its own (setsid(1): the test shell's background child is no group
# leader, so setsid execs COMMAND without forking and SPAWNED_PID is COMMAND's
# own PID). STARTED_PIDS remembers it; stop_started kills the PID and the
# group, so what it forks, a tracee under strace, or a program run as another
# user (setpriv) goes with it.
spawn() {
    local input=/dev/null
    [ "$1" = --stdin ] && { input=$2; shift 2; }
    local out=$1 err=$2
    shift 2
    if command -v setsid >/dev/null; then set -- setsid "$@"; fi
    "$@" >"$out" 2>"$err" <"$input" 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
    SPAWNED_PID=$!
    STARTED_PIDS+=("$SPAWNED_PID")
}

# stop_started: kill every process this test started, by PID and by its own
# process group (spawn, run_command), and only those. It runs at teardown,
# whatever the test's outcome, and also after bats' per-test timeout: then a
# run_command still waiting (RUNNING_PID) is killed the same way.
# (Every teardown calls it, so it also starts the fail-fast clock.)
stop_started() {
    fail_fast_note
    local pid
    [ -n "${RUNNING_PID:-}" ] && STARTED_PIDS+=("$RUNNING_PID")
    for pid in "${STARTED_PIDS[@]}"; do
        kill_group "$pid"
        kill -KILL "$pid" 2>/dev/null || true
        { wait "$pid"; } 2>/dev/null || true
    done
    STARTED_PIDS=()
    RUNNING_PID=""
    return 0
}

# WORKBOOK_FAIL_FAST=0 (the mutant runs of tools/hardening/mutants): the first
# failed test decides, so the later tests of the lesson are not started at all.
# A test file with a setup() of its own calls fail_fast_setup from it.
fail_fast_setup() {
    [ "${WORKBOOK_FAIL_FAST:-}" = 0 ] && [ -f "$_FAIL_FAST_SPENT" ] || return 0
    fail "Not run to the end: an earlier test of this lesson failed (WORKBOOK_FAIL_FAST=0 stops at the first failure)."
}

setup() {
    fail_fast_setup
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
    # The braces keep bash's own "/dev/tcp/...: Connection refused" off the
    # test's output; the message below says it in words.
    if ! { exec {fd}<>"/dev/tcp/$host/$PORT"; } 2>/dev/null; then
        fail "Client $name could not connect to $host port $PORT: the connection was refused or failed (is the server ${SERVER_NAME:-under test} still running and listening?)."
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
    seconds=$(fail_fast_limit "$seconds") || return 1
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
            fail "Client $name: the server closed the connection while the client waited for a line matching \"$regex\"." \
                 "$(show_text "Lines it received:" "${!seen_var}")"
            return 1
        fi
    done
    fail "Client $name waited ${seconds}s for a line matching \"$regex\" from the server ${SERVER_NAME:-under test}, and it never came." \
         "$(show_text "Lines it received:" "${!seen_var}")"
}

# client_expect_closed A [S]: the server closes A's connection within S s (default 5).
client_expect_closed() {
    local name=$1 seconds=${2:-5} fd line deadline
    seconds=$(fail_fast_limit "$seconds") || return 1
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

# --- hardening hooks ----------------------------------------------------------
# The hooks the hardening tools use (sanitizer reports, the fragmenting proxy)
# live in helpers/hardening.bash, loaded only when those tools set their
# variables: a plain `make test` or `make grade` never reads it.
if [ -n "${HARDENING_SAN:-}" ] || [ "${FRAGPROXY:-}" = 1 ]; then
    # shellcheck source=tests/helpers/hardening.bash
    source "$(dirname "${BASH_SOURCE[0]}")/hardening.bash"
fi
