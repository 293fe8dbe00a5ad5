/*
 * conn-cost.c - what one short connection costs a server: connect, read the
 * greeting line, send one line, read its answer line, close; N times, one
 * after another. Used by bench/fork-cost.sh (lesson 18) to compare a server
 * that forks per client with lesson 11's (one client at a time, no fork)
 * and lesson 15's (a thread per client).
 *
 * usage: conn-cost [-n N] [-l LINE] [-w WARMUP] HOST PORT
 *   -n  connections to time (default 1000)
 *   -l  the line to send, without "\n" (default "ping")
 *   -w  connections made first and not timed (default 50)
 * Prints one line: N, total seconds, connections per second, and the time of
 * one connection in microseconds: mean, p50, p99, max (tab-separated).
 * Exit 1 on any failure (a refused connect, an answer that never comes).
 * Each connection has a 5 s limit (SO_RCVTIMEO).
 *
 * Read: connect(2), clock_gettime(2)
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void fail(const char *call)
{
    fprintf(stderr, "conn-cost: %s: %s\n", call, strerror(errno));
    exit(1);
}

/* Read until a '\n' arrives (or the peer closes); 0, or -1 on error or close. */
static int read_line(int fd)
{
    char buf[512];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n == -1 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = ECONNRESET;     /* closed before the line ended */
            return -1;
        }
        if (memchr(buf, '\n', (size_t)n) != NULL)
            return 0;
    }
}

/* One connection: connect, greeting, line, answer, close. */
static void one(const struct addrinfo *ai, const char *line, size_t len)
{
    int fd = socket(ai->ai_family, SOCK_STREAM, 0);
    if (fd == -1)
        fail("socket");
    struct timeval limit = {.tv_sec = 5};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit) == -1)
        fail("setsockopt SO_RCVTIMEO");
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1)
        fail("connect");
    if (read_line(fd) == -1)
        fail("recv (greeting)");
    if (send(fd, line, len, MSG_NOSIGNAL) != (ssize_t)len)
        fail("send");
    if (read_line(fd) == -1)
        fail("recv (answer)");
    if (close(fd) == -1)
        fail("close");
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    long n = 1000, warmup = 50;
    const char *text = "ping";
    int opt;
    while ((opt = getopt(argc, argv, "n:l:w:")) != -1) {
        switch (opt) {
        case 'n': n = strtol(optarg, NULL, 10); break;
        case 'l': text = optarg; break;
        case 'w': warmup = strtol(optarg, NULL, 10); break;
        default:
            fprintf(stderr, "usage: conn-cost [-n N] [-l LINE] [-w WARMUP] HOST PORT\n");
            return 1;
        }
    }
    if (argc - optind != 2 || n < 1 || n > 10000000 || warmup < 0) {
        fprintf(stderr, "usage: conn-cost [-n N] [-l LINE] [-w WARMUP] HOST PORT\n");
        return 1;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
    struct addrinfo *ai;
    int rc = getaddrinfo(argv[optind], argv[optind + 1], &hints, &ai);
    if (rc != 0) {
        fprintf(stderr, "conn-cost: getaddrinfo: %s\n", gai_strerror(rc));
        return 1;
    }
    char line[256];
    int len = snprintf(line, sizeof line, "%s\n", text);
    if (len < 0 || (size_t)len >= sizeof line) {
        fprintf(stderr, "conn-cost: -l: too long\n");
        return 1;
    }

    for (long i = 0; i < warmup; i++)
        one(ai, line, (size_t)len);
    double *took = malloc((size_t)n * sizeof *took);
    if (took == NULL)
        fail("malloc");
    double start = now_us();
    for (long i = 0; i < n; i++) {
        double t0 = now_us();
        one(ai, line, (size_t)len);
        took[i] = now_us() - t0;
    }
    double total = now_us() - start;
    qsort(took, (size_t)n, sizeof *took, by_value);
    printf("%ld\t%.3f\t%.0f\t%.1f\t%.1f\t%.1f\t%.1f\n", n, total / 1e6, n / (total / 1e6),
           total / (double)n, took[n / 2], took[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1], took[n - 1]);
    free(took);
    freeaddrinfo(ai);
    return 0;
}
