/*
 * unix.h - lesson 22: a Unix-domain socket address from a name.
 *
 * A name is either a path in the file system ("/tmp/echo.sock"), where
 * bind(2) creates a socket file that stays until someone unlink(2)s it, or,
 * on Linux, "@name": a name in the abstract namespace, which makes no file
 * and vanishes when the last socket using it is closed.
 *
 * The programs' shared plumbing is here too: a socket connected to a name,
 * one listening on a name, and a copy of a stream to stdout. Each failed
 * call ends the program, naming the call (common/report.h).
 *
 * Read: unix(7) (Address format; Abstract sockets), bind(2), unlink(2)
 */
#ifndef LESSON22_UNIX_H
#define LESSON22_UNIX_H

#include "report.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/*
 * Fill addr for NAME and set *len to the length to pass to bind or connect.
 * -1 with errno ENAMETOOLONG if NAME does not fit in sun_path (108 bytes on
 * Linux, NUL included): never cut a path short, or the server binds one
 * name and the client connects to another.
 */
static inline int unix_address(const char *name, struct sockaddr_un *addr, socklen_t *len)
{
    size_t n = strlen(name);
    memset(addr, 0, sizeof *addr);
    addr->sun_family = AF_UNIX;
    if (n >= sizeof addr->sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    // TODO: copy NAME into addr->sun_path and set *len. A path: its bytes, then a
    //       NUL; *len = offsetof(struct sockaddr_un, sun_path) + n + 1. "@name":
    //       sun_path[0] stays NUL and the name follows; *len counts exactly the
    //       bytes used (no NUL at the end: unix(7), "Abstract sockets").
    *len = sizeof addr->sun_family;
    return 0;
}

/* An AF_UNIX stream socket, and the address for NAME in *addr and *len. */
static inline int unix_socket(const char *name, struct sockaddr_un *addr, socklen_t *len)
{
    if (unix_address(name, addr, len) == -1)
        die("the name does not fit in sun_path");
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd == -1)
        die("socket");
    return fd;
}

/* A stream socket connected to NAME. */
static inline int unix_connect(const char *name)
{
    struct sockaddr_un addr;
    socklen_t len;
    int fd = unix_socket(name, &addr, &len);
    if (connect(fd, (struct sockaddr *)&addr, len) == -1)
        die("connect");
    return fd;
}

/* A stream socket listening on NAME with backlog; prints "listening on NAME".
 * bind creates the socket file; if one is already there (a server running,
 * or one that died without cleaning up) it fails: EADDRINUSE. */
static inline int unix_listen(const char *name, int backlog)
{
    struct sockaddr_un addr;
    socklen_t len;
    int fd = unix_socket(name, &addr, &len);
    if (bind(fd, (struct sockaddr *)&addr, len) == -1)
        die("bind");
    if (listen(fd, backlog) == -1)
        die("listen");
    printf("listening on %s\n", name);
    return fd;
}

/* Copy what fd gives to stdout, unchanged, until end of file: how many bytes. */
static inline size_t copy_to_stdout(int fd)
{
    char buf[4096];
    size_t total = 0;
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) != 0) {
        if (n == -1) {
            if (errno == EINTR)
                continue;
            die("read");
        }
        if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
            die("fwrite");
        total += (size_t)n;
    }
    return total;
}

#endif
