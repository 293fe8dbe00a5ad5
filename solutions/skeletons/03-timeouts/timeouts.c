/*
 * timeouts.c - lesson 03: a recv that gives up, a connect with a deadline.
 *
 * Two modes, one idea: never wait forever on the network.
 *   recv     connects, sets SO_RCVTIMEO to MS milliseconds (a struct
 *            timeval), and calls recv once. If nothing arrives in time, recv
 *            fails with EAGAIN (EWOULDBLOCK), and the program says after how long.
 *   connect  connects with a deadline of MS milliseconds: a non-blocking
 *            connect, poll(2) for writability, then SO_ERROR for the result.
 *            No answer in time is reported as ETIMEDOUT.
 * MS = 0 means no limit, as a zero struct timeval does for SO_RCVTIMEO.
 *
 * usage: timeouts recv HOST PORT MS
 *        timeouts connect HOST PORT MS
 *
 * Partner: a server that never answers, e.g. `nc -l 127.0.0.1 9999` (silent
 * unless you type), or the test tool tests/tools/timeouts-listener.c, which
 * can also fill its accept queue so that connects get no answer at all.
 *
 * Read: socket(7) (SO_RCVTIMEO, SO_SNDTIMEO, SO_ERROR), connect(2) (EINPROGRESS),
 *       poll(2), fcntl(2) (O_NONBLOCK), recv(2), getaddrinfo(3)
 */
#include "report.h"
#include "args.h"
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define USAGE "usage: timeouts recv|connect HOST PORT MS"
#define MAX_MS 3600000L     /* an hour is plenty for a lesson */

/*
 * Make every later recv on fd give up after ms milliseconds (0: never).
 * Returns 0, or -1 with errno set.
 */
static int set_receive_timeout(int fd, long ms)
{
    // TODO: set SO_RCVTIMEO (socket(7)) to ms milliseconds; the value is a struct timeval.
    (void)fd, (void)ms;
    errno = ENOSYS;
    return -1;
}

/*
 * connect(2) that waits at most ms milliseconds (0: as long as the kernel
 * keeps trying). Returns 0 once connected, or -1 with errno set: ETIMEDOUT
 * when the deadline passed, or the connect's own error (ECONNREFUSED, ...).
 * Either way fd is left in blocking mode, as it came.
 */
static int connect_with_deadline(int fd, const struct sockaddr *sa, socklen_t len, long ms)
{
    // TODO: make fd non-blocking (fcntl(2), O_NONBLOCK) and start the connect (connect(2): EINPROGRESS).
    // TODO: wait until fd is writable or ms pass (poll(2), POLLOUT); on timeout, fail with ETIMEDOUT.
    // TODO: read the connect's result with getsockopt SO_ERROR, then make fd blocking again.
    (void)fd, (void)sa, (void)len, (void)ms;
    errno = ENOSYS;
    return -1;
}

/* Resolve HOST PORT (getaddrinfo(3)) and make a TCP socket for the first address. */
static int open_socket(const char *host, const char *port, struct addrinfo **res)
{
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    int rc = getaddrinfo(host, port, &hints, res);
    if (rc != 0)
        die_msg("getaddrinfo %s %s: %s", host, port, gai_strerror(rc));
    int fd = socket((*res)->ai_family, (*res)->ai_socktype, (*res)->ai_protocol);
    if (fd == -1)
        die("socket");
    return fd;
}

static int try_recv(const char *host, const char *port, long ms)
{
    struct addrinfo *res;
    int fd = open_socket(host, port, &res);
    char where[ADDRESS_TEXT_MAX];
    format_address(res->ai_addr, where, sizeof where);
    if (connect(fd, res->ai_addr, res->ai_addrlen) == -1)
        die("connect");
    freeaddrinfo(res);
    printf("connected to %s\n", where);

    if (set_receive_timeout(fd, ms) == -1)
        die("setsockopt SO_RCVTIMEO");
    printf("SO_RCVTIMEO set to %ld ms%s\n", ms, ms == 0 ? " (0: no timeout, recv may wait forever)" : "");

    char buf[512];
    long start = now_ms();
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    long took = now_ms() - start;
    if (n == -1) {
        // With a receive timeout, "nothing came" is EAGAIN / EWOULDBLOCK
        // (the same number on Linux), exactly as for a non-blocking socket.
        // Keep errno first: printf may change it (lesson 01's rule).
        int err = errno;
        printf("recv gave up after %ld ms\n", took);
        die_with("recv", err);
    }
    if (n == 0)
        printf("the peer closed the connection after %ld ms\n", took);
    else
        printf("received %zd bytes after %ld ms\n", n, took);
    if (close(fd) == -1)
        die("close");
    return 0;
}

static int try_connect(const char *host, const char *port, long ms)
{
    struct addrinfo *res;
    int fd = open_socket(host, port, &res);
    char where[ADDRESS_TEXT_MAX];
    format_address(res->ai_addr, where, sizeof where);

    long start = now_ms();
    int rc = connect_with_deadline(fd, res->ai_addr, res->ai_addrlen, ms);
    long took = now_ms() - start;
    freeaddrinfo(res);
    if (rc == -1) {
        int err = errno;            /* before printf, which may change errno */
        printf("connect to %s failed after %ld ms\n", where, took);
        die_with("connect", err);
    }
    printf("connected to %s after %ld ms\n", where, took);
    if (close(fd) == -1)
        die("close");
    return 0;
}

int main(int argc, char **argv)
{
    usage_init(USAGE);
    only_arguments(argc, argv, 4, 4);           /* no options but -h */
    argv += optind - 1;                         /* argv[1]: the first argument */
    const char *why;
    uint16_t port;
    long ms;
    if (parse_port(argv[3], &port, &why) == -1)
        usage_error("port", argv[3], why);
    if (parse_long(argv[4], 0, MAX_MS, &ms, &why) == -1)
        usage_error("MS", argv[4], why);
    setvbuf(stdout, NULL, _IOLBF, 0);

    if (strcmp(argv[1], "recv") == 0)
        return try_recv(argv[2], argv[3], ms);
    if (strcmp(argv[1], "connect") == 0)
        return try_connect(argv[2], argv[3], ms);
    usage_error(NULL, NULL, NULL);
}
