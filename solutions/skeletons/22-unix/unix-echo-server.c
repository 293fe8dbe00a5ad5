/*
 * unix-echo-server.c - lesson 22: an echo server on a Unix-domain stream socket.
 *
 * The same accept-and-echo loop as a TCP server, but the address is a name
 * on this machine, not an IP address and a port: a path in the file system,
 * or "@name" in Linux's abstract namespace. Because both ends are on one
 * machine, the kernel can tell the server who connected: SO_PEERCRED gives
 * the client's process ID, user ID and group ID, which no client can fake.
 * Clients are served one after another; each one's bytes come back as sent.
 *
 * bind(2) on a path creates a socket file, and nothing removes it: when the
 * server stops (SIGINT, SIGTERM) it unlink(2)s the path itself. A server
 * that dies without doing so (SIGKILL, a crash) leaves the file behind; the
 * next bind to that path fails with EADDRINUSE, and a client's connect
 * fails with ECONNREFUSED. An abstract name leaves nothing behind.
 *
 * usage: unix-echo-server NAME
 *   NAME  a path (at most 107 bytes) or @NAME for the abstract namespace
 *
 * Prints "listening on NAME", then for each client:
 *   client 1: pid 4242, uid 1000, gid 1000
 *   client 1: closed after 12 bytes
 * and "stopped by SIGTERM" at the end.
 *
 * Partner: unix-client NAME MESSAGE...
 *
 * Read: unix(7) (SO_PEERCRED), bind(2), unlink(2), socket(7)
 */
#define _GNU_SOURCE             /* struct ucred (glibc hides it otherwise) */
#include "report.h"
#include "args.h"
#include "net.h"
#include "server.h"
#include "stop.h"
#include "unix.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define USAGE "usage: unix-echo-server NAME (a path, or @NAME for the abstract namespace)"

/* Say who is on the other end of conn, as the kernel saw it at connect time. */
static void print_peer(long client, int conn)
{
    // TODO: ask the kernel who connected: getsockopt(2) SOL_SOCKET, SO_PEERCRED into
    //       a struct ucred (unix(7)); on failure warn_errno("getsockopt SO_PEERCRED")
    //       and return. Then print "client N: pid P, uid U, gid G".
    (void)client, (void)conn;
}

/* Echo conn's bytes back until it closes; then close it. */
static void serve(long client, int conn)
{
    char buf[4096];
    size_t total = 0;
    print_peer(client, conn);
    // wait_or_stop (common/stop.h): bytes to read, or SIGINT/SIGTERM, whenever it lands.
    int ready;
    while ((ready = wait_or_stop(conn, POLLIN)) == 1) {
        ssize_t n = recv(conn, buf, sizeof buf, 0);
        if (n == 0)
            break;
        if (n == -1) {
            if (errno == EINTR)
                continue;
            warn_errno("recv");
            break;
        }
        // A Unix stream socket is a byte stream like TCP: send may be short.
        if (send_all(conn, buf, (size_t)n) == -1) {
            warn_errno("send");
            break;
        }
        total += (size_t)n;
    }
    if (ready == -1)
        warn_errno("poll");
    printf("client %ld: closed after %zu bytes\n", client, total);
    if (close(conn) == -1)
        warn_errno("close");
}

int main(int argc, char **argv)
{
    usage_init(USAGE);
    only_arguments(argc, argv, 1, 1);           /* no options but -h */
    const char *name = argv[optind];
    setvbuf(stdout, NULL, _IOLBF, 0);

    if (stop_init() == -1)      /* SIGINT/SIGTERM end every wait below, race-free */
        die("stop_init");

    int listener = unix_listen(name, SOMAXCONN);    /* unix.h */
    // accept_or_stop (common/server.h): lesson 08's accept loop, ended by
    // SIGINT/SIGTERM whenever it lands.
    long clients = 0;
    int conn;
    while ((conn = accept_or_stop(listener)) != -1)
        serve(++clients, conn);

    if (close(listener) == -1)
        warn_errno("close");
    // TODO: the socket file outlives the socket: remove it with unlink(2), unless
    //       the name is abstract (name[0] == '@': there is no file).
    printf("stopped by %s\n", stop_signal_name());
    return 0;
}
