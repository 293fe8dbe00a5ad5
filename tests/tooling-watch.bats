#!/usr/bin/env bats
# make watch: rebuild and re-test a lesson on every save.
#
# Lessonless: tests/run runs it with the full suite only. Everything happens in
# temporary directories (workbook copies, BUILD dirs, hint state), never in the
# checkout's build/ or lessons/, so it is safe to run in parallel with anything.

bats_require_minimum_version 1.7.0
load helpers/common
load helpers/tooling

# --- watch ----------------------------------------------------------------------

# watch_twice [ENV...]: start watch (at most 2 runs) on a copy, edit a file after
# the first run, and check the second run happened with the edit.
watch_twice() {
    local wb log="$BATS_TEST_TMPDIR/watch.out"
    wb=$(a_copy w wrong)
    env "$@" timeout 220 "$TOP/tools/watch" 01 --max-runs 2 --workbook "$wb" --build "$BUILD" >"$log" 2>&1 3>&- &
    STARTED_PIDS+=("$!")
    wait_for_output 'waiting for you to save' 100 "$log"
    cp "$TOP/solutions/01-socket/socket.c" "$wb/lessons/01-socket/socket.c"
    wait_for_output 'done after 2 run' 100 "$log"
    run -0 cat "$log"
    expect_line 'run 1 ==='
    expect_line 'run 2 ==='
    expect_line '^01-socket +12/12'
}

@test "make watch re-tests the lesson when a source file changes (inotifywait when present)" {
    watch_twice
}

@test "make watch falls back to checking once a second without inotify" {
    watch_twice WATCH_POLL=1
    expect_line 'a check every second'
}

@test "make watch with WATCH_ONCE=1 runs the tests once and stops" {
    wb=$(a_copy once wrong)
    WATCH_ONCE=1 run -0 timeout 200 "$TOP/tools/watch" 01 --workbook "$wb" --build "$BUILD"
    expect_line 'done after 1 run'
    expect_line '^01-socket +[0-9]+/12 +after close\(3\)'
}
