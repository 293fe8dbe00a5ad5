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
 *       recvfrom(2), bind(2)
 */
#include "report.h"
#include "args.h"
#include "net.h"
#include "broadcast.h"

#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define USAGE "usage: broadcast-recv [PORT]"

static volatile sig_atomic_t stop_signal = 0;

static void on_signal(int sig)
{
    stop_signal = sig;
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
    if (argc > 2 || (argc == 2 && strcmp(argv[1], "-h") == 0)) {
        fprintf(stderr, "%s\n", USAGE);
        return 1;
    }
    if (argc == 2 && parse_port(argv[1], &port, &why) == -1) {
        fprintf(stderr, "broadcast-recv: port %s: %s\n%s\n", argv[1], why, USAGE);
        return 1;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);

    // No SA_RESTART: a signal interrupts recvfrom (EINTR), and the loop ends.
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) == -1 || sigaction(SIGTERM, &sa, NULL) == -1)
        die("sigaction");

    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd == -1)
        die("socket");

    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_ANY);
    //@todo let other receivers share the port (SO_REUSEADDR, socket(7)), then bind(2) fd to addr.
    //@ (void)addr;
    //@begin
    // For UDP on Linux, SO_REUSEADDR on every socket lets them all bind the
    // same port; each broadcast datagram is then delivered to each of them.
    int on = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == -1)
        die("setsockopt SO_REUSEADDR");
    // 0.0.0.0, not 127.0.0.1: a socket bound to 127.0.0.1 only gets datagrams
    // addressed to 127.0.0.1, and a broadcast is addressed to 127.255.255.255.
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) == -1)
        die("bind");
    //@end
    if (announce_listening(fd) == -1)
        die("getsockname");

    while (!stop_signal) {
        unsigned char data[MAX_DATAGRAM];
        struct sockaddr_storage from;
        socklen_t from_len = sizeof from;
        //@todo receive one datagram into data with recvfrom(2), keeping the sender's address in from.
        //@ ssize_t n = -1;
        //@ errno = ENOSYS;
        //@ (void)from_len;
        //@begin
        // One recvfrom, one datagram; a longer one is cut to sizeof data.
        ssize_t n = recvfrom(fd, data, sizeof data, 0, (struct sockaddr *)&from, &from_len);
        //@end
        if (n == -1) {
            if (errno == EINTR)
                continue;          /* a signal: the loop condition decides */
            die("recvfrom");
        }
        char who[ADDRESS_TEXT_MAX];
        format_address((struct sockaddr *)&from, who, sizeof who);
        print_datagram(who, data, n);
    }
    printf("stopped by signal %d\n", (int)stop_signal);
    if (close(fd) == -1)
        die("close");
    return 0;
}
