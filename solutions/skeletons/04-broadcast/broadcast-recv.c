/*
 * broadcast-recv.c - lesson 04: receive UDP datagrams, broadcast ones included.
 *
 * Binds a UDP socket to 0.0.0.0:PORT (every local address, which includes
 * the loopback broadcast address 127.255.255.255) and prints each datagram
 * with the address it came from, until SIGINT or SIGTERM. Several receivers
 * may share the port (SO_REUSEADDR): a broadcast reaches them all.
 *
 * usage: broadcast-recv [PORT]
 *   PORT  default 12345; 0 lets the kernel choose
 *
 * Partner: broadcast-send -b PORT MESSAGE
 *
 * Read: socket(7) (SO_REUSEADDR), ip(7) (INADDR_ANY, broadcast), udp(7),
 *       recvfrom(2), bind(2); for the stop: signal-safety(7), pipe(2), poll(2)
 */
#include "report.h"
#include "args.h"
#include "net.h"
#include "broadcast.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define USAGE "usage: broadcast-recv [PORT]"

/*
 * Stopping on a signal, without a race. `while (!stop_signal) recvfrom(...)`
 * loses a signal that lands after the test and before recvfrom starts to
 * wait: the handler sets the flag, then recvfrom sleeps until the next
 * datagram, perhaps forever. So the handler also writes one byte into a pipe
 * (the "self-pipe trick"), and the loop waits in poll(2) on the socket and
 * the pipe together: a byte written before poll looks is still there when it
 * does. Later lessons get the same thing from common/stop.h.
 */
static volatile sig_atomic_t stop_signal = 0;
static int stop_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
    int saved = errno;      /* write() may change errno under the interrupted code */
    stop_signal = sig;
    // write(2) is async-signal-safe (signal-safety(7)); the pipe is
    // non-blocking, so a full pipe (already readable) cannot hang us here.
    ssize_t ignored = write(stop_pipe[1], "x", 1);
    (void)ignored;
    errno = saved;
}

/* Print a datagram so that no byte of it can mess up a terminal. */
static void print_datagram(const char *from, const unsigned char *data, ssize_t n)
{
    printf("from %s: ", from);
    for (ssize_t i = 0; i < n; i++)
        putchar(isprint(data[i]) ? data[i] : '.');
    printf(" (%zd bytes)\n", n);
}

int main(int argc, char **argv)
{
    uint16_t port = BROADCAST_PORT;
    const char *why;
    usage_init(USAGE);
    /* No options but -h, then [PORT] (common/args.h). */
    if (only_arguments(argc, argv, 0, 1) == 1 && parse_port(argv[optind], &port, &why) == -1)
        usage_error("port", argv[optind], why);
    setvbuf(stdout, NULL, _IOLBF, 0);

    if (pipe(stop_pipe) == -1)
        die("pipe");
    int flags = fcntl(stop_pipe[1], F_GETFL);
    if (flags == -1 || fcntl(stop_pipe[1], F_SETFL, flags | O_NONBLOCK) == -1)
        die("fcntl O_NONBLOCK");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) == -1 || sigaction(SIGTERM, &sa, NULL) == -1)
        die("sigaction");

    struct sockaddr_in addr;
    int fd = udp_socket_for("0.0.0.0", port, &addr);    /* broadcast.h */
    // TODO: let other receivers share the port (SO_REUSEADDR, socket(7)), then bind(2) fd to addr.
    (void)addr;
    if (announce_listening(fd) == -1)
        die("getsockname");

    struct pollfd wait_for[2] = {
        {.fd = stop_pipe[0], .events = POLLIN},     /* a byte here: stop */
        {.fd = fd, .events = POLLIN},               /* a datagram to read */
    };
    for (;;) {
        if (poll(wait_for, 2, -1) == -1) {
            if (errno == EINTR)
                continue;           /* the pipe will be readable: poll again */
            die("poll");
        }
        if (wait_for[0].revents != 0)
            break;                  /* a stop signal came */
        unsigned char data[MAX_DATAGRAM];
        struct sockaddr_storage from;
        socklen_t from_len = sizeof from;
        // TODO: receive one datagram into data with recvfrom(2), keeping the sender's address in from.
        ssize_t n = -1;
        errno = ENOSYS;
        (void)from_len;
        if (n == -1)
            die("recvfrom");       /* poll said a datagram is there: no EINTR wait */
        char who[ADDRESS_TEXT_MAX];
        format_address((struct sockaddr *)&from, who, sizeof who);
        print_datagram(who, data, n);
    }
    printf("stopped by signal %d\n", (int)stop_signal);
    if (close(fd) == -1)
        die("close");
    close(stop_pipe[0]);
    close(stop_pipe[1]);
    return 0;
}
