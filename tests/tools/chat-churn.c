/*
 * chat-churn.c - a test tool: join and leave a chat server N times, fast.
 *
 * Each cycle connects, waits for the server's "* welcome" line (so the
 * server really took the client in), then leaves in one of three rude or
 * polite ways, in turn: a plain close; half a line and then a reset
 * (SO_LINGER 0: the peer gets RST); "/quit" and a close without waiting.
 * The tests count the server's fds before and after: leaks show.
 *
 * usage: chat-churn [-n CYCLES] [-T MS] HOST PORT
 *   -n  cycles (default 1000)   -T  give up after MS ms in all (default 20000)
 * Prints "cycles N of M" and exits 0 when all M were done, 1 otherwise.
 */
#include "report.h"
#include "args.h"
#include "net.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Read until a "\n" arrives or the deadline passes; 0 when a line came. */
static int wait_line(int fd, long deadline)
{
    char buf[512];
    for (;;) {
        long left = deadline - now_ms();
        if (left <= 0)
            return -1;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, (int)left) <= 0)
            continue;
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0)
            return -1;
        if (memchr(buf, '\n', (size_t)n))
            return 0;
    }
}

int main(int argc, char **argv)
{
    long cycles = 1000, total_ms = 20000;
    int opt;
    usage_init("usage: chat-churn [-n CYCLES] [-T MS] HOST PORT");
    while ((opt = next_option(argc, argv, "n:T:h")) != -1) {
        switch (opt) {
        case 'n': cycles = option_long("CYCLES", 1, 1000000); break;
        case 'T': total_ms = option_long("MS", 1, 3600000); break;
        }
    }
    if (argc - optind != 2)
        usage_error(NULL, NULL, NULL);
    uint16_t port;
    const char *why, *failed;
    if (parse_port(argv[optind + 1], &port, &why) == -1)
        usage_error("PORT", argv[optind + 1], why);

    long deadline = now_ms() + total_ms, done = 0;
    for (long i = 0; i < cycles && now_ms() < deadline; i++) {
        int fd = tcp_connect(argv[optind], port, &failed);     /* common/net.h */
        if (fd == -1) {
            warn_errno(failed);
            break;
        }
        if (wait_line(fd, deadline) == -1) {
            fprintf(stderr, "chat-churn: cycle %ld: no welcome line\n", i + 1);
            close(fd);
            break;
        }
        if (i % 3 == 1) {
            struct linger lg = {.l_onoff = 1, .l_linger = 0};
            send(fd, "half a li", 9, MSG_NOSIGNAL);
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        } else if (i % 3 == 2) {
            send(fd, "/quit\n", 6, MSG_NOSIGNAL);
        }
        close(fd);
        done++;
    }
    printf("cycles %ld of %ld\n", done, cycles);
    return done == cycles ? 0 : 1;
}
