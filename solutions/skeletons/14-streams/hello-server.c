/*
 * hello-server.c - lesson 14: the source course's "Example 1", in C stdio.
 *
 * For each client, one after another: wrap the connected socket in two stdio
 * streams (open_streams in streams.h: fdopen(3) and dup(2)), read exactly 5
 * bytes with fread, answer "Hello Client!" with fputs, fflush, and close both
 * streams. If the client closes before sending 5 bytes, there is no answer.
 *
 * usage: hello-server [HOST [PORT]]    defaults 127.0.0.1 9999
 *
 * Partner: telnet 127.0.0.1 9999 (or nc), then type 12345.
 * The line protocol over the same streams: lines-server.c.
 *
 * Read: fdopen(3), fread(3), fputs(3), fflush(3), fclose(3), socket(7)
 */
#include "streams.h"

#include <stdio.h>

#define GREETING "Hello Client!"

static void serve(long n, int conn)
{
    FILE *in, *out;
    if (open_streams(conn, &in, &out) == -1) {
        warn_errno("open_streams");
        return;
    }

    char data[6] = {0};
    size_t got = 0;
    // TODO: read exactly 5 bytes from `in` into data with fread(3); it keeps reading
    // TODO: until it has them, or the client closes, or an error. Store the count in got.
    if (got < 5) {
        if (ferror(in))
            warn_errno("fread");
        printf("client %ld: sent %zu bytes, then closed: no answer\n", n, got);
    } else {
        printf("client %ld: read 5 bytes: %s\n", n, data);
        int sent = -1;
        // TODO: write GREETING to `out` with fputs(3), then push it out with fflush(3):
        // TODO: until then it waits in this process's buffer. sent = 0 when both worked.
        errno = ENOSYS;
        if (sent == -1)
            warn_errno("fflush");   // EPIPE or ECONNRESET: the client has gone
        else
            printf("client %ld: sent \"%s\"\n", n, GREETING);
    }

    // TODO: close each stream once with fclose(3): it flushes and closes that stream's fd,
    // TODO: so no close(conn) after it (that would close a number twice).
    (void)out;
    printf("client %ld: closed\n", n);
}

int main(int argc, char **argv)
{
    return run_server(argc, argv, "usage: hello-server [ADDRESS [PORT]]", serve);
}
