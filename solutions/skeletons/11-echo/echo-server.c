/*
 * echo-server.c - lesson 11: the source course's echo server, line by line.
 *
 * Greets each client with "Hello, client!" and answers every line it sends
 * with "Echo: " and the line. TCP delivers bytes, not lines, so the server
 * keeps what recv(2) gives it in a buffer and cuts lines out at each "\n": a
 * line split over several recvs is put back together, and several lines in
 * one recv are answered one by one. Clients are served one after another
 * until Ctrl-C (SIGINT) or SIGTERM.
 *
 * Line ends: a line ends at "\n"; a "\r" just before it (telnet sends
 * "\r\n") is not part of the line. Every line the server sends ends in
 * "\r\n", which telnet expects and nc shows as an ordinary line. A last line
 * without "\n" before the client closes is answered too; a line longer than
 * LINE_MAX_BYTES is answered in pieces of that size (its "\n" or "\r\n" never
 * makes an extra, empty piece, and its "\r" never ends up inside one).
 *
 * usage: echo-server [ADDRESS [PORT]]
 *   ADDRESS  a numeric IPv4 or IPv6 address (default 127.0.0.1)
 *   PORT     default 9999; 0 lets the kernel choose
 *
 * Partner: `telnet 127.0.0.1 9999` or `nc 127.0.0.1 9999`.
 *
 * Read: recv(2), send(2), memchr(3), memmove(3), tcp(7)
 */
#include "report.h"
#include "args.h"
#include "net.h"
#include "server.h"
#include "stop.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define USAGE "usage: echo-server [ADDRESS [PORT]]"
#define GREETING "Hello, client!\r\n"
#define LINE_MAX_BYTES 1024

/* The bytes received from one client and not yet handed out as lines. */
struct reader {
    int fd;
    int eof;                        /* recv returned 0: nothing more will come */
    int continued;                  /* the last line handed out was a full
                                       buffer: a piece of a longer line */
    size_t len;                     /* bytes held in buf */
    char buf[LINE_MAX_BYTES];
};

/*
 * The next line from r into line (room for LINE_MAX_BYTES bytes), its length
 * in *len, without the "\n" or "\r\n". Returns 1 for a line, 0 when the
 * client has closed and no bytes are left, -1 with errno set on an error
 * (EINTR when SIGINT or SIGTERM asks us to stop).
 */
static int next_line(struct reader *r, char *line, size_t *len)
{
    for (;;) {
        // TODO: if r->buf holds a whole line (a '\n', see memchr(3)), or is full, or
        //       the client closed (r->eof) leaving some bytes: copy the line into
        //       line without its "\n" or "\r\n", set *len, remove it and its "\n"
        //       from r->buf (memmove(3)), and return 1.
        //       A full buffer is a piece of a longer line (set r->continued): keep
        //       a '\r' it ends with for the next call, and when the next call finds
        //       only that line's end ("\n" or "\r\n"), remove it and return nothing
        //       for it. Clear r->continued after any other line.
        (void)line, (void)len;
        if (r->eof)
            return 0;
        // Wait until bytes (or the end) are there, or a stop signal came
        // (common/stop.h: a signal landing at any moment ends this wait).
        int ready = wait_or_stop(r->fd, POLLIN);
        if (ready != 1) {
            if (ready == 0)
                errno = EINTR;
            return -1;
        }
        // TODO: no whole line yet: recv(2) more bytes into the free end of r->buf.
        //       Count them in r->len; 0 means the client closed (set r->eof);
        //       retry after EINTR; -1 otherwise.
        errno = ENOSYS;
        return -1;
    }
}

/* Print a line for the log with what a terminal would not show spelled out. */
static void log_line(long client, const char *line, size_t len)
{
    printf("client %ld: line \"", client);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)line[i];
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (isprint(c)) putchar(c);
        else printf("\\x%02x", c);
    }
    printf("\"\n");
}

/* Greet one client, echo its lines until it leaves, close. Written out here,
 * the lesson's idea; lesson 18 calls it from common/server.h (echo_lines). */
static void serve(long client, int conn, void *unused)
{
    (void)unused;
    // send_all (common/net.h, written in lesson 09): every byte, no SIGPIPE.
    if (send_all(conn, GREETING, strlen(GREETING)) == -1) {
        char call[64];
        snprintf(call, sizeof call, "client %ld: send", client);
        warn_errno(call);
        close(conn);
        printf("client %ld: dropped\n", client);
        return;
    }

    struct reader r = {.fd = conn};
    char line[LINE_MAX_BYTES];
    char reply[LINE_MAX_BYTES + 16];
    size_t len;
    long lines = 0;
    const char *failed = "recv";
    int rc;
    while ((rc = next_line(&r, line, &len)) == 1) {
        lines++;
        log_line(client, line, len);
        // One send per answer: "Echo: " and the line in one buffer, so the
        // answer leaves in one segment (lesson 05: write-write-read stalls).
        memcpy(reply, "Echo: ", 6);
        memcpy(reply + 6, line, len);
        memcpy(reply + 6 + len, "\r\n", 2);
        if (send_all(conn, reply, len + 8) == -1) {
            failed = "send";
            rc = -1;
            break;
        }
    }
    if (rc == 0)
        printf("client %ld: closed the connection after %ld lines\n", client, lines);
    else if (stop_requested())
        printf("client %ld: disconnected, the server is stopping\n", client);
    else {
        char call[64];
        snprintf(call, sizeof call, "client %ld: %s", client, failed);
        warn_errno(call);       /* ECONNRESET, EPIPE: this client is gone */
        printf("client %ld: dropped after %ld lines\n", client, lines);
    }
    if (close(conn) == -1)
        warn_errno("close");
}

int main(int argc, char **argv)
{
    /* [ADDRESS [PORT]], then clients one at a time; SIGINT and SIGTERM end
     * every wait at any moment (common/server.h). */
    return server_main(argc, argv, USAGE, 5, serve, NULL);
}
