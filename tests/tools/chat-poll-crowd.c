/*
 * chat-poll-crowd.c - a crowd of chat clients for lesson 17's tests.
 *
 * Starts N connects at once (non-blocking), waits until every client has its
 * first line from the server (the welcome), then the first client sends one
 * line and every other client must receive it. bash's /dev/tcp cannot hold
 * and read hundreds of sockets at once; this can, with poll(2). A test tool,
 * not a lesson: it measures nothing, the tests only read its counts.
 *
 * usage: chat-poll-crowd [-n CLIENTS] [-T MS] [-S | -J] HOST PORT
 *   -S  then stay, until the server closes every connection (or the deadline)
 *   -J  the first client connects alone, and the others only once it is
 *       welcomed; it counts the "* ... joined" notices it hears. After the
 *       broadcast the others close, and it counts the "* ... left" notices
 *       until /who says it is alone (asked every 50 ms): a room of more than
 *       -a (ANNOUNCE_MAX) is not told of comings and goings (chat.h)
 * Prints "connected N of N", "welcomed N of N", "received N of M" (M = N - 1),
 * with -S also "told N of N" (got "* server shutting down") and "closed N of N";
 * with -S, "received M of M" comes as soon as it is true (flushed), so a test
 * can wait for it before it stops the server, and not again at the end;
 * with -J "heard J joins", "heard L departures" and "alone yes|no";
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
#define JOIN_END " joined\n"
#define LEFT_END " left\n"
#define ONLINE "* online ("

struct member {
    int connected, welcomed, received, told, closed;
    char tail[sizeof BYE];             /* the last bytes seen, to find MARK across reads */
};

/* A non-blocking connect to addr: the fd, to be polled for POLLOUT. */
static int start_connect(const struct sockaddr_storage *addr, socklen_t addr_len)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd == -1)
        die("socket");
    if (fcntl(fd, F_SETFL, O_NONBLOCK) == -1)
        die("fcntl");
    if (connect(fd, (const struct sockaddr *)addr, addr_len) == -1 && errno != EINPROGRESS)
        die("connect");
    return fd;
}

/* How many times end occurs in the string text ending past its first keep
 * bytes (those were counted with the read before). */
static long count_new(const char *text, size_t keep, const char *end)
{
    long found = 0;
    for (const char *p = text; (p = strstr(p, end)) != NULL; p++)
        if ((size_t)(p - text) + strlen(end) > keep)
            found++;
    return found;
}

int main(int argc, char **argv)
{
    long n = 100, total_ms = 20000;
    const char *why;
    int opt, stay = 0, count_notices = 0;
    usage_init("usage: chat-poll-crowd [-n CLIENTS] [-T MS] [-S | -J] HOST PORT");
    while ((opt = next_option(argc, argv, "n:T:SJh")) != -1) {
        if (opt == 'n')
            n = option_long("CLIENTS", 2, 20000);
        else if (opt == 'T')
            total_ms = option_long("MS", 1, 600000);
        else if (opt == 'S')
            stay = 1;
        else if (opt == 'J')
            count_notices = 1;
    }
    if (stay && count_notices)
        usage_error(NULL, NULL, NULL);
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
    long started = count_notices ? 1 : n;      /* -J: the first one alone */
    for (long i = 0; i < n; i++)        /* all the SYNs at once: a connect burst */
        fds[i] = i < started ? (struct pollfd){.fd = start_connect(&addr, addr_len), .events = POLLOUT}
                             : (struct pollfd){.fd = -1};
    long deadline = now_ms() + total_ms, connected = 0, welcomed = 0, received = 0, told = 0, closed = 0;
    long joins = 0, departures = 0, who_at = 0;
    int sent = 0, alone = 0, others_gone = 0, printed_received = 0;
    while (now_ms() < deadline && (stay ? closed < n : count_notices ? !alone : received < n - 1)) {
        if (started < n && welcomed == 1)      /* -J: the first is in; now the crowd */
            for (; started < n; started++)
                fds[started] = (struct pollfd){.fd = start_connect(&addr, addr_len), .events = POLLOUT};
        if (count_notices && !others_gone && received == n - 1) {
            for (long i = 1; i < n; i++) {      /* everyone has the line: all but the first leave */
                close(fds[i].fd);
                fds[i].fd = -1;
                m[i].closed = 1;
            }
            others_gone = 1;
            who_at = now_ms();
        }
        if (who_at != 0 && now_ms() >= who_at) {       /* "* online (1)" yet? */
            if (send(fds[0].fd, "/who\n", 5, MSG_NOSIGNAL) != 5)
                die("send /who");
            who_at = 0;
        }
        if (poll(fds, (nfds_t)n, who_at != 0 ? 50 : 100) == -1 && errno != EINTR)
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
            if (count_notices && i == 0) {
                joins += count_new(joined, keep, JOIN_END);
                departures += count_new(joined, keep, LEFT_END);
                const char *online = others_gone ? strstr(joined, ONLINE) : NULL;
                char *after;
                long k = online ? strtol(online + strlen(ONLINE), &after, 10) : 0;
                if (online && *after == ')') {
                    if (k == 1)
                        alone = 1;
                    else
                        who_at = now_ms() + 50;
                }
            }
            size_t t = len < sizeof BYE - 1 ? len : sizeof BYE - 1;
            memcpy(m[i].tail, joined + len - t, t);
            m[i].tail[t] = '\0';
            free(joined);
        }
        if (stay && !printed_received && received == n - 1) {
            printf("received %ld of %ld\n", received, n - 1);   /* the room is busy: stop it now */
            fflush(stdout);
            printed_received = 1;
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
    if (!printed_received)
        printf("received %ld of %ld\n", received, n - 1);
    if (stay) {
        printf("told %ld of %ld\n", told, n);
        printf("closed %ld of %ld\n", closed, n);
    }
    if (count_notices) {
        printf("heard %ld joins\n", joins);
        printf("heard %ld departures\n", departures);
        printf("alone %s\n", alone ? "yes" : "no");
    }
    for (long i = 0; i < n; i++)
        if (fds[i].fd != -1)
            close(fds[i].fd);
    free(fds);
    free(m);
    return received == n - 1 && (!stay || (told == n && closed == n)) && (!count_notices || alone) ? 0 : 3;
}
