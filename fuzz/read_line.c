/*
 * fuzz/read_line.c - a libFuzzer target for common/net.c read_line().
 *
 * Every line-based program from lesson 11 on cuts lines out of a byte stream
 * with read_line (or the same logic written raw). The fuzzer's input is the
 * stream: its first byte picks the line buffer size (1..64 bytes, so short and
 * over-long lines both happen), the rest is written to one end of a
 * socketpair(2) and read back with read_line from the other end. Every line
 * read must equal what a model of the contract in net.h says, computed on
 * its own from the whole input (see the loop):
 *   - a line ends at "\n"; one "\r" before it is dropped;
 *   - a line whose text (without "\r\n") is longer than size-1 bytes comes
 *     back cut to size-1, *truncated set, and the rest up to its "\n" is
 *     skipped; a text of size-1 bytes fits, however it ends;
 *   - a last line without "\n" comes back as it is; then 0 (end of stream).
 * ASan checks every access; a mismatch with the model aborts.
 *
 * Build and run: tools/hardening/fuzz (clang -fsanitize=fuzzer,address).
 * link: common/net.c common/chat.c common/stop.c common/report.c common/args.c
 */
#include "net.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_INPUT 65536

static void check(int ok, const char *what, size_t line_no)
{
    if (!ok) {
        fprintf(stderr, "read_line model mismatch at line %zu: %s\n", line_no, what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > MAX_INPUT)
        return 0;
    size_t line_size = 1 + data[0] % 64;
    const char *in = (const char *)data + 1;
    size_t len = size - 1;

    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
        return 0;
    int big = 4 * MAX_INPUT;    /* all of the input fits before we read */
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(sv[0], in + off, len - off);
        if (n <= 0)
            abort();
        off += (size_t)n;
    }
    shutdown(sv[0], SHUT_WR);

    static struct line_reader reader;   /* 4 KiB: keep it off the stack */
    line_reader_init(&reader, sv[1]);
    char *line = malloc(line_size);     /* exact size, so ASan sees overflows */
    if (line == NULL)
        abort();

    /*
     * The model, worked out from the whole input before reading anything and
     * without read_line's byte-at-a-time state: split the input at each "\n";
     * a piece that had a "\n" loses one "\r" at its end; what remains is the
     * line's text, and only a text longer than line_size - 1 bytes is cut and
     * marked truncated. (The earlier model compared the length *with* the
     * "\r", as read_line did, so a CRLF line that fits exactly was wrongly
     * reported truncated by both and the fuzzer could not see it.)
     */
    size_t pos = 0, line_no = 0;
    for (;;) {
        int truncated = -1;
        int rc = read_line(&reader, line, line_size, &truncated);
        line_no++;
        check(rc == 0 || rc == 1, "returned neither 0 nor 1", line_no);
        if (pos == len) {
            check(rc == 0, "a line after the end of the input", line_no);
            break;
        }
        check(rc == 1, "end of stream before the input was used up", line_no);

        const char *nl = memchr(in + pos, '\n', len - pos);
        size_t piece = nl ? (size_t)(nl - (in + pos)) : len - pos;
        size_t text = piece;
        if (nl && text > 0 && in[pos + text - 1] == '\r')
            text--;
        int want_trunc = text > line_size - 1;
        size_t want = want_trunc ? line_size - 1 : text;

        check(truncated == want_trunc, "wrong *truncated", line_no);
        check(memchr(line, '\0', line_size) != NULL, "line not NUL-terminated", line_no);
        check(line[want] == '\0', "line not terminated where expected", line_no);
        check(memcmp(line, in + pos, want) == 0, "wrong bytes", line_no);
        pos += nl ? piece + 1 : piece;
    }
    free(line);
    close(sv[0]);
    close(sv[1]);
    return 0;
}
