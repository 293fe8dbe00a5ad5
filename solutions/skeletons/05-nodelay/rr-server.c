/*
 * rr-server.c - lesson 05: the server side of a small request/response exchange.
 *
 * Serves one client at a time: reads a request (a 4-byte length header, then
 * the body, see rr.h) and answers each with a short reply in a single send,
 * until the client closes. It does nothing about Nagle or delayed ACKs: the
 * stall this lesson measures is caused by the client's write-write-read.
 * Stop it with Ctrl-C (SIGINT) or SIGTERM.
 *
 * usage: rr-server [ADDRESS [PORT]]     (default 127.0.0.1 9999; port 0 works)
 *
 * Partner: rr-client.c, which times the round trips.
 *
 * Read: tcp(7) (TCP_NODELAY, TCP_QUICKACK), recv(2), send(2)
 */
#include "report.h"
#include "args.h"
#include "net.h"
#include "server.h"
#include "stop.h"
#include "rr.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define USAGE "usage: rr-server [ADDRESS [PORT]]"

/* Answer one client's requests until it closes; returns how many it sent. */
static long answer(int conn)
{
    static unsigned char body[RR_MAX_BODY];
    long requests = 0;
    for (;;) {
        unsigned char header[RR_HEADER_SIZE];
        // rr_recv_full waits in wait_or_stop (common/stop.h): SIGINT/SIGTERM
        // end the wait for the next request, or for the rest of one.
        int got = rr_recv_full(conn, header, sizeof header);
        if (got == 0)
            return requests;                 /* the client is done */
        if (got == -1) {
            if (!stop_requested())
                warn_errno("recv");
            return requests;
        }
        unsigned long len = rr_get_length(header);
        if (len > RR_MAX_BODY) {
            fprintf(stderr, "rr-server: request of %lu bytes is too large; dropping the client\n", len);
            return requests;
        }
        // The server cannot answer before the body is in: here it sits,
        // with the header received and (delayed) not yet acknowledged.
        got = rr_recv_full(conn, body, len);
        if (got != 1) {
            if (got == -1 && !stop_requested())
                warn_errno("recv");
            return requests;
        }
        requests++;
        unsigned char reply[RR_HEADER_SIZE + sizeof RR_REPLY - 1];
        rr_put_length(reply, sizeof RR_REPLY - 1);
        memcpy(reply + RR_HEADER_SIZE, RR_REPLY, sizeof RR_REPLY - 1);
        // One send for the whole reply: a single small segment, never stalled.
        if (send_all(conn, reply, sizeof reply) == -1) {
            warn_errno("send");
            return requests;
        }
    }
}

/* One client: its requests answered, a line to say how many, close. */
static void serve(long n, int conn, void *unused)
{
    (void)unused;
    long requests = answer(conn);
    printf("client %ld: closed after %ld requests\n", n, requests);
    if (close(conn) == -1)
        warn_errno("close");
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);   /* a client gone mid-reply is EPIPE, not death */
    // common/server.h: [ADDRESS [PORT]], the listening socket (lessons 06-08
    // build it by hand) and a one-at-a-time accept loop that SIGINT/SIGTERM
    // end, race-free.
    return server_main(argc, argv, USAGE, 16, serve, NULL);
}
