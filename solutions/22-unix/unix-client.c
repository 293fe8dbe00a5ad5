/*
 * unix-client.c - lesson 22: connect to a Unix-domain stream socket by name.
 *
 * Connects to NAME (a path, or @NAME in the abstract namespace), sends each
 * MESSAGE followed by a newline, shuts down its sending side (the server
 * reads end of stream), and prints everything it receives until the server
 * closes. It first prints its own process ID, which the server learns with
 * SO_PEERCRED.
 *
 * usage: unix-client NAME [MESSAGE...]
 *
 * Prints "connected to NAME as pid P", then the bytes received, unchanged.
 * A path with no socket behind it fails with ENOENT; a socket file whose
 * server is gone fails with ECONNREFUSED (connect(2)).
 *
 * Partner: unix-echo-server NAME, or fd-recv NAME (to see it refuse bytes
 * that carry no file descriptor).
 *
 * Read: unix(7), connect(2), shutdown(2)
 */
#include "report.h"
#include "args.h"
#include "net.h"
#include "unix.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define USAGE "usage: unix-client NAME [MESSAGE...]"

int main(int argc, char **argv)
{
    usage_init(USAGE);
    next_option(argc, argv, "h");               /* no options but -h */
    argc -= optind - 1, argv += optind - 1;     /* argv[1]: the first argument */
    if (argc < 2)
        usage_error(NULL, NULL, NULL);
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct sockaddr_un addr;
    socklen_t addr_len;
    if (unix_address(argv[1], &addr, &addr_len) == -1)
        die("unix-client: the name does not fit in sun_path");

    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd == -1)
        die("socket");
    if (connect(fd, (struct sockaddr *)&addr, addr_len) == -1)
        die("connect");
    printf("connected to %s as pid %ld\n", argv[1], (long)getpid());

    for (int i = 2; i < argc; i++)
        if (send_all(fd, argv[i], strlen(argv[i])) == -1 || send_all(fd, "\n", 1) == -1)
            die("send");
    // "I have sent everything": the server's recv returns 0, it closes, and
    // our recv below returns 0 in turn.
    if (shutdown(fd, SHUT_WR) == -1)
        die("shutdown");

    char buf[4096];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, 0)) != 0) {
        if (n == -1) {
            if (errno == EINTR)
                continue;
            die("recv");
        }
        if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
            die("fwrite");
    }
    if (close(fd) == -1)
        die("close");
    return 0;
}
