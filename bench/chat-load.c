/*
 * chat-load.c - the chat benchmark's load generator (not a lesson).
 *
 * Opens N client connections to a chat server over loopback, waits until each
 * has been greeted (its first line) and the room is quiet, then makes S of the
 * clients send M lines each, unpaced or at a fixed rate, while every client
 * reads everything. Each line carries its sender, a sequence number, a send
 * timestamp (CLOCK_MONOTONIC, ns) and a checksum, so every receipt tells its
 * latency and whether anything was lost, duplicated, split or garbled.
 * One thread, epoll(7), non-blocking sockets: the generator itself must not
 * be the bottleneck it measures (it is one, on a 2-core machine: see results).
 *
 * usage: chat-load [-n CLIENTS] [-s SENDERS] [-m LINES] [-r RATE] [-w WINDOW]
 *                  [-y SLOW] [-z NONREADERS] [-c BURST] [-p BYTES] [-b] [-j] [-T SECONDS]
 *                  [-P SERVER_PID] [-e PROBES] HOST PORT
 *        chat-load -X SECONDS        rate of small send() calls, one thread
 *   -n  clients (default 10)           -s  senders among them (default 1)
 *   -m  lines per sender (default 1000) -r  lines/s per sender, 0 = unpaced
 *   -w  unpaced: lines in flight, all senders together (default 1000; 0: no
 *       window, every sender writes as fast as its socket takes the lines)
 *   -y  of the CLIENTS, this many (the last ones) are slow readers: a 1 MB
 *       SO_RCVBUF, and at most 64 KiB read every 50 ms
 *   -z  extra clients that never read (tiny SO_RCVBUF): the slow readers
 *   -c  connects in flight at once (default 100)
 *   -b  broadcast: once all are connected, client 0 sends 5 lines, 100 ms apart
 *       (the same as -s 1 -m 5 -r 10; the max latency is the slowest reach)
 *   -p  bytes per line, newline included (default 64, at most 1000)
 *   -T  give up after SECONDS (default 120)
 *   -j  paced (-r): spread the senders evenly over each period (sender s
 *       sends s/S of a period after sender 0), as independent clients would,
 *       instead of all S at the same instant, which makes a burst of S lines
 *   -P  the server's process id: report the CPU time it used (all its threads,
 *       /proc/PID/task/TID/schedstat, in ns) per line sent in the traffic, and
 *       per probe (-e)
 *   -e  probes, after the traffic: client 0 sends K lines the server answers to
 *       it alone ("/probe", an unknown command), one at a time, each after the
 *       answer to the one before: a wakeup that costs the server one recv and
 *       one send, whatever the number of clients, plus what its way of waiting
 *       costs
 * With the server on 127.0.0.0/8, the clients connect from 127.0.0.2 and up,
 * CLIENTS_PER_SOURCE to an address: connect(2) looks for a free ephemeral port
 * by trying ports against the connections the source address already has to
 * that server, which grows with every client (at 19,900 clients from one
 * address, __inet_check_established took 48% of the generator's time).
 * Output: a human summary, then one "result key=value ..." line for bench/run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LINE_CAP 4096
#define CLIENTS_PER_SOURCE 1000
#define HIST_US 1000000                 /* 1 µs buckets up to 1 s */
#define USAGE "usage: chat-load [-n N] [-s S] [-m M] [-r RATE] [-w W] [-y Y] [-z Z] [-c C] [-p P] [-b] [-j] [-T S] [-P PID] [-e K] HOST PORT\n"

enum state { IDLE, CONNECTING, CONNECTED, FAILED, CLOSED };

struct client {
    int fd;
    enum state state;
    int reader, greeted;
    char line[LINE_CAP];
    size_t len;
    int overlong;
    /* sending */
    int sid;                            /* sender number, -1 if not a sender */
    long next_seq;
    char pend[1100];
    size_t pend_len, pend_off;
    int want_out;
    int slow;                           /* -y: reads 64 KiB every 50 ms */
};

static struct client *cl;
static long nclients, nsenders = 1, nlines = 1000, rate, window = 1000, nonreaders, burst = 100, nslow;
static int broadcast_mode, stagger;
static long padding = 64;            /* bytes per line, with the newline */
static double deadline_s = 120;
static long *next_expected;             /* [receiver * nsenders + sid] */
static uint32_t *hist;
static uint64_t lat_max, lat_n;
static int connect_errno;             /* why the first connect failed */
static long delivered, garbled, dupes, notices, dropped, connect_fail, greeted, sent_lines;
static int ep;
static uint64_t last_rx_ns, first_tx_ns, last_progress_ns;
static struct sockaddr_in server;
static long server_pid, nprobes;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint32_t checksum(long sid, long seq, uint64_t ts)
{
    return (uint32_t)(sid * 2654435761u) ^ (uint32_t)(seq * 40503u) ^ (uint32_t)ts ^ (uint32_t)(ts >> 32);
}

static void die(const char *what)
{
    fprintf(stderr, "chat-load: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void watch(struct client *c, int idx, uint32_t events, int op)
{
    struct epoll_event ev = {.events = events, .data.u32 = (uint32_t)idx};
    if (epoll_ctl(ep, op, c->fd, &ev) == -1)
        die("epoll_ctl");
}

static void start_connect(int i)
{
    struct client *c = &cl[i];
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd == -1) {
        if (!connect_errno)
            connect_errno = errno;
        c->state = FAILED;
        connect_fail++;
        return;
    }
    if (!c->reader) {                   /* a tiny window: the server's queue must fill */
        int small = 4096;
        setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    }
    if (c->slow) {                      /* room for 64 KiB a turn, and a steady pace */
        int big = 1000000;
        setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if ((ntohl(server.sin_addr.s_addr) >> 24) == 127) {
        /* The port is chosen at connect(2), knowing the peer (ip(7)). */
        setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        struct sockaddr_in from = {.sin_family = AF_INET,
                                   .sin_addr.s_addr = htonl(0x7f000002u + (uint32_t)(i / CLIENTS_PER_SOURCE))};
        if (bind(c->fd, (struct sockaddr *)&from, sizeof from) == -1)
            die("bind");
    }
    if (connect(c->fd, (struct sockaddr *)&server, sizeof server) == -1 && errno != EINPROGRESS) {
        if (!connect_errno)
            connect_errno = errno;
        close(c->fd);
        c->state = FAILED;
        connect_fail++;
        return;
    }
    c->state = CONNECTING;
    watch(c, i, EPOLLOUT, EPOLL_CTL_ADD);
}

static void record_latency(uint64_t ns)
{
    uint64_t us = ns / 1000;
    hist[us < HIST_US ? us : HIST_US - 1]++;
    if (ns > lat_max)
        lat_max = ns;
    lat_n++;
}

static double percentile_us(double p)
{
    if (lat_n == 0)
        return 0;
    uint64_t want = (uint64_t)(p * (double)lat_n), seen = 0;
    if (want >= lat_n)
        want = lat_n - 1;
    for (long i = 0; i < HIST_US; i++) {
        seen += hist[i];
        if (seen > want)
            return (double)i;
    }
    return HIST_US;
}

static void got_line(int r, char *line)
{
    struct client *c = &cl[r];
    if (!c->greeted) {
        c->greeted = 1;
        greeted++;
    }
    /* The servers' own notices ("* alice joined") are most of what 19,900
     * clients receive while they join: skip them without searching. */
    char *p = line[0] == '*' && line[1] == ' ' ? NULL : strstr(line, "#L ");
    if (p == NULL) {
        notices++;
        return;
    }
    long sid, seq;
    unsigned long long ts;
    unsigned chk;
    int end = 0;
    if (sscanf(p, "#L %ld %ld %llu %x %*[x] #E%n", &sid, &seq, &ts, &chk, &end) != 4 || end == 0
        || p[end] != '\0' || sid < 0 || sid >= nsenders || chk != checksum(sid, seq, ts)) {
        garbled++;
        return;
    }
    record_latency(now_ns() - ts);
    long *want = &next_expected[(long)r * nsenders + sid];
    if (seq < *want) {
        dupes++;
        return;
    }
    *want = seq + 1;                    /* a jump over seqs: those are lost */
    delivered++;
}

static void read_client(int i)
{
    struct client *c = &cl[i];
    char buf[65536];
    for (int rounds = 0; rounds < (c->slow ? 1 : 4); rounds++) {
        ssize_t n = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
            dropped++;
            c->state = CLOSED;
            epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
            return;
        }
        if (n <= 0)
            return;
        last_rx_ns = last_progress_ns = now_ns();
        /* Whole lines at a time (memchr), not byte by byte: at 19,900 clients
         * the join notices alone are about 5 GB. */
        for (char *k = buf, *end = buf + n; k < end;) {
            char *nl = memchr(k, '\n', (size_t)(end - k));
            size_t piece = (size_t)((nl ? nl : end) - k);
            if (c->len + piece < LINE_CAP) {
                memcpy(c->line + c->len, k, piece);
                c->len += piece;
            } else {
                c->overlong = 1;
            }
            if (nl == NULL)
                break;
            c->line[c->len] = '\0';
            if (c->overlong)
                notices++;              /* e.g. ncat's "already connected: ..." */
            else
                got_line(i, c->line);
            c->len = 0;
            c->overlong = 0;
            k = nl + 1;
        }
        if ((size_t)n < sizeof buf)
            return;
    }
}

/* Try to push the sender's pending line; 1 when it is all out. */
static int push(int i)
{
    struct client *c = &cl[i];
    while (c->pend_off < c->pend_len) {
        ssize_t n = send(c->fd, c->pend + c->pend_off, c->pend_len - c->pend_off, MSG_NOSIGNAL);
        if (n == -1) {
            if (errno == EAGAIN || errno == EINTR) {
                if (!c->want_out) {
                    c->want_out = 1;
                    watch(c, i, EPOLLIN | EPOLLOUT, EPOLL_CTL_MOD);
                }
                return 0;
            }
            c->state = CLOSED;
            return 0;
        }
        c->pend_off += (size_t)n;
    }
    if (c->want_out) {
        c->want_out = 0;
        watch(c, i, EPOLLIN, EPOLL_CTL_MOD);
    }
    return 1;
}

static void send_line(int i)
{
    struct client *c = &cl[i];
    uint64_t ts = now_ns();
    if (first_tx_ns == 0)
        first_tx_ns = ts;
    int n = snprintf(c->pend, sizeof c->pend, "#L %d %ld %llu %x ", c->sid, c->next_seq,
                     (unsigned long long)ts, checksum(c->sid, c->next_seq, ts));
    int pad = (int)padding - n - 4;     /* the whole line is `padding` bytes with " #E\n" */
    if (pad < 1)
        pad = 1;
    memset(c->pend + n, 'x', (size_t)pad);
    memcpy(c->pend + n + pad, " #E\n", 4);
    c->pend_len = (size_t)(n + pad + 4);
    c->pend_off = 0;
    c->next_seq++;
    sent_lines++;
    push(i);
}

static void on_connected(int i)
{
    struct client *c = &cl[i];
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
        if (!connect_errno)
            connect_errno = err;
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
        c->state = FAILED;
        connect_fail++;
        return;
    }
    c->state = CONNECTED;
    if (c->reader && !c->slow)
        watch(c, i, EPOLLIN, EPOLL_CTL_MOD);
    else
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
}

/* One turn of the event loop, waiting at most ms. */
static void turn(int ms)
{
    static struct epoll_event evs[1024];
    static uint64_t next_slow;
    if (nslow > 0) {                    /* the slow readers' 50 ms beat */
        uint64_t t = now_ns();
        if (t >= next_slow) {
            for (long i = nclients - nslow; i < nclients; i++)
                if (cl[i].state == CONNECTED)
                    read_client((int)i);
            next_slow = t + 50000000u;
        }
        if (ms > 50)
            ms = 50;
    }
    int n = epoll_wait(ep, evs, 1024, ms);
    if (n == -1 && errno != EINTR)
        die("epoll_wait");
    for (int k = 0; k < n; k++) {
        int i = (int)evs[k].data.u32;
        struct client *c = &cl[i];
        if (c->state == CONNECTING) {
            on_connected(i);
            continue;
        }
        if (c->state != CONNECTED)
            continue;
        if (evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
            read_client(i);
        if (c->state == CONNECTED && (evs[k].events & EPOLLOUT))
            push(i);
    }
}

static double seconds_since(uint64_t t0)
{
    return (double)(now_ns() - t0) / 1e9;
}

/* The CPU time (ns) the server's threads have used so far: the first field
 * of each /proc/PID/task/TID/schedstat. 0 without -P, or when it cannot be read. */
static uint64_t server_cpu_ns(void)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/task", server_pid);
    DIR *dir = server_pid > 0 ? opendir(path) : NULL;
    if (dir == NULL)
        return 0;
    uint64_t sum = 0;
    for (struct dirent *t; (t = readdir(dir)) != NULL;) {
        if (t->d_name[0] == '.')
            continue;
        char file[sizeof path + sizeof t->d_name + 16];
        snprintf(file, sizeof file, "%s/%s/schedstat", path, t->d_name);
        FILE *f = fopen(file, "r");
        unsigned long long ns = 0;
        if (f != NULL && fscanf(f, "%llu", &ns) == 1)
            sum += ns;
        if (f != NULL)
            fclose(f);
    }
    closedir(dir);
    return sum;
}

/* -e: client 0 sends "/probe" and waits for the server's answer (a line to it
 * alone), nprobes times. Returns how many were answered. Everyone is quiet by
 * now, so the next line client 0 receives is the answer. */
static long probe(uint64_t give_up)
{
    struct client *c = &cl[0];
    if (c->state != CONNECTED)
        return 0;
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    long answered = 0;
    for (long k = 0; k < nprobes && now_ns() < give_up; k++) {
        if (send(c->fd, "/probe\n", 7, MSG_NOSIGNAL) != 7)
            break;
        int line_done = 0;
        while (!line_done && now_ns() < give_up) {
            struct pollfd p = {.fd = c->fd, .events = POLLIN};
            if (poll(&p, 1, 1000) <= 0)
                return answered;        /* no answer in 1 s (ncat has no commands) */
            char buf[4096];
            ssize_t n = recv(c->fd, buf, sizeof buf, 0);
            if (n <= 0)
                return answered;
            line_done = buf[n - 1] == '\n';
        }
        answered += line_done;
    }
    return answered;
}

/* The rate of small send() calls one thread gets over loopback. */
static void *drain(void *arg)
{
    int fd = *(int *)arg;
    char buf[1 << 16];
    while (recv(fd, buf, sizeof buf, 0) > 0)
        ;
    return NULL;
}

static int send_rate(double seconds)
{
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (lfd == -1 || bind(lfd, (struct sockaddr *)&a, sizeof a) == -1 || listen(lfd, 1) == -1
        || getsockname(lfd, (struct sockaddr *)&a, &al) == -1)
        die("listener");
    int out = socket(AF_INET, SOCK_STREAM, 0);
    if (out == -1 || connect(out, (struct sockaddr *)&a, sizeof a) == -1)
        die("connect");
    int in = accept(lfd, NULL, NULL);
    if (in == -1)
        die("accept");
    pthread_t t;
    pthread_create(&t, NULL, drain, &in);
    char msg[48];
    memset(msg, 'x', sizeof msg);
    msg[sizeof msg - 1] = '\n';
    long calls = 0;
    uint64_t t0 = now_ns(), stop = t0 + (uint64_t)(seconds * 1e9);
    while (now_ns() < stop) {
        for (int k = 0; k < 1000; k++)
            if (send(out, msg, sizeof msg, MSG_NOSIGNAL) != (ssize_t)sizeof msg)
                die("send");
        calls += 1000;
    }
    double el = seconds_since(t0);
    close(out);
    pthread_join(t, NULL);
    close(in);
    close(lfd);
    printf("send(): %ld calls of %zu bytes in %.2f s from one thread = %.0f calls/s\n",
           calls, sizeof msg, el, calls / el);
    printf("result sends_per_s=%.0f bytes=%zu\n", calls / el, sizeof msg);
    return 0;
}

static const char *errno_word(int e)
{
    static char buf[32];
    switch (e) {
    case 0: return "-";
    case ECONNREFUSED: return "ECONNREFUSED";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case ETIMEDOUT: return "ETIMEDOUT";
    case ECONNRESET: return "ECONNRESET";
    case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE";
    default: snprintf(buf, sizeof buf, "errno%d", e); return buf;
    }
}

static long parse(const char *s, char opt)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || errno || v < 0) {
        fprintf(stderr, "chat-load: -%c %s: not a number\n", opt, s);
        exit(1);
    }
    return v;
}

int main(int argc, char **argv)
{
    int opt;
    nclients = 10;
    while ((opt = getopt(argc, argv, "n:s:m:r:w:y:z:c:p:bjT:X:P:e:")) != -1) {
        switch (opt) {
        case 'n': nclients = parse(optarg, 'n'); break;
        case 's': nsenders = parse(optarg, 's'); break;
        case 'm': nlines = parse(optarg, 'm'); break;
        case 'r': rate = parse(optarg, 'r'); break;
        case 'w': window = parse(optarg, 'w'); break;
        case 'z': nonreaders = parse(optarg, 'z'); break;
        case 'y': nslow = parse(optarg, 'y'); break;
        case 'c': burst = parse(optarg, 'c'); break;
        case 'b': broadcast_mode = 1; nsenders = 1; nlines = 5; rate = 10; break;
        case 'p': padding = parse(optarg, 'p'); break;
        case 'T': deadline_s = (double)parse(optarg, 'T'); break;
        case 'X': return send_rate((double)parse(optarg, 'X'));
        case 'P': server_pid = parse(optarg, 'P'); break;
        case 'j': stagger = 1; break;
        case 'e': nprobes = parse(optarg, 'e'); break;
        default:
            fputs(USAGE, stderr);
            return 1;
        }
    }
    if (argc - optind != 2 || nsenders < 1 || nsenders > nclients || burst < 1 || padding > 1000) {
        fputs(USAGE, stderr);
        return 1;
    }
    server.sin_family = AF_INET;
    server.sin_port = htons((uint16_t)atoi(argv[optind + 1]));
    if (inet_pton(AF_INET, argv[optind], &server.sin_addr) != 1) {
        fprintf(stderr, "chat-load: %s: not an IPv4 address\n", argv[optind]);
        return 1;
    }
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0) {
        lim.rlim_cur = lim.rlim_max;
        setrlimit(RLIMIT_NOFILE, &lim);
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    long total = nclients + nonreaders;
    cl = calloc((size_t)total, sizeof *cl);
    next_expected = calloc((size_t)total * (size_t)nsenders, sizeof *next_expected);
    hist = calloc(HIST_US, sizeof *hist);
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (!cl || !next_expected || !hist || ep == -1)
        die("setup");
    for (long i = 0; i < total; i++) {
        cl[i].fd = -1;
        cl[i].reader = i < nclients;
        cl[i].slow = i < nclients && i >= nclients - nslow && i >= nsenders;
        cl[i].sid = i < nsenders ? (int)i : -1;
    }
    uint64_t t0 = now_ns(), give_up = t0 + (uint64_t)(deadline_s * 1e9);

    /* 1. Connect, at most `burst` handshakes in flight. */
    long started = 0, in_flight;
    double connect_s = 0;
    for (;;) {
        in_flight = 0;
        long done = 0;
        for (long i = 0; i < started; i++) {
            if (cl[i].state == CONNECTING)
                in_flight++;
            else
                done++;
        }
        while (started < total && in_flight < burst) {
            start_connect((int)started++);
            in_flight += cl[started - 1].state == CONNECTING;
        }
        if (done == total || now_ns() > give_up)
            break;
        turn(10);
    }
    connect_s = seconds_since(t0);
    long readers_ok = 0;
    for (long i = 0; i < nclients; i++)
        readers_ok += cl[i].state == CONNECTED;

    /* 2. Wait until every reader is greeted and the join notices are read. */
    last_progress_ns = now_ns();
    while (now_ns() < give_up && (greeted + dropped < readers_ok || now_ns() - last_rx_ns < 300000000u))
        turn(50);
    double joined_s = seconds_since(t0);

    /* 3. Traffic. */
    long receivers = 0;
    for (long i = 0; i < nclients; i++)
        receivers += cl[i].state == CONNECTED;
    long expected = 0;
    for (long s = 0; s < nsenders; s++)
        if (cl[s].state == CONNECTED)
            expected += nlines * (receivers - 1);
    uint64_t start = now_ns(), cpu_before = server_cpu_ns();
    last_progress_ns = start;
    long dropped_before = dropped;
    while (now_ns() < give_up) {
        uint64_t t = now_ns();
        int wait_ms = 50;
        int all_sent = 1;
        for (long s = 0; s < nsenders; s++) {
            struct client *c = &cl[s];
            if (c->state != CONNECTED || c->next_seq >= nlines)
                continue;
            all_sent = 0;
            if (c->pend_off < c->pend_len)
                continue;               /* still pushing its last line */
            if (rate > 0) {
                /* -j: sender s starts s/S of a period late, so the senders
                 * take turns instead of all sending at the same instant. */
                double phase = stagger ? (double)s / (double)nsenders : 0;
                uint64_t due = start + (uint64_t)(((double)c->next_seq + phase) * 1e9 / (double)rate);
                if (t >= due) {
                    send_line((int)s);
                    wait_ms = 0;
                } else if ((due - t) / 1000000 < (uint64_t)wait_ms) {
                    wait_ms = (int)((due - t) / 1000000);
                }
            } else {
                /* Unpaced, but never more than `window` lines ahead of the readers. */
                for (int k = 0; k < 16 && c->next_seq < nlines && c->pend_off >= c->pend_len; k++) {
                    if (window > 0 && (sent_lines - window) * (receivers - 1) > delivered)
                        break;
                    send_line((int)s);
                }
                wait_ms = 0;
            }
        }
        if (all_sent && delivered + dupes >= expected)
            break;
        if (now_ns() - last_progress_ns > 3000000000u && all_sent)
            break;                      /* 3 s without a byte: the rest is lost */
        turn(wait_ms);
    }
    uint64_t cpu_after_traffic = server_cpu_ns();
    long probes = nprobes > 0 ? probe(give_up) : 0;
    uint64_t cpu_traffic = cpu_after_traffic - cpu_before, cpu_probes = server_cpu_ns() - cpu_after_traffic;
    double run_s = 0;
    if (first_tx_ns != 0)
        run_s = (double)((last_rx_ns > first_tx_ns ? last_rx_ns : now_ns()) - first_tx_ns) / 1e9;

    /* 4. The slow readers: did the server drop them? (EOF or RST after their backlog.) */
    long slow_dropped = 0, slow_notice = 0;
    for (long i = nclients; i < total; i++) {
        struct client *c = &cl[i];
        if (c->state != CONNECTED)
            continue;
        char buf[65536];
        uint64_t until = now_ns() + 2000000000u;
        size_t keep = 0;
        char tail[64] = "";
        while (now_ns() < until) {
            ssize_t n = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
            if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
                slow_dropped++;
                break;
            }
            if (n > 0) {
                size_t take = (size_t)n < sizeof tail - 1 ? (size_t)n : sizeof tail - 1;
                memcpy(tail, buf + n - (ssize_t)take, take);
                keep = take;
                tail[keep] = '\0';
                if (strstr(tail, "too slow"))
                    slow_notice = 1;
                until = now_ns() + 500000000u;   /* keep draining while data flows */
            } else {
                struct timespec pause = {0, 5000000};
                nanosleep(&pause, NULL);
            }
        }
    }

    long lost = expected - delivered;
    double p50 = percentile_us(0.50), p99 = percentile_us(0.99);
    printf("%ld clients (%ld connect failures%s%s) connected in %.3f s, greeted and quiet at %.3f s\n",
           total, connect_fail, connect_errno ? ", the first: " : "",
           connect_errno ? strerror(connect_errno) : "", connect_s, joined_s);
    printf("%ld senders x %ld lines%s: %ld of %ld deliveries in %.3f s = %.0f/s; lost %ld, garbled %ld, dup %ld, dropped clients %ld\n",
           nsenders, nlines, rate ? " paced" : "", delivered, expected, run_s,
           run_s > 0 ? delivered / run_s : 0, lost, garbled, dupes, dropped - dropped_before);
    printf("latency p50 %.0f us, p99 %.0f us, max %.0f us\n", p50, p99, (double)lat_max / 1000);
    double line_us = server_pid && sent_lines ? (double)cpu_traffic / 1e3 / (double)sent_lines : 0;
    double probe_us = server_pid && probes ? (double)cpu_probes / 1e3 / (double)probes : 0;
    if (server_pid)
        printf("server CPU: %.1f us per line sent (its fan-out to %ld clients)", line_us, receivers - 1);
    if (server_pid && nprobes)
        printf(", %.1f us per probe (%ld of %ld answered)", probe_us, probes, nprobes);
    if (server_pid)
        printf("\n");
    if (nonreaders)
        printf("non-reading clients dropped by the server: %ld of %ld (notice seen: %s)\n",
               slow_dropped, nonreaders, slow_notice ? "yes" : "no");
    printf("result clients=%ld connect_fail=%ld connect_s=%.3f joined_s=%.3f senders=%ld lines=%ld rate=%ld"
           " expected=%ld delivered=%ld lost=%ld garbled=%ld dup=%ld dropped=%ld run_s=%.3f per_s=%.0f"
           " p50_us=%.0f p99_us=%.0f max_us=%.0f slow=%ld slow_dropped=%ld connect_error=%s"
           " srv_line_us=%.1f srv_probe_us=%.1f probes=%ld\n",
           total, connect_fail, connect_s, joined_s, nsenders, nlines, rate, expected, delivered,
           lost, garbled, dupes, dropped - dropped_before, run_s, run_s > 0 ? delivered / run_s : 0,
           p50, p99, (double)lat_max / 1000, nonreaders, slow_dropped, errno_word(connect_errno),
           line_us, probe_us, probes);
    /* Close with RST (SO_LINGER 0): thousands of FIN_WAIT and TIME_WAIT
     * sockets would hold ephemeral ports the next scenario needs. */
    struct linger now = {.l_onoff = 1, .l_linger = 0};
    for (long i = 0; i < total; i++)
        if (cl[i].fd != -1 && cl[i].state != FAILED) {
            setsockopt(cl[i].fd, SOL_SOCKET, SO_LINGER, &now, sizeof now);
            close(cl[i].fd);
        }
    return 0;
}
