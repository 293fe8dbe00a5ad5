/*
 * udp-peer.c - a UDP test client: send datagrams all at once, then read replies.
 *
 * Lesson 21's tests need what udp-client (which waits for each reply before
 * the next message) and bash cannot do: several datagrams queued before the
 * server reads any, an empty datagram, one bigger than the server's buffer.
 * It is a test tool, not a lesson.
 *
 * usage: udp-peer [-z BYTES] [-q MS] HOST PORT [MESSAGE...]
 *        udp-peer -S MESSAGE...
 *   MESSAGE   each one is sent as one datagram, all before reading; "" is an
 *             empty datagram
 *   -z BYTES  then one datagram of BYTES 'z' bytes (1..65507)
 *   -q MS     stop reading after MS ms of silence (default 2000)
 * Prints "local port N", then one line per reply: "reply N bytes: TEXT", TEXT
 * with bytes other than printable ASCII shown as '.', cut after 64 bytes.
 * Exit 0 when as many replies came as datagrams were sent, 3 when fewer came
 * before the silence, 1 on an error.
 *
 * -S is the contrast lesson 21's chapter draws with lesson 10: the same
 * MESSAGEs, one send(2) each, into a byte stream (a SOCK_STREAM socketpair),
 * then ONE read of the other end: "stream read N bytes: TEXT".
 */
#include "report.h"
#include "args.h"

#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#define USAGE "usage: udp-peer [-z BYTES] [-q MS] HOST PORT [MESSAGE...] | udp-peer -S MESSAGE..."

static char buf[65536];

/* -S: several sends into a byte stream, one read: how many bytes come? */
static int stream_contrast(int count, char **messages)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
        die("udp-peer: socketpair");
    for (int i = 0; i < count; i++)
        if (send(sv[0], messages[i], strlen(messages[i]), 0) == -1)
            die("udp-peer: send");
    ssize_t n = recv(sv[1], buf, sizeof buf - 1, 0);
    if (n == -1)
        die("udp-peer: recv");
    buf[n] = '\0';
    printf("stream read %zd bytes: %s\n", n, buf);
    close(sv[0]);
    close(sv[1]);
    return 0;
}

int main(int argc, char **argv)
{
    long big = 0, quiet = 2000;
    int opt;
    usage_init(USAGE);
    while ((opt = next_option(argc, argv, "z:q:Sh")) != -1) {
        if (opt == 'S')
            return stream_contrast(argc - optind, argv + optind);
        if (opt == 'z')
            big = option_long("-z BYTES", 1, 65507);
        else if (opt == 'q')
            quiet = option_long("-q MS", 1, 60000);
    }
    if (argc - optind < 2)
        usage_error(NULL, NULL, NULL);
    setvbuf(stdout, NULL, _IOLBF, 0);

    struct addrinfo hints = {.ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
    struct addrinfo *to;
    int rc = getaddrinfo(argv[optind], argv[optind + 1], &hints, &to);
    if (rc != 0)
        die_msg("udp-peer: getaddrinfo: %s", gai_strerror(rc));
    int fd = socket(to->ai_family, SOCK_DGRAM, 0);
    if (fd == -1)
        die("udp-peer: socket");
    // Connected, so the kernel filters out datagrams from anyone else.
    if (connect(fd, to->ai_addr, to->ai_addrlen) == -1)
        die("udp-peer: connect");
    struct sockaddr_storage me;
    socklen_t me_len = sizeof me;
    if (getsockname(fd, (struct sockaddr *)&me, &me_len) == -1)
        die("udp-peer: getsockname");
    unsigned port = ntohs(me.ss_family == AF_INET ? ((struct sockaddr_in *)&me)->sin_port
                                                  : ((struct sockaddr_in6 *)&me)->sin6_port);
    printf("local port %u\n", port);

    long sent = 0;
    for (int i = optind + 2; i < argc; i++, sent++)
        if (send(fd, argv[i], strlen(argv[i]), 0) == -1)
            die("udp-peer: send");
    if (big > 0) {
        memset(buf, 'z', (size_t)big);
        if (send(fd, buf, (size_t)big, 0) == -1)
            die("udp-peer: send");
        sent++;
    }

    long got = 0;
    while (got < sent) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int ready = poll(&p, 1, (int)quiet);
        if (ready == -1)
            die("udp-peer: poll");
        if (ready == 0)
            break;
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n == -1)
            die("udp-peer: recv");
        got++;
        printf("reply %zd bytes: ", n);
        for (ssize_t i = 0; i < n && i < 64; i++)
            putchar(isprint((unsigned char)buf[i]) ? buf[i] : '.');
        putchar('\n');
    }
    freeaddrinfo(to);
    close(fd);
    return got == sent ? 0 : 3;
}
