/*
 * udp-client.c - lesson 21: send each message as a datagram, wait for its echo,
 * and send it again when no reply comes in time.
 *
 * UDP may lose a datagram (or its reply) and says nothing: the only way to
 * know is a reply that does not come. So the client waits TIMEOUT ms for
 * each reply and sends the message again, TRIES times at most. A reply that
 * is not the message just sent (a late echo of an earlier try, a datagram
 * from someone else) is ignored.
 *
 * With -c the socket is connect(2)ed to the server first. A connected UDP
 * socket sends only there, receives only from there, and reports errors the
 * network sends back: if nothing listens on that port, the ICMP "port
 * unreachable" comes back as ECONNREFUSED on the next call. An unconnected
 * socket never learns of it; its client just times out.
 *
 * usage: udp-client [-c] [-n TRIES] [-t MS] HOST PORT MESSAGE...
 *   -c        connect the socket to HOST PORT first
 *   -n TRIES  send each message at most TRIES times, 1..100 (default 3)
 *   -t MS     wait MS milliseconds for each reply, 1..60000 (default 500)
 *   HOST      a numeric IPv4 or IPv6 address
 *
 * Prints one line per reply ("reply: TEXT (N bytes)"), one per retry
 * ("no reply within 500 ms, sending again (try 2 of 3)"). Exit 0 when every
 * message got its reply; 1 when one did not (or a call failed).
 *
 * Partner: udp-echo-server [-l PERCENT] ADDRESS PORT
 *
 * Read: udp(7) (connected sockets, error reporting), connect(2), sendto(2),
 *       recvfrom(2), poll(2)
 */
#include "report.h"
#include "args.h"
#include "net.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define USAGE "usage: udp-client [-c] [-n TRIES] [-t MS] HOST PORT MESSAGE..."
#define MAX_DATAGRAM 65536

/* Same family, address and port? (Where a reply says it comes from.) */
static int same_address(const struct sockaddr_storage *a, const struct sockaddr *b)
{
    if (a->ss_family != b->sa_family)
        return 0;
    if (b->sa_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
    return x->sin6_port == y->sin6_port &&
           memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
}

/* Wait until deadline for the echo of msg. 1: it came; 0: time is up. */
static int await_reply(int fd, const struct addrinfo *server, const char *msg, long deadline)
{
    static char buf[MAX_DATAGRAM];
    size_t len = strlen(msg);
    long left;
    while ((left = deadline - now_ms()) > 0) {
        // TODO: wait at most left ms for a datagram with poll(2) on fd (POLLIN):
        //       ready is then 1 when one is waiting, 0 when the time ran out.
        int ready = 0;
        if (ready == -1) {
            if (errno == EINTR)
                continue;
            die("poll");
        }
        if (ready == 0)
            return 0;
        struct sockaddr_storage from;
        socklen_t from_len = sizeof from;
        // On a connected socket, a pending ICMP error is reported here:
        // recvfrom fails with ECONNREFUSED, and we die saying so.
        ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &from_len);
        if (n == -1) {
            if (errno == EINTR)
                continue;
            die("recvfrom");
        }
        // Anyone can send a datagram to our port: check who this one is from.
        if (!same_address(&from, server->ai_addr)) {
            char who[ADDRESS_TEXT_MAX];
            printf("ignored %zd bytes from %s\n", n,
                   format_address((struct sockaddr *)&from, who, sizeof who));
            continue;
        }
        if ((size_t)n != len || memcmp(buf, msg, len) != 0) {
            printf("ignored a reply that is not \"%s\" (%zd bytes): a late one?\n", msg, n);
            continue;
        }
        printf("reply: %s (%zd bytes)\n", msg, n);
        return 1;
    }
    return 0;
}

/* Send msg and wait for its echo, tries times at most. 0 on success, -1 if none came. */
static int exchange(int fd, const struct addrinfo *server, int connected,
                    const char *msg, long tries, long timeout)
{
    for (long try = 1; try <= tries; try++) {
        if (try > 1)
            printf("no reply within %ld ms, sending again (try %ld of %ld)\n", timeout, try, tries);
        // TODO: send msg (strlen(msg) bytes) as one datagram: with send(2) when the
        //       socket is connected, else with sendto(2) to server->ai_addr.
        ssize_t sent = -1;
        errno = ENOSYS;
        (void)connected, (void)server;
        if (sent == -1)
            die(connected ? "send" : "sendto");
        if (await_reply(fd, server, msg, now_ms() + timeout))
            return 0;
    }
    printf("no reply to \"%s\" after %ld tries\n", msg, tries);
    return -1;
}

int main(int argc, char **argv)
{
    int connected = 0, opt;
    long tries = 3, timeout = 500;
    const char *why;
    usage_init(USAGE);
    while ((opt = next_option(argc, argv, "cn:t:h")) != -1) {
        switch (opt) {
        case 'c': connected = 1; break;
        case 'n': tries = option_long("-n", 1, 100); break;
        case 't': timeout = option_long("-t", 1, 60000); break;
        }
    }
    uint16_t port;
    if (argc - optind < 3)
        usage_error(NULL, NULL, NULL);
    if (parse_port(argv[optind + 1], &port, &why) == -1)
        usage_error("port", argv[optind + 1], why);
    setvbuf(stdout, NULL, _IOLBF, 0);

    struct addrinfo hints = {
        .ai_family = AF_UNSPEC,
        .ai_socktype = SOCK_DGRAM,
        .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
    };
    struct addrinfo *server;
    int rc = getaddrinfo(argv[optind], argv[optind + 1], &hints, &server);
    if (rc != 0)
        die_msg("getaddrinfo %s %s: %s", argv[optind], argv[optind + 1], gai_strerror(rc));
    int fd = socket(server->ai_family, server->ai_socktype, server->ai_protocol);
    if (fd == -1)
        die("socket");
    if (connected) {
        // TODO: connect(2) fd to the server's address (server->ai_addr, ai_addrlen).
        //       For UDP this sends nothing: it fixes the peer, and asks the
        //       kernel to report ICMP errors (ECONNREFUSED) on this socket.
    }

    int status = 0;
    for (int i = optind + 2; i < argc; i++)
        if (exchange(fd, server, connected, argv[i], tries, timeout) == -1)
            status = 1;
    freeaddrinfo(server);
    if (close(fd) == -1)
        die("close");
    return status;
}
