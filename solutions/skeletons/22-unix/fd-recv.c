/*
 * fd-recv.c - lesson 22: receive an open file descriptor and read through it.
 *
 * Listens on NAME, accepts one connection, and receives one message with
 * recvmsg(2). If it carries an SCM_RIGHTS control message, the descriptor
 * in it is a file opened by the sender: fd-recv reads it to the end and
 * prints what it holds, though it may have no permission to open the file
 * itself. Given FILE, it first tries to open FILE on its own and says how
 * that went, so you can see the difference.
 *
 * usage: fd-recv NAME [FILE]
 *
 * Prints:
 *   open FILE myself: EACCES (Permission denied)      (with FILE)
 *   listening on NAME
 *   received fd 4
 *   ...the file's bytes...
 *   read 42 bytes through fd 4
 * Exit 1 with "no file descriptor came with the message" when the sender
 * sent only bytes.
 *
 * Partner: fd-send NAME FILE
 *
 * Read: unix(7) (SCM_RIGHTS), cmsg(3), recvmsg(2)
 */
#include "report.h"
#include "args.h"
#include "unix.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define USAGE "usage: fd-recv NAME [FILE]"

/* Receive one message on sock; return the descriptor it carries, or -1 (errno
 * set) on failure, or -2 if it carried none. */
static int receive_fd(int sock)
{
    char byte;
    struct iovec iov = {.iov_base = &byte, .iov_len = 1};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    struct msghdr msg = {
        .msg_iov = &iov,
        .msg_iovlen = 1,
        .msg_control = control.buf,
        .msg_controllen = sizeof control.buf,
    };
    // MSG_CMSG_CLOEXEC: the new descriptor is not inherited by programs we run.
    ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    if (n == -1)
        return -1;
    // TODO: find the descriptor: for each control message (CMSG_FIRSTHDR, CMSG_NXTHDR)
    //       at level SOL_SOCKET of type SCM_RIGHTS, copy the int out of CMSG_DATA
    //       (memcpy) and return it. None at all (or n == 0): return -2.
    (void)n;
    return -2;
}

int main(int argc, char **argv)
{
    usage_init(USAGE);
    int args = only_arguments(argc, argv, 1, 2);    /* no options but -h */
    const char *name = argv[optind], *file = argv[optind + 1];
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (args == 2) {
        int own = open(file, O_RDONLY);
        if (own == -1)
            printf("open %s myself: %s (%s)\n", file, errno_name(errno), strerror(errno));
        else if (close(own) == 0)
            printf("open %s myself: it worked, no descriptor needed\n", file);
    }

    int listener = unix_listen(name, 1);        /* unix.h */

    int conn = accept(listener, NULL, NULL);
    if (conn == -1)
        die("accept");
    int fd = receive_fd(conn);
    if (fd == -1)
        die("recvmsg");
    if (fd == -2)
        die_msg("fd-recv: no file descriptor came with the message");
    printf("received fd %d\n", fd);

    size_t total = copy_to_stdout(fd);          /* unix.h: read(2) to the end */
    printf("read %zu bytes through fd %d\n", total, fd);
    if (close(fd) == -1 || close(conn) == -1 || close(listener) == -1)
        die("close");
    if (name[0] != '@' && unlink(name) == -1)
        die("unlink");
    return 0;
}
