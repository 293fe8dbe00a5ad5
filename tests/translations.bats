#!/usr/bin/env bats
# tools/check-translations: the Chinese course stays in step with the English.
# Each test builds a tiny course (one chapter, one hint page, a README) in its
# temporary directory, checks that the check passes on it, then drifts one
# thing and checks that the check names it.

bats_require_minimum_version 1.7.0
load helpers/common

TOP=$(cd "$BATS_TEST_DIRNAME/.." && pwd)

setup() {
    R="$BATS_TEST_TMPDIR/course"
    mkdir -p "$R/docs/hints" "$R/docs/zh-CN/hints" "$R/solutions/01-socket"
    : >"$R/solutions/01-socket/socket.c"
    cat >"$R/README.md" <<'MD'
# A workbook

[简体中文](README.zh-CN.md)

Start with [the course](docs/README.md).
MD
    cat >"$R/README.zh-CN.md" <<'MD'
<!-- translation of README.md sha256: PENDING -->
# 一本练习册

[English](README.md)

从[课程](docs/zh-CN/README.md)开始。
MD
    cat >"$R/docs/README.md" <<'MD'
# The course

[简体中文](zh-CN/README.md)

## Lessons

| # | lesson |
| --- | --- |
| 01 | [socket](01-socket.md) |

```sh
make test
```

Back to the [README](../README.md#set-up), or the [code](../solutions/01-socket/socket.c).
MD
    cat >"$R/docs/zh-CN/README.md" <<'MD'
<!-- translation of docs/README.md sha256: PENDING -->
# 课程

[English](../README.md)

## 各课

| # | 课 |
| --- | --- |
| 01 | [套接字](01-socket.md) |

```sh
make test
```

回到 [README](../../README.zh-CN.md#安装)，或看[代码](../../solutions/01-socket/socket.c)。
MD
    cat >"$R/docs/01-socket.md" <<'MD'
# Lesson 01

[简体中文](zh-CN/01-socket.md)

Text.
MD
    cat >"$R/docs/zh-CN/01-socket.md" <<'MD'
<!-- translation of docs/01-socket.md sha256: PENDING -->
# 第 01 课

[English](../01-socket.md)

正文。
MD
    cat >"$R/docs/hints/01-socket.md" <<'MD'
# Hints for lesson 01

[简体中文](../zh-CN/hints/01-socket.md)

## Hint 1
Which call?
MD
    cat >"$R/docs/zh-CN/hints/01-socket.md" <<'MD'
<!-- translation of docs/hints/01-socket.md sha256: PENDING -->
# 第 01 课的提示

[English](../../hints/01-socket.md)

## 提示 1
哪个调用？
MD
    CHECK="$TOP/tools/check-translations --root $R"
}

stamp_all() {
    $CHECK --stamp "$R/README.zh-CN.md" "$R/docs/zh-CN/README.md" "$R/docs/zh-CN/01-socket.md" \
        "$R/docs/zh-CN/hints/01-socket.md" >/dev/null
}

@test "check-translations passes on a course whose translation is complete, stamped and in step" {
    run $CHECK
    [ "$status" -eq 1 ] || fail "unstamped translations should not pass"
    expect_line 'is not stamped yet'
    stamp_all
    run -0 $CHECK
    expect_line 'all 4 pages have an up-to-date translation'
}

@test "check-translations reports a missing translation" {
    stamp_all
    rm "$R/docs/zh-CN/01-socket.md"
    run -1 $CHECK
    expect_line 'docs/01-socket.md: has no translation \(docs/zh-CN/01-socket.md is missing\)'
}

@test "check-translations reports a page whose English changed after its translation as stale" {
    stamp_all
    echo "A new paragraph." >>"$R/docs/01-socket.md"
    run -1 $CHECK
    expect_line 'docs/zh-CN/01-socket.md: is stale: docs/01-socket.md changed after it was translated'
}

@test "check-translations reports a heading missing or at another level" {
    stamp_all
    sed -i 's/^## 各课$/### 各课/' "$R/docs/zh-CN/README.md"
    run -1 $CHECK
    expect_line 'docs/zh-CN/README.md: headings differ from docs/README.md'
}

@test "check-translations reports a code block that is not byte for byte the same" {
    stamp_all
    sed -i 's/^make test$/make  test/' "$R/docs/zh-CN/README.md"
    run -1 $CHECK
    expect_line 'docs/zh-CN/README.md: code blocks differ'
}

@test "check-translations reports a link that goes elsewhere, or to the English page" {
    stamp_all
    sed -i 's|\[套接字\](01-socket.md)|[套接字](../01-socket.md)|' "$R/docs/zh-CN/README.md"
    run -1 $CHECK
    expect_line 'docs/zh-CN/README.md: links differ from docs/README.md'
}

@test "check-translations reports a link that does not resolve in the translated tree" {
    stamp_all
    sed -i 's|(../../solutions/01-socket/socket.c)|(../solutions/01-socket/socket.c)|' "$R/docs/zh-CN/README.md"
    run -1 $CHECK
    expect_line 'docs/zh-CN/README.md: links differ'
    expect_line 'links to docs/solutions/01-socket/socket.c, which does not exist'
}

@test "check-translations reports a table with another shape" {
    stamp_all
    sed -i 's/^| 01 | \[套接字\](01-socket.md) |$/| 01 | [套接字](01-socket.md) | 多余 |/' "$R/docs/zh-CN/README.md"
    run -1 $CHECK
    expect_line 'tables differ in shape'
}
