/*
 * streams.h - what lesson 14's two servers share: the pair of stdio streams on
 * one connection (the lesson's idea), and the plumbing around it: arguments,
 * signals and a sequential accept loop (lessons 06-08 and 11 wrote that out,
 * common/stop.h stops it).
 * Each program supplies serve(), which talks to one client.
 *
 * usage: PROGRAM [HOST [PORT]]    defaults 127.0.0.1 9999; port 0 works
 *
 * Read: fdopen(3), dup(2), fclose(3)
 */
#ifndef STREAMS_H
#define STREAMS_H

#include "report.h"
#include "args.h"
#include "net.h"
#include "stop.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/*
 * Wrap the connected socket conn in two streams: *in for reading, *out for
 * writing. 0 on success: then the streams own the fds, and fclose(3) on each
 * (once) closes everything. -1 with errno set on failure: then conn and
 * anything made from it are already closed.
 */
static int open_streams(int conn, FILE **in, FILE **out)
{
    // TODO: make *in with fdopen(3) on conn ("r"), and *out with fdopen on a dup(2) of
    // TODO: conn ("w"), so each FILE has its own fd to close. One "r+" stream is a trap:
    // TODO: the chapter says why. On failure close what is open and return -1.
    *in = *out = NULL;
    close(conn);
    errno = ENOSYS;
    return -1;
}

/*
 * Parse [HOST [PORT]], listen, and serve clients one after another with
 * serve(conn, peer_text) until SIGINT or SIGTERM. serve() owns conn: it must
 * close it (through fclose of its streams). Returns the exit status.
 */
static int run_server(int argc, char **argv, const char *name,
                      void (*serve)(int conn, const char *peer))
{
    const char *host = "127.0.0.1", *port_text = "9999", *why;
    uint16_t port;
    if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        printf("usage: %s [HOST [PORT]]\n", name);
        return 0;
    }
    if (argc > 3) {
        fprintf(stderr, "usage: %s [HOST [PORT]]\n", name);
        return 1;
    }
    if (argc >= 2)
        host = argv[1];
    if (argc == 3)
        port_text = argv[2];
    if (parse_port(port_text, &port, &why) == -1) {
        fprintf(stderr, "%s: port %s: %s\nusage: %s [HOST [PORT]]\n", name, port_text, why, name);
        return 1;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);

    // SIGINT/SIGTERM (common/stop.h): the accept wait below ends whenever
    // one lands. A read inside fgets/fread is interrupted too (no
    // SA_RESTART: the stream's read fails with EINTR, ferror is set), but
    // a stream cannot wait on the self-pipe as poll(2) can: a FILE hides
    // whether it still holds buffered bytes, so polling the fd first could
    // sleep while a line sits ready in the buffer. So serve() tests
    // stop_requested() before each read, and a signal landing in the
    // microseconds between that test and read(2) waits for the client's
    // next line or its leaving. Lesson 17 shows the loop without that gap.
    if (stop_init() == -1)
        die("stop_init");
    // stdio writes with write(2), not send(MSG_NOSIGNAL): without this, a
    // client that left would kill the server with SIGPIPE at the next fflush.
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
        die("signal SIGPIPE");

    const char *failed;
    int lfd = tcp_listen(host, port_text, 16, &failed);
    if (lfd == -1 && strncmp(failed, "getaddrinfo", 11) == 0) {
        // tcp_listen takes numeric addresses only: a bad argument, not a failed call.
        fprintf(stderr, "%s: %s: not a numeric IPv4 or IPv6 address\nusage: %s [HOST [PORT]]\n",
                name, host, name);
        return 1;
    }
    if (lfd == -1)
        die(failed);
    if (announce_listening(lfd) == -1)
        die("getsockname");

    int ready;
    while ((ready = wait_or_stop(lfd, POLLIN)) == 1) {
        int conn = accept(lfd, NULL, NULL);
        if (conn == -1) {
            if (errno != EINTR)
                warn_errno("accept");   // e.g. ECONNABORTED, EMFILE: go on
            continue;
        }
        char peer[ADDRESS_TEXT_MAX];
        if (peer_address(conn, peer, sizeof peer) == -1)
            snprintf(peer, sizeof peer, "?");
        printf("connection from %s\n", peer);
        serve(conn, peer);
    }
    if (ready == -1)
        die("poll");
    printf("stopping on %s\n", stop_signal_name());
    close(lfd);
    return 0;
}

#endif
