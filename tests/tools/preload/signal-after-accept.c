/*
 * signal-after-accept.c - raise a signal the moment accept(2) returns a
 * connection, loaded with LD_PRELOAD.
 *
 * A stop signal that lands after accept() has returned and before the
 * server's first read of the connection is the race lesson 14's stdio
 * servers must close (solutions/14-streams/streams.h, serve_with_stop): the
 * handler has no connection to shut down yet, so the server itself must look
 * at the stop before it reads. A signal sent at a random moment almost never
 * lands in a window a few microseconds wide; this library puts it there
 * every time:
 *
 *     LD_PRELOAD=build/tools/signal-after-accept.so SIGNAL_AFTER_ACCEPT=15 \
 *         hello-server 127.0.0.1 0
 *
 * Each accept() or accept4() that returns a connection first raises signal
 * number SIGNAL_AFTER_ACCEPT in the calling thread (raise(3): its handler
 * runs before raise returns), then returns the connection as usual.
 *
 * Read: accept(2), raise(3), ld.so(8) (LD_PRELOAD)
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>

typedef int accept_fn(int, struct sockaddr *, socklen_t *);
typedef int accept4_fn(int, struct sockaddr *, socklen_t *, int);

/* The connection (or -1) as the real call returned it, after the signal. */
static int after(int conn)
{
    const char *sig = getenv("SIGNAL_AFTER_ACCEPT");
    if (conn != -1 && sig != NULL && atoi(sig) > 0)
        raise(atoi(sig));
    return conn;
}

int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
    accept_fn *real = (accept_fn *)dlsym(RTLD_NEXT, "accept");
    return after(real(fd, addr, len));
}

int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    accept4_fn *real = (accept4_fn *)dlsym(RTLD_NEXT, "accept4");
    return after(real(fd, addr, len, flags));
}
