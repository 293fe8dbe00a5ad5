/*
 * fd-send.c - lesson 22: pass an open file descriptor to another process.
 *
 * Opens FILE for reading (or takes its standard input, already open, for
 * "-"), connects to NAME, and sends one byte of data with an SCM_RIGHTS
 * control message that carries the descriptor. The kernel installs a copy
 * of the open file in the receiver, under a number of the receiver's own.
 * The receiver needs no permission on FILE: the permission was checked when
 * this process opened it. That is how a privileged helper hands a file to
 * an unprivileged one.
 *
 * usage: fd-send NAME FILE      (FILE "-": pass standard input)
 *
 * Prints "sent fd N (FILE) to NAME".
 *
 * Partner: fd-recv NAME [FILE]
 *
 * Read: unix(7) (SCM_RIGHTS), cmsg(3), sendmsg(2)
 */
#include "report.h"
#include "args.h"
#include "unix.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define USAGE "usage: fd-send NAME FILE   (FILE \"-\": pass standard input)"

/* Send fd over sock as an SCM_RIGHTS message with one byte of data. */
static int send_fd(int sock, int fd)
{
    // At least one byte of real data must go with the control message:
    // on a stream socket, a message with no data is not sent at all.
    char byte = 'F';
    struct iovec iov = {.iov_base = &byte, .iov_len = 1};
    // Room for one cmsghdr holding one int, correctly aligned (cmsg(3)).
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    memset(&control, 0, sizeof control);
    struct msghdr msg = {
        .msg_iov = &iov,
        .msg_iovlen = 1,
        .msg_control = control.buf,
        .msg_controllen = sizeof control.buf,
    };
    // TODO: fill in the one control message: CMSG_FIRSTHDR(&msg), then cmsg_level
    //       SOL_SOCKET, cmsg_type SCM_RIGHTS, cmsg_len CMSG_LEN(sizeof(int)), and
    //       fd copied into CMSG_DATA (memcpy: it may not be aligned for an int).
    (void)fd;
    return sendmsg(sock, &msg, 0) == -1 ? -1 : 0;
}

int main(int argc, char **argv)
{
    usage_init(USAGE);
    only_arguments(argc, argv, 2, 2);           /* no options but -h */
    const char *name = argv[optind], *file = argv[optind + 1];
    int fd = STDIN_FILENO;
    if (strcmp(file, "-") != 0 && (fd = open(file, O_RDONLY)) == -1)
        die("open");

    int sock = unix_connect(name);              /* unix.h */
    if (send_fd(sock, fd) == -1)
        die("sendmsg");
    printf("sent fd %d (%s) to %s\n", fd, file, name);
    // The receiver has its own copy now: ours can go.
    if (close(sock) == -1 || (fd != STDIN_FILENO && close(fd) == -1))
        die("close");
    return 0;
}
