/*
 * fragproxy.c - a TCP proxy that cuts the byte stream into small pieces.
 *
 * A test tool of the hardening suite (docs/hardening.md), not a lesson. TCP
 * keeps no message boundaries: one send() may arrive as many recv()s. On
 * loopback a short line nearly always arrives whole, so a server that treats
 * one recv() as one line passes every ordinary test. Put this proxy in between
 * and it fails: each connection is forwarded, both directions, in pieces of
 * 1..MAX bytes (each its own segment: TCP_NODELAY) with a short random pause
 * after each piece.
 *
 * usage: fragproxy [-m MAX_PIECE] [-D MAX_DELAY_US] [-b BYTES] [-s SEED] HOST PORT
 *   -m  largest piece in bytes (default 5; -m 1 forwards byte by byte)
 *   -D  longest pause after a piece, in microseconds (default 300)
 *   -b  fragment only the first BYTES of each direction of each connection,
 *       then forward as it comes, so big transfers stay fast (default 16384)
 *   -s  seed for the piece sizes and pauses (default: from the time); printed
 *       on stderr, so a failure can be replayed
 * It listens on 127.0.0.1 port 0 and prints "listening on 127.0.0.1:PORT".
 * Each accepted connection is connected to HOST PORT. End of stream is passed
 * on as a half-close (shutdown SHUT_WR) and a reset as a reset (SO_LINGER 0),
 * so half-close and reset tests mean the same through the proxy. Runs until
 * killed. Two threads per connection (one per direction), blocking calls.
 *
 * Read: tcp(7) (TCP_NODELAY), shutdown(2), socket(7) (SO_LINGER), pthreads(7)
 */
#include "report.h"
#include "args.h"
#include "net.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif

static long max_piece = 5, max_delay_us = 300, frag_bytes = 16384;

/* One proxied connection: fd[0] the client side, fd[1] the target side. */
struct link {
    int fd[2];
    int reset[2];           /* set: close fd[i] with a reset, not a FIN */
    int running;            /* pump threads still going */
    pthread_mutex_t lock;
};

struct pump {
    struct link *link;
    int from;               /* index of the side we read; we write to 1 - from */
    unsigned seed;
};

static void pause_us(long us)
{
    if (us <= 0)
        return;
    struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

static void set_linger0(int fd)
{
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
}

static void *pump_main(void *arg)
{
    struct pump *pump = arg;
    struct link *link = pump->link;
    int in = link->fd[pump->from], out = link->fd[1 - pump->from];
    long forwarded = 0;
    char buf[4096];

    for (;;) {
        ssize_t n = recv(in, buf, sizeof buf, 0);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == 0) {                       /* end of stream: pass it on */
            (void)shutdown(out, SHUT_WR);
            break;
        }
        if (n == -1) {                      /* reset (or worse): reset the other side */
            pthread_mutex_lock(&link->lock);
            link->reset[1 - pump->from] = 1;
            pthread_mutex_unlock(&link->lock);
            (void)shutdown(out, SHUT_RD);   /* wakes the other pump */
            break;
        }
        size_t off = 0;
        int failed = 0;
        while (off < (size_t)n && !failed) {
            size_t piece = (size_t)n - off;
            if (forwarded < frag_bytes) {
                size_t cut = 1 + (size_t)(rand_r(&pump->seed) % (unsigned)max_piece);
                if (cut < piece)
                    piece = cut;
            }
            if (send_all(out, buf + off, piece) == -1) {   /* net.h */
                failed = 1;
                break;
            }
            off += piece;
            if (forwarded < frag_bytes && max_delay_us > 0)
                pause_us(rand_r(&pump->seed) % (unsigned)(max_delay_us + 1));
            forwarded += (long)piece;
        }
        if (failed) {                       /* the writer's peer is gone: reset ours */
            pthread_mutex_lock(&link->lock);
            link->reset[pump->from] = 1;
            pthread_mutex_unlock(&link->lock);
            (void)shutdown(in, SHUT_RD);
            (void)shutdown(out, SHUT_RD);
            break;
        }
    }

    pthread_mutex_lock(&link->lock);
    int last = --link->running == 0;
    pthread_mutex_unlock(&link->lock);
    if (last) {
        for (int i = 0; i < 2; i++) {
            if (link->reset[i])
                set_linger0(link->fd[i]);
            close(link->fd[i]);
        }
        pthread_mutex_destroy(&link->lock);
        free(link);
    }
    free(pump);
    return NULL;
}

static int connect_target(const char *host, const char *port)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "fragproxy: getaddrinfo %s: %s\n", host, gai_strerror(rc));
        return -1;
    }
    int fd = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
    if (fd != -1 && connect(fd, res->ai_addr, res->ai_addrlen) == -1) {
        warn_errno("fragproxy: connect");
        close(fd);
        fd = -1;
    } else if (fd == -1) {
        warn_errno("fragproxy: socket");
    }
    freeaddrinfo(res);
    return fd;
}

static long option(const char *text, long min, long max, const char *what)
{
    long v;
    const char *why;
    if (parse_long(text, min, max, &v, &why) == -1)
        die_msg("fragproxy: %s %s: %s", what, text, why);
    return v;
}

int main(int argc, char **argv)
{
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    int opt;
    while ((opt = getopt(argc, argv, "m:D:b:s:h")) != -1) {
        switch (opt) {
        case 'm': max_piece = option(optarg, 1, 65536, "-m"); break;
        case 'D': max_delay_us = option(optarg, 0, 1000000, "-D"); break;
        case 'b': frag_bytes = option(optarg, 0, 1L << 40, "-b"); break;
        case 's': seed = (unsigned)option(optarg, 0, 0xffffffffL, "-s"); break;
        default:
            die_msg("usage: fragproxy [-m MAX_PIECE] [-D MAX_DELAY_US] [-b BYTES] [-s SEED] HOST PORT");
        }
    }
    if (argc - optind != 2)
        die_msg("usage: fragproxy [-m MAX_PIECE] [-D MAX_DELAY_US] [-b BYTES] [-s SEED] HOST PORT");
    const char *host = argv[optind], *port = argv[optind + 1];

    signal(SIGPIPE, SIG_IGN);
    const char *failed = "tcp_listen";
    int lfd = tcp_listen("127.0.0.1", 0, 128, &failed);
    if (lfd == -1)
        die(failed);
    fprintf(stderr, "fragproxy: seed %u, pieces of 1..%ld bytes, pauses up to %ld us, first %ld bytes\n",
            seed, max_piece, max_delay_us, frag_bytes);
    if (announce_listening(lfd) == -1)
        die("getsockname");

    for (;;) {
        int cfd = accept(lfd, NULL, NULL);
        if (cfd == -1) {
            if (errno != EINTR && errno != ECONNABORTED)
                warn_errno("fragproxy: accept");
            continue;
        }
        int tfd = connect_target(host, port);
        if (tfd == -1) {                    /* nobody behind us: refuse loudly */
            set_linger0(cfd);
            close(cfd);
            continue;
        }
        int on = 1;
        (void)setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
        (void)setsockopt(tfd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);

        struct link *link = calloc(1, sizeof *link);
        if (link == NULL)
            die("fragproxy: calloc");
        link->fd[0] = cfd;
        link->fd[1] = tfd;
        link->running = 2;
        pthread_mutex_init(&link->lock, NULL);
        for (int from = 0; from < 2; from++) {
            struct pump *pump = malloc(sizeof *pump);
            if (pump == NULL)
                die("fragproxy: malloc");
            pump->link = link;
            pump->from = from;
            pump->seed = seed = seed * 1103515245u + 12345u;
            pthread_t tid;
            int rc = pthread_create(&tid, NULL, pump_main, pump);
            if (rc != 0)
                die_with("fragproxy: pthread_create", rc);
            pthread_detach(tid);
        }
    }
}
