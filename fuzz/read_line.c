/*
 * fuzz/read_line.c - a libFuzzer target for common/net.c read_line().
 *
 * Every line-based program from lesson 11 on cuts lines out of a byte stream
 * with read_line (or the same logic written raw). The fuzzer's input is the
 * stream: its first byte picks the line buffer size (1..64 bytes, so short and
 * over-long lines both happen), the rest is written to one end of a
 * socketpair(2) and read back with read_line from the other end. Every line
 * read must equal what a simple model of the contract in net.h says:
 *   - a line ends at "\n"; one "\r" before it is dropped;
 *   - a line longer than size-1 bytes comes back cut to size-1, *truncated set,
 *     and the rest of it up to its "\n" is skipped;
 *   - a last line without "\n" comes back as it is; then 0 (end of stream).
 * ASan checks every access; a mismatch with the model aborts.
 *
 * Build and run: tools/hardening/fuzz (clang -fsanitize=fuzzer,address).
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

    size_t pos = 0, line_no = 0;
    for (;;) {
        int truncated = -1;
        int rc = read_line(&reader, line, line_size, &truncated);
        line_no++;
        check(rc == 0 || rc == 1, "returned neither 0 nor 1", line_no);

        /* The model: the next segment of the input, up to a newline. */
        const char *nl = memchr(in + pos, '\n', len - pos);
        size_t seg = nl ? (size_t)(nl - (in + pos)) : len - pos;
        if (rc == 0) {
            check(nl == NULL, "end of stream before the last newline", line_no);
            check(seg == 0 || seg > line_size - 1,
                  "end of stream with a short last line not returned", line_no);
            break;
        }
        check(pos < len, "a line after the end of the input", line_no);
        size_t want = seg, want_trunc = 0;
        if (seg > line_size - 1) {
            want = line_size - 1;
            want_trunc = 1;
        } else if (nl && seg > 0 && in[pos + seg - 1] == '\r') {
            want = seg - 1;
        }
        check((size_t)truncated == want_trunc, "wrong *truncated", line_no);
        check(line[want] == '\0', "line not terminated where expected", line_no);
        check(memcmp(line, in + pos, want) == 0, "wrong bytes", line_no);
        if (!nl)
            pos = len;
        else
            pos += seg + 1;
        if (!nl && want_trunc) {
            /* The rest of an over-long last line is skipped: then end of stream. */
            check(read_line(&reader, line, line_size, NULL) == 0, "data after a cut last line", line_no);
            break;
        }
        check(line_no <= len + 2, "more lines than bytes", line_no);
    }
    free(line);
    close(sv[0]);
    close(sv[1]);
    return 0;
}
