/*
 * lines-server.c - lesson 14: a line protocol over stdio streams.
 *
 * For each client, one after another: read lines with fgets(3) from one
 * stream, and answer each on the other stream with fprintf(3) and fflush(3).
 * The protocol has one rule: every line is answered by its length in bytes
 * and its text in upper case.
 *     hello        ->  5 HELLO
 *     Two words    ->  9 TWO WORDS
 * A line may end in "\n" or "\r\n" (telnet); neither counts in the length.
 * A line longer than MAX_LINE bytes is answered "error: line longer than 1000
 * bytes" and skipped; a line with a NUL byte in it, "error: line contains a
 * NUL byte" (a C string cannot carry it). The client ends the session by
 * closing.
 *
 * usage: lines-server [HOST [PORT]]    defaults 127.0.0.1 9999
 *
 * Partner: telnet 127.0.0.1 9999, or nc -C 127.0.0.1 9999.
 * The source course's Example 1 on the same streams: hello-server.c.
 *
 * Read: fgets(3), fprintf(3), fflush(3), ferror(3), fclose(3), fdopen(3),
 *       toupper(3), memchr(3)
 */
#include "streams.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define MAX_LINE 1000

/*
 * How many bytes fgets(3) stored in line. fgets returns no count, and
 * strlen() would stop at a NUL byte the client sent ("a\0b\n" would look
 * like "a", and its missing '\n' like an over-long line). But fgets writes
 * nothing after the NUL it ends with: fill the buffer with a non-NUL byte
 * before calling it, and the last NUL in the buffer is the one fgets wrote.
 */
static size_t fgets_length(const char *line, size_t size)
{
    size_t end = size;
    while (end > 0 && line[end - 1] != '\0')
        end--;
    return end > 0 ? end - 1 : 0;
}

/* The length of a line's text: without its "\n" or "\r\n". */
static size_t text_length(const char *line, size_t got)
{
    if (got > 0 && line[got - 1] == '\n')
        got--;
    if (got > 0 && line[got - 1] == '\r')
        got--;
    return got;
}

/* "hello" -> "HELLO", and a NUL after its len bytes. */
static void upper_case(char *line, size_t len)
{
    line[len] = '\0';
    for (size_t i = 0; i < len; i++)
        line[i] = (char)toupper((unsigned char)line[i]);
}

/* Read and drop the rest of an over-long line, up to and including its '\n'. */
static void skip_rest_of_line(FILE *in)
{
    int c;
    while ((c = getc(in)) != EOF && c != '\n')
        ;
}

static void serve(long n, int conn)
{
    FILE *in, *out;
    if (open_streams(conn, &in, &out) == -1) {
        warn_errno("open_streams");
        return;
    }

    // Room for MAX_LINE bytes, "\r\n" and the NUL that fgets adds.
    char line[MAX_LINE + 3];
    unsigned long answered = 0;
    while (!stop_requested()) {
        memset(line, 'x', sizeof line);     /* for fgets_length: no NUL yet */
        // TODO: read one line from `in` into line with fgets(3); NULL means the client
        // TODO: closed (feof) or a read failed (ferror): leave the loop either way.
        break;
        int written;
        size_t got = fgets_length(line, sizeof line);
        size_t len = text_length(line, got);
        int whole = got > 0 && line[got - 1] == '\n';
        if (!whole && !feof(in)) {
            // fgets stopped because the buffer is full, not at a line's end.
            skip_rest_of_line(in);
            written = fprintf(out, "error: line longer than %d bytes\n", MAX_LINE);
        } else if (len > MAX_LINE) {
            // It fitted in the buffer (room for "\r\n" too) but is too long.
            written = fprintf(out, "error: line longer than %d bytes\n", MAX_LINE);
        } else if (memchr(line, '\0', len) != NULL) {
            // Never strchr/%s on received bytes: a NUL would cut the text.
            written = fprintf(out, "error: line contains a NUL byte\n");
        } else {
            upper_case(line, len);
            // TODO: answer "LENGTH TEXT\n" on `out` with fprintf(3), keeping its result in
            // TODO: written (negative on error).
            written = -1;
            errno = ENOSYS;
        }
        // TODO: send the answer now with fflush(3): a full buffer or fclose would send it
        // TODO: too, but the client is waiting for it. A failure ends this connection.
        if (written < 0) {
            warn_errno("fprintf/fflush");   // EPIPE, ECONNRESET: the client has gone
            break;
        }
        answered++;
    }
    if (ferror(in) && !stop_requested())
        warn_errno("fgets");

    // Each stream closed exactly once; fclose closes its fd, so no close(conn).
    if (fclose(out) == EOF)
        warn_errno("fclose");
    if (fclose(in) == EOF)
        warn_errno("fclose");
    printf("client %ld: closed the connection after %lu lines\n", n, answered);
}

int main(int argc, char **argv)
{
    return run_server(argc, argv, "usage: lines-server [ADDRESS [PORT]]", serve);
}
