#!/usr/bin/env bats
# The student tools that grade a copy as they go: make progress and make reveal.
#
# Lessonless: tests/run runs it with the full suite only. Everything happens in
# temporary directories (workbook copies, BUILD dirs, hint state), never in the
# checkout's build/ or lessons/, so it is safe to run in parallel with anything.

bats_require_minimum_version 1.7.0
load helpers/common
load helpers/tooling

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
