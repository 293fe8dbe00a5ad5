/*
 * recv.c - lesson 10: a byte stream has no message boundaries.
 *
 * A server that reads each client until the client closes its side, printing
 * the size (and the start) of every chunk recv(2) returns, then the total.
 * Two sends by the client can come out of one recv, and one send can take
 * several; only the total is sure. recv returning 0 is the client's orderly
 * close (its FIN). At the end the server tells the client what it counted
 * and closes. Clients are served one after another until Ctrl-C or SIGTERM.
 *
 * usage: recv [-d MS] [-s SIZE] [-r RCVBUF] [ADDRESS [PORT]]
 *   -d MS     wait MS ms after accepting, before the first recv, so that
 *             everything the client sends meanwhile queues up in the kernel
 *   -s SIZE   ask recv for at most SIZE bytes at a time (default 1024)
 *   -r RCVBUF set SO_RCVBUF (the kernel's receive buffer) for the connections
 *   ADDRESS   a numeric IPv4 or IPv6 address (default 127.0.0.1)
 *   PORT      default 9999; 0 lets the kernel choose
 *
 * Partner: `nc -N 127.0.0.1 9999`, `telnet 127.0.0.1 9999`; the tests use
 * tests/tools/peer.c and tests/tools/recv-pieces.c.
 *
 * Read: recv(2) (MSG_PEEK, MSG_WAITALL), tcp(7), socket(7) (SO_RCVBUF,
 *       SO_RCVLOWAT), shutdown(2)
 */
#include "report.h"
#include "args.h"
#include "net.h"
#include "server.h"
#include "stop.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define USAGE "usage: recv [-d MS] [-s SIZE] [-r RCVBUF] [ADDRESS [PORT]]"
#define SHOW_MAX 24     /* bytes of each chunk shown */

/* Print up to SHOW_MAX bytes of buf in quotes, with \n, \r, \t and \xHH for
 * what a terminal would not show, and "..." if there is more. */
static void show_bytes(const char *buf, size_t len)
{
    putchar('"');
    for (size_t i = 0; i < len && i < SHOW_MAX; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (c == '\n') fputs("\\n", stdout);
        else if (c == '\r') fputs("\\r", stdout);
        else if (c == '\t') fputs("\\t", stdout);
        else if (c == '"' || c == '\\') printf("\\%c", c);
        else if (isprint(c)) putchar(c);
        else printf("\\x%02x", c);
    }
    putchar('"');
    if (len > SHOW_MAX)
        fputs("...", stdout);
}

/* What every client gets: a buffer of size bytes, and a delay first. */
struct job {
    char *buf;
    size_t size;
    long delay_ms;
};

/* Read one client until it closes, report, answer with the count, close. */
static void serve(long client, int conn, void *ctx)
{
    const struct job *job = ctx;
    char *buf = job->buf;
    size_t size = job->size;
    long delay_ms = job->delay_ms;
    if (delay_ms > 0) {
        printf("client %ld: waiting %ld ms before the first recv\n", client, delay_ms);
        poll(NULL, 0, (int)delay_ms);       /* a sleep a signal can cut short */
    }

    long chunks = 0;
    size_t total = 0;
    int closed = 0;
    // Wait for bytes (or end of stream), or for SIGINT/SIGTERM: common/stop.h
    // waits in poll(2) on the socket and a self-pipe, so no signal is missed.
    int ready;
    while ((ready = wait_or_stop(conn, POLLIN)) == 1) {
        // TODO: receive up to size bytes into buf with recv(2), the count in n.
        //       If a signal interrupted it (EINTR), try again.
        ssize_t n = -1;
        (void)size;
        errno = ENOSYS;
        if (n == -1) {
            // ECONNRESET: the client reset the connection (RST). It ends
            // this client, not the server.
            char call[64];
            snprintf(call, sizeof call, "client %ld: recv", client);
            warn_errno(call);
            break;
        }
        // TODO: recv returning 0 means the client closed its side (end of
        //       stream): say so (set closed to 1) and leave the loop.
        if (n == 0) { errno = ENOSYS; break; }
        chunks++;
        total += (size_t)n;
        printf("client %ld: chunk %ld: %zd bytes ", client, chunks, n);
        show_bytes(buf, (size_t)n);
        putchar('\n');
    }

    if (ready == -1)
        warn_errno("poll");
    if (closed)
        printf("client %ld: recv returned 0: the client closed its side (orderly shutdown)\n", client);
    printf("client %ld: %zu bytes in %ld chunks\n", client, total, chunks);
    if (closed) {
        // Our side is still open: we may answer after the client's FIN.
        char reply[80];
        int len = snprintf(reply, sizeof reply, "%zu bytes in %ld chunks\n", total, chunks);
        if (send_all(conn, reply, (size_t)len) == -1)
            warn_errno("send");
    }
    if (close(conn) == -1)
        warn_errno("close");
}

int main(int argc, char **argv)
{
    long delay_ms = 0, size = 1024, rcvbuf = 0;
    const char *host = "127.0.0.1";
    uint16_t port = 9999;
    int opt;

    // The command-line frame of common/args.h, the same in every program on
    // purpose (lesson 09's reads alike): only the options differ.
    usage_init(USAGE);
    while ((opt = next_option(argc, argv, "d:s:r:h")) != -1) {
        switch (opt) {
        case 'd': delay_ms = option_long("delay", 0, 60000); break;
        case 's': size = option_long("size", 1, 1L << 24); break;
        case 'r': rcvbuf = option_long("rcvbuf", 1, INT_MAX); break;
        }
    }
    endpoint_args(argc, argv, &host, &port);
    setvbuf(stdout, NULL, _IOLBF, 0);

    char *buf = malloc((size_t)size);
    if (buf == NULL)
        die("malloc");

    /* SIGINT and SIGTERM end every wait below at any moment (common/server.h).
     * Lesson 09's send_all (the reply) sends with MSG_NOSIGNAL: no SIGPIPE. */
    int listener = server_listen(host, port, 5);
    // Set on the listener, SO_RCVBUF is inherited by every accepted socket,
    // and is in place before the handshake fixes the window scale (tcp(7)).
    if (rcvbuf > 0) {
        int value = (int)rcvbuf;
        if (setsockopt(listener, SOL_SOCKET, SO_RCVBUF, &value, sizeof value) == -1)
            die("setsockopt SO_RCVBUF");
    }
    if (announce_listening(listener) == -1)
        die("getsockname");

    struct job job = {buf, (size_t)size, delay_ms};
    serve_until_stopped(listener, serve, &job);
    free(buf);
    return 0;
}
