/*
 * streams.h - what lesson 14's two servers share: the pair of stdio streams on
 * one connection (the lesson's idea), and the plumbing around it: arguments,
 * signals and a sequential accept loop (lessons 06-08 and 11 wrote that out,
 * common/stop.h stops it).
 * Each program supplies serve(), which talks to one client.
 *
 * usage: PROGRAM [ADDRESS [PORT]]    defaults 127.0.0.1 9999; port 0 works
 *
 * Read: fdopen(3), dup(2), fclose(3)
 */
#ifndef STREAMS_H
#define STREAMS_H

#include "report.h"
#include "args.h"
#include "net.h"
#include "server.h"
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

/* run_server's serve(), and the wrapper that calls it for each client. */
static void (*stream_serve)(long n, int conn);

static void serve_with_stop(long n, int conn, void *unused)
{
    (void)unused;
    // A read inside fgets/fread cannot wait in poll(2) on the stop pipe as
    // the accept loop does: a FILE hides whether it still holds buffered
    // bytes, so polling the fd first could sleep while a line sits ready in
    // the buffer. Instead the SIGINT/SIGTERM handler shuts conn's reading
    // side down (common/stop.h): a read blocked, or about to block, then
    // returns end of file. A stop that came before this call does it here.
    stop_shuts_down(conn);
    if (stop_requested() && shutdown(conn, SHUT_RD) == -1)
        warn_errno("shutdown");
    stream_serve(n, conn);
    stop_shuts_down(-1);        // conn is closed; one thread: nothing reused it yet
}

/*
 * Parse [ADDRESS [PORT]], listen, and serve clients one after another with
 * serve(n, conn) until SIGINT or SIGTERM (common/server.h). serve() owns
 * conn: it must close it (through fclose of its streams).
 */
static int run_server(int argc, char **argv, const char *usage, void (*serve)(long n, int conn))
{
    // stdio writes with write(2), not send(MSG_NOSIGNAL): without this, a
    // client that left would kill the server with SIGPIPE at the next fflush.
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
        die("signal SIGPIPE");
    stream_serve = serve;
    return server_main(argc, argv, usage, 16, serve_with_stop, NULL);
}

#endif
