/*
 * chat-poll-crowd.c - a crowd of chat clients for lesson 17's tests.
 *
 * Starts N connects at once (non-blocking), waits until every client has its
 * first line from the server (the welcome), then the first client sends one
 * line and every other client must receive it. bash's /dev/tcp cannot hold
 * and read hundreds of sockets at once; this can, with poll(2). A test tool,
 * not a lesson: it measures nothing, the tests only read its counts.
 *
 * usage: chat-poll-crowd [-n CLIENTS] [-T MS] [-S] HOST PORT
 *   -S  then stay, until the server closes every connection (or the deadline)
 * Prints "connected N of N", "welcomed N of N", "received N of M" (M = N - 1),
 * with -S also "told N of N" (got "* server shutting down") and "closed N of N";
 * exits 0 when everyone got everything, 1 on an error, 3 on the deadline.
 */
#include "report.h"
#include "args.h"
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

#define MARK "crowd-broadcast-7f3a"
#define BYE "* server shutting down\n"

struct member {
    int connected, welcomed, received, told, closed;
    char tail[sizeof BYE];             /* the last bytes seen, to find MARK across reads */
};

int main(int argc, char **argv)
{
    long n = 100, total_ms = 20000;
    const char *why;
    int opt, stay = 0;
    usage_init("usage: chat-poll-crowd [-n CLIENTS] [-T MS] [-S] HOST PORT");
    while ((opt = next_option(argc, argv, "n:T:Sh")) != -1) {
        if (opt == 'n')
            n = option_long("CLIENTS", 2, 20000);
        else if (opt == 'T')
            total_ms = option_long("MS", 1, 600000);
        else if (opt == 'S')
            stay = 1;
    }
    uint16_t port;
    struct sockaddr_storage addr;
    socklen_t addr_len;
    if (argc - optind != 2 || parse_port(argv[optind + 1], &port, &why) == -1
        || numeric_address(argv[optind], port, &addr, &addr_len) == -1)
        usage_error(NULL, NULL, NULL);
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        setrlimit(RLIMIT_NOFILE, &lim);
    }

    struct pollfd *fds = calloc((size_t)n, sizeof *fds);
    struct member *m = calloc((size_t)n, sizeof *m);
    if (fds == NULL || m == NULL)
        die("calloc");
    for (long i = 0; i < n; i++) {      /* all the SYNs at once: a connect burst */
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd == -1)
            die("socket");
        if (fcntl(fd, F_SETFL, O_NONBLOCK) == -1)
            die("fcntl");
        if (connect(fd, (struct sockaddr *)&addr, addr_len) == -1 && errno != EINPROGRESS)
            die("connect");
        fds[i] = (struct pollfd){.fd = fd, .events = POLLOUT};
    }
    long deadline = now_ms() + total_ms, connected = 0, welcomed = 0, received = 0, told = 0, closed = 0;
    int sent = 0;
    while (now_ms() < deadline && (stay ? closed < n : received < n - 1)) {
        if (poll(fds, (nfds_t)n, 100) == -1 && errno != EINTR)
            die("poll");
        for (long i = 0; i < n; i++) {
            short rev = fds[i].revents;
            if (rev == 0 || m[i].closed)
                continue;
            if (!m[i].connected) {
                int err = 0;
                socklen_t len = sizeof err;
                getsockopt(fds[i].fd, SOL_SOCKET, SO_ERROR, &err, &len);
                if (err != 0)
                    die_with("connect", err);
                m[i].connected = 1;
                connected++;
                fds[i].events = POLLIN;
                continue;
            }
            char buf[65536];
            ssize_t got = recv(fds[i].fd, buf, sizeof buf, 0);
            if (got <= 0) {
                if (got == -1 && errno == EAGAIN)
                    continue;
                m[i].closed = 1;        /* the server closed it */
                closed++;
                fds[i].events = 0;
                continue;
            }
            if (!m[i].welcomed && memchr(buf, '\n', (size_t)got)) {
                m[i].welcomed = 1;
                welcomed++;
            }
            /* Look for MARK in the tail of the last read joined to this one. */
            size_t keep = strlen(m[i].tail), len = keep + (size_t)got;
            char *joined = malloc(len + 1);
            if (joined == NULL)
                die("malloc");
            memcpy(joined, m[i].tail, keep);
            memcpy(joined + keep, buf, (size_t)got);
            joined[len] = '\0';
            for (size_t k = 0; k < len; k++)    /* NULs must not hide the mark */
                if (joined[k] == '\0')
                    joined[k] = '?';
            if (!m[i].received && i != 0 && strstr(joined, MARK)) {
                m[i].received = 1;
                received++;
            }
            if (!m[i].told && strstr(joined, BYE)) {
                m[i].told = 1;
                told++;
            }
            size_t t = len < sizeof BYE - 1 ? len : sizeof BYE - 1;
            memcpy(m[i].tail, joined + len - t, t);
            m[i].tail[t] = '\0';
            free(joined);
        }
        if (!sent && welcomed == n) {   /* everyone is in: the first one speaks */
            const char *line = "hello " MARK "\n";
            fcntl(fds[0].fd, F_SETFL, 0);
            if (send(fds[0].fd, line, strlen(line), MSG_NOSIGNAL) != (ssize_t)strlen(line))
                die("send");
            sent = 1;
        }
    }
    printf("connected %ld of %ld\n", connected, n);
    printf("welcomed %ld of %ld\n", welcomed, n);
    printf("received %ld of %ld\n", received, n - 1);
    if (stay) {
        printf("told %ld of %ld\n", told, n);
        printf("closed %ld of %ld\n", closed, n);
    }
    for (long i = 0; i < n; i++)
        close(fds[i].fd);
    free(fds);
    free(m);
    return received == n - 1 && (!stay || (told == n && closed == n)) ? 0 : 3;
}
