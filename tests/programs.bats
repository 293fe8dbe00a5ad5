#!/usr/bin/env bats
# Every program of the workbook answers its command line the same way
# (common/args.h): -h prints the usage on stdout and exits 0, because help
# was asked for; a bad argument prints one usage line on stderr (after at
# most one line saying what was wrong) and exits 1, and nothing on stdout.
#
# "Every program" is every program the build has: the reference programs in
# $WORKBOOK_BIN (tests/run --bin), found by listing them, so a new lesson is
# covered the day it is built. The programs are never started for real:
# both checks end the program while it reads its arguments.
#
# Lessonless: tests/run runs it with the full suite only.

bats_require_minimum_version 1.7.0
load helpers/common

# programs: every built program, as LESSON/NAME, one a line.
programs() {
    local path
    for path in "$WORKBOOK_BIN"/[0-9][0-9]-*/*; do
        [ -f "$path" ] && [ -x "$path" ] && printf '%s\n' "${path#"$WORKBOOK_BIN"/}"
    done
}

# check_all WHAT ARGS...: run every program with ARGS; the caller's check_one
# PROGRAM judges each run ($status, $output, $stderr) and prints a complaint,
# or nothing. Fails once, listing every program that complained.
check_all() {
    local what=$1 program complaint problems=() count=0
    shift
    while IFS= read -r program; do
        count=$((count + 1))
        run_command 5 /dev/null "$program" "$WORKBOOK_BIN/$program" "$@" || {
            problems+=("$program: did not finish or crashed (exit status $status)")
            continue
        }
        complaint=$(check_one "$program")
        [ -z "$complaint" ] || problems+=("$program: $complaint")
    done < <(programs)
    [ "$count" -gt 0 ] || { fail "No programs found under $WORKBOOK_BIN: run make first."; return 1; }
    [ ${#problems[@]} -eq 0 ] && return 0
    fail "${#problems[@]} of $count programs do not answer $what as every program must:" \
         "${problems[@]/#/  }"
}

@test "every program: -h prints the usage on stdout and exits 0" {
    check_one() {
        [ "$status" -eq 0 ] || { echo "exit status $status, not 0"; return; }
        grep -q '^usage: ' <<<"$output" || { echo "no 'usage: ' line on stdout (stdout: ${output:0:80})"; return; }
        [ -z "$stderr" ] || echo "it also wrote on stderr: ${stderr:0:80}"
    }
    check_all "-h" -h
}

@test "every program: an unknown option prints one usage line on stderr and exits 1" {
    check_one() {
        local usage_lines total
        [ "$status" -eq 1 ] || { echo "exit status $status, not 1"; return; }
        [ -z "$output" ] || { echo "it wrote on stdout: ${output:0:80}"; return; }
        usage_lines=$(grep -c '^usage: ' <<<"$stderr")
        total=$(grep -c . <<<"$stderr")
        [ "$usage_lines" -eq 1 ] || { echo "$usage_lines 'usage: ' lines on stderr, not 1: ${stderr:0:120}"; return; }
        [ "$total" -le 2 ] || echo "$total lines on stderr: a reason and the usage are enough: ${stderr:0:160}"
    }
    check_all "an unknown option (-Z)" -Z
}
