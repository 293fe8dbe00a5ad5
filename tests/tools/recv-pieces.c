/*
 * recv-pieces.c - a test client that sends its arguments as separate send()s.
 *
 * Lessons 10 and 11 need "two writes" and "one line in 1-byte pieces", which
 * peer.c (one send for -d) cannot do. It connects, sends each PIECE with its
 * own send(2) call, waiting GAP ms between them, then shuts down its sending
 * side (the server reads end-of-file) unless -k, and prints everything it
 * receives until the server closes (or 10 s pass).
 *
 * usage: recv-pieces [-g GAP_MS] [-k] [-z BYTES] HOST PORT [PIECE...]
 *   PIECE  text; the escapes \n \r \t \\ are understood
 *   -k     keep the sending side open: do not shut it down after the last piece
 *   -z     after the pieces, send BYTES bytes of 'z' with ONE send() call
 *          (repeated only for what a short send left over, said on stderr)
 * Exit 0 when the server closed, 3 on the 10 s deadline, 1 on an error.
 */
#include "report.h"
#include "args.h"
#include "net.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static size_t unescape(const char *in, char *out)
{
    size_t n = 0;
    for (; *in; in++) {
        if (*in == '\\' && in[1] != '\0') {
            in++;
            out[n++] = *in == 'n' ? '\n' : *in == 'r' ? '\r' : *in == 't' ? '\t' : *in;
        } else {
            out[n++] = *in;
        }
    }
    return n;
}

int main(int argc, char **argv)
{
    long gap = 0, big = 0;
    int keep_open = 0, opt;
    const char *why;
    while ((opt = getopt(argc, argv, "g:kz:")) != -1) {
        if (opt == 'g' && parse_long(optarg, 0, 10000, &gap, &why) == 0)
            continue;
        if (opt == 'z' && parse_long(optarg, 1, 1L << 26, &big, &why) == 0)
            continue;
        if (opt == 'k') {
            keep_open = 1;
            continue;
        }
        die_msg("usage: recv-pieces [-g GAP_MS] [-k] [-z BYTES] HOST PORT [PIECE...]");
    }
    if (argc - optind < 2)
        die_msg("usage: recv-pieces [-g GAP_MS] [-k] [-z BYTES] HOST PORT [PIECE...]");

    uint16_t port;
    const char *failed;
    if (parse_port(argv[optind + 1], &port, &why) == -1)
        die_msg("recv-pieces: port %s: %s", argv[optind + 1], why);
    int fd = tcp_connect(argv[optind], port, &failed);     /* common/net.h */
    if (fd == -1)
        die(failed);

    for (int i = optind + 2; i < argc; i++) {
        if (i > optind + 2 && gap > 0)
            usleep((useconds_t)gap * 1000);
        char piece[4096];
        size_t len = unescape(argv[i], piece);
        if (len > 0 && send(fd, piece, len, MSG_NOSIGNAL) != (ssize_t)len)
            die("recv-pieces: send");
    }
    if (big > 0) {
        char *block = malloc((size_t)big);
        if (block == NULL)
            die("recv-pieces: malloc");
        memset(block, 'z', (size_t)big);
        for (long off = 0; off < big;) {
            ssize_t n = send(fd, block + off, (size_t)(big - off), MSG_NOSIGNAL);
            if (n == -1)
                die("recv-pieces: send");
            if (n < big - off)
                fprintf(stderr, "recv-pieces: short send: %zd of %ld\n", n, big - off);
            off += n;
        }
        free(block);
    }
    if (!keep_open && shutdown(fd, SHUT_WR) == -1)
        die("recv-pieces: shutdown");

    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        long left = 10000 - ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000);
        if (left <= 0) {
            fprintf(stderr, "recv-pieces: deadline reached\n");
            return 3;
        }
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, (int)left) <= 0)
            continue;
        char buf[4096];
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n == -1) {
            if (errno == EINTR)
                continue;
            die("recv-pieces: recv");
        }
        if (n == 0)
            break;
        fwrite(buf, 1, (size_t)n, stdout);
        fflush(stdout);
    }
    close(fd);
    return 0;
}
