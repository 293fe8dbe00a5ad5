/*
 * rr-client.c - lesson 05: time small request/response round trips, with and
 * without TCP_NODELAY.
 *
 * Connects to rr-server, optionally sets TCP_NODELAY (and reads it back), then
 * does ROUNDS exchanges in the write-write-read pattern: send the 4-byte
 * header, send the body, wait for the reply. It prints each round trip and
 * then the minimum, median and maximum. With Nagle's algorithm on (the
 * default) the body waits for the ACK of the header, which the server delays:
 * tens of milliseconds per round on Linux. With TCP_NODELAY it goes at once.
 *
 * usage: rr-client [-n] [-c ROUNDS] [-s BYTES] [ADDRESS [PORT]]
 *   -n        set TCP_NODELAY (turn Nagle's algorithm off)
 *   -c ROUNDS how many requests (default 20, at most 1000)
 *   -s BYTES  body size of each request (default 100, at most 65536)
 *   ADDRESS PORT  the server (default 127.0.0.1 9999)
 *
 * Partner: rr-server.c.
 *
 * Read: tcp(7) (TCP_NODELAY, TCP_CORK, TCP_QUICKACK), setsockopt(2),
 *       getsockopt(2), clock_gettime(2), RFC 896 (Nagle), RFC 1122 4.2.3.2
 */
#include "report.h"
#include "args.h"
#include "net.h"
#include "rr.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define USAGE "usage: rr-client [-n] [-c ROUNDS] [-s BYTES] [ADDRESS [PORT]]"
#define MAX_ROUNDS 1000

/* Turn Nagle's algorithm off (on = 1) or leave it on (on = 0).
 * 0 on success, -1 with errno set. */
static int set_nodelay(int fd, int on)
{
    // TODO: set the TCP-level option TCP_NODELAY to on (setsockopt(2), tcp(7)).
    (void)fd, (void)on;
    errno = ENOSYS;
    return -1;
}

/* Read TCP_NODELAY back into *on. 0 on success, -1 with errno set. */
static int get_nodelay(int fd, int *on)
{
    // TODO: read TCP_NODELAY back into *on with getsockopt(2).
    (void)fd, (void)on;
    errno = ENOSYS;
    return -1;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One round: header, body (two sends), then the whole reply. Dies on failure. */
static void exchange(int fd, const unsigned char *body, size_t len)
{
    unsigned char header[RR_HEADER_SIZE];
    rr_put_length(header, len);
    if (send_all(fd, header, sizeof header) == -1)
        die("send header");
    if (send_all(fd, body, len) == -1)
        die("send body");

    unsigned char reply[RR_HEADER_SIZE + sizeof RR_REPLY - 1];
    int got = rr_recv_full(fd, reply, sizeof reply);
    if (got == -1)
        die("recv");
    if (got == 0)
        die_msg("rr-client: the server closed the connection before replying");
    if (rr_get_length(reply) != sizeof RR_REPLY - 1)
        die_msg("rr-client: the reply is not what rr-server sends");
}

int main(int argc, char **argv)
{
    int nodelay = 0, opt;
    long rounds = 20, size = 100;
    usage_init(USAGE);
    while ((opt = next_option(argc, argv, "nc:s:h")) != -1) {
        switch (opt) {
        case 'n': nodelay = 1; break;
        case 'c': rounds = option_long("rounds", 1, MAX_ROUNDS); break;
        case 's': size = option_long("body size", 1, RR_MAX_BODY); break;
        }
    }
    const char *host = "127.0.0.1", *failed;
    uint16_t port = 9999;
    endpoint_args(argc, argv, &host, &port);
    setvbuf(stdout, NULL, _IOLBF, 0);

    int fd = tcp_connect(host, port, &failed);      /* common/net.h, lesson 12 */
    if (fd == -1)
        die(failed);
    // Set it right after connect and before the first byte: it changes how
    // every later small send is held back or sent.
    if (set_nodelay(fd, nodelay) == -1)
        die("setsockopt TCP_NODELAY");
    int readback = -1;
    if (get_nodelay(fd, &readback) == -1)
        die("getsockopt TCP_NODELAY");
    printf("TCP_NODELAY is %s (read back: %d)\n", readback ? "on" : "off", readback);
    printf("%ld rounds: send a %d-byte header, send a %ld-byte body, wait for the reply\n",
           rounds, RR_HEADER_SIZE, size);

    unsigned char *body = malloc((size_t)size);
    double *times = malloc((size_t)rounds * sizeof *times);
    if (body == NULL || times == NULL)
        die("malloc");
    memset(body, 'x', (size_t)size);

    for (long i = 0; i < rounds; i++) {
        double start = now_ms();
        exchange(fd, body, (size_t)size);
        times[i] = now_ms() - start;
        printf("round %ld: %.3f ms\n", i + 1, times[i]);
    }

    qsort(times, (size_t)rounds, sizeof *times, compare_doubles);
    double median = rounds % 2 ? times[rounds / 2]
                               : (times[rounds / 2 - 1] + times[rounds / 2]) / 2;
    printf("round trips: min %.3f ms, median %.3f ms, max %.3f ms\n",
           times[0], median, times[rounds - 1]);

    free(body);
    free(times);
    if (close(fd) == -1)
        die("close");
    return 0;
}
