/*
 * udp-echo-server.c - lesson 21: a UDP echo server, one datagram in, one out.
 *
 * Binds a UDP socket and answers every datagram with the same bytes, sent
 * back to the address recvfrom(2) reported. UDP has no connection: each
 * datagram carries its sender's address, and that is where the reply goes.
 * Datagrams keep their boundaries: three sendto calls arrive as three
 * datagrams, never merged (compare lesson 10's byte stream). A datagram
 * longer than the buffer (-b) is cut to fit; recvfrom with MSG_TRUNC returns
 * its real length, so the server can say so. An empty datagram is a message
 * too: recvfrom returning 0 does not mean "closed" here.
 *
 * -l PERCENT drops that share of the datagrams on purpose, spread evenly
 * (50: the first, third, fifth... are dropped), so a client's retries can be
 * tested on loopback, with no traffic leaving the machine.
 *
 * usage: udp-echo-server [-b BYTES] [-l PERCENT] [ADDRESS [PORT]]
 *   -b BYTES    receive buffer, 1..65536 (default 65536: room for any datagram)
 *   -l PERCENT  drop this share of the datagrams, 0..100 (default 0)
 *   ADDRESS     a numeric IPv4 or IPv6 address (default 127.0.0.1)
 *   PORT        default 9999; 0 lets the kernel choose
 *
 * Prints "listening on ADDRESS:PORT", then one line per datagram:
 *   from 127.0.0.1:40000: 5 bytes
 *   from 127.0.0.1:40000: 100 bytes, truncated to 16
 *   from 127.0.0.1:40000: 5 bytes, dropped (-l)
 * Stops on SIGINT or SIGTERM with status 0.
 *
 * Partner: udp-client HOST PORT MESSAGE...
 *
 * Read: udp(7), recvfrom(2) (MSG_TRUNC), sendto(2), ip(7), ipv6(7)
 */
#include "report.h"
#include "args.h"
#include "net.h"
#include "server.h"
#include "stop.h"

#include <errno.h>
#include <poll.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define USAGE "usage: udp-echo-server [-b BYTES] [-l PERCENT] [ADDRESS [PORT]]"
#define MAX_DATAGRAM 65536      /* a UDP length field is 16 bits */

/* Is datagram number k (1, 2, ...) one of the PERCENT% to drop? Spread evenly:
 * drop it when ceil(k * p / 100) steps up. 100 drops all, 0 none. */
static int dropped(unsigned long k, long percent)
{
    return (k * percent + 99) / 100 > ((k - 1) * percent + 99) / 100;
}

/* A UDP socket bound to HOST:PORT (HOST numeric); dies on failure. */
static int udp_bind(const char *host, uint16_t port)
{
    struct sockaddr_storage addr;
    socklen_t len;
    numeric_address(host, port, &addr, &len);   /* endpoint_args checked host */
    int fd = socket(addr.ss_family, SOCK_DGRAM, 0);
    if (fd == -1)
        die("socket");
    // No listen, no accept: a bound UDP socket is ready to receive.
    if (bind(fd, (struct sockaddr *)&addr, len) == -1)
        die("bind");
    return fd;
}

int main(int argc, char **argv)
{
    long size = MAX_DATAGRAM, loss = 0;
    int opt;
    usage_init(USAGE);
    while ((opt = next_option(argc, argv, "b:l:h")) != -1) {
        if (opt == 'b')
            size = option_long("-b", 1, MAX_DATAGRAM);
        if (opt == 'l')
            loss = option_long("-l", 0, 100);
    }
    const char *host = "127.0.0.1";
    uint16_t port = 9999;
    endpoint_args(argc, argv, &host, &port);
    setvbuf(stdout, NULL, _IOLBF, 0);

    if (stop_init() == -1)      /* SIGINT/SIGTERM end the wait below, race-free */
        die("stop_init");
    int fd = udp_bind(host, port);
    if (announce_listening(fd) == -1)
        die("getsockname");

    static unsigned char data[MAX_DATAGRAM];
    unsigned long count = 0;
    int ready;
    while ((ready = wait_or_stop(fd, POLLIN)) == 1) {
        struct sockaddr_storage from;
        socklen_t from_len = sizeof from;
        // TODO: receive one datagram into data (size bytes) with recvfrom(2), keeping the
        //       sender's address in from. Pass MSG_TRUNC (udp(7)) so that n is the
        //       datagram's real length even when it did not fit.
        ssize_t n = -1;
        errno = ENOSYS;
        (void)from_len, (void)data;
        if (n == -1) {
            if (errno == EINTR)
                continue;       /* a signal (or an injected EINTR): the loop decides */
            die("recvfrom");
        }
        count++;
        char who[ADDRESS_TEXT_MAX];
        format_address((struct sockaddr *)&from, who, sizeof who);
        size_t keep = (size_t)n < (size_t)size ? (size_t)n : (size_t)size;
        if (dropped(count, loss)) {
            printf("from %s: %zd bytes, dropped (-l)\n", who, n);
            continue;
        }
        if ((size_t)n > keep)
            printf("from %s: %zd bytes, truncated to %zu\n", who, n, keep);
        else
            printf("from %s: %zd bytes\n", who, n);
        // TODO: send the keep bytes of data back to the sender, the address in from
        //       (from_len bytes long), with sendto(2).
        ssize_t sent = 0;
        // A failed reply costs one datagram, not the server: UDP promises no
        // delivery anyway, and the client will ask again.
        if (sent == -1)
            warn_errno("sendto");
    }
    if (ready == -1)
        die("poll");
    server_stopped(fd);         /* common/server.h: "stopped by ...", close */
    return 0;
}
