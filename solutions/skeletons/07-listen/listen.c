/*
 * listen.c - lesson 07: listen() and the accept queue.
 *
 * Creates a TCP socket, binds it, and calls listen(2) with the backlog given
 * on the command line. Then it never calls accept(2): it only watches its own
 * accept queue (the kernel's count of connections that finished the TCP
 * handshake and wait for accept) and prints it whenever it changes. Clients
 * still connect, because the kernel, not the program, answers the handshake,
 * until the queue is full. Stop it with Ctrl-C (SIGINT) or SIGTERM.
 *
 * usage: listen [-b BACKLOG] [ADDRESS [PORT]]
 *   -b BACKLOG  the listen(2) backlog (default 5, as in the source course)
 *   ADDRESS     a numeric IPv4 or IPv6 address (default 127.0.0.1)
 *   PORT        default 9999; 0 lets the kernel choose
 *
 * Partner: any client; the tests use tests/tools/listen-probe.c, and
 * `nc 127.0.0.1 PORT` or `ss -ltn` are the way to watch it by hand.
 *
 * Read: listen(2), socket(7) (somaxconn), tcp(7) (tcp_max_syn_backlog,
 *       tcp_syncookies, TCP_INFO), ss(8)
 */
#include "report.h"
#include "args.h"
#include "net.h"
#include "server.h"
#include "stop.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define USAGE "usage: listen [-b BACKLOG] [ADDRESS [PORT]]"

/*
 * What ss(8) shows as Recv-Q and Send-Q for a listening socket: the number of
 * connections waiting in the accept queue, and the queue's limit. On Linux,
 * TCP_INFO reports them for a listener in tcpi_unacked and tcpi_sacked (the
 * fields mean something else on a connected socket). Returns 1 and fills both
 * when fd is listening, 0 when it is not, -1 with errno on failure.
 */
static int accept_queue(int fd, unsigned *waiting, unsigned *limit)
{
#ifdef TCP_INFO
    struct tcp_info info;
    socklen_t len = sizeof info;
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) == -1)
        return -1;
    if (info.tcpi_state != TCP_LISTEN)
        return 0;
    *waiting = info.tcpi_unacked;
    *limit = info.tcpi_sacked;
    return 1;
#else
    (void)fd, (void)waiting, (void)limit;   /* macOS: use netstat -L instead */
    errno = ENOPROTOOPT;
    return -1;
#endif
}

int main(int argc, char **argv)
{
    long backlog = 5;
    const char *host = "127.0.0.1";
    uint16_t port = 9999;

    usage_init(USAGE);
    while (next_option(argc, argv, "b:h") != -1)   /* -b, the only option */
        backlog = option_long("backlog", 0, INT_MAX);
    endpoint_args(argc, argv, &host, &port);
    struct sockaddr_storage addr;
    socklen_t addr_len;
    numeric_address(host, port, &addr, &addr_len);    /* lesson 06's, in common/net.h */
    setvbuf(stdout, NULL, _IOLBF, 0);

    /* SIGINT/SIGTERM: common/stop.h (lesson 04's self-pipe, as a helper). */
    if (stop_init() == -1)
        die("stop_init");

    /* socket, SO_REUSEADDR, bind: lesson 06's, written out again on purpose
     * (not tcp_listen): listen(2) must come after bind(2), and here the
     * order stays in view (a listen on an unbound socket takes a random port). */
    int fd = socket(addr.ss_family, SOCK_STREAM, 0);
    if (fd == -1)
        die("socket");
    int on = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == -1)
        die("setsockopt SO_REUSEADDR");
    if (bind(fd, (struct sockaddr *)&addr, addr_len) == -1)
        die("bind");

    // TODO: make fd a listening socket with the backlog from the command line (listen(2)).

    if (announce_listening(fd) == -1)
        die("getsockname");
    printf("backlog %ld; this program never calls accept()\n", backlog);

    /* Watch the accept queue ten times a second; say so when it changes. */
    long last = -1;          /* what we printed last: a count, or -2/-3 below */
    unsigned waiting = 0, limit = 0;
    int awake;
    do {
        int state = accept_queue(fd, &waiting, &limit);
        if (state == -1 && last != -2) {
            warn_errno("getsockopt TCP_INFO");
            printf("cannot read the accept queue here: watch it with ss -ltn\n");
            last = -2;
        } else if (state == 0 && last != -3) {
            printf("the socket is not listening: it has no accept queue\n");
            last = -3;
        } else if (state == 1 && (long)waiting != last) {
            printf("accept queue: %u waiting (limit %u)\n", waiting, limit);
            last = waiting;
        }
        // A tenth of a second, cut short by SIGINT/SIGTERM whenever it lands.
    } while ((awake = sleep_or_stop(100)) == 1);
    if (awake == -1)
        die("poll");

    // close(2) on a listener also drops every connection still queued: the
    // kernel resets them, and their clients see ECONNRESET.
    server_stopped(fd);         /* common/server.h: "stopped by ...", close */
    return 0;
}
