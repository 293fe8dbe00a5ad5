# The TCP socket programming workbook in C.
#
#   make                 build every reference solution and every lesson skeleton
#   make test [L=05]     run the whole test suite against solutions/ (must pass)
#                        FILTER=REGEX: only the tests whose name matches it
#   make grade [L=05]    run the same tests against lessons/ (your work) and score it
#   make run L=01        run your lesson 01 program with its default arguments
#   make demo L=01       run the reference solution of lesson 01 the same way
#   make clean           remove build/
#
# For students:
#   make progress        every lesson's state and the next one to work on
#   make hint L=05       one more hint for lesson 05 each time
#   make watch L=05      rebuild and re-test lesson 05 on every save
#   make reveal L=05     once it passes, your program next to the reference
#   make doctor          check this machine has what the workbook needs
#
# For instructors and maintainers:
#   make grade WORKBOOK=/path/to/student/copy [L=05]
#   make report WORKBOOK="dir1 dir2"   grade several copies: table, CSV, JSON, JUnit
#   make list-tests [L=05]  what each lesson's tests check
#   make teeth           every untouched skeleton must fail its tests
#   make skeletons / make check-sync   write lessons/ from solutions/ / check them
#   make check-hints     every lesson has 2 to 4 hints
#   make check-lessons   every lesson has all its parts; every docs link resolves
#   make bench           the chat benchmark (lessons 15, 17, 19, 20, ncat); results in bench/results/
#   make bench-tools     only build the benchmark's programs (bench/*.c)
#   make hardening       sanitizers, fault injection, fuzzing, static analysis, mutants
#
# CC, CFLAGS, CPPFLAGS, LDFLAGS and LDLIBS are yours to override: make CC=clang
# L picks one lesson by number (L=5 or L=05); leave it out for all of them.

CC       ?= cc
CFLAGS   ?= -std=c11 -Wall -Wextra -O2 -g
# _DEFAULT_SOURCE: on glibc, -std=c11 hides POSIX and BSD names (getaddrinfo,
# strdup, usleep); this brings them back. macOS ignores it and shows them all.
CPPFLAGS += -D_DEFAULT_SOURCE -Icommon
LDLIBS   += -pthread

# SAN=address: build with AddressSanitizer + UndefinedBehaviorSanitizer into
# build/san-address; SAN=thread: ThreadSanitizer into build/san-thread. Both
# add to CFLAGS and LDFLAGS, even when you set those yourself (docs/hardening.md).
ifeq ($(SAN),address)
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
else ifeq ($(SAN),thread)
SAN_FLAGS := -fsanitize=thread -fno-omit-frame-pointer
else ifneq ($(SAN),)
$(error SAN=$(SAN): use SAN=address or SAN=thread)
endif
ifneq ($(SAN),)
BUILD    ?= build/san-$(SAN)
override CFLAGS  += $(SAN_FLAGS)
override LDFLAGS += $(SAN_FLAGS)
endif
BUILD    ?= build
WORKBOOK ?= .

# L=5 and L=05 both mean lesson 05.
ifneq ($(strip $(L)),)
LESSON := $(shell echo '$(L)' | awk '{ printf "%02d", $$1 + 0 }')
LPAT   := $(LESSON)-
else
LPAT   := [0-9][0-9]-
endif

# A workbook copy's own lessons/ build apart from ours, so grading never mixes
# them: one folder per copy, named after its whole path (class1/alice and
# class2/alice are two students, not one). tools/lib/workbook.bash asks make
# for this name (print-lesson-build) rather than computing it again.
ifeq ($(abspath $(WORKBOOK)),$(abspath .))
LESSON_BUILD ?= $(BUILD)/lessons
else
LESSON_BUILD ?= $(BUILD)/grade/$(subst /,_,$(patsubst /%,%,$(abspath $(WORKBOOK))))
endif
LESSON_SRC := $(WORKBOOK)/lessons

COMMON_SRCS := $(wildcard common/*.c)
COMMON_HDRS := $(wildcard common/*.h)
COMMON_LIB  := $(BUILD)/common/libworkbook.a
COMMON_OBJS := $(patsubst common/%.c,$(BUILD)/common/%.o,$(COMMON_SRCS))

# Every .c file in a lesson folder is one program, named after the file.
SOLUTION_SRCS := $(wildcard solutions/$(LPAT)*/*.c)
SOLUTION_BINS := $(patsubst solutions/%.c,$(BUILD)/solutions/%,$(SOLUTION_SRCS))
# The reference programs that the chosen lessons' tests talk to: a test file's
# LESSON_DIR= line names another lesson (tools/lib/workbook.bash's
# partner_lessons reads the same lines). Grading one lesson builds only these.
PARTNER_LESSONS := $(shell grep -ho 'LESSON_DIR=[0-9][0-9]-' $(wildcard tests/$(LPAT)*.bats) /dev/null | cut -c12-13 | sort -u)
PARTNER_BINS  := $(foreach p,$(PARTNER_LESSONS),$(patsubst solutions/%.c,$(BUILD)/solutions/%,$(wildcard solutions/$(p)-*/*.c)))
LESSON_SRCS   := $(wildcard $(LESSON_SRC)/$(LPAT)*/*.c)
LESSON_BINS   := $(patsubst $(LESSON_SRC)/%.c,$(LESSON_BUILD)/%,$(LESSON_SRCS))
TOOL_SRCS     := $(wildcard tests/tools/*.c)
TOOL_BINS     := $(patsubst tests/tools/%.c,$(BUILD)/tools/%,$(TOOL_SRCS))
# Shared libraries the tests load with LD_PRELOAD (tests/tools/preload/).
PRELOAD_SRCS  := $(wildcard tests/tools/preload/*.c)
PRELOAD_LIBS  := $(patsubst tests/tools/preload/%.c,$(BUILD)/tools/%.so,$(PRELOAD_SRCS))

ifeq ($(V),1)
Q :=
else
Q := @
endif

.PHONY: all solutions lessons tools test grade teeth run demo skeletons check-sync clean help
.DEFAULT_GOAL := all

all: solutions lessons tools
	@echo
	@echo "Built every solution (build/solutions/) and your lessons (build/lessons/)."
	@echo "Start here: read docs/00-getting-started.md, then open lessons/01-socket/socket.c."
	@echo "Check your work on a lesson with: make grade L=01"

help:
	@sed -n '2,30p' Makefile | sed 's/^# \{0,1\}//'

solutions: $(SOLUTION_BINS)
lessons: $(LESSON_BINS)
tools: $(TOOL_BINS) $(PRELOAD_LIBS)

$(BUILD)/common/%.o: common/%.c $(COMMON_HDRS)
	@mkdir -p $(@D)
	@echo "CC      $<"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(COMMON_LIB): $(COMMON_OBJS)
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $^

.SECONDEXPANSION:
$(BUILD)/solutions/%: solutions/%.c $(COMMON_LIB) $(COMMON_HDRS) $$(wildcard $$(dir solutions/$$*)*.h)
	@mkdir -p $(@D)
	@echo "CC      $<"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $< $(COMMON_LIB) $(LDLIBS) -o $@

# A student's program: the old binary is removed first, so a source that no
# longer compiles can never be graded through the binary of an earlier build.
# The compiler's messages of a failed build stay in PROGRAM.compile-errors,
# which the tests report (tests/helpers/common.bash, prog) as the lesson's failure.
$(LESSON_BUILD)/%: $(LESSON_SRC)/%.c $(COMMON_LIB) $(COMMON_HDRS) $$(wildcard $$(dir $(LESSON_SRC)/$$*)*.h)
	@mkdir -p $(@D)
	@rm -f $@ $@.compile-errors
	@echo "CC      $<"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $< $(COMMON_LIB) $(LDLIBS) -o $@ 2>$@.compile-log \
	    || { cat $@.compile-log >&2; mv $@.compile-log $@.compile-errors; exit 1; }
	$(Q)cat $@.compile-log >&2; rm -f $@.compile-log

$(BUILD)/tools/%: tests/tools/%.c $(COMMON_LIB) $(COMMON_HDRS)
	@mkdir -p $(@D)
	@echo "CC      $<"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $< $(COMMON_LIB) $(LDLIBS) -o $@

# Built without the sanitizers' flags: a preloaded library must not bring its
# own sanitizer runtime into the program under test.
$(BUILD)/tools/%.so: tests/tools/preload/%.c
	@mkdir -p $(@D)
	@echo "CC      $<"
	$(Q)$(CC) -std=c11 -Wall -Wextra -O2 -g -fPIC -shared $< -o $@ -ldl

# The suite against the reference solutions: this must always pass.
test: $(SOLUTION_BINS) $(PARTNER_BINS) tools
	@tests/run --bin $(BUILD)/solutions --src solutions --ref $(BUILD)/solutions --tools $(BUILD)/tools $(if $(FILTER),--filter '$(FILTER)') $(LESSON)

# The same tests against a student's lessons/. A program that does not compile
# must not stop the others from being graded, hence the -k and the "|| true";
# its lesson then fails every test with the compiler's first error.
grade: tools $(PARTNER_BINS)
	@$(MAKE) --no-print-directory -k lessons || true
	@tests/run --grade --bin $(LESSON_BUILD) --src $(LESSON_SRC) --ref $(BUILD)/solutions --tools $(BUILD)/tools $(LESSON)

# Where the suite spends its time: each file's time and the slowest tests.
.PHONY: test-time
test-time:
	@tools/test-time --build $(BUILD) $(if $(JOBS),--jobs $(JOBS)) $(LESSON)

# Every untouched skeleton must fail its lesson's tests (a test that cannot fail
# is a defect). Run on a clean checkout: lessons/ are the pristine skeletons.
teeth: lessons tools $(PARTNER_BINS)
	@tests/run --teeth --bin $(LESSON_BUILD) --src $(LESSON_SRC) --ref $(BUILD)/solutions --tools $(BUILD)/tools $(LESSON)

# Where this WORKBOOK's lessons/ are built (for tools/lib/workbook.bash).
.PHONY: print-lesson-build
print-lesson-build:
	@echo $(LESSON_BUILD)

run: lessons solutions
	@tools/run-lesson $(LESSON_BUILD) "$(L)" $(BUILD)/solutions

demo: solutions
	@tools/run-lesson $(BUILD)/solutions "$(L)"

# For maintainers: regenerate the skeletons from the solutions' markers.
skeletons:
	@tools/make-skeletons

check-sync:
	@tools/make-skeletons --check

clean:
	rm -rf $(BUILD)

# --- The chat benchmark (lesson 17; bench/README.md) --------------------------
# make bench: build the load generator and the chat servers, then run bench/run:
# lessons 15, 17, 19 and 20 and `ncat --chat` side by side, results in bench/results/.
# Not part of `make test`: it measures, it asserts nothing. The plot needs gnuplot.
BENCH_SRCS := $(wildcard bench/*.c)
BENCH_BINS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))

.PHONY: bench bench-tools
bench: bench-tools
	@$(MAKE) --no-print-directory -k $(BUILD)/solutions/15-chat-server/chat-server $(BUILD)/solutions/17-chat-poll/chat-server \
	    $(patsubst solutions/%.c,$(BUILD)/solutions/%,$(wildcard solutions/19-chat-select/chat-server.c solutions/20-chat-epoll/chat-server.c)) || true
	@bench/run --build $(BUILD)

# The benchmark's programs alone (CI builds them with warnings as errors).
bench-tools: $(BENCH_BINS)

$(BUILD)/bench/%: bench/%.c
	@mkdir -p $(@D)
	@echo "CC      $<"
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $< $(LDLIBS) -o $@

# --- Hardening: sanitizers, fault injection, fuzzing, static analysis, mutants --
# make hardening: everything tools/hardening/ci runs in CI (docs/hardening.md).
.PHONY: hardening
hardening:
	@tools/hardening/ci

# --- Student and instructor tooling (tools/; docs/instructor-guide.md) ---------
#   make progress               every lesson's state, recomputed from the tests
#   make hint L=05 [RESET=1|ALL=1]  the next hint of lesson 05 (one more each time)
#   make watch L=05             rebuild and re-test lesson 05 on every save (Ctrl-C stops)
#   make reveal L=05            once lesson 05 passes: your program next to the reference
#   make doctor                 check this machine has what the workbook needs
#   make report WORKBOOK="a b"  grade students' copies: table + build/report/ (CSV, JSON, JUnit)
#   make list-tests [L=05]      what each lesson's tests check (their names)
#   make check-hints            every lesson has 2 to 4 hints (run by CI)
#   make check-lessons          every lesson has all its parts; every docs link resolves (run by CI)
#   make check-translations     docs/zh-CN/ has every page, in step with the English (run by CI)
#   make check-excerpts         every code excerpt in docs/ matches the file it quotes (run by CI)
.PHONY: progress hint watch reveal doctor report list-tests check-hints check-lessons
progress:
	@tools/progress --workbook $(WORKBOOK) --build $(BUILD)

hint:
	@HINT_STATE=$(BUILD)/hints tools/hint "$(L)" $(if $(RESET),--reset) $(if $(ALL),--all)

watch:
	@tools/watch "$(L)" --workbook $(WORKBOOK) --build $(BUILD) $(if $(MAX_RUNS),--max-runs $(MAX_RUNS))

reveal:
	@tools/reveal "$(L)" --workbook $(WORKBOOK) --build $(BUILD)

doctor:
	@tools/doctor

report:
	@if [ "$(WORKBOOK)" = . ]; then echo 'usage: make report WORKBOOK="class/alice class/bob ..." [L=05]' >&2; exit 2; fi
	@tools/grade-report --build $(BUILD) --out $(BUILD)/report $(if $(L),--lesson $(L)) $(WORKBOOK)

list-tests:
	@tools/list-tests $(L)

check-hints:
	@tools/check-hints

check-lessons:
	@tools/check-lessons

# The Chinese course (docs/zh-CN/) is in step with the English (run by CI).
.PHONY: check-translations
check-translations:
	@tools/check-translations

.PHONY: check-excerpts
check-excerpts:
	@tools/check-excerpts
