/*
 * bind.c - lesson 06: give a socket its local address and port.
 *
 * Creates a TCP socket for the address on the command line, optionally sets
 * SO_REUSEADDR, binds it, and prints the address the kernel bound it to
 * (getsockname(2): with port 0, the port the kernel chose). Then it listens
 * and waits, holding the port, until SIGINT or SIGTERM. Every failure prints
 * the call, the errno name and the message, e.g.
 *     bind: EADDRINUSE (Address already in use)
 *
 * usage: bind [-r] [-1] [-2] [ADDRESS [PORT]]
 *   -r       set SO_REUSEADDR before bind (every real server should)
 *   -1       accept one connection, close it (so this side keeps the
 *            TIME_WAIT), and exit: for the restart experiment
 *   -2       after the bind, try to bind the same socket a second time
 *            (it fails with EINVAL: two addresses need two sockets)
 *   ADDRESS  a numeric IPv4 or IPv6 address (default 127.0.0.1)
 *   PORT     default 9999; 0 lets the kernel choose
 *
 * Partner: any client, e.g. `nc 127.0.0.1 PORT`; watch it with `ss -ltn`
 * and `ss -tan state time-wait`.
 *
 * Read: bind(2), getsockname(2), ip(7) (INADDR_ANY, ip_unprivileged_port_start,
 *       ip_local_port_range), ipv6(7) (IPV6_V6ONLY), socket(7) (SO_REUSEADDR)
 */
#include "report.h"
#include "args.h"
#include "net.h"
#include "stop.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define USAGE "usage: bind [-r] [-1] [-2] [ADDRESS [PORT]]"

/*
 * Fill a socket address from a numeric IPv4 or IPv6 address and a port.
 * Both the address and the port go in network byte order (big-endian):
 * inet_pton writes the address that way, htons converts the port. Zero the
 * whole struct first: sin_zero and sin6_flowinfo/sin6_scope_id must be 0.
 * text was checked to be numeric (endpoint_args, common/args.h).
 */
static void make_address(const char *text, uint16_t port,
                        struct sockaddr_storage *ss, socklen_t *len)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, text, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons(port);
        *len = sizeof *in4;
    } else {
        inet_pton(AF_INET6, text, &in6->sin6_addr);
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        *len = sizeof *in6;
    }
}

/* -1: take one connection and close it first. The side that closes first
 * goes through FIN_WAIT and ends in TIME_WAIT (tcp(7), RFC 9293): here, the
 * server. That TIME_WAIT entry keeps the server's address and port busy. */
static void accept_one_and_close(int fd)
{
    // Wait in poll(2) for a client or a stop (common/stop.h, as lesson 04
    // wrote it): a SIGTERM landing just before accept() would block is not lost.
    int ready = wait_or_stop(fd, POLLIN);
    if (ready == -1)
        die("poll");
    if (ready == 0)
        return;            /* stopped by a signal before anyone came */
    int conn = accept(fd, NULL, NULL);
    if (conn == -1)
        die("accept");
    char peer[ADDRESS_TEXT_MAX];
    if (peer_address(conn, peer, sizeof peer) == -1)
        die("getpeername");
    printf("accepted %s; closing it first, so this side keeps the TIME_WAIT\n", peer);
    if (close(conn) == -1)
        die("close");
}

int main(int argc, char **argv)
{
    int reuse = 0, once = 0, twice = 0, opt;
    usage_init(USAGE);
    while ((opt = next_option(argc, argv, "r12h")) != -1) {
        switch (opt) {
        case 'r': reuse = 1; break;
        case '1': once = 1; break;
        case '2': twice = 1; break;
        }
    }
    const char *host = "127.0.0.1";
    uint16_t port = 9999;
    endpoint_args(argc, argv, &host, &port);
    struct sockaddr_storage addr;
    socklen_t addr_len;
    make_address(host, port, &addr, &addr_len);
    setvbuf(stdout, NULL, _IOLBF, 0);

    /* SIGINT/SIGTERM: common/stop.h, lesson 04's self-pipe as a helper. */
    if (stop_init() == -1)
        die("stop_init");

    int fd = socket(addr.ss_family, SOCK_STREAM, 0);
    if (fd == -1)
        die("socket");

    if (reuse) {
        // TODO: set SO_REUSEADDR to 1 on fd (setsockopt(2), socket(7)); it must come before bind.
    }
    // Say what the kernel has, not what we asked for (lesson 02's rule).
    int reuse_now = 0;
    socklen_t reuse_len = sizeof reuse_now;
    if (getsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuse_now, &reuse_len) == -1)
        die("getsockopt SO_REUSEADDR");
    printf("SO_REUSEADDR is %s\n", reuse_now ? "on" : "off");

    // TODO: bind fd to addr (addr_len bytes) with bind(2); on failure, die("bind").
    errno = ENOSYS;
    die("bind");

    /* Ask the kernel what we got: with port 0 it chose one for us. */
    struct sockaddr_storage bound;
    socklen_t bound_len = sizeof bound;
    // TODO: read fd's local address into bound with getsockname(2) (bound_len is in and out).
    bound.ss_family = AF_UNSPEC;
    (void)bound_len;
    char where[ADDRESS_TEXT_MAX];
    printf("bound to %s\n", format_address((struct sockaddr *)&bound, where, sizeof where));

    if (twice) {
        /* The source course binds one socket to two addresses. The kernel
         * refuses: a socket has exactly one local address. Two addresses
         * need two sockets. */
        struct sockaddr_storage other = addr;
        if (other.ss_family == AF_INET)
            ((struct sockaddr_in *)&other)->sin_port = 0;
        else
            ((struct sockaddr_in6 *)&other)->sin6_port = 0;
        if (bind(fd, (struct sockaddr *)&other, addr_len) == -1)
            die("bind (the same socket again)");
        printf("the second bind succeeded?!\n");
    }

    /* listen(2) is lesson 07: it lets clients connect to the bound port. */
    if (listen(fd, 5) == -1)
        die("listen");
    if (announce_listening(fd) == -1)
        die("getsockname");

    if (once)
        accept_one_and_close(fd);
    else if (wait_or_stop(-1, 0) == -1)     /* fd -1: poll waits on the pipe alone */
        die("poll");
    if (stop_requested())
        printf("stopped by %s\n", stop_signal_name());
    if (close(fd) == -1)
        die("close");
    return 0;
}
