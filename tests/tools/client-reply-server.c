/*
 * client-reply-server.c - a one-shot server for the lesson 12 tests.
 *
 * Listens on ADDRESS (numeric, e.g. 127.0.0.1 or ::1), port 0, prints
 * "listening on ADDRESS:PORT", accepts one connection, reads one message (a
 * single recv, enough for a short message on loopback), answers
 * "reply to: MESSAGE" and closes. It prints "got: MESSAGE" on stdout.
 * It exits by itself after 10 s if nobody connects.
 *
 * usage: client-reply-server ADDRESS
 */
#include "report.h"
#include "net.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: client-reply-server ADDRESS\n");
        return 1;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *failed;
    int lfd = tcp_listen(argv[1], "0", 1, &failed);
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
    if (n == -1)
        die("recv");
    buf[n] = '\0';
    printf("got: %s\n", buf);
    char reply[1100];
    int len = snprintf(reply, sizeof reply, "reply to: %s", buf);
    if (send_all(fd, reply, (size_t)len) == -1)
        die("send");
    close(fd);
    close(lfd);
    return 0;
}
