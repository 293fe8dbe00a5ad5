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
static long serve(int conn)
{
    static unsigned char body[RR_MAX_BODY];
    long requests = 0;
    for (;;) {
        unsigned char header[RR_HEADER_SIZE];
        // Wait for the next request, or for SIGINT/SIGTERM (common/stop.h:
        // a stop that lands at any moment ends this wait).
        int ready = wait_or_stop(conn, POLLIN);
        if (ready == -1)
            warn_errno("poll");
        if (ready != 1)
            return requests;
        int got = rr_recv_full(conn, header, sizeof header);
        if (got == 0)
            return requests;                 /* the client is done */
        if (got == -1) {
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
            if (got == -1)
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

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "-h") == 0) {
        printf("%s\n", USAGE);
        return 0;
    }
    if (argc > 3 || (argc > 1 && argv[1][0] == '-')) {
        fprintf(stderr, "%s\n", USAGE);
        return 1;
    }
    const char *host = argc > 1 ? argv[1] : "127.0.0.1";
    const char *port = argc > 2 ? argv[2] : "9999", *why;
    uint16_t port_number;
    if (parse_port(port, &port_number, &why) == -1) {
        fprintf(stderr, "rr-server: port %s: %s\n%s\n", port, why, USAGE);
        return 1;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);

    if (stop_init() == -1)      /* SIGINT/SIGTERM end the waits below, race-free */
        die("stop_init");
    signal(SIGPIPE, SIG_IGN);   /* a client gone mid-reply is EPIPE, not death */

    // The listening socket comes from common/net.h; lessons 06 and 07 build it by hand.
    const char *failed;
    int fd = tcp_listen(host, port, 16, &failed);
    if (fd == -1)
        die(failed);
    if (announce_listening(fd) == -1)
        die("getsockname");

    int ready;
    while ((ready = wait_or_stop(fd, POLLIN)) == 1) {
        int conn = accept(fd, NULL, NULL);
        if (conn == -1) {
            if (errno != EINTR)
                warn_errno("accept");
            continue;
        }
        char who[ADDRESS_TEXT_MAX];
        if (peer_address(conn, who, sizeof who) == -1)
            snprintf(who, sizeof who, "?");
        printf("client %s connected\n", who);
        long requests = serve(conn);
        printf("client %s closed after %ld requests\n", who, requests);
        if (close(conn) == -1)
            warn_errno("close");
    }
    if (ready == -1)
        die("poll");
    printf("stopped by %s\n", stop_signal_name());
    if (close(fd) == -1)
        die("close");
    return 0;
}
