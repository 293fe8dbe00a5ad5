/*
 * fuzz/chat.c - a libFuzzer target for the chat protocol, common/chat.c: what
 * every chat server (lessons 15, 17 and later) does with the bytes a client
 * sends, without any socket.
 *
 * The input after its first byte is what one client sends; the first byte
 * picks the piece sizes (1..32 bytes) it arrives in. Each piece goes through
 * the line cutter as the servers feed it (size MAX_LINE + 1); every line or
 * "too long" that comes out must equal a model worked out on its own from the
 * whole input (split at "\n", one "\r" dropped, a text over MAX_LINE bytes is
 * too long, a last line without "\n" is never complete). Each line is then
 * cleaned, parsed as a command, and formatted as the room would see it:
 * the formatted line must end in its one "\n" and hold no other control byte
 * but TAB; a /nick name must pass valid_name exactly when the model says so.
 * Every line is also appended to an out_queue, which is drained in pieces:
 * what comes out must be what went in, in order. ASan and UBSan check every
 * access; a mismatch aborts.
 *
 * link: common/chat.c common/net.c common/report.c common/args.c common/stop.c
 */
#include "chat.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check(int ok, const char *what, size_t line_no)
{
    if (!ok) {
        fprintf(stderr, "chat model mismatch at line %zu: %s\n", line_no, what);
        abort();
    }
}

/* The name rule, written out again on its own terms. */
static int model_valid_name(const char *name)
{
    size_t len = strlen(name);
    if (len < 1 || len > NAME_LEN)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char b = name[i];
        if (!((b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') ||
              b == '_' || b == '-'))
            return 0;
    }
    return 1;
}

/* One line as the protocol handles it: clean, parse, format; check each. */
static void handle(char *line, size_t len, size_t line_no, struct out_queue *q)
{
    clean_line(line, len);
    for (size_t i = 0; i < len; i++) {
        unsigned char b = (unsigned char)line[i];
        check((b >= 0x20 || b == '\t') && b != 0x7f, "control byte left by clean_line", line_no);
    }
    const char *name = NULL;
    enum chat_command cmd = parse_command(line, &name);
    check((cmd == CMD_SAY) == (line[0] != '/'), "a line without / is not CMD_SAY", line_no);
    if (cmd == CMD_NICK) {
        check(*name == '\0' || (name > line && name <= line + len),
              "the /nick name is outside the line", line_no);
        check(valid_name(name) == model_valid_name(name), "valid_name disagrees", line_no);
    }
    char text[CHAT_TEXT_MAX];
    size_t n = format_line(text, SAID, "[::ffff:127.0.0.1]:65535", line);
    check(n >= 1 && n < CHAT_TEXT_MAX && text[n - 1] == '\n' && text[n] == '\0',
          "format_line did not end in one \\n", line_no);
    for (size_t i = 0; i + 1 < n; i++) {
        unsigned char b = (unsigned char)text[i];
        check((b >= 0x20 || b == '\t') && b != 0x7f, "control byte in a formatted line", line_no);
    }
    if (queue_append(q, text, n) == -1)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536)
        return 0;
    size_t piece_max = 1 + data[0] % 32;
    const char *in = (const char *)data + 1;
    size_t in_len = size - 1;

    /* The model's lines, from the whole input at once. */
    struct out_queue expected = {0}, got = {0};
    size_t model_lines = 0;
    for (size_t pos = 0; pos < in_len;) {
        const char *nl = memchr(in + pos, '\n', in_len - pos);
        if (nl == NULL)
            break;                      /* never completed: never handed out */
        size_t len = (size_t)(nl - (in + pos));
        if (len > 0 && in[pos + len - 1] == '\r')
            len--;
        char mark = len > MAX_LINE ? 'L' : 'S';    /* too long, or a line */
        if (queue_append(&expected, &mark, 1) == -1 ||
            (mark == 'S' && queue_append(&expected, in + pos, len) == -1) ||
            queue_append(&expected, "\n", 1) == -1)
            abort();
        model_lines++;
        pos = (size_t)(nl - in) + 1;
    }

    /* The cutter, fed in pieces. A too-long line is reported when it becomes
     * certain, before its "\n" comes; the model marks it at the line. */
    char *line = malloc(MAX_LINE + 1); /* exact size, so ASan sees overflows */
    struct out_queue room = {0};
    struct line_cutter cut;
    if (line == NULL)
        abort();
    line_cutter_init(&cut, line, MAX_LINE + 1);
    size_t off = 0, line_no = 0, step = 0;
    while (off < in_len) {
        size_t n = 1 + (step++ * 7 + (unsigned char)in[off]) % piece_max;
        if (n > in_len - off)
            n = in_len - off;
        for (size_t used, p = 0; p < n; p += used) {
            enum cut_result r = cut_line(&cut, in + off + p, n - p, &used);
            check(used <= n - p, "cut_line used more than it was given", line_no);
            if (r == CUT_NONE)
                continue;
            line_no++;
            char mark = r == CUT_TOO_LONG ? 'L' : 'S';
            check(cut.len <= MAX_LINE && line[cut.len] == '\0', "a line not cut to size", line_no);
            if (queue_append(&got, &mark, 1) == -1 ||
                (mark == 'S' && queue_append(&got, line, cut.len) == -1) ||
                queue_append(&got, "\n", 1) == -1)
                abort();
            if (r == CUT_LINE && cut.len > 0)
                handle(line, cut.len, line_no, &room);
        }
        off += n;
    }
    check(line_no == model_lines || (line_no == model_lines + 1 &&
          got.len > 1 && got.buf[got.len - 2] == 'L'), "number of lines", line_no);
    /* A too-long line without its "\n" yet was reported early: the model
     * has no such line. Compare what both have. */
    size_t common = expected.len < got.len ? expected.len : got.len;
    check(memcmp(expected.buf ? expected.buf : "", got.buf ? got.buf : "", common) == 0,
          "the lines differ from the model", line_no);

    /* The room's queue, drained in pieces: what went in comes out, in order. */
    size_t total = queued(&room), taken = 0;
    char *copy = malloc(total + 1);
    if (copy == NULL)
        abort();
    if (total > 0 && room.buf != NULL)
        memcpy(copy, room.buf, total);
    while (room.buf != NULL && queued(&room) > 0) {
        size_t n = 1 + taken % 977;
        if (n > queued(&room))
            n = queued(&room);
        check(memcmp(room.buf + room.head, copy + taken, n) == 0, "out_queue reordered bytes", 0);
        room.head += n;
        taken += n;
    }
    check(taken == total, "out_queue lost bytes", 0);
    free(copy);
    free(room.buf);
    free(expected.buf);
    free(got.buf);
    free(line);
    return 0;
}
