/*
 * listen-probe.c - open connections one after another, each with a deadline,
 * and report how many completed the TCP handshake (a test tool for lesson 07).
 *
 * A blocking connect(2) to a listener whose accept queue is full waits for
 * minutes (the SYN is dropped and retransmitted), so each connect here is
 * non-blocking and waited for with poll(2) for at most -t milliseconds. The
 * connections that completed are held open for -H milliseconds (or until
 * SIGTERM/SIGINT), so a test can look at the server with ss meanwhile.
 *
 * usage: listen-probe [-t MS] [-g MS] [-H MS] HOST PORT COUNT
 *   -t MS   deadline for each connect (default 1000)
 *   -g MS   pause after each completed connect, so the server has taken our
 *           final ACK before the next SYN arrives (default 50)
 *   -H MS   hold the completed connections open this long (default 0)
 * Prints one line per connection:
 *   connection 1: connected
 *   connection 4: no answer within 1000 ms
 *   connection 5: ECONNREFUSED (Connection refused)
 * then "completed: C of COUNT", and "holding" / "closed" around the hold.
 * Exit 0 when it ran (whatever the count), 1 on a usage or system error.
 */
#include "report.h"
#include "args.h"
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define USAGE "usage: listen-probe [-t MS] [-g MS] [-H MS] HOST PORT COUNT"
#define MAX_COUNT 1000

static volatile sig_atomic_t stopped = 0;
static void on_signal(int sig) { (void)sig; stopped = 1; }

static long number(const char *text, long max, const char *what)
{
    long v;
    const char *why;
    if (parse_long(text, 0, max, &v, &why) == -1)
        die_msg("listen-probe: %s %s: %s\n%s", what, text, why, USAGE);
    return v;
}

/* One non-blocking connect with a deadline. Returns the connected fd, or -1
 * and sets *err to the errno (ETIMEDOUT when the deadline passed). */
static int connect_within(const struct addrinfo *ai, long deadline_ms, int *err)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd == -1)
        die("listen-probe: socket");
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
        return fd;
    if (errno != EINPROGRESS) {
        *err = errno;
        close(fd);
        return -1;
    }
    long end = now_ms() + deadline_ms;
    for (;;) {
        long left = end - now_ms();
        if (left <= 0 || stopped) {
            *err = ETIMEDOUT;
            close(fd);
            return -1;
        }
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        int ready = poll(&pfd, 1, (int)left);
        if (ready == -1 && errno != EINTR)
            die("listen-probe: poll");
        if (ready == 1)
            break;
    }
    int so_error = 0;
    socklen_t len = sizeof so_error;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len) == -1)
        die("listen-probe: getsockopt SO_ERROR");
    if (so_error != 0) {
        *err = so_error;
        close(fd);
        return -1;
    }
    return fd;
}

int main(int argc, char **argv)
{
    long deadline = 1000, gap = 50, hold = 0;
    int opt;
    while ((opt = getopt(argc, argv, "t:g:H:")) != -1) {
        switch (opt) {
        case 't': deadline = number(optarg, 600000, "-t"); break;
        case 'g': gap = number(optarg, 600000, "-g"); break;
        case 'H': hold = number(optarg, 600000, "-H"); break;
        default: die_msg("%s", USAGE);
        }
    }
    if (argc - optind != 3)
        die_msg("%s", USAGE);
    long count = number(argv[optind + 2], MAX_COUNT, "COUNT");
    setvbuf(stdout, NULL, _IOLBF, 0);

    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
    struct addrinfo *res;
    int rc = getaddrinfo(argv[optind], argv[optind + 1], &hints, &res);
    if (rc != 0)
        die_msg("listen-probe: getaddrinfo %s %s: %s", argv[optind], argv[optind + 1], gai_strerror(rc));

    static int fds[MAX_COUNT];
    long completed = 0;
    for (long i = 1; i <= count && !stopped; i++) {
        int err = 0;
        int fd = connect_within(res, deadline, &err);
        if (fd == -1) {
            if (err == ETIMEDOUT)
                printf("connection %ld: no answer within %ld ms\n", i, deadline);
            else
                printf("connection %ld: %s (%s)\n", i, errno_name(err), strerror(err));
            continue;
        }
        fds[completed++] = fd;
        printf("connection %ld: connected\n", i);
        if (gap > 0)
            poll(NULL, 0, (int)gap);
    }
    freeaddrinfo(res);
    printf("completed: %ld of %ld\n", completed, count);

    if (hold > 0 && !stopped) {
        printf("holding %ld connection(s) open for %ld ms\n", completed, hold);
        long end = now_ms() + hold;
        while (!stopped && now_ms() < end)
            poll(NULL, 0, (int)(end - now_ms() > 0 ? end - now_ms() : 0));
    }
    for (long i = 0; i < completed; i++)
        close(fds[i]);
    printf("closed\n");
    return 0;
}
