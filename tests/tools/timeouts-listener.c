/*
 * timeouts-listener.c - a TCP listener that never accepts, for lesson 03's tests.
 *
 * It listens on 127.0.0.1, port chosen by the kernel, and never calls
 * accept(): a client that connects is answered by the kernel's handshake and
 * then hears nothing, which is what a receive timeout needs. With -f it first
 * connects to itself FILL times to fill its own accept queue (on Linux the
 * queue holds backlog+1 connections, see lesson 07), so the next client's SYN
 * is dropped and its connect never completes: what a connect deadline needs.
 * With -c it binds but never listens, so connects are refused.
 *
 * usage: timeouts-listener [-b BACKLOG] [-f FILL] [-c]
 *   -b BACKLOG  the listen backlog (default 0)
 *   -f FILL     connect to itself FILL times first (default 0)
 *   -c          closed port: bind, do not listen (connects get ECONNREFUSED)
 * Prints "filled N of FILL" (with -f), then "listening on 127.0.0.1:PORT" or
 * "closed port 127.0.0.1:PORT", then waits until killed, at most 60 s.
 */
#include "report.h"
#include "args.h"
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define USAGE "usage: timeouts-listener [-b BACKLOG] [-f FILL] [-c]"
#define MAX_FILL 64

/* Connect to addr, waiting at most 2 s; 1 if connected, 0 if not. fd kept in *out. */
static int connect_once(const struct sockaddr_in *addr, int *out)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd == -1)
        die("socket");
    *out = fd;
    if (fcntl(fd, F_SETFL, O_NONBLOCK) == -1)
        die("fcntl");
    if (connect(fd, (const struct sockaddr *)addr, sizeof *addr) == 0)
        return 1;
    if (errno != EINPROGRESS)
        die("connect");
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    int ready = poll(&p, 1, 2000);
    if (ready == -1)
        die("poll");
    int err = 0;
    socklen_t len = sizeof err;
    if (ready == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0)
        return 1;
    return 0;
}

int main(int argc, char **argv)
{
    long backlog = 0, fill = 0;
    int closed = 0, opt;
    const char *why;
    while ((opt = getopt(argc, argv, "b:f:c")) != -1) {
        switch (opt) {
        case 'b':
            if (parse_long(optarg, 0, 4096, &backlog, &why) == -1)
                die_msg("timeouts-listener: backlog %s: %s", optarg, why);
            break;
        case 'f':
            if (parse_long(optarg, 0, MAX_FILL, &fill, &why) == -1)
                die_msg("timeouts-listener: fill %s: %s", optarg, why);
            break;
        case 'c': closed = 1; break;
        default: fprintf(stderr, "%s\n", USAGE); return 1;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "%s\n", USAGE);
        return 1;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);

    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd == -1)
        die("socket");
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) == -1)
        die("bind");
    socklen_t len = sizeof addr;
    if (getsockname(fd, (struct sockaddr *)&addr, &len) == -1)
        die("getsockname");

    if (closed) {
        printf("closed port 127.0.0.1:%u\n", ntohs(addr.sin_port));
    } else {
        if (listen(fd, (int)backlog) == -1)
            die("listen");
        int fillers[MAX_FILL];
        long connected = 0;
        for (long i = 0; i < fill; i++)
            connected += connect_once(&addr, &fillers[i]);
        if (fill > 0)
            printf("filled %ld of %ld\n", connected, fill);
        if (announce_listening(fd) == -1)
            die("announce_listening");
    }
    // Hold everything open until the test kills us; never outlive it by much.
    sleep(60);
    return 0;
}
