/*
 * client-reply-server.c - a one-shot server for the lesson 12 tests.
 *
 * Listens on ADDRESS (numeric, e.g. 127.0.0.1 or ::1), port 0, prints
 * "listening on ADDRESS:PORT", accepts one connection, reads one message (a
 * single recv, enough for a short message on loopback), answers
 * "reply to: MESSAGE" and closes. It prints "got: MESSAGE" on stdout.
 * With -e it reads until the end of stream instead (the client's
 * shutdown(SHUT_WR) or close) and answers only then, as a server does whose
 * request has no end marker but the end of the stream; it prints "got:
 * MESSAGE (then end of stream)". It exits by itself after 10 s if nobody
 * connects or nothing more comes (-e: then it closes without an answer).
 *
 * usage: client-reply-server [-e] ADDRESS
 */
#include "report.h"
#include "net.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    int until_eof = argc == 3 && strcmp(argv[1], "-e") == 0;
    if (argc != 2 && !until_eof) {
        fprintf(stderr, "usage: client-reply-server [-e] ADDRESS\n");
        return 1;
    }
    argv += until_eof;
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *failed;
    int lfd = tcp_listen(argv[1], 0, 1, &failed);
    if (lfd == -1)
        die(failed);
    // Bounded: accept and recv give up after 10 s (SO_RCVTIMEO covers both).
    struct timeval tv = {.tv_sec = 10};
    if (setsockopt(lfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == -1)
        die("setsockopt SO_RCVTIMEO");
    if (announce_listening(lfd) == -1)
        die("getsockname");
    int fd = accept(lfd, NULL, NULL);
    if (fd == -1)
        die("accept");
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == -1)
        die("setsockopt SO_RCVTIMEO");
    char buf[1024];
    ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
    size_t got = n > 0 ? (size_t)n : 0;
    while (until_eof && n > 0 && got < sizeof buf - 1) {
        n = recv(fd, buf + got, sizeof buf - 1 - got, 0);
        if (n > 0)
            got += (size_t)n;
    }
    if (n == -1) {
        int err = errno;        /* printf may change errno */
        if (until_eof)
            printf("no end of stream from the client within 10 s: no answer\n");
        die_with("recv", err);
    }
    buf[got] = '\0';
    printf("got: %s%s\n", buf, until_eof ? " (then end of stream)" : "");
    char reply[1100];
    int len = snprintf(reply, sizeof reply, "reply to: %s", buf);
    if (send_all(fd, reply, (size_t)len) == -1)
        die("send");
    close(fd);
    close(lfd);
    return 0;
}
