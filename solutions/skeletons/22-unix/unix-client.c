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
    only_arguments(argc, argv, 1, argc);        /* no options but -h */
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *name = argv[optind];
    int fd = unix_connect(name);                /* unix.h */
    printf("connected to %s as pid %ld\n", name, (long)getpid());

    for (int i = optind + 1; i < argc; i++)
        if (send_all(fd, argv[i], strlen(argv[i])) == -1 || send_all(fd, "\n", 1) == -1)
            die("send");
    // "I have sent everything": the server's recv returns 0, it closes, and
    // our recv below returns 0 in turn.
    if (shutdown(fd, SHUT_WR) == -1)
        die("shutdown");

    copy_to_stdout(fd);                         /* unix.h: until the server closes */
    if (close(fd) == -1)
        die("close");
    return 0;
}
