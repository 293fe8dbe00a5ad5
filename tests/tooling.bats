#!/usr/bin/env bats
# The workbook's own tooling: progress, hints, watch, doctor, reveal, the grade
# report, check-hints, and the failure messages of tests/helpers/common.bash.
#
# Lessonless: tests/run runs it with the full suite only. Everything happens in
# temporary directories (workbook copies, BUILD dirs, hint state), never in the
# checkout's build/ or lessons/, so it is safe to run in parallel with anything.

bats_require_minimum_version 1.7.0
load helpers/common

TOP=$(cd "$BATS_TEST_DIRNAME/.." && pwd)

setup_file() {
    # These tests build and grade whole copies of the workbook: give each more
    # than the suite's 60 s safety net, for a loaded 2-core machine.
    export BATS_TEST_TIMEOUT=240
    # Build the common library and the test tools once; each test copies them.
    make -C "$TOP" -s -k BUILD="$BATS_FILE_TMPDIR/build" L= tools >/dev/null 2>&1 || true
}

setup() {
    BUILD="$BATS_TEST_TMPDIR/build"
    cp -a "$BATS_FILE_TMPDIR/build" "$BUILD"
    export HINT_STATE="$BATS_TEST_TMPDIR/hints"
}

# a_copy NAME [solution|skeleton|wrong]: a student's copy of the workbook in the
# test's temp dir, with every lesson's skeleton and lesson 01 as given; prints its path.
a_copy() {
    local dir="$BATS_TEST_TMPDIR/$1" kind=${2:-skeleton}
    mkdir -p "$dir"
    "$TOP/tools/make-skeletons" --to "$dir/lessons" >/dev/null 2>&1 || true
    case "$kind" in
        solution) cp "$TOP"/solutions/01-socket/* "$dir/lessons/01-socket/" ;;
        wrong) cp -r "$TOP/tests/fixtures/student-wrong/." "$dir/" ;;
    esac
    printf '%s\n' "$dir"
}

# --- readable failures (tests/helpers/common.bash) ---------------------------

@test "expect_equal points at the first differing byte and names both bytes" {
    run -1 expect_equal "The reply" $'hello\r\nworld\n' $'hello\r\nwrold\n'
    expect_line 'first differ at byte 8 \(line 2, column 2\): expected "o", got "r"'
    expect_line '\| hello\\r\$'
    expect_line '^ +\^ first difference$'
}

@test "expect_equal says when the actual text stops early or has no final newline" {
    run -1 expect_equal "The reply" $'hello\n' 'hello'
    expect_line 'the actual text stops there: 5 bytes came, 6 were expected'
    expect_line 'no newline at the end of the last line'
}

@test "visible spells out tabs, carriage returns and NUL bytes" {
    run visible < <(printf 'a\tb\r\nc\000d\n')
    expect_line '\| a\\tb\\r\$'
    expect_line '\| c\\000d\$'
}

@test "a crash names the signal and says what it usually means" {
    run -1 check_ended_well 139 "The program socket" 10 "partial output" ""
    expect_line 'crashed: the kernel killed it with SIGSEGV'
    expect_line 'segmentation fault'
    expect_line '\| partial output'
}

@test "a hang says after how long it was stopped and what was printed before" {
    run -1 check_ended_well 124 "The program echo" 7 "waiting for a client" ""
    expect_line 'stopped it after 7s'
    expect_line '\| waiting for a client'
}

# --- hints --------------------------------------------------------------------

@test "make hint reveals one more hint each time, then says they are all shown" {
    count=$(grep -c '^## Hint [0-9]' "$TOP/docs/hints/01-socket.md")
    run -0 "$TOP/tools/hint" 01
    expect_line "^Hint 1 of $count$"
    expect_no_line '^Hint 2'
    run -0 "$TOP/tools/hint" 1
    expect_line "^Hint 2 of $count$"
    expect_no_line '^Hint 1 '
    for _ in $(seq 3 "$count"); do run -0 "$TOP/tools/hint" 01; done
    run -0 "$TOP/tools/hint" 01
    expect_line "seen all $count hints"
    [ -f "$HINT_STATE/01-socket" ] || fail "the hint state was not kept in \$HINT_STATE"
}

@test "make hint RESET=1 starts the hints over" {
    run -0 "$TOP/tools/hint" 01
    run -0 "$TOP/tools/hint" 01
    run -0 "$TOP/tools/hint" 01 --reset
    run -0 "$TOP/tools/hint" 01
    expect_line '^Hint 1 of '
}

@test "make hint without a lesson, or with one that does not exist, says so" {
    run -2 "$TOP/tools/hint"
    expect_line 'Which lesson'
    run -2 "$TOP/tools/hint" 99
    expect_line 'no lesson 99'
}

# --- check-lessons --------------------------------------------------------------

# a_whole_lesson: a tiny workbook tree with one complete lesson, 01-a.
a_whole_lesson() {
    local t="$BATS_TEST_TMPDIR/whole"
    mkdir -p "$t/solutions/01-a" "$t/lessons/01-a" "$t/tests" "$t/docs/hints"
    cp -r "$TOP/tools" "$t/"
    : >"$t/tests/01-a.bats"
    printf '# Lesson 01\nSee [the hints](hints/01-a.md).\n' >"$t/docs/01-a.md"
    printf '## Hint 1\nOne.\n\n## Hint 2\nTwo.\n' >"$t/docs/hints/01-a.md"
    printf '| # | lesson |\n| --- | --- |\n| 01 | a | [01](docs/01-a.md) |\n' >"$t/README.md"
    printf -- '- [Lesson 01](01-a.md)\n' >"$t/docs/README.md"
    printf '%s\n' "$t"
}

@test "check-lessons passes when every lesson has all its parts and every link resolves" {
    t=$(a_whole_lesson)
    run -0 "$t/tools/check-lessons"
    expect_line 'all 1 lessons have a skeleton, tests, a chapter, hints and a README row; all 3 links resolve'
}

@test "check-lessons names a missing chapter, a missing README row and a broken link" {
    t=$(a_whole_lesson)
    rm "$t/docs/01-a.md"
    run -1 "$t/tools/check-lessons"
    expect_line '01-a: no chapter docs/01-a.md'
    expect_line 'README.md links to docs/01-a.md, which does not exist'
    t=$(a_whole_lesson)
    printf '# nothing here\n' >"$t/README.md"
    printf -- '- [gone](nowhere.md)\n' >>"$t/docs/hints/01-a.md"
    run -1 "$t/tools/check-lessons"
    expect_line "01-a: README.md's lesson map has no row"
    expect_line 'docs/hints/01-a.md links to nowhere.md, which does not exist'
}

# --- check-hints ----------------------------------------------------------------

# a_tree: a tiny workbook tree (tools/, two solutions, their hints) to check.
a_tree() {
    local t="$BATS_TEST_TMPDIR/tree"
    mkdir -p "$t/solutions/01-a" "$t/solutions/02-b" "$t/docs/hints"
    cp -r "$TOP/tools" "$t/"
    printf '## Hint 1\nOne.\n\n## Hint 2\nTwo.\n' >"$t/docs/hints/01-a.md"
    printf '## Hint 1\nOne.\n\n## Hint 2\nTwo.\n\n## Hint 3\nThree.\n' >"$t/docs/hints/02-b.md"
    printf '%s\n' "$t"
}

@test "check-hints passes when every lesson has 2 to 4 hints" {
    t=$(a_tree)
    run -0 "$t/tools/check-hints"
    expect_line 'all 2 lessons'
}

@test "check-hints fails on a missing hint file, too few or too many hints, or a gap" {
    t=$(a_tree)
    rm "$t/docs/hints/02-b.md"
    run -1 "$t/tools/check-hints"
    expect_line '02-b.md is missing'
    printf '## Hint 1\nOnly one.\n' >"$t/docs/hints/02-b.md"
    run -1 "$t/tools/check-hints"
    expect_line '02-b.md has 1 hints'
    printf '## Hint %s\nx\n' 1 2 3 4 5 >"$t/docs/hints/02-b.md"
    run -1 "$t/tools/check-hints"
    expect_line '02-b.md has 5 hints'
    printf '## Hint 1\nx\n## Hint 3\ny\n' >"$t/docs/hints/02-b.md"
    run -1 "$t/tools/check-hints"
    expect_line 'hint 2 is numbered 3'
    printf '## Hint 1\nx\n## Hint 2\n\n' >"$t/docs/hints/02-b.md"
    run -1 "$t/tools/check-hints"
    expect_line 'hint 2 is empty'
}

# --- progress -------------------------------------------------------------------

@test "make progress: an untouched copy has every lesson not started and points at lesson 01" {
    wb=$(a_copy fresh skeleton)
    run -0 "$TOP/tools/progress" --workbook "$wb" --build "$BUILD"
    expect_line '01-socket +not started'
    expect_no_line 'failing|done '
    expect_line ' 0 of [0-9]+ lessons done'
    expect_line '^Next: lesson 01-socket'
}

@test "make progress: a passing lesson is done, a wrong one failing, and next is the first not done" {
    wb=$(a_copy good solution)
    run -0 "$TOP/tools/progress" --workbook "$wb" --build "$BUILD"
    expect_line '\[x\] 01-socket +done'
    expect_line ' 1 of [0-9]+ lessons done'
    second=$(find "$TOP/solutions" -mindepth 1 -maxdepth 1 -name '[0-9][0-9]-*' -printf '%f\n' | LC_ALL=C sort | sed -n 2p)
    expect_line "^Next: lesson $second"

    wb=$(a_copy bad wrong)
    run -0 "$TOP/tools/progress" --workbook "$wb" --build "$BUILD"
    expect_line '\[~\] 01-socket +failing .*first failure: after close\(3\)'
    expect_line '^Next: lesson 01-socket.*make grade L=01'
}

# shellcheck disable=SC2154  # $stderr is set by run --separate-stderr
@test "make progress tests a lesson again only when its sources change" {
    wb=$(a_copy good solution)
    run -0 --separate-stderr "$TOP/tools/progress" --workbook "$wb" --build "$BUILD"
    expect_line 'Building' "$stderr"
    run -0 --separate-stderr "$TOP/tools/progress" --workbook "$wb" --build "$BUILD"
    expect_no_line 'Building' "$stderr"
    expect_line '01-socket +done'
    # An edit that breaks it is seen at once.
    sed -i 's/if (tcp4 != -1 && close(tcp4) == -1)/if (0)/' "$wb/lessons/01-socket/socket.c"
    grep -q "if (0)" "$wb/lessons/01-socket/socket.c" || fail "the test could not break lesson 01: its sed pattern no longer matches"
    run -0 --separate-stderr "$TOP/tools/progress" --workbook "$wb" --build "$BUILD"
    expect_line '01-socket +failing'
}

# --- reveal ---------------------------------------------------------------------

@test "make reveal refuses politely while the lesson fails" {
    wb=$(a_copy bad wrong)
    run -1 "$TOP/tools/reveal" 01 --workbook "$wb" --build "$BUILD"
    expect_line '^Not yet: [0-9]+ of [0-9]+ tests of 01-socket pass'
    expect_no_line '^\+\+\+ reference'
}

@test "make reveal shows the reference solution without its markers once the lesson passes" {
    wb=$(a_copy good skeleton)
    # A passing program written differently from the reference: markers stripped, a comment added.
    sed -e '/^[[:space:]]*\/\/@/d' -e 's|^int main|/* my version */\nint main|' \
        "$TOP/solutions/01-socket/socket.c" >"$wb/lessons/01-socket/socket.c"
    run -0 "$TOP/tools/reveal" 01 --workbook "$wb" --build "$BUILD"
    expect_line '^All [0-9]+ tests pass'
    expect_line '^\+\+\+ reference: solutions/01-socket/socket.c'
    expect_line '^-/\* my version \*/'
    expect_no_line '//@'
}

# --- grade report ----------------------------------------------------------------

@test "the grade report scores a wrong copy and a correct copy, and writes CSV, JSON and JUnit" {
    wrong=$(a_copy wrong-student wrong)
    good=$(a_copy good-student solution)
    out="$BATS_TEST_TMPDIR/report"
    run -1 "$TOP/tools/grade-report" --build "$BUILD" --out "$out" --lesson 01 "$wrong" "$good"
    expect_line '^wrong-student +([0-9]+)/12 '
    expect_no_line '^wrong-student +12/12'
    expect_line '^good-student +12/12 +12/12 +1/1'
    expect_line 'wrong-student +01-socket: after close\(3\), the next socket gets fd 3 again'

    run -0 cat "$out/grades.csv"
    expect_line '^student,01-socket,tests_passed,tests_skipped,tests_total,lessons_done,lessons_total,tests_modified$'
    expect_line '^good-student,12,12,0,12,1,1,false$'
    expect_line '^wrong-student,([0-9]|1[01]),([0-9]|1[01]),0,12,0,1,true$'
    run -0 cat "$out/good-student.json"
    expect_line '"01-socket": \{"passed": 12, "skipped": 0, "total": 12, "done": true\}'
    [ "$(wc -l <"$out/grades.jsonl")" -eq 2 ] || fail "grades.jsonl should have one line per student"
    run -0 cat "$out/wrong-student.junit.xml"
    expect_line '<testsuites name="wrong-student">'
    expect_line '<testcase .*name="after close\(3\), the next socket gets fd 3 again"'
    expect_line '<failure'
}

@test "the grade report uses the workbook's tests, not the student's, and says when theirs differ" {
    wrong=$(a_copy cheater wrong)
    # The copy's tests/01-socket.bats passes everything; ours must be used anyway.
    grep -q 'everything passes' "$wrong/tests/01-socket.bats"
    run -1 "$TOP/tools/grade-report" --build "$BUILD" --out "$BATS_TEST_TMPDIR/r" --lesson 01 "$wrong"
    expect_line "tests/ differ from ours: 1 changed"
    expect_line '^cheater +([0-9]|1[01])/12 '
    expect_line 'Files .*/tests/01-socket.bats and .*/cheater/tests/01-socket.bats differ' \
        "$(cat "$BATS_TEST_TMPDIR/r/cheater.tests-diff.txt")"
}

@test "the grade report exits 0 when every lesson of every copy passes, 2 without a copy" {
    good=$(a_copy good solution)
    run -0 "$TOP/tools/grade-report" --build "$BUILD" --out "$BATS_TEST_TMPDIR/r" --lesson 01 "$good"
    expect_no_line 'differ from ours'
    run -2 "$TOP/tools/grade-report" --out "$BATS_TEST_TMPDIR/r"
    expect_line '^usage:'
}

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
    WATCH_ONCE=1 run -0 timeout 60 "$TOP/tools/watch" 01 --workbook "$wb" --build "$BUILD"
    expect_line 'done after 1 run'
    expect_line '^01-socket +[0-9]+/12 +after close\(3\)'
}

# --- doctor -------------------------------------------------------------------

# a_path_without CMD...: a PATH with the commands doctor uses, minus CMD...
a_path_without() {
    local bin="$BATS_TEST_TMPDIR/bin" c p
    mkdir -p "$bin"
    for c in bash cc gcc make timeout bats npm ss nc telnet strace inotifywait sed awk grep cat head \
             tail mktemp rm seq sort sleep kill dirname basename tr ld as cut wc env id find sh; do
        case " $* " in *" $c "*) continue ;; esac
        p=$(command -v "$c") && ln -sf "$p" "$bin/$c"
    done
    # The compiler's helpers (collect2, as, ld) are found through gcc's own paths.
    printf '%s\n' "$bin"
}

@test "make doctor passes on a machine with everything and checks loopback on 127.0.0.1" {
    run -0 "$TOP/tools/doctor"
    expect_line 'ok +loopback TCP on 127\.0\.0\.1'
    expect_line '^doctor: '
}

@test "make doctor names a missing extra tool with the command that installs it, and still passes" {
    PATH=$(a_path_without strace) run -0 "$TOP/tools/doctor"
    expect_line 'strace is missing'
    expect_line 'Debian/Ubuntu: sudo apt-get install strace'
    expect_line 'Fedora: +sudo dnf install strace'
    expect_line 'macOS: '
}

@test "make doctor fails when something the tests need is missing" {
    PATH=$(a_path_without timeout) run -1 "$TOP/tools/doctor"
    expect_line 'MISSING +timeout'
    expect_line 'coreutils'
    expect_line 'stop the tests from running'
}

@test "make doctor says when bats is missing but npm will install it" {
    PATH=$(a_path_without bats) WORKBOOK_TOOLS_DIR="$BATS_TEST_TMPDIR/none" run -0 "$TOP/tools/doctor"
    expect_line 'npm is: the first .make test. installs bats'
}

@test "make doctor warns about a WSL checkout on a Windows drive" {
    printf 'Linux version 5.15 (microsoft-standard-WSL2)\n' >"$BATS_TEST_TMPDIR/version"
    DOCTOR_PROC_VERSION="$BATS_TEST_TMPDIR/version" DOCTOR_DIR=/mnt/c/Users/ann/workbook run -0 "$TOP/tools/doctor"
    expect_line 'on a Windows drive \(/mnt/c/Users/ann/workbook\)'
    expect_line 'cp -r "/mnt/c/Users/ann/workbook" ~/'
}

# --- list-tests -----------------------------------------------------------------

@test "list-tests prints what each lesson's tests check, from the test files" {
    run -0 "$TOP/tools/list-tests" 01
    expect_line '^01-socket$'
    expect_line '^  - after close\(3\), the next socket gets fd 3 again$'
    [ "$(grep -c '^  - ' <<<"$output")" -eq "$(grep -c '^@test' "$TOP/tests/01-socket.bats")" ] ||
        fail "list-tests should list every @test of tests/01-socket.bats"
}

# --- grading integrity: no stale binaries, broken builds, skips ----------------

# broken_copy_of_01 DIR: DIR's lesson 01 solved, built once (so a binary exists),
# then broken so that it no longer compiles.
break_lesson_01() {
    echo 'int this_does_not_compile = ;' >>"$1/lessons/01-socket/socket.c"
}

# expect_compile_failure: the last grade scored lesson 01 0/12 and named the
# compiler's first error as the failure.
expect_compile_failure() {
    [ "$status" -ne 0 ] || fail "grading a lesson that does not compile exited 0"
    expect_line '01-socket +0/12 '
    expect_line 'does not compile: .*socket\.c:[0-9]+:[0-9]+: error'
    expect_no_line '1 of 1 lessons pass'
}

@test "make grade: a lesson that no longer compiles scores 0 with the compiler's first error, not the last good build's score" {
    local copy="$BATS_TEST_TMPDIR/whole"
    mkdir -p "$copy"
    tar -C "$TOP" --exclude=./build --exclude=./.git --exclude=./.tools -cf - . | tar -C "$copy" -xf -
    cp "$TOP/solutions/01-socket/socket.c" "$copy/lessons/01-socket/socket.c"
    make -C "$copy" -s BUILD="$BUILD" L=01 lessons >/dev/null 2>&1
    [ -x "$BUILD/lessons/01-socket/socket" ] || fail "the solved lesson 01 did not build"
    break_lesson_01 "$copy"
    run timeout 120 make -C "$copy" -s BUILD="$BUILD" L=01 grade
    expect_compile_failure
    [ ! -e "$BUILD/lessons/01-socket/socket" ] || fail "the binary of the last good build was left in place"
}

@test "make grade WORKBOOK=: a student's lesson that no longer compiles scores 0 with the compiler's first error" {
    local copy
    copy=$(a_copy broken solution)
    make -C "$TOP" -s BUILD="$BUILD" WORKBOOK="$copy" L=01 lessons >/dev/null 2>&1
    break_lesson_01 "$copy"
    run timeout 120 make -C "$TOP" -s BUILD="$BUILD" WORKBOOK="$copy" L=01 grade
    expect_compile_failure
}

@test "make report: a copy whose lesson no longer compiles scores 0 there, with the compiler's first error" {
    local copy out="$BATS_TEST_TMPDIR/report"
    copy=$(a_copy broken solution)
    make -C "$TOP" -s BUILD="$BUILD" WORKBOOK="$copy" L=01 lessons >/dev/null 2>&1
    break_lesson_01 "$copy"
    run timeout 120 "$TOP/tools/grade-report" --build "$BUILD" --out "$out" --lesson 01 "$copy"
    [ "$status" -eq 1 ] || fail "the report exited $status, expected 1 (a lesson fails)"
    expect_line '^broken +0/12 '
    expect_line 'broken +01-socket: .*'
    expect_line 'does not compile: .*socket\.c:[0-9]+:[0-9]+: error'
    expect_line '^broken,0,0,0,12,0,1,' "$(cat "$out/grades.csv")"
}

@test "two copies with the same folder name are built apart: one student's program never grades the other" {
    local a b
    mkdir -p "$BATS_TEST_TMPDIR/class1" "$BATS_TEST_TMPDIR/class2"
    a=$(a_copy class1/alice solution)
    b=$(a_copy class2/alice skeleton)
    run -0 make -C "$TOP" -s BUILD="$BUILD" WORKBOOK="$a" print-lesson-build
    local dir_a=$output
    run -0 make -C "$TOP" -s BUILD="$BUILD" WORKBOOK="$b" print-lesson-build
    [ "$dir_a" != "$output" ] || fail "both copies build into $output"
}

@test "a program older than its source is never graded: the test says it was not rebuilt" {
    local copy
    copy=$(a_copy stale solution)
    make -C "$TOP" -s BUILD="$BUILD" WORKBOOK="$copy" L=01 lessons >/dev/null 2>&1
    local bin
    bin=$(make -C "$TOP" -s BUILD="$BUILD" WORKBOOK="$copy" print-lesson-build)
    touch -d '+1 minute' "$copy/lessons/01-socket/socket.c"
    run timeout 120 "$TOP/tests/run" --grade --bin "$bin" --src "$copy/lessons" --tools "$BUILD/tools" 01
    [ "$status" -ne 0 ] || fail "a stale binary was graded and passed"
    expect_line '01-socket +0/12 '
    expect_line 'older than its source .*socket\.c: it was not rebuilt'
}

@test "a skipped test is not a passed one: the table says how many were skipped and why" {
    # shellcheck source=tools/lib/workbook.bash
    source "$TOP/tools/lib/workbook.bash"
    local tap="$BATS_TEST_TMPDIR/tap"
    printf '%s\n' '1..3' 'ok 1 first' 'ok 2 second # skip no ::1 here' 'ok 3 third' >"$tap"
    run -0 tap_counts "$tap"
    expect_equal "passed, skipped, total" "2 1 3" "$output"
    run -0 grade_cell 2 1 3
    expect_equal "the table's cell" "2/3, 1 skipped" "$output"
    run -0 skip_summary "$tap"
    expect_equal "the skip note" "1 skipped: no ::1 here (second)" "$output"
}

@test "the first-failure column keeps a message's decisive first line" {
    # shellcheck source=tools/lib/workbook.bash
    source "$TOP/tools/lib/workbook.bash"
    local tap="$BATS_TEST_TMPDIR/tap" message
    status=3 output="" stderr="peer: idle timeout after 60 bytes" LAST_RUN_WHAT="the test tool peer"
    message=$(expect_status 0 2>&1 || true)
    {
        printf '%s\n' '1..1' 'not ok 1 the server answers' \
            "# (from function \`fail' in file tests/helpers/common.bash, line 66," \
            "#   \`expect_status 0' failed"
        sed 's/^/# /' <<<"$message"
    } >"$tap"
    run -0 first_failure "$tap"
    expect_line $'^the server answers\tExpected the test tool peer to exit with status 0, but it exited with 3; it said: peer: idle timeout after 60 bytes$'
}

@test "numbers that differ are named whole: expected 6001, got 4701" {
    run -1 expect_equal "The count of lines" 6001 4701
    expect_line 'The count of lines: expected 6001, got 4701\.'
}
