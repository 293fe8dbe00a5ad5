# tests/helpers/tooling.bash - what the tooling's test files share: a build of
# the test tools made once per file, and students' copies in the test's
# temporary directory. Load it after helpers/common.
# shellcheck shell=bash

TOP=$(cd "$BATS_TEST_DIRNAME/.." && pwd)

setup_file() {
    # These tests build and grade whole copies of the workbook: give each more
    # than the suite's 60 s safety net, for a loaded 2-core machine.
    export BATS_TEST_TIMEOUT=240
    # Build the common library, the test tools and the reference programs
    # once; each test copies them (cp -a keeps their times, so make finds
    # them up to date). The grading tools build the reference programs
    # before any copy: from scratch that is ~10 s of CPU per test, and ~15 s
    # for this build. So it starts from the checkout's own build/ when there
    # is one (make test has just made it): make then rebuilds only what is
    # older than its source, and usually nothing.
    local part
    mkdir -p "$BATS_FILE_TMPDIR/build"
    for part in common tools solutions; do
        [ -d "$TOP/build/$part" ] && cp -a "$TOP/build/$part" "$BATS_FILE_TMPDIR/build/"
    done
    make -C "$TOP" -s -k -j 2 BUILD="$BATS_FILE_TMPDIR/build" L= tools solutions >/dev/null 2>&1 || true
    # The untouched skeletons, generated once: a_copy copies them.
    "$TOP/tools/make-skeletons" --to "$BATS_FILE_TMPDIR/skeletons" >/dev/null 2>&1 || true
}

setup() {
    BUILD="$BATS_TEST_TMPDIR/build"
    cp -a "$BATS_FILE_TMPDIR/build" "$BUILD"
    export HINT_STATE="$BATS_TEST_TMPDIR/hints"
    # Hints in English whatever the machine's locale (make hint follows LANG).
    export HINT_LANG=en
}

# a_copy NAME [solution|skeleton|wrong]: a student's copy of the workbook in the
# test's temp dir, with every lesson's skeleton and lesson 01 as given; prints its path.
a_copy() {
    local dir="$BATS_TEST_TMPDIR/$1" kind=${2:-skeleton}
    mkdir -p "$dir"
    cp -r "$BATS_FILE_TMPDIR/skeletons" "$dir/lessons"
    case "$kind" in
        solution) cp "$TOP"/solutions/01-socket/* "$dir/lessons/01-socket/" ;;
        wrong) cp -r "$TOP/tests/fixtures/student-wrong/." "$dir/" ;;
    esac
    printf '%s\n' "$dir"
}
