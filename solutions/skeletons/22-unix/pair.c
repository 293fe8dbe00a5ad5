/*
 * pair.c - lesson 22: socketpair(2) between a parent and its child.
 *
 * socketpair gives two connected Unix-domain sockets at once: no name, no
 * bind, no listen, no accept. After fork(2) the parent keeps one end and the
 * child the other, and they talk. The parent sends MESSAGE and half-closes;
 * the child answers "pong: MESSAGE" and exits; the parent reads until end of
 * stream and reports how the child ended.
 *
 * Each process must close the end it does not use. End of stream comes only
 * when every descriptor of the other end is closed: a parent that keeps its
 * copy of the child's end open waits for ever.
 *
 * usage: pair [MESSAGE]     (default "ping")
 *
 * Prints, from both processes (the order of the lines may vary):
 *   parent 100: sent "ping" to child 101
 *   child 101: got "ping" from parent 100
 *   parent 100: got "pong: ping"
 *   parent 100: child 101 exited with status 0
 *
 * Read: socketpair(2), fork(2), unix(7), waitpid(2), shutdown(2)
 */
#include "report.h"
#include "args.h"
#include "net.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* Read fd until end of stream into buf (NUL-terminated, cut at size-1). */
static ssize_t read_all(int fd, char *buf, size_t size)
{
    size_t used = 0;
    for (;;) {
        ssize_t n = recv(fd, buf + used, size - 1 - used, 0);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1)
            return -1;
        if (n == 0 || (used += (size_t)n) == size - 1)
            break;
    }
    buf[used] = '\0';
    return (ssize_t)used;
}

static void child(int fd, pid_t parent)
{
    char msg[256], reply[300];
    if (read_all(fd, msg, sizeof msg) == -1)
        die("child: recv");
    printf("child %ld: got \"%s\" from parent %ld\n", (long)getpid(), msg, (long)parent);
    int len = snprintf(reply, sizeof reply, "pong: %s", msg);
    if (send_all(fd, reply, (size_t)len) == -1)
        die("child: send");
    if (close(fd) == -1)
        die("child: close");
    exit(0);
}

int main(int argc, char **argv)
{
    usage_init("usage: pair [MESSAGE]   (MESSAGE at most 200 bytes)");
    /* No options but -h ("--" ends them), then [MESSAGE]. */
    const char *message = only_arguments(argc, argv, 0, 1) == 1 ? argv[optind] : "ping";
    if (strlen(message) > 200)
        usage_error("MESSAGE", "", "longer than 200 bytes");
    setvbuf(stdout, NULL, _IOLBF, 0);

    int sv[2];
    // TODO: create two connected stream sockets in sv with socketpair(2) (AF_UNIX,
    //       SOCK_STREAM): sv[0] stays with the parent, sv[1] goes to the child.
    sv[0] = sv[1] = -1;
    errno = ENOSYS;
    if (sv[0] == -1)
        die("socketpair");

    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == -1)
        die("fork");
    if (pid == 0) {
        // TODO: in the child: close the parent's end, sv[0].
        child(sv[1], parent);
    }
    // TODO: in the parent: close the child's end, sv[1]. Otherwise the child's
    //       exit does not end the stream: our own copy keeps it open.

    if (send_all(sv[0], message, strlen(message)) == -1)
        die("send");
    printf("parent %ld: sent \"%s\" to child %ld\n", (long)parent, message, (long)pid);
    // The child reads until end of stream: tell it this is all.
    if (shutdown(sv[0], SHUT_WR) == -1)
        die("shutdown");

    char reply[300];
    if (read_all(sv[0], reply, sizeof reply) == -1)
        die("recv");
    printf("parent %ld: got \"%s\"\n", (long)parent, reply);
    if (close(sv[0]) == -1)
        die("close");

    int status;
    if (waitpid(pid, &status, 0) == -1)
        die("waitpid");
    if (WIFEXITED(status))
        printf("parent %ld: child %ld exited with status %d\n", (long)parent, (long)pid, WEXITSTATUS(status));
    else
        printf("parent %ld: child %ld was killed by signal %d\n", (long)parent, (long)pid, WTERMSIG(status));
    return 0;
}
