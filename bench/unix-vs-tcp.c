/*
 * unix-vs-tcp.c - the same echo over a Unix-domain stream socket and over
 * loopback TCP: latency of small round trips, and throughput of a bulk echo.
 *
 * For each transport it forks an echo server (accept, then read and write
 * back until end of stream), then, as the client:
 *   latency     N round trips of S bytes, one at a time (write S, read S);
 *               each round trip is timed; p50, p99 and mean are reported
 *   throughput  M MiB written in 64 KiB pieces by one thread while the main
 *               thread reads the echo; MiB/s from the first write to the
 *               last byte back (every byte crosses the socket twice)
 * TCP gets TCP_NODELAY on both ends, so Nagle does not delay small writes
 * (lesson 05). Unix uses an abstract name (no file). Everything stays on
 * this machine. Runs alternate (unix, tcp, unix, tcp...) so that a change
 * in machine load hits both alike.
 *
 * usage: unix-vs-tcp [-n ROUNDTRIPS] [-s BYTES] [-m MIB] [-r RUNS]
 *   defaults: -n 20000 -s 64 -m 256 -r 5
 * Output: one tab-separated line per run:
 *   transport run bytes roundtrips p50_us p99_us mean_us mib mib_per_s
 *
 * Read: unix(7), tcp(7), socket(7); lesson 22's chapter quotes the results.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHUNK 65536

static void die(const char *call)
{
    fprintf(stderr, "unix-vs-tcp: %s: %s\n", call, strerror(errno));
    exit(1);
}

static double now_us(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
        die("clock_gettime");
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1)
            die("write");
        p += n;
        len -= (size_t)n;
    }
}

static void read_exactly(int fd, char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = read(fd, p, len);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1)
            die("read");
        if (n == 0) {
            fprintf(stderr, "unix-vs-tcp: the echo server closed early\n");
            exit(1);
        }
        p += n;
        len -= (size_t)n;
    }
}

/* The address to listen on and connect to, per transport. */
struct endpoint {
    int unix_domain;
    struct sockaddr_storage addr;
    socklen_t len;
};

static void nodelay(struct endpoint *ep, int fd)
{
    int on = 1;
    if (!ep->unix_domain && setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) == -1)
        die("setsockopt TCP_NODELAY");
}

/* Listen, fork an echo server that serves `conns` connections one by one. */
static pid_t start_echo(struct endpoint *ep, int conns)
{
    int l = socket(ep->unix_domain ? AF_UNIX : AF_INET, SOCK_STREAM, 0);
    if (l == -1)
        die("socket");
    if (ep->unix_domain) {
        struct sockaddr_un *un = (struct sockaddr_un *)&ep->addr;
        memset(un, 0, sizeof *un);
        un->sun_family = AF_UNIX;
        int n = snprintf(un->sun_path + 1, sizeof un->sun_path - 1, "unix-vs-tcp-%ld", (long)getpid());
        ep->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
    } else {
        struct sockaddr_in *in = (struct sockaddr_in *)&ep->addr;
        memset(in, 0, sizeof *in);
        in->sin_family = AF_INET;
        in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ep->len = sizeof *in;
    }
    if (bind(l, (struct sockaddr *)&ep->addr, ep->len) == -1)
        die("bind");
    if (!ep->unix_domain && getsockname(l, (struct sockaddr *)&ep->addr, &ep->len) == -1)
        die("getsockname");
    if (listen(l, 4) == -1)
        die("listen");
    pid_t pid = fork();
    if (pid == -1)
        die("fork");
    if (pid > 0) {
        close(l);
        return pid;
    }
    static char buf[CHUNK];
    for (int i = 0; i < conns; i++) {
        int c = accept(l, NULL, NULL);
        if (c == -1)
            die("accept");
        nodelay(ep, c);
        ssize_t n;
        while ((n = read(c, buf, sizeof buf)) != 0) {
            if (n == -1 && errno == EINTR)
                continue;
            if (n == -1)
                die("server read");
            write_all(c, buf, (size_t)n);
        }
        close(c);
    }
    _exit(0);
}

static int dial(struct endpoint *ep)
{
    int fd = socket(ep->unix_domain ? AF_UNIX : AF_INET, SOCK_STREAM, 0);
    if (fd == -1)
        die("socket");
    if (connect(fd, (struct sockaddr *)&ep->addr, ep->len) == -1)
        die("connect");
    nodelay(ep, fd);
    return fd;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

struct bulk {
    int fd;
    size_t bytes;
};

static void *writer(void *arg)
{
    struct bulk *b = arg;
    static char chunk[CHUNK];
    memset(chunk, 'x', sizeof chunk);
    for (size_t left = b->bytes; left > 0;) {
        size_t n = left < sizeof chunk ? left : sizeof chunk;
        write_all(b->fd, chunk, n);
        left -= n;
    }
    if (shutdown(b->fd, SHUT_WR) == -1)
        die("shutdown");
    return NULL;
}

static void run(int unix_domain, int run_no, long rounds, long size, long mib)
{
    struct endpoint ep = {.unix_domain = unix_domain};
    pid_t pid = start_echo(&ep, 2);

    // Latency: one small message at a time, each waited for.
    int fd = dial(&ep);
    char *msg = calloc(1, (size_t)size), *back = malloc((size_t)size);
    double *t = malloc(sizeof *t * (size_t)rounds);
    if (msg == NULL || back == NULL || t == NULL)
        die("malloc");
    for (long i = 0; i < rounds; i++) {
        double start = now_us();
        write_all(fd, msg, (size_t)size);
        read_exactly(fd, back, (size_t)size);
        t[i] = now_us() - start;
    }
    close(fd);
    double sum = 0;
    for (long i = 0; i < rounds; i++)
        sum += t[i];
    qsort(t, (size_t)rounds, sizeof *t, by_value);

    // Throughput: write and read at once, or both sides' buffers fill and stall.
    fd = dial(&ep);
    struct bulk b = {.fd = fd, .bytes = (size_t)mib << 20};
    pthread_t th;
    double start = now_us();
    int rc = pthread_create(&th, NULL, writer, &b);
    if (rc != 0) {
        errno = rc;
        die("pthread_create");
    }
    static char sink[CHUNK];
    size_t got = 0;
    ssize_t n;
    while ((n = read(fd, sink, sizeof sink)) != 0) {
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1)
            die("read");
        got += (size_t)n;
    }
    double secs = (now_us() - start) / 1e6;
    pthread_join(th, NULL);
    close(fd);
    if (got != b.bytes) {
        fprintf(stderr, "unix-vs-tcp: %zu bytes came back, %zu were sent\n", got, b.bytes);
        exit(1);
    }
    int st;
    if (waitpid(pid, &st, 0) == -1)
        die("waitpid");
    printf("%s\t%d\t%ld\t%ld\t%.1f\t%.1f\t%.1f\t%ld\t%.0f\n", unix_domain ? "unix" : "tcp",
           run_no, size, rounds, t[rounds / 2], t[rounds * 99 / 100], sum / rounds,
           mib, (double)mib / secs);
    fflush(stdout);
    free(msg);
    free(back);
    free(t);
}

static long number(const char *text, long min, long max)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (end == text || *end != '\0' || errno == ERANGE || v < min || v > max) {
        fprintf(stderr, "unix-vs-tcp: %s: expected a number from %ld to %ld\n", text, min, max);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    long rounds = 20000, size = 64, mib = 256, runs = 5;
    int opt;
    while ((opt = getopt(argc, argv, "n:s:m:r:")) != -1) {
        switch (opt) {
        case 'n': rounds = number(optarg, 1, 10000000); break;
        case 's': size = number(optarg, 1, CHUNK); break;
        case 'm': mib = number(optarg, 1, 65536); break;
        case 'r': runs = number(optarg, 1, 100); break;
        default:
            fprintf(stderr, "usage: unix-vs-tcp [-n ROUNDTRIPS] [-s BYTES] [-m MIB] [-r RUNS]\n");
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    printf("transport\trun\tbytes\troundtrips\tp50_us\tp99_us\tmean_us\tmib\tmib_per_s\n");
    for (int r = 1; r <= runs; r++) {
        run(1, r, rounds, size, mib);
        run(0, r, rounds, size, mib);
    }
    return 0;
}
