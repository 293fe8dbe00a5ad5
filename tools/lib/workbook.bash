# tools/lib/workbook.bash - what the student and instructor tools share:
# the lesson list, where a copy's programs are built, running one lesson's tests.
# Source it from a script in tools/ after setting nothing; it sets $top.
# shellcheck shell=bash

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# lesson_names: every lesson the workbook has (one per solutions/NN-topic), in order.
lesson_names() {
    local d
    for d in "$top"/solutions/[0-9][0-9]-*/; do
        [ -d "$d" ] && basename "$d"
    done
}

# lesson_name L: "05-nodelay" for 5, 05 or 05-nodelay; fails with a message if
# there is no such lesson.
lesson_name() {
    local l=${1:-} n d
    if [ -z "$l" ]; then
        echo "Which lesson? Add L=NN, for example L=01." >&2
        return 2
    fi
    n=${l%%-*}
    case "$n" in
        ''|*[!0-9]*) echo "L=$l is not a lesson number: use one of $(lesson_names | cut -c1-2 | tr '\n' ' ')(L=01, for example)." >&2; return 2 ;;
    esac
    n=$(lesson_number "$n")
    for d in "$top"/solutions/"$n"-*/; do
        [ -d "$d" ] && { basename "$d"; return 0; }
    done
    echo "There is no lesson $n yet: README.md lists the lessons that exist." >&2
    return 2
}

# lesson_number N: the two-digit number of lesson N ("5", "05" or
# "05-nodelay" give "05"): the one place a lesson number is padded (the
# Makefile, which cannot call this, does the same with awk).
lesson_number() {
    local n=${1%%-*}
    printf '%02d\n' "$((10#$n))"
}

# lesson_tests NAME: the workbook's test files for lesson NAME (tests/NN-*.bats).
lesson_tests() {
    local f
    for f in "$top"/tests/"${1%%-*}"-*.bats; do
        [ -e "$f" ] && printf '%s\n' "$f"
    done
}

# lesson_build_dir WORKBOOK BUILD: where the Makefile builds WORKBOOK's lessons/
# (the Makefile alone decides; this asks it).
lesson_build_dir() {
    local wb
    wb=$(cd "$1" && pwd) || return 1
    make -C "$top" --no-print-directory -s BUILD="$2" WORKBOOK="$wb" print-lesson-build
}

# abs_path DIR: DIR made absolute (it need not exist yet).
abs_path() {
    case "$1" in
        /*) printf '%s\n' "$1" ;;
        *) printf '%s/%s\n' "$PWD" "$1" ;;
    esac
}

# build_lessons WORKBOOK BUILD [L] [LOG]: build WORKBOOK's lessons (all, or
# lesson L) and the test tools with the workbook's Makefile; a lesson that does
# not compile does not stop the others. Compiler messages go to LOG (default: stderr).
# L is always passed, even empty, so an outer "make progress L=05" does not leak in.
build_lessons() {
    local wb=$1 build=$2 l=${3:-} log=${4:-/dev/stderr}
    make -C "$top" --no-print-directory -s -k -j "$(nproc 2>/dev/null || echo 1)" BUILD="$build" WORKBOOK="$wb" \
        LESSON_BUILD="$(lesson_build_dir "$wb" "$build")" L="$l" lessons tools >>"$log" 2>&1 || true
    # The reference programs that are another lesson's partner (lesson 16's
    # tests talk to lesson 15's server: they say LESSON_DIR=15-...), built
    # once for every copy.
    local partner
    for partner in $(partner_lessons "$l"); do
        make -C "$top" --no-print-directory -s -k BUILD="$build" L="$partner" solutions >>"$log" 2>&1 || true
    done
}

# partner_lessons [L]: the lessons whose reference programs the tests of
# lesson L (or of every lesson) start as a partner.
partner_lessons() {
    local files
    if [ -n "${1:-}" ]; then
        files=$(lesson_tests "$(lesson_name "$1" 2>/dev/null)" 2>/dev/null)
    else
        files=$(ls "$top"/tests/[0-9][0-9]-*.bats)
    fi
    [ -n "$files" ] || return 0
    # shellcheck disable=SC2086  # a list of file names without spaces
    grep -ho 'LESSON_DIR=[0-9][0-9]-' $files | cut -c12-13 | sort -u
}

# median [DECIMALS]: the middle of the numbers on stdin, one a line (the mean
# of the two middle ones, with DECIMALS places, 1 unless told). For bench/.
median() {
    sort -n | awk -v places="${1:-1}" '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%." places "f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# workbook_bats BIN SRC TOOLS BATS_ARGS...: bats (tools/ensure-bats) on the
# workbook's tests, against the programs in BIN built from the sources in SRC
# (empty: $WORKBOOK_SRC as it is, if set), with the test
# tools in TOOLS. The one place a run of the tests is set up (tests/run,
# grading, the hardening tools). Each test's safety net is
# $BATS_TEST_TIMEOUT s, 60 unless the caller says otherwise; the helpers
# bound every step far tighter (tests/helpers/common.bash).
workbook_bats() {
    local bin=$1 src=$2 tools=$3 bats
    shift 3
    bats=$("$top/tools/ensure-bats") || return 1
    (
        export WORKBOOK_BIN WORKBOOK_TOOLS WORKBOOK_SRC BATS_TEST_TIMEOUT=${BATS_TEST_TIMEOUT:-60}
        WORKBOOK_BIN=$(cd "$bin" && pwd) || exit 1
        WORKBOOK_TOOLS=$(cd "$tools" 2>/dev/null && pwd) || WORKBOOK_TOOLS=$tools
        [ -z "$src" ] || WORKBOOK_SRC=$(cd "$src" 2>/dev/null && pwd) || WORKBOOK_SRC=$src
        exec "$bats" "$@"
    )
}

# run_lesson_tests BIN SRC TOOLS NAME TAP [JUNIT_DIR]: run the workbook's tests
# of lesson NAME against the programs in BIN, built from the sources in SRC (a
# lessons/ or solutions/ folder: a program older than its source is not run);
# TAP output into the file TAP, and a JUnit report.xml into JUNIT_DIR when
# given. Grading: a lesson whose program fails a test gets $WORKBOOK_FAIL_FAST
# seconds (default 10) for the rest of its waits (tests/helpers/common.bash).
# Prints "PASSED SKIPPED TOTAL"; a skipped test is not a passed one.
run_lesson_tests() {
    local bin=$1 src=$2 tools=$3 name=$4 tap=$5 junit=${6:-} files=()
    mapfile -t files < <(lesson_tests "$name")
    if [ ${#files[@]} -eq 0 ]; then
        : >"$tap"
        echo "0 0 0"
        return 0
    fi
    mkdir -p "$bin"
    # A lesson with several test files (17) runs them at once, one bats each,
    # their TAP joined in file order and their JUnit reports merged.
    local k pids=()
    for k in "${!files[@]}"; do
        (
            export WORKBOOK_FAIL_FAST=${WORKBOOK_FAIL_FAST-10}
            # The reference programs, for a lesson whose partner is another
            # lesson's program (build_lessons builds them next to the tools).
            [ -n "${WORKBOOK_REF_BIN:-}" ] || WORKBOOK_REF_BIN=$(cd "$tools/../solutions" 2>/dev/null && pwd) || true
            export WORKBOOK_REF_BIN
            if [ -n "$junit" ]; then
                mkdir -p "$junit/$k"
                workbook_bats "$bin" "$src" "$tools" --formatter tap --report-formatter junit --output "$junit/$k" "${files[$k]}"
            else
                workbook_bats "$bin" "$src" "$tools" --formatter tap "${files[$k]}"
            fi
        ) >"$tap.$k" 2>&1 &
        pids+=($!)
    done
    wait "${pids[@]}"
    for k in "${!files[@]}"; do cat "$tap.$k"; rm -f "$tap.$k"; done >"$tap"
    if [ -n "$junit" ]; then
        # bats writes the JUnit report from a process substitution it does not
        # wait for (`tee >(bats-format-junit >report.xml)`), so the file may be
        # missing or half-written when bats exits: wait, 5 s at most, for its end.
        local i
        for k in "${!files[@]}"; do
            for ((i = 0; i < 100; i++)); do
                grep -q '</testsuites>' "$junit/$k/report.xml" 2>/dev/null && break
                sleep 0.05
            done
        done
        {
            echo '<?xml version="1.0" encoding="UTF-8"?>'
            echo '<testsuites>'
            for k in "${!files[@]}"; do
                sed -e '/^<?xml/d' -e '/<testsuites[ >]/d' -e '/<\/testsuites>/d' "$junit/$k/report.xml" 2>/dev/null
                rm -rf "${junit:?}/$k"
            done
            echo '</testsuites>'
        } >"$junit/report.xml"
    fi
    tap_counts "$tap"
}

# run_jobs N FUNCTION COUNT: run FUNCTION 0 ... FUNCTION COUNT-1 in the
# background, N at a time, and wait for all of them.
run_jobs() {
    local n=$1 fn=$2 count=$3 i running=0
    for ((i = 0; i < count; i++)); do
        if [ "$running" -ge "$n" ]; then
            wait -n 2>/dev/null
            running=$(jobs -pr | wc -l)
        fi
        "$fn" "$i" &
        running=$((running + 1))
    done
    wait
}

# tap_counts TAP: "PASSED SKIPPED TOTAL" of a bats TAP file.
tap_counts() {
    local skipped total ok
    ok=$(grep -c '^ok ' "$1")
    skipped=$(grep -c '^ok .* # skip' "$1")
    total=$(grep -c '^ok \|^not ok ' "$1")
    printf '%s %s %s\n' "$((ok - skipped))" "$skipped" "$total"
}

# skip_summary TAP: "N skipped: REASON" for the first skipped test (nothing if none).
skip_summary() {
    local n reason
    n=$(grep -c '^ok .* # skip' "$1")
    [ "$n" -gt 0 ] || return 0
    reason=$(grep -m 1 '^ok .* # skip' "$1" | sed -E 's/^ok [0-9]+ (.*) # skip ?\(?(.*)\)?$/\2 (\1)/')
    printf '%s skipped: %s\n' "$n" "$reason"
}

# grade_cell PASSED SKIPPED TOTAL: "9/10" or "9/10, 1 skipped" for a table.
grade_cell() {
    if [ "$2" -gt 0 ]; then
        printf '%s/%s, %s skipped\n' "$1" "$3" "$2"
    else
        printf '%s/%s\n' "$1" "$3"
    fi
}

# first_failure TAP: "test name<TAB>its message's first line" for the first
# failed test. The helpers (tests/helpers/common.bash) put the decisive facts
# on that first line (what was expected, what happened, the program's own
# error line); the rest of the message is in the full run.
first_failure() {
    awk '
        /^not ok / && !name { sub(/^not ok [0-9]+ /, ""); sub(/ # in [0-9]+ ?ms$/, ""); name = $0; next }
        name && /^# / {
            line = substr($0, 3)
            if (line ~ /^ *\(?(from function|in test file)/ || line ~ /failed( with status [0-9]+)?$/ || line ~ /^ *$/ || line ~ /^`/) next
            gsub(/^[ |]+/, "", line)
            said = line
            exit
        }
        name && !/^# / { exit }
        END { if (name) print name "\t" said }
    ' "$1"
}

# source_hash WORKBOOK NAME: a checksum of everything a lesson's result depends
# on: the student's sources, the workbook's tests, helpers, test tools and common/.
source_hash() {
    local wb=$1 name=$2
    (
        cd "$top" || exit 1
        # cksum prints each file's checksum, size and name: a change to any
        # file's contents, a file added, removed or renamed changes the sum.
        {
            find "$wb/lessons/$name" tests/helpers tests/tools common -type f 2>/dev/null | LC_ALL=C sort
            lesson_tests "$name"
        } | xargs -r -d '\n' cksum
    ) | cksum | awk '{ print $1 "-" $2 }'
}
