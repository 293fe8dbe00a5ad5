#!/usr/bin/env bats
# Grading other copies: the grade report, and grading integrity (a program that
# does not compile, a stale binary, two copies with the same name).
#
# Lessonless: tests/run runs it with the full suite only. Everything happens in
# temporary directories (workbook copies, BUILD dirs, hint state), never in the
# checkout's build/ or lessons/, so it is safe to run in parallel with anything.

bats_require_minimum_version 1.7.0
load helpers/common
load helpers/tooling

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
