# tools/hardening/lib.sh - what the hardening scripts share (sourced, not run).
# shellcheck shell=bash

# shellcheck source=tools/lib/workbook.bash
source "$(dirname "${BASH_SOURCE[0]}")/../lib/workbook.bash"   # sets $top
HARDENING_BUILD=${HARDENING_BUILD:-$top/build/hardening}

# test_names FILE...: the name of every @test in FILEs, one a line.
test_names() {
    sed -nE 's/^@test +"(.*)" *\{ *$/\1/p' "$@"
}

# name_filter EXCLUDE_REGEX FILE...: a regex for bats --filter that matches
# every test of FILEs whose name does not match EXCLUDE_REGEX (ERE).
name_filter() {
    local exclude=$1 name re=""
    shift
    while IFS= read -r name; do
        [ -n "$exclude" ] && grep -Eq -- "$exclude" <<<"$name" && continue
        name=$(sed -E 's/[][\.^$*+?(){}|/]/\\&/g' <<<"$name")
        re+="${re:+|}^$name\$"
    done < <(test_names "$@")
    printf '%s\n' "${re:-^\$nothing^}"
}

# run_bats BIN TOOLS EXCLUDE_REGEX FILE...: the bats suite as tests/run runs it,
# on FILEs, leaving out the tests whose names match EXCLUDE_REGEX.
# Sanitizer builds run several times slower: 90 s of safety net, not 60.
run_bats() {
    local bin=$1 tools=$2 exclude=$3
    shift 3
    BATS_TEST_TIMEOUT=${BATS_TEST_TIMEOUT:-90} workbook_bats "$bin" "" "$tools" \
        --print-output-on-failure --filter "$(name_filter "$exclude" "$@")" "$@"
}

# lesson_files LESSON...: the bats files of those lessons, by number (all when none).
lesson_files() {
    local l f
    if [ $# -eq 0 ]; then
        for f in "$top"/tests/[0-9][0-9]-*.bats; do [ -e "$f" ] && echo "$f"; done
        return 0
    fi
    for l in "$@"; do
        lesson_tests "$(lesson_number "$l")"
    done
    return 0
}

# elapsed SECONDS_AT_START: "12s"
elapsed() { printf '%ss' "$((SECONDS - $1))"; }
