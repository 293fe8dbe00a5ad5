/*
 * client.c - lesson 12: a TCP client that finds its server by name.
 *
 * Resolves HOST and PORT with getaddrinfo(3), asking for any family
 * (AF_UNSPEC), and tries each address it gets back in turn until one connect
 * succeeds: "localhost" may mean ::1 and 127.0.0.1, and a server may listen on
 * only one of them. Then it sends MESSAGE, shuts down its sending side
 * (shutdown(2) SHUT_WR: "that was all", for a server that reads to the end
 * before it answers), prints the reply it reads until the server closes, and
 * closes its own end.
 *
 * usage: client [HOST [PORT [MESSAGE]]]
 *        defaults: 127.0.0.1 65432 "This is a test message."
 *
 * Partner: any server that answers one message and closes, e.g.
 *          tests/tools/client-reply-server.c, or `nc -N -l 127.0.0.1 65432`.
 *
 * Read: getaddrinfo(3), gai_strerror(3), connect(2), socket(2), ip(7),
 *       ipv6(7), tcp(7), shutdown(2), recv(2), close(2)
 */
#include "report.h"
#include "args.h"
#include "net.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define USAGE "usage: client [HOST [PORT [MESSAGE]]]"

/*
 * Connect to the first address of HOST:PORT that accepts. Each failed try is
 * reported ("connect [::1]:65432: ECONNREFUSED (Connection refused)") and the
 * next address is tried. Returns the connected fd, or -1 when every address
 * failed (errno is that of the last failure). A resolver failure ends the
 * program: getaddrinfo reports its own codes, not errno.
 */
static int connect_to(const char *host, const char *port)
{
    struct addrinfo *list = NULL;
    // TODO: resolve host and port into list with getaddrinfo(3): any family (AF_UNSPEC),
    // TODO: SOCK_STREAM; on failure die_msg with gai_strerror(3)'s text (it is not an errno).
    (void)host, (void)port;

    int fd = -1, saved = ENOENT;
    for (struct addrinfo *ai = list; ai != NULL; ai = ai->ai_next) {
        char where[ADDRESS_TEXT_MAX];
        format_address(ai->ai_addr, where, sizeof where);
        printf("trying %s\n", where);
        // TODO: create a socket of this address's family (ai_family, ai_socktype,
        // TODO: ai_protocol) and connect(2) it to ai_addr. On success, break out of
        // TODO: the loop with fd set; on failure report it with warn_errno, close, go on.
        errno = ENOSYS;
        warn_errno("connect");
        saved = errno;
    }
    // list was allocated by getaddrinfo; the addresses are no longer needed.
    if (list != NULL)
        freeaddrinfo(list);
    errno = saved;
    return fd;
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1", *port_text = "65432";
    const char *message = "This is a test message.";
    const char *why;
    uint16_t port;

    usage_init(USAGE);
    /* No options but -h ("--" ends them); argv[1..3]: the arguments after them. */
    argc = 1 + only_arguments(argc, argv, 0, 3);
    argv += optind - 1;
    if (argc >= 2)
        host = argv[1];
    if (argc >= 3)
        port_text = argv[2];
    if (argc >= 4)
        message = argv[3];
    // Check the port ourselves: getaddrinfo would also take a service name
    // ("http"), and its "Servname not supported" says less than our reason.
    int bad_port = parse_port(port_text, &port, &why) == -1;
    if (!bad_port && port == 0) {
        bad_port = 1;
        why = "no server listens on port 0";
    }
    if (bad_port)
        usage_error("port", port_text, why);
    setvbuf(stdout, NULL, _IOLBF, 0);

    printf("connecting to %s port %s\n", host, port_text);
    int fd = connect_to(host, port_text);
    if (fd == -1) {
        int err = errno;
        fprintf(stderr, "client: could not connect to %s port %s: %s (%s)\n",
                host, port_text, errno_name(err), strerror(err));
        return 1;
    }
    char local[ADDRESS_TEXT_MAX], remote[ADDRESS_TEXT_MAX];
    if (local_address(fd, local, sizeof local) == -1)
        die("getsockname");
    if (peer_address(fd, remote, sizeof remote) == -1)
        die("getpeername");
    printf("connected to %s from %s\n", remote, local);

    // send_all (lesson 09): one send() may take only part of the message.
    printf("sending: %s\n", message);
    if (send_all(fd, message, strlen(message)) == -1)
        die("send");
    // TODO: tell the server the message is complete: shut down our sending side with
    // TODO: shutdown(2) (SHUT_WR). The server reads end of stream; we can still read.
    printf("sent, and shut down the sending side\n");

    // The reply may come in several pieces: read until the server closes (0).
    char reply[4096];
    size_t got = 0;
    for (;;) {
        ssize_t n = recv(fd, reply + got, sizeof reply - 1 - got, 0);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1)
            die("recv");
        if (n == 0 || (got += (size_t)n) == sizeof reply - 1)
            break;
    }
    reply[got] = '\0';
    printf("received %zu bytes: %s\n", got, reply);

    printf("closing\n");
    if (close(fd) == -1)
        die("close");
    return 0;
}
