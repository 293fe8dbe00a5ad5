/*
 * chat-client.c - lesson 16: a chat client that listens to the keyboard and
 * the server at the same time.
 *
 * A chat client waits for two things at once: a line typed on standard input
 * and a line from the server. Blocking in either read would deafen it to the
 * other, so it asks poll(2) to wait on both fds and reads whichever is ready.
 * Each line typed goes to the server; each line from the server is printed.
 * "/quit", "quit" or the end of input (Ctrl-D, or the end of a pipe) sends
 * "/quit", waits up to 2 s for the server to close, and exits 0. If the
 * server closes first, it says so on stderr and exits 1.
 *
 * usage: chat-client [HOST [PORT]]      (default 127.0.0.1 9999)
 *
 * Partner: lesson 15's (or 17's) chat-server.
 *
 * Read: poll(2), getaddrinfo(3), connect(2), recv(2), send(2), shutdown(2)
 */
#include "report.h"
#include "args.h"
#include "net.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define USAGE "usage: chat-client [HOST [PORT]]"
#define QUIT_WAIT_MS 2000       /* after "/quit": how long the server may take to close */
#define LINE_MAX_BYTES 4096     /* a longer typed line is sent in pieces (the server drops it) */

enum { POLL_STDIN, POLL_NET };  /* our two slots in the pollfd array */

/* Connect to HOST PORT, trying each address getaddrinfo(3) gives (IPv4, IPv6). */
static int connect_to(const char *host, const char *port)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0)
        die_msg("chat-client: %s port %s: %s", host, port, gai_strerror(rc));
    int fd = -1, saved = 0;
    for (struct addrinfo *ai = res; ai != NULL && fd == -1; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd == -1) {
            saved = errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
            saved = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd == -1)
        die_with("connect", saved);
    return fd;
}

/* Write all of buf to stdout (it may be a pipe that takes less at once). */
static void print_bytes(const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(STDOUT_FILENO, buf, len);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1)
            die("write stdout");
        buf += n;
        len -= (size_t)n;
    }
}

/* One typed line (without its "\n"): "quit" and "/quit" mean leave. Returns 1
 * when the user asked to leave, after sending "/quit" for them. */
static int send_typed_line(int sock, const char *line, size_t len)
{
    if (len > 0 && line[len - 1] == '\r')
        len--;
    int leave = (len == 4 && memcmp(line, "quit", 4) == 0) ||
                (len == 5 && memcmp(line, "/quit", 5) == 0);
    if (leave)
        line = "/quit", len = 5;
    /* One send for the line and its "\n": two small sends in a row are the
     * write-write pattern that Nagle's algorithm delays (lesson 05). */
    char out[LINE_MAX_BYTES + 1];
    memcpy(out, line, len);
    out[len] = '\n';
    if (send_all(sock, out, len + 1) == -1)
        die("send");
    return leave;
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1", *port = "9999", *why;
    uint16_t port_number;
    if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        printf("%s\n", USAGE);
        return 0;
    }
    if (argc > 3 || (argc > 1 && argv[1][0] == '-'))
        die_msg("%s", USAGE);
    if (argc > 1)
        host = argv[1];
    if (argc > 2) {
        port = argv[2];
        if (parse_port(port, &port_number, &why) == -1)
            die_msg("chat-client: port %s: %s\n%s", port, why, USAGE);
    }

    int sock = connect_to(host, port);
    char typed[LINE_MAX_BYTES];        /* stdin bytes not yet sent: part of a line */
    size_t typed_len = 0;
    int leaving = 0;                   /* "/quit" sent: now we wait for the close */
    long leave_deadline = 0;

    struct pollfd fds[2] = {
        [POLL_STDIN] = {.fd = STDIN_FILENO, .events = POLLIN},
        [POLL_NET] = {.fd = sock, .events = POLLIN},
    };
    for (;;) {
        int timeout = -1;
        if (leaving) {
            timeout = (int)(leave_deadline - now_ms());
            if (timeout <= 0)
                break;                  /* the server did not close in time: we go anyway */
            fds[POLL_STDIN].fd = -1;    /* a negative fd: poll(2) skips this slot */
        }
        // TODO: wait with poll(2) on both slots (2 fds, this timeout); retry on EINTR, die("poll") on other errors, and go round again when it times out.
        (void)timeout;
        break;

        /* The server spoke (or hung up: POLLHUP and POLLERR end in recv too). */
        if (fds[POLL_NET].revents & (POLLIN | POLLHUP | POLLERR)) {
            char buf[4096];
            // TODO: recv(2) what the server sent and print it with print_bytes; 0 means the server closed: if we are leaving that is the goodbye (exit 0), else say "* connection closed by server" on stderr and exit 1.
            ssize_t n = 0;
            (void)buf;
            if (n == 0) {
                close(sock);
                if (leaving)
                    return 0;
                fprintf(stderr, "* connection closed by server\n");
                return 1;
            }
            print_bytes(buf, (size_t)n);
        }

        /* The user typed something (or stdin ended). */
        if (fds[POLL_STDIN].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = read(STDIN_FILENO, typed + typed_len, sizeof typed - typed_len);
            if (n == -1 && errno == EINTR)
                continue;
            if (n == -1)
                die("read stdin");
            if (n == 0) {               /* end of input: a last line, then leave */
                int quit_sent = typed_len > 0 && send_typed_line(sock, typed, typed_len);
                if (!quit_sent)
                    send_typed_line(sock, "/quit", 5);
                typed_len = 0;
                leaving = 1;
            } else {
                typed_len += (size_t)n;
                char *start = typed, *nl;
                while (!leaving && (nl = memchr(start, '\n', typed_len - (size_t)(start - typed)))) {
                    leaving = send_typed_line(sock, start, (size_t)(nl - start));
                    start = nl + 1;
                }
                typed_len -= (size_t)(start - typed);
                memmove(typed, start, typed_len);
                if (typed_len == sizeof typed) {    /* no newline in 4 KB: send a piece */
                    if (send_all(sock, typed, typed_len) == -1)
                        die("send");
                    typed_len = 0;
                }
            }
            if (leaving)
                leave_deadline = now_ms() + QUIT_WAIT_MS;
        }
    }
    close(sock);
    return 0;
}
