/*
 * accept.c - lesson 08: an accept loop, one new fd per connection.
 *
 * Listens, then takes connections off the accept queue one at a time with
 * accept(2). For each it prints the new fd, the local address (getsockname)
 * and the peer's address (getpeername), tells the client who it is, and closes
 * the connection's fd. The listening fd stays open the whole time: it only
 * hands out connections. With -n COUNT it stops after COUNT connections;
 * otherwise it runs until Ctrl-C (SIGINT) or SIGTERM.
 *
 * usage: accept [-n COUNT] [ADDRESS [PORT]]
 *   -n COUNT   serve COUNT connections, then exit (default: until a signal)
 *   ADDRESS    a numeric IPv4 or IPv6 address (default 127.0.0.1)
 *   PORT       default 9999; 0 lets the kernel choose
 *
 * Partner: any client: `nc 127.0.0.1 9999`, `telnet 127.0.0.1 9999`; the
 * tests use tests/tools/peer.c.
 *
 * Read: accept(2), getsockname(2), getpeername(2), close(2), socket(7), ip(7)
 */
#include "report.h"
#include "args.h"
#include "net.h"
#include "server.h"
#include "stop.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define USAGE "usage: accept [-n COUNT] [ADDRESS [PORT]]"

/*
 * Print one line about connection n on fd:
 *   connection 1: fd 4, local 127.0.0.1:9999, peer 127.0.0.1:51234
 * and greet the client with its own address. -1 with errno if a call failed.
 */
static int describe_connection(long n, int fd)
{
    struct sockaddr_storage local, peer;
    socklen_t local_len = sizeof local, peer_len = sizeof peer;

    // TODO: fill local with the connection's own address (getsockname(2)) and
    //       peer with the client's address (getpeername(2)); return -1 if either fails.
    (void)fd, (void)local_len, (void)peer_len;
    errno = ENOSYS;
    return -1;

    char local_text[ADDRESS_TEXT_MAX], peer_text[ADDRESS_TEXT_MAX];
    format_address((struct sockaddr *)&local, local_text, sizeof local_text);
    format_address((struct sockaddr *)&peer, peer_text, sizeof peer_text);
    printf("connection %ld: fd %d, local %s, peer %s\n", n, fd, local_text, peer_text);

    // One short line: a single send() is enough for it (lesson 09 shows why
    // a long one is not). MSG_NOSIGNAL: a client that already left gives
    // EPIPE here, not a SIGPIPE that kills the server.
    char hello[2 * ADDRESS_TEXT_MAX + 64];
    int len = snprintf(hello, sizeof hello, "connection %ld: you are %s, I am %s\n",
                       n, peer_text, local_text);
    if (no_sigpipe(fd) == -1 || send(fd, hello, (size_t)len, MSG_NOSIGNAL) == -1)
        return -1;
    return 0;
}

int main(int argc, char **argv)
{
    long count = 0;
    const char *host = "127.0.0.1";
    uint16_t port = 9999;

    // The command-line frame of common/args.h, the same in every program on
    // purpose (lesson 07's reads alike): only the option differs.
    usage_init(USAGE);
    while (next_option(argc, argv, "n:h") != -1)   /* -n, the only option */
        count = option_long("count", 1, LONG_MAX);
    endpoint_args(argc, argv, &host, &port);
    setvbuf(stdout, NULL, _IOLBF, 0);

    /* socket, SO_REUSEADDR, bind and listen, as lessons 06 and 07 wrote them,
     * and SIGINT/SIGTERM to end the wait below at any moment: see
     * common/stop.h (a flag tested before a blocking accept() could miss a
     * signal). Both are in server_listen (common/server.h). */
    int listener = server_listen(host, port, 5);
    if (announce_listening(listener) == -1)
        die("getsockname");
    printf("the listening socket is fd %d\n", listener);

    long served = 0;
    int ready = 1;
    while ((count == 0 || served < count) && (ready = wait_or_stop(listener, POLLIN)) == 1) {
        // poll said a connection is queued, so accept() returns at once.
        // TODO: take the next connection off the accept queue with accept(2):
        //       it blocks until there is one and returns a NEW fd for it.
        int conn = -1;
        errno = ENOSYS;
        if (conn == -1) {
            if (errno == EINTR)
                continue;           /* a signal: wait_or_stop decides */
            // ECONNABORTED (the client left while queued), EMFILE (out of
            // fds), ...: this connection is lost, the server is not. Pause a
            // moment so a failure that repeats (EMFILE) does not spin the CPU.
            warn_errno("accept");
            poll(NULL, 0, 100);
            continue;
        }
        served++;
        if (describe_connection(served, conn) == -1)
            warn_errno("connection");

        // TODO: close the connection's fd (close(2)); keep the listening fd open.
        printf("connection %ld: closed fd %d\n", served, conn);
    }

    if (ready == -1)
        die("poll");
    if (stop_requested())
        printf("stopped by %s after %ld connections\n", stop_signal_name(), served);
    else
        printf("served %ld connections\n", served);
    if (close(listener) == -1)
        die("close");
    return 0;
}
