/*
 * server.c - the one-client-at-a-time server frame (see server.h).
 */
#include "server.h"
#include "net.h"
#include "report.h"
#include "stop.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

int server_start(const char *host, uint16_t port, int backlog)
{
    /* The handlers come first: a SIGTERM sent as soon as the "listening"
     * line shows must already find them. */
    if (stop_init() == -1)
        die("stop_init");
    const char *failed = "tcp_listen";
    int listener = tcp_listen(host, port, backlog, &failed);
    if (listener == -1)
        die(failed);
    if (announce_listening(listener) == -1)
        die("getsockname");
    return listener;
}

long serve_until_stopped(int listener, void (*serve)(long n, int conn, void *ctx), void *ctx)
{
    long clients = 0;
    int ready;
    /* Not `while (!stop_requested()) accept(...)`: a signal landing between
     * the test and accept() would leave accept() asleep. wait_or_stop wakes
     * for a queued client or a stop, whenever the signal came. */
    while ((ready = wait_or_stop(listener, POLLIN)) == 1) {
        int conn = accept(listener, NULL, NULL);
        if (conn == -1) {
            // EINTR: wait_or_stop looks at the stop again. ECONNABORTED (the
            // client left while queued), EMFILE, ...: one client lost; a
            // short pause so a failure that repeats does not spin the CPU.
            if (errno != EINTR) {
                warn_errno("accept");
                poll(NULL, 0, 100);
            }
            continue;
        }
        char peer[ADDRESS_TEXT_MAX];
        if (peer_address(conn, peer, sizeof peer) == -1)
            snprintf(peer, sizeof peer, "(unknown)");
        printf("client %ld: %s connected\n", ++clients, peer);
        serve(clients, conn, ctx);
    }
    if (ready == -1)
        die("poll");
    printf("stopped by %s\n", stop_signal_name());
    if (close(listener) == -1)
        die("close");
    return clients;
}
