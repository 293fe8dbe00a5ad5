/*
 * send.c - lesson 09: send() may send less than you asked; send it all.
 *
 * A server that greets each client with "Hello, client!" and then sends a
 * large payload (4 MiB by default) whole, with a send-all loop: send(2)
 * returns how many bytes it took, which can be fewer than asked, and the loop
 * sends the rest. For each client it reports how many send() calls that took
 * and how many of them were short. A client that leaves early makes send fail
 * with EPIPE (or ECONNRESET): the server says so and serves the next client;
 * it never dies of SIGPIPE. Runs until Ctrl-C (SIGINT) or SIGTERM.
 *
 * The payload is deterministic, so a client can check it: the first BYTES
 * bytes of the lines "payload 0000000\n", "payload 0000001\n", ... (16 bytes
 * each), e.g. awk 'BEGIN { for (i = 0; i < 262144; i++) printf "payload %07d\n", i }'.
 *
 * usage: send [-b BYTES] [-s SNDBUF] [-a MS] [ADDRESS [PORT]]
 *   -b BYTES   payload size (default 4194304)
 *   -s SNDBUF  set SO_SNDBUF on each connection (small: more, shorter sends)
 *   -a MS      a SIGALRM every MS ms (setitimer), as in a program with a
 *              timer: a signal interrupts a blocked send (short send or EINTR)
 *   ADDRESS    a numeric IPv4 or IPv6 address (default 127.0.0.1)
 *   PORT       default 9999; 0 lets the kernel choose
 *
 * Partner: `nc 127.0.0.1 9999 | wc -c`; the tests use tests/tools/peer.c.
 *
 * Read: send(2), socket(7) (SO_SNDBUF), tcp(7), signal(7) (SIGPIPE, EINTR,
 *       SA_RESTART), sigaction(2), setitimer(2)
 */
#include "report.h"
#include "args.h"
#include "net.h"
#include "server.h"
#include "stop.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define USAGE "usage: send [-b BYTES] [-s SNDBUF] [-a MS] [ADDRESS [PORT]]"
#define GREETING "Hello, client!\n"

/* SIGALRM (-a) only interrupts: its handler does nothing. SIGINT and
 * SIGTERM are common/stop.h's: they set a flag that stop_requested() reads. */
static void on_alarm(int sig)
{
    (void)sig;
}

/* What the send-all loop did, for the report line. */
struct send_stats {
    size_t sent;        /* bytes the kernel took so far */
    long calls;         /* send() calls made */
    long short_sends;   /* calls that took fewer bytes than asked */
    long interrupted;   /* calls that failed with EINTR (took nothing) */
};

/*
 * Send all len bytes of buf on fd, whatever send(2) does. Returns 0 when
 * every byte was handed to the kernel, -1 with errno set when send failed
 * (EPIPE, ECONNRESET, ...) or with EINTR when SIGINT/SIGTERM asked us to
 * stop (stop_requested()); stats says how far it got either way.
 */
static int send_all_counted(int fd, const char *buf, size_t len, struct send_stats *stats)
{
    // TODO: call send(2) until all len bytes are sent: it may take fewer than asked
    //       (count those in stats->short_sends) or fail with EINTR (count, retry).
    //       But before each call, if stop_requested(), return -1 with errno EINTR:
    //       SIGTERM is what cut the last send short, and the client may never read.
    //       A peer that is gone must give EPIPE, not kill us with SIGPIPE.
    //       Keep stats->sent and stats->calls up to date.
    (void)fd, (void)buf, (void)len, (void)stats;
    errno = ENOSYS;
    return -1;
}

/* What every client gets: the payload, and the SO_SNDBUF to send it with. */
struct job {
    const char *payload;
    size_t size;
    long sndbuf;
};

/* Greet one client, send it the payload, report, close. */
static void serve(long n, int conn, void *ctx)
{
    const struct job *job = ctx;
    const char *payload = job->payload;
    size_t size = job->size;
    long sndbuf = job->sndbuf;

    // MSG_NOSIGNAL is missing on older macOS: net.h then makes it 0, and
    // no_sigpipe sets SO_NOSIGPIPE on the socket instead (Linux: no-op).
    if (no_sigpipe(conn) == -1)
        warn_errno("setsockopt SO_NOSIGPIPE");
    if (sndbuf > 0) {
        int size_opt = (int)sndbuf;
        if (setsockopt(conn, SOL_SOCKET, SO_SNDBUF, &size_opt, sizeof size_opt) == -1)
            warn_errno("setsockopt SO_SNDBUF");
    }

    struct send_stats greeting = {0}, stats = {0};
    if (send_all_counted(conn, GREETING, strlen(GREETING), &greeting) == -1 ||
        send_all_counted(conn, payload, size, &stats) == -1) {
        // Per-connection failure: say why, drop this client, keep serving.
        char call[64];
        snprintf(call, sizeof call, "client %ld: send", n);
        warn_errno(call);
        printf("client %ld: gave up after %zu of %zu payload bytes\n", n, stats.sent, size);
    } else {
        printf("client %ld: sent %zu bytes in %ld send() calls: %ld short, %ld interrupted (EINTR)\n",
               n, stats.sent, stats.calls, stats.short_sends, stats.interrupted);
    }
    if (close(conn) == -1)
        warn_errno("close");
    printf("client %ld: closed\n", n);
}

int main(int argc, char **argv)
{
    long size = 4L << 20, sndbuf = 0, alarm_ms = 0;
    const char *host = "127.0.0.1";
    uint16_t port = 9999;
    int opt;

    usage_init(USAGE);
    while ((opt = next_option(argc, argv, "b:s:a:h")) != -1) {
        switch (opt) {
        case 'b': size = option_long("bytes", 0, 1L << 30); break;
        case 's': sndbuf = option_long("sndbuf", 1, INT_MAX); break;
        case 'a': alarm_ms = option_long("alarm", 1, 60000); break;
        }
    }
    endpoint_args(argc, argv, &host, &port);
    setvbuf(stdout, NULL, _IOLBF, 0);

    /* The payload: "payload 0000000\n", "payload 0000001\n", ... cut at size bytes. */
    char *payload = malloc((size_t)size + 17);
    if (payload == NULL)
        die("malloc");
    for (long i = 0; i * 16 < size; i++)
        snprintf(payload + i * 16, 17, "payload %07lu\n", (unsigned long)(i % 10000000));

    struct sigaction sa = {.sa_handler = on_alarm};
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGALRM, &sa, NULL) == -1)
        die("sigaction");
    if (alarm_ms > 0) {
        struct itimerval every = {
            .it_interval = {.tv_sec = alarm_ms / 1000, .tv_usec = alarm_ms % 1000 * 1000},
            .it_value = {.tv_sec = alarm_ms / 1000, .tv_usec = alarm_ms % 1000 * 1000},
        };
        if (setitimer(ITIMER_REAL, &every, NULL) == -1)
            die("setitimer");
    }

    /* SIGINT/SIGTERM come from common/server.h (stop.h): they end the
     * accept wait whenever they land. No SA_RESTART anywhere: signals
     * interrupt a blocked send(), on purpose. */
    int listener = server_start(host, port, 5);

    struct job job = {payload, (size_t)size, sndbuf};
    serve_until_stopped(listener, serve, &job);
    free(payload);
    return 0;
}
