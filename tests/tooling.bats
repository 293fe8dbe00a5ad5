#!/usr/bin/env bats
# The workbook's own tooling: the failure messages of tests/helpers/common.bash,
# hints, check-lessons, check-hints, doctor and list-tests.
#
# Lessonless: tests/run runs it with the full suite only. Everything happens in
# temporary directories (workbook copies, BUILD dirs, hint state), never in the
# checkout's build/ or lessons/, so it is safe to run in parallel with anything.

bats_require_minimum_version 1.7.0
load helpers/common
load helpers/tooling

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

# has_line and wait_for_output match lines in the shell, not with grep: they
# must say what grep -E says.
@test "has_line says what grep -Eq says, for anchors, classes, groups, escapes and alternation, in short and long texts" {
    local text=$'join 127.0.0.1:5000 (1 online)\n\tTAB line\nlistening on [::1]:8080\nx+y=z\n\nlast line, no newline'
    local regexes=('^join .* \(1 online\)$' '\(2 online\)' '^listening on .*:([0-9]+)$' '^[[:space:]]TAB' '^$'
                   'x\+y' 'x+y' '^(join|last) ' 'no newline$' '[0-9]{4}' '^TAB' 'line,? no' '127\.0\.0\.1:50{3}' '[[:upper:]]{3}')
    # The same lines after 300 others: over 4 KiB, has_line hands the text to grep.
    local long
    long="$(printf 'filler line %d\n' $(seq 300))"$'\n'"$text"
    [ "${#long}" -gt 4096 ] || fail "the long text is only ${#long} bytes"
    local re want got n=0 t
    for t in "$text" "$long"; do
        for re in "${regexes[@]}"; do
            want=0 got=0
            grep -Eq -- "$re" <<<"$t" || want=$?
            has_line "$re" "$t" || got=$?
            [ "$want" -eq "$got" ] || fail "For /$re/ in ${#t} bytes, grep -Eq said $want and has_line $got."
            n=$((n + 1))
        done
        # Both verdicts occur, so agreeing means something.
        has_line '^join' "$t" && ! has_line '^nothing like it' "$t" || fail "has_line cannot tell a match from none"
    done
    [ "$n" -eq $((2 * ${#regexes[@]})) ]
}

@test "expect_line, expect_no_line and wait_for_output fail on a regular expression that is not one, instead of finding no line" {
    run -1 expect_no_line 'unbalanced (' "any text"
    expect_line 'not a valid extended regular expression'
    run -1 expect_line 'unbalanced (' "unbalanced ("
    expect_line 'not a valid extended regular expression'
    run -1 wait_for_output 'unbalanced (' 1 "$BATS_TEST_TMPDIR/no-such-file-yet"
    expect_line 'not a valid extended regular expression'
}

@test "wait_for_output waits for a file that appears only after it started looking" {
    local f="$BATS_TEST_TMPDIR/later.out"
    ( nap 0.3; echo 'peer: local port 5000' >"$f" ) &
    wait_for_output '^peer: local port [0-9]+$' 5 "$f"
}

@test "wait_for_output sees a line written in two pieces, one there before it looked, and fails on one never finished" {
    local f="$BATS_TEST_TMPDIR/pieces.out"
    printf 'first line\njoin 127.0.0.1:5000 (1 onl' >"$f"
    ( nap 0.3; printf 'ine)\nmore\n' >>"$f" ) &
    wait_for_output 'join .* \(1 online\)$' 5 "$f"
    wait_for_output '^first line$' 1 "$f"
    printf 'join 127.0.0.1:5001 (2 onl' >>"$f"
    run -1 wait_for_output '\(2 online\)$' 1 "$f"
    expect_line 'never printed a line matching'
}

@test "nap waits as long as asked" {
    local start=$EPOCHREALTIME
    nap 0.3
    local waited=$(( (${EPOCHREALTIME/./} - ${start/./}) / 1000 ))
    [ "$waited" -ge 290 ] || fail "nap 0.3 returned after ${waited} ms"
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

@test "make hint speaks Chinese with HINT_LANG=zh-CN or a zh locale, from docs/zh-CN/hints" {
    count=$(grep -c '^## 提示 [0-9]' "$TOP/docs/zh-CN/hints/01-socket.md")
    [ "$count" -eq "$(grep -c '^## Hint [0-9]' "$TOP/docs/hints/01-socket.md")" ] ||
        fail "the Chinese hints of lesson 01 are not as many as the English ones"
    HINT_LANG=zh-CN run -0 "$TOP/tools/hint" 01
    expect_line "^提示 1 / $count$"
    expect_no_line '^Hint '
    grep -qF -- "$(sed -n '/^## 提示 1$/{n;p;q}' "$TOP/docs/zh-CN/hints/01-socket.md")" <<<"$output" ||
        fail "the first Chinese hint's first line is not in what make hint printed" "$(show_text "it printed:" "$output")"
    HINT_LANG='' LC_ALL='' LANG=zh_CN.UTF-8 run -0 "$TOP/tools/hint" 01
    expect_line "^提示 2 / $count$"
    HINT_LANG=en run -0 "$TOP/tools/hint" 01
    expect_line "^Hint 3 of $count$"
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

# --- make-skeletons -------------------------------------------------------------

# a_solutions_tree: a tree with tools/ and solutions/ only, where
# make-skeletons can run on solutions the test breaks; prints its path.
a_solutions_tree() {
    local tree="$BATS_TEST_TMPDIR/solutions-tree"
    mkdir -p "$tree"
    cp -r "$TOP/tools" "$TOP/solutions" "$tree/"
    printf '%s\n' "$tree"
}

@test "make-skeletons writes lessons/ exactly as committed, from a folder given relative to where it runs" {
    cd "$BATS_TEST_TMPDIR"
    run -0 "$TOP/tools/make-skeletons" --to skeletons
    run -0 diff -r "$TOP/lessons" skeletons
}

@test "make-skeletons names a marker out of place, a block never closed and a lesson with no //@todo, and fails" {
    local tree first
    tree=$(a_solutions_tree)
    first=$(grep -n '^[[:space:]]*//@end[[:space:]]*$' "$tree/solutions/01-socket/socket.c" | head -n 1 | cut -d: -f1)
    [ -n "$first" ] || fail "solutions/01-socket/socket.c has no //@end to remove"
    sed -i "${first}d" "$tree/solutions/01-socket/socket.c"
    sed -i 's|//@todo|// no longer a marker:|' "$tree"/solutions/02-options/*.c
    echo '//@begin' >>"$tree/solutions/05-nodelay/rr-server.c"
    run -1 --separate-stderr "$tree/tools/make-skeletons" --to "$BATS_TEST_TMPDIR/out"
    expect_line '^solutions/01-socket/socket\.c:[0-9]+: //@begin inside a block$' "$stderr"
    expect_line '^make-skeletons: 02-options has no //@todo marker' "$stderr"
    expect_line '^solutions/05-nodelay/rr-server\.c: //@begin never closed$' "$stderr"
    expect_no_line '03-timeouts' "$stderr"
}

@test "make-skeletons --check fails on a skeleton that drifted from its solution" {
    local tree
    tree=$(a_solutions_tree)
    "$tree/tools/make-skeletons"
    run -0 "$tree/tools/make-skeletons" --check
    echo '/* a change made in the skeleton only */' >>"$tree/lessons/03-timeouts/timeouts.c"
    run -1 --separate-stderr "$tree/tools/make-skeletons" --check
    expect_line 'lessons/ is out of sync with solutions/' "$stderr"
    expect_line 'a change made in the skeleton only' "$stderr"
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

# a_tree: a_whole_lesson's tree and a second lesson, 02-b, with three hints.
a_tree() {
    local t
    t=$(a_whole_lesson)
    mkdir -p "$t/solutions/02-b"
    printf '## Hint 1\nOne.\n\n## Hint 2\nTwo.\n\n## Hint 3\nThree.\n' >"$t/docs/hints/02-b.md"
    printf '%s\n' "$t"
}

@test "check-hints passes when every lesson has 2 to 4 hints, and fails on a missing hint file, too few or too many, or a gap" {
    t=$(a_tree)
    run -0 "$t/tools/check-hints"
    expect_line 'all 2 lessons'
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

# --- the grade table's words -----------------------------------------------

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

# --- every script's help ------------------------------------------------------

@test "every script in tools/, tools/hardening/ and bench/ answers -h and --help with its header comment, exit 0" {
    local script n=0 want flag
    for script in "$TOP"/tools/* "$TOP"/tools/hardening/* "$TOP"/bench/*; do
        [ -f "$script" ] && [ -x "$script" ] || continue
        head -n 1 "$script" | grep -q bash || continue
        want=$("$TOP/tools/lib/help" "$script")
        grep -Eqi '^ *usage:' <<<"$want" ||
            fail "${script#"$TOP"/}: its header comment has no \"usage:\" line."
        for flag in -h --help; do
            # run_command: time-bounded, and whatever the script started is
            # killed with its process group (a script without -h would run).
            run_command 10 /dev/null "${script#"$TOP"/} $flag" "$script" "$flag" || return 1
            [ "$status" -eq 0 ] || fail "${script#"$TOP"/} $flag exited with status $status (usage belongs on stdout, exit 0):" \
                "$(show_text "It printed:" "$output")" "$(show_text "On stderr:" "$stderr")"
            expect_equal "what ${script#"$TOP"/} $flag printed" "$want" "$output"
        done
        n=$((n + 1))
    done
    [ "$n" -ge 20 ] || fail "Only $n scripts were found: the test looks in the wrong place."
}

# --- test-time ----------------------------------------------------------------

@test "test-time prints each test file's wall and CPU time, the least wall time the cores allow, and the slowest tests" {
    run -0 "$TOP/tools/test-time" --build "$BUILD" --top 3 01
    expect_line '^whole run: [0-9.]+ s \([0-9]+ passed, 0 failed\)$'
    expect_line '^ +[0-9.]+ s +[0-9.]+ s CPU  01-socket$'
    # The CPU column is measured, not a placeholder: lesson 01's dozen tests
    # start bats, the programs and the helpers, which takes CPU time.
    expect_no_line ' 0\.0 s CPU  01-socket$'
    expect_line '^CPU in all: [0-9]+ s; on [0-9]+ cores no schedule can finish in less than [0-9]+ s\.$'
    [ "$(grep -cE '^ +[0-9.]+ s  01-socket +[a-z]' <<<"$output")" -eq 3 ] ||
        fail "test-time --top 3 should list 3 slowest tests." "$(show_text "It printed:" "$output")"
}

@test "tests/run --filter runs only the tests whose names match, and fails when none does" {
    run -0 "$TOP/tests/run" --bin "$BUILD/solutions" --tools "$BUILD/tools" --filter 'IPv6 UDP|Unix stream' 01
    expect_line '^ok 1 an IPv6 UDP socket reads back'
    expect_line '^ok 2 a Unix stream socket reads back'
    expect_line '^2 passed, 0 failed$'
    # A filter that matches nothing runs nothing: that is not a pass, and
    # tools/hardening/mutants must not count it as a kill (it reads this line).
    run -2 "$TOP/tests/run" --bin "$BUILD/solutions" --tools "$BUILD/tools" --filter 'no test is called this' 01
    expect_line "^tests/run: --filter 'no test is called this' matches no test$"
    run -2 "$TOP/tests/run" --grade --bin "$BUILD/solutions" --tools "$BUILD/tools" --filter 'IPv6' 01
    expect_line '^tests/run: --filter is for the suite'
}
