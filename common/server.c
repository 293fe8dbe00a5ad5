/*
 * server.c - the one-client-at-a-time server frame (see server.h).
 */
#include "server.h"
#include "net.h"
#include "report.h"
#include "stop.h"
#include "args.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int server_listen(const char *host, uint16_t port, int backlog)
{
    /* The handlers come first: a SIGTERM sent as soon as the "listening"
     * line shows must already find them. */
    if (stop_init() == -1)
        die("stop_init");
    const char *failed = "tcp_listen";
    int listener = tcp_listen(host, port, backlog, &failed);
    if (listener == -1)
        die(failed);
    return listener;
}

int server_start(const char *host, uint16_t port, int backlog)
{
    int listener = server_listen(host, port, backlog);
    if (announce_listening(listener) == -1)
        die("getsockname");
    return listener;
}

void server_stopped(int fd)
{
    printf("stopped by %s\n", stop_signal_name());
    if (close(fd) == -1)
        die("close");
}

int accept_or_stop(int listener)
{
    int ready;
    /* Not `while (!stop_requested()) accept(...)`: a signal landing between
     * the test and accept() would leave accept() asleep. wait_or_stop wakes
     * for a queued client or a stop, whenever the signal came. */
    while ((ready = wait_or_stop(listener, POLLIN)) == 1) {
        int conn = accept(listener, NULL, NULL);
        if (conn != -1)
            return conn;
        // EINTR: wait_or_stop looks at the stop again. ECONNABORTED (the
        // client left while queued), EMFILE, ...: one client lost; a short
        // pause so a failure that repeats does not spin the CPU.
        if (errno != EINTR) {
            warn_errno("accept");
            poll(NULL, 0, 100);
        }
    }
    if (ready == -1)
        die("poll");
    return -1;
}

long serve_until_stopped(int listener, void (*serve)(long n, int conn, void *ctx), void *ctx)
{
    long clients = 0;
    int conn;
    while ((conn = accept_or_stop(listener)) != -1) {
        char peer[ADDRESS_TEXT_MAX];
        if (peer_address(conn, peer, sizeof peer) == -1)
            snprintf(peer, sizeof peer, "(unknown)");
        printf("client %ld: %s connected\n", ++clients, peer);
        serve(clients, conn, ctx);
    }
    server_stopped(listener);
    return clients;
}

int server_main(int argc, char **argv, const char *usage, int backlog,
                void (*serve)(long n, int conn, void *ctx), void *ctx)
{
    const char *host = "127.0.0.1";
    uint16_t port = 9999;
    usage_init(usage);
    next_option(argc, argv, "h");       /* no options but -h */
    endpoint_args(argc, argv, &host, &port);
    setvbuf(stdout, NULL, _IOLBF, 0);
    serve_until_stopped(server_start(host, port, backlog), serve, ctx);
    return 0;
}

/* A line for the log, with what a terminal would not show spelled out. */
static void log_line(long client, const char *line)
{
    printf("client %ld: line \"", client);
    for (const unsigned char *c = (const unsigned char *)line; *c != '\0'; c++) {
        if (*c == '"' || *c == '\\') printf("\\%c", *c);
        else if (isprint(*c)) putchar(*c);
        else printf("\\x%02x", *c);
    }
    printf("\"\n");
}

void echo_lines(long client, int conn, const char *greeting)
{
    struct line_reader r;
    line_reader_init(&r, conn);
    char line[1024];
    char reply[sizeof line + 8];
    long lines = 0;
    const char *failed = "send";
    int rc = send_all(conn, greeting, strlen(greeting));
    while (rc == 0) {
        // Nothing left in the reader's buffer: wait for more bytes or a stop
        // signal (stop.h), so a SIGTERM is never missed.
        if (r.start == r.end) {
            int ready = wait_or_stop(conn, POLLIN);
            if (ready != 1) {
                failed = "poll";
                rc = -1;
                if (ready == 0)
                    errno = EINTR;
                break;
            }
        }
        rc = read_line(&r, line, sizeof line, NULL);
        if (rc != 1) {
            failed = "recv";
            break;
        }
        lines++;
        log_line(client, line);         /* a NUL byte cuts it: fine for an echo */
        int n = snprintf(reply, sizeof reply, "Echo: %s\r\n", line);
        rc = send_all(conn, reply, (size_t)n);
    }
    if (rc == 0)
        printf("client %ld: closed the connection after %ld lines\n", client, lines);
    else if (stop_requested())
        printf("client %ld: disconnected, the server is stopping\n", client);
    else {
        char call[64];
        snprintf(call, sizeof call, "client %ld: %s", client, failed);
        warn_errno(call);       /* ECONNRESET, EPIPE: this client is gone */
        printf("client %ld: dropped after %ld lines\n", client, lines);
    }
    if (close(conn) == -1)
        warn_errno("close");
}
