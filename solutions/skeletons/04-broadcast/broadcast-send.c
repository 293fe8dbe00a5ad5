/*
 * broadcast-send.c - lesson 04: send one UDP datagram to a broadcast address.
 *
 * Sends MESSAGE to 127.255.255.255:PORT, the broadcast address of the
 * loopback network. Without -b it does not set SO_BROADCAST, and the kernel
 * refuses: sendto fails with EACCES. With -b it sets SO_BROADCAST first,
 * and every socket bound to that port (on 0.0.0.0) receives the datagram.
 *
 * usage: broadcast-send [-b] [PORT [MESSAGE]]
 *   -b       set SO_BROADCAST before sending
 *   PORT     default 12345
 *   MESSAGE  default "hello, everyone"
 *
 * Partner: broadcast-recv (run one or more first, on the same port).
 *
 * Read: socket(7) (SO_BROADCAST), ip(7) (broadcast, EACCES), udp(7), sendto(2)
 */
#include "report.h"
#include "args.h"
#include "broadcast.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define USAGE "usage: broadcast-send [-b] [PORT [MESSAGE]]"

int main(int argc, char **argv)
{
    int broadcast = 0, opt;
    usage_init(USAGE);
    while ((opt = next_option(argc, argv, "bh")) != -1)
        if (opt == 'b')                 /* next_option handles -h itself */
            broadcast = 1;
    uint16_t port = BROADCAST_PORT;
    const char *message = "hello, everyone", *why;
    if (argc - optind > 2)
        usage_error(NULL, NULL, NULL);
    if (optind < argc && parse_port(argv[optind], &port, &why) == -1)
        usage_error("port", argv[optind], why);
    if (optind + 1 < argc)
        message = argv[optind + 1];
    setvbuf(stdout, NULL, _IOLBF, 0);

    struct sockaddr_in to;
    int fd = udp_socket_for(BROADCAST_ADDRESS, port, &to);   /* broadcast.h */

    if (broadcast) {
        // TODO: allow this socket to send to broadcast addresses: SO_BROADCAST (socket(7)), an int set to 1.
    }
    int state = -1;
    socklen_t len = sizeof state;
    if (getsockopt(fd, SOL_SOCKET, SO_BROADCAST, &state, &len) == -1)
        die("getsockopt SO_BROADCAST");
    printf("SO_BROADCAST is %d (%s)\n", state, state ? "on" : "off");

    size_t size = strlen(message);
    // TODO: send message (size bytes) to the address in `to` with sendto(2).
    ssize_t sent = -1;
    errno = ENOSYS;
    (void)size;
    if (sent == -1)
        die("sendto");
    printf("sent %zd bytes to %s:%u\n", sent, BROADCAST_ADDRESS, (unsigned)port);

    if (close(fd) == -1)
        die("close");
    return 0;
}
