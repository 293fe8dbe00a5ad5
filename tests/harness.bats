#!/usr/bin/env bats
# The test harness itself (tests/helpers/common.bash): no test may hang past
# its limit, and nothing a test starts may outlive it.
#
# tests/fixtures/forever.c is a lesson program that never exits: it ignores
# SIGTERM, SIGINT and SIGHUP, forks a child that does the same, and keeps its
# stdout open. A lesson file made up here (99-forever.bats, in a temporary
# directory) starts it every way the lesson tests start programs: run_prog
# plain, as user nobody, under strace; start_server and spawn in the
# background, plain, as nobody and under strace; start_unix_server and
# start_eintr_server (strace) for servers on a socket path; a test that waits for it
# for ever, which only bats' own per-test timeout ends. Every one of those
# tests must fail, within its limit, and afterwards no process of the fixture
# may be alive: each notes its PID (and its parent's) in a file, and each PID
# is checked.
#
# Lessonless: tests/run runs it with the full suite only.

bats_require_minimum_version 1.7.0
load helpers/common

TOP=$(cd "$BATS_TEST_DIRNAME/.." && pwd)

# The one test here runs a whole lesson file of ten failing tests, several of
# which end only at their inner 4 s limit: on a loaded 2-core CI that takes
# longer than the 60 s safety net tests/run gives a single test. The inner run
# is bounded on its own (timeout 150 below).
BATS_TEST_TIMEOUT=180

setup_file() {
    # Not BATS_FILE_TMPDIR: user nobody must be able to run the fixture and
    # write its PID file, and bats makes its own directories private (0700).
    HARNESS_DIR=$(mktemp -d "${TMPDIR:-/tmp}/workbook-harness.XXXXXX")
    chmod 755 "$HARNESS_DIR"
    mkdir -p "$HARNESS_DIR/bin/99-forever"
    ${CC:-cc} -std=c11 -Wall -Wextra -o "$HARNESS_DIR/bin/99-forever/forever" \
        "$TOP/tests/fixtures/forever.c"
    export HARNESS_DIR
}

teardown_file() {
    [ -n "${HARNESS_DIR:-}" ] && rm -rf "$HARNESS_DIR"
}

# the_lesson_file: 99-forever.bats, one test per way to start a program; every
# one of them must fail. 4 s per test (BATS_TEST_TIMEOUT), 1 s run limits.
the_lesson_file() {
    # As root, the "nobody" ways really change user; otherwise the tests
    # already run unprivileged, as run_prog --as-nobody does then.
    local as_nobody=""
    [ "$(id -u)" -eq 0 ] && as_nobody="setpriv --reuid=65534 --regid=65534 --clear-groups"
    # (=test, not the real word: bats would take these for tests of this file.)
    sed 's/^=test /@test /' >"$HARNESS_DIR/99-forever.bats" <<TESTS
bats_require_minimum_version 1.7.0
load "$TOP/tests/helpers/common"
load "$TOP/tests/helpers/unix"

=test "run_prog: a program that never exits" {
    run_prog --timeout 1 forever
}

=test "run_prog --as-nobody" {
    run_prog --timeout 1 --as-nobody forever
}

=test "run_prog --strace" {
    run_prog --timeout 1 --strace "\$BATS_TEST_TMPDIR/trace" "-f" forever
}

=test "run_prog with a limit longer than the test's: bats' own timeout ends it" {
    run_prog --timeout 100 forever
}

=test "start_server, then stop_server: it ignores SIGTERM" {
    start_server forever
    stop_server TERM
}

=test "start_server, then a test that waits for it for ever: bats' own timeout ends it" {
    start_server forever
    wait "\$SERVER_PID"
}

=test "spawn as nobody, then waiting for output that never comes" {
    spawn "\$BATS_TEST_TMPDIR/n.out" "\$BATS_TEST_TMPDIR/n.err" \\
        $as_nobody "\$(prog forever)"
    wait_for_output 'never printed' 2 "\$BATS_TEST_TMPDIR/n.out"
}

=test "spawn under strace, then waiting for output that never comes" {
    spawn "\$BATS_TEST_TMPDIR/s.out" "\$BATS_TEST_TMPDIR/s.err" \\
        strace -f -o "\$BATS_TEST_TMPDIR/trace" -- "\$(prog forever)"
    wait_for_output 'never printed' 2 "\$BATS_TEST_TMPDIR/s.out"
}

=test "start_unix_server: a server that never says it listens" {
    export FOREVER_SILENT=1
    start_unix_server forever "\$BATS_TEST_TMPDIR/f.sock"
}

=test "start_eintr_server: the same under strace, with EINTR injected" {
    export FOREVER_SILENT=1
    start_eintr_server forever "\$BATS_TEST_TMPDIR/trace" "\$BATS_TEST_TMPDIR/f.sock"
}
TESTS
}

@test "a program that never exits fails its test within the limit, started any way, and nothing of it survives" {
    if [ "$(id -u)" -eq 0 ]; then
        command -v setpriv >/dev/null || skip "running as root and setpriv(1) is missing"
    fi
    command -v strace >/dev/null || skip "strace is not installed"
    the_lesson_file
    local pids="$HARNESS_DIR/pids" tap="$HARNESS_DIR/tap" start bats
    : >"$pids"
    chmod 666 "$pids"
    # Inside bats, PATH starts with bats' libexec directory, whose `bats` is
    # not the one to run: leave it out.
    local path
    path=$(tr ':' '\n' <<<"$PATH" | grep -v 'bats-core' | paste -sd ':')
    bats=$(PATH=$path "$TOP/tools/ensure-bats")
    start=$SECONDS
    # 10 tests: 4 end at a 1 s run limit (+2 s to SIGKILL), 2 at bats' 4 s,
    # 2 at a 5 s or 2 s wait, 2 at a 1 s wait for a "listening on" line. The outer timeout only keeps a broken harness
    # from hanging this test; it is not what is being tested.
    # A clean environment: bats' own variables from this run would confuse the inner one.
    env -i PATH="$path" HOME="${HOME:-/}" TMPDIR="${TMPDIR:-/tmp}" FOREVER_PIDS="$pids" \
        WORKBOOK_BIN="$HARNESS_DIR/bin" WORKBOOK_TOOLS="${WORKBOOK_TOOLS:-$TOP/build/tools}" \
        BATS_TEST_TIMEOUT=4 LISTEN_TIMEOUT=1 \
        timeout -k 5 150 "$bats" --tap "$HARNESS_DIR/99-forever.bats" >"$tap" 2>&1 || true
    local took=$((SECONDS - start))
    [ "$took" -lt 150 ] || fail "The 10 tests took ${took}s: some step waited far past its limit." "$(cat "$tap")"

    # Every test failed (none passed, none was skipped quietly).
    local total failed
    total=$(grep -c '^\(not \)\?ok ' "$tap" || true)
    failed=$(grep '^not ok ' "$tap" | grep -vc '# skip' || true)
    [ "$total" -eq 10 ] || fail "Expected 10 tests to run, $total did." "$(cat "$tap")"
    [ "$failed" -eq 10 ] || fail "Expected all 10 to fail, $failed did." "$(cat "$tap")"
    grep -q 'timeout after 4s' "$tap" ||
        fail "No test was ended by bats' own per-test timeout, as two should be." "$(cat "$tap")"

    # Each way started the fixture, which forked: 2 PIDs per test at least.
    local n
    n=$(wc -l <"$pids")
    [ "$n" -ge 20 ] || fail "Only $n fixture processes noted their PID; 20 were expected." \
        "$(cat "$pids")" "$(cat "$tap")"

    # Nothing survives: check each PID (a PID that is alive again must be
    # another program, not the fixture).
    local pid ppid alive="" deadline=$((SECONDS + 3))
    while read -r pid ppid; do
        while kill -0 "$pid" 2>/dev/null && grep -q forever "/proc/$pid/cmdline" 2>/dev/null &&
              [ "$SECONDS" -le "$deadline" ]; do
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null && grep -q forever "/proc/$pid/cmdline" 2>/dev/null; then
            alive+="$pid (parent $ppid, user $(stat -c %U "/proc/$pid")) "
            kill -KILL "$pid" 2>/dev/null || true     # ours: the fixture this test ran
        fi
    done <"$pids"
    [ -z "$alive" ] || fail "These fixture processes outlived their tests: $alive" "$(cat "$tap")"
}
