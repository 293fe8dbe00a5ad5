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
    //@todo make *in with fdopen(3) on conn ("r"), and *out with fdopen on a dup(2) of
    //@todo conn ("w"), so each FILE has its own fd to close. One "r+" stream is a trap:
    //@todo the chapter says why. On failure close what is open and return -1.
    //@ *in = *out = NULL;
    //@ close(conn);
    //@ errno = ENOSYS;
    //@ return -1;
    //@begin
    *in = *out = NULL;
    int conn2 = dup(conn);
    if (conn2 != -1 && (*in = fdopen(conn, "r")) != NULL && (*out = fdopen(conn2, "w")) != NULL)
        return 0;
    int saved = errno;
    if (*in != NULL)
        fclose(*in);      // closes conn with it
    else
        close(conn);
    if (conn2 != -1)
        close(conn2);     // *out was never made, so conn2 is still a bare fd
    errno = saved;
    return -1;
    //@end
}

/*
 * Parse [HOST [PORT]], listen, and serve clients one after another with
 * serve(n, conn, NULL) until SIGINT or SIGTERM (common/server.h). serve()
 * owns conn: it must close it (through fclose of its streams).
 */
static int run_server(int argc, char **argv, const char *usage,
                      void (*serve)(long n, int conn, void *unused))
{
    const char *host = "127.0.0.1";
    uint16_t port = 9999;
    usage_init(usage);
    next_option(argc, argv, "h");       /* no options but -h */
    endpoint_args(argc, argv, &host, &port);
    setvbuf(stdout, NULL, _IOLBF, 0);

    // SIGINT/SIGTERM (common/server.h): the accept wait ends whenever one
    // lands. A read inside fgets/fread is interrupted too (no SA_RESTART:
    // the stream's read fails with EINTR, ferror is set), but a stream
    // cannot wait on the self-pipe as poll(2) can: a FILE hides whether it
    // still holds buffered bytes, so polling the fd first could sleep while
    // a line sits ready in the buffer. hello-server polls once, while its
    // buffer is surely empty; lines-server tests stop_requested() before
    // each read, and a signal landing in the microseconds between that test
    // and read(2) waits for the client's next line or its leaving. Lesson 17
    // shows the loop without that gap.
    //
    // stdio writes with write(2), not send(MSG_NOSIGNAL): without this, a
    // client that left would kill the server with SIGPIPE at the next fflush.
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
        die("signal SIGPIPE");
    int listener = server_start(host, port, 16);
    serve_until_stopped(listener, serve, NULL);
    return 0;
}

#endif
