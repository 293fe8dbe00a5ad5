/*
 * chat-flood.c - a test tool: flood a chat server the way real clients do.
 *
 * Real clients do not pace themselves: `cat big.txt | nc HOST PORT`, a paste
 * into telnet, a bot. This tool joins a room with four kinds of client:
 *   senders      each writes all its lines in ONE send(2) call on a blocking
 *                socket (no slices, no sleeps), from a thread of its own, and
 *                reads everything the others say meanwhile;
 *   readers      read everything as fast as it comes;
 *   slow readers read at most -Y bytes every 50 ms: slow, but reading;
 *   non-readers  a 4 KiB receive buffer, and never read at all.
 * Every reading client checks each line it gets from a sender: in order,
 * none missing, none garbled. After the flood each non-reader reads what the
 * server had sent it, to the end: every whole line must be intact and in
 * order there too (a server that loses track of a short send garbles them),
 * and the server must have closed it. The server is tried first with short waits
 * (every client welcomed, one probe line delivered), so a server that never
 * answers fails in seconds, not after the flood's time limit.
 *
 * usage: chat-flood [-s SENDERS] [-l LINES] [-b BYTES] [-r READERS] [-y SLOW]
 *                   [-Y BYTES] [-z NONREADERS] [-B BYTES] [-w MS] [-q MS] [-T MS] HOST PORT
 *   -s  senders (default 1)             -l  lines per sender (default 1000)
 *   -b  bytes per line with its "\n" (default 200, 20 to 1000)
 *   -r  readers (default 1)             -y  slow readers (default 0)
 *   -Y  bytes a slow reader takes every 50 ms (default 4096)
 *   -z  non-readers (default 0)
 *   -B  SO_RCVBUF for readers and slow readers (default: the kernel's)
 *   -w  the start-up checks' limit in MS (default 5000)
 *   -q  give up after MS without a line delivered (default 10000)
 *   -T  give up after MS in all, the non-readers' drain included (default 60000)
 * Output, one fact a line: "non-reader port N" for each non-reader, then
 * "delivered D of E", "garbled G", "out of order O", "disconnected K of R"
 * (reading clients the server cut off), "longest stall S.SS s" (the longest
 * time no reading client got a line while lines were due), and with -z
 * "non-readers closed by the server C of Z" (the garbled and out-of-order
 * counts include their lines). Exit 0 when every
 * line reached every reading client, 3 when it gave up, 4 when the start-up
 * checks failed, 1 on an error of its own.
 */
#include "report.h"
#include "args.h"
#include "net.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

enum role { READER, SLOW, SENDER, NONREADER };

struct client {
    int fd;
    enum role role;
    int sid;                    /* sender number, or -1 */
    int welcomed, probed, closed;
    unsigned port;              /* local port of a non-reader, as printed */
    long joins_seen;            /* "* ... joined" lines (client 0 counts them) */
    char line[2048];
    size_t len;
    long *next_seq;             /* [sid]: the next line expected from that sender */
    long got, expected;
    /* sender thread: main reads these two while it may still be sending */
    pthread_t thread;
    char *out;
    size_t out_len;
    atomic_long writes;
    atomic_int send_errno;
};

static struct client *cl;
static long nclients, nsenders = 1, nlines = 1000, line_bytes = 200, nreaders = 1;
static long nslow, slow_bytes = 4096, rcvbuf, nnon, wait_ms = 5000, idle_ms = 10000, total_ms = 60000;
static long garbled, disordered;
static long last_delivery_ms, longest_stall_ms;

static long number(const char *text, const char *what, long lo, long hi)
{
    long v;
    const char *why;
    if (parse_long(text, lo, hi, &v, &why) == -1)
        die_msg("chat-flood: %s %s: %s", what, text, why);
    return v;
}

static char pad_char(long sid, long seq)
{
    return (char)('a' + (sid + seq) % 26);
}

/* A sender's whole flood: "F<sid>:<seq>:" then padding up to line_bytes. */
static void make_flood(struct client *c)
{
    c->out = malloc((size_t)nlines * (size_t)line_bytes);
    if (c->out == NULL)
        die("chat-flood: malloc");
    char *p = c->out;
    for (long seq = 0; seq < nlines; seq++) {
        int head = sprintf(p, "F%d:%ld:", c->sid, seq);
        memset(p + head, pad_char(c->sid, seq), (size_t)(line_bytes - head - 1));
        p[line_bytes - 1] = '\n';
        p += line_bytes;
    }
    c->out_len = (size_t)(p - c->out);
}

/* One send(2) for everything: a blocking send takes it all unless a signal
 * or an error stops it, so it loops only to report such a short send. */
static void *sender_main(void *arg)
{
    struct client *c = arg;
    size_t off = 0;
    while (off < c->out_len) {
        ssize_t n = send(c->fd, c->out + off, c->out_len - off, MSG_NOSIGNAL);
        atomic_fetch_add(&c->writes, 1);
        if (n == -1) {
            if (errno == EINTR)
                continue;
            atomic_store(&c->send_errno, errno);
            break;
        }
        off += (size_t)n;
    }
    return NULL;
}

static int connect_to(const struct addrinfo *ai, int rcvbuf)
{
    int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd == -1)
        die("chat-flood: socket");
    if (rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) == -1)
        die("chat-flood: setsockopt SO_RCVBUF");
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1)
        die("chat-flood: connect");
    return fd;
}

/* One line from the server to client c (without its "\n"). */
static void on_line(struct client *c, char *line, size_t len)
{
    if (len > 0 && line[len - 1] == '\r')
        len--;
    line[len] = '\0';
    if (strncmp(line, "* welcome ", 10) == 0) {
        c->welcomed = 1;
        return;
    }
    if (line[0] == '*') {
        if (len > 7 && strcmp(line + len - 7, " joined") == 0)
            c->joins_seen++;
        return;                         /* a notice */
    }
    char *text = strstr(line, ": ");
    if (text == NULL) {
        garbled++;
        return;
    }
    text += 2;
    if (strcmp(text, "probe") == 0) {
        c->probed = 1;
        return;
    }
    int sid;
    long seq;
    int head;
    if (sscanf(text, "F%d:%ld:%n", &sid, &seq, &head) != 2 || sid < 0 || sid >= nsenders ||
        sid == c->sid) {
        garbled++;
        return;
    }
    size_t pad = (size_t)line_bytes - 1 - (size_t)head;
    if (strlen(text) != (size_t)line_bytes - 1) {
        garbled++;
        return;
    }
    for (size_t i = 0; i < pad; i++)
        if (text[head + (int)i] != pad_char(sid, seq)) {
            garbled++;
            return;
        }
    if (seq != c->next_seq[sid])
        disordered++;
    c->next_seq[sid] = seq + 1;
    if (c->role == NONREADER)
        return;                         /* read after the flood: not a delivery */
    c->got++;
    long now = now_ms();
    if (last_delivery_ms > 0 && now - last_delivery_ms > longest_stall_ms)
        longest_stall_ms = now - last_delivery_ms;
    last_delivery_ms = now;
}

/* Read what is there for c (at most max bytes), without waiting. */
static void take(struct client *c, size_t max)
{
    char buf[65536];
    if (max > sizeof buf)
        max = sizeof buf;
    ssize_t n = recv(c->fd, buf, max, MSG_DONTWAIT);
    if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0) {
        c->closed = 1;
        return;
    }
    for (ssize_t i = 0; i < n; i++) {
        if (buf[i] == '\n') {
            on_line(c, c->line, c->len);
            c->len = 0;
        } else if (c->len < sizeof c->line - 1) {
            c->line[c->len++] = buf[i];
        } else {
            garbled++;                  /* a line far longer than any we sent */
            c->len = 0;
        }
    }
}

static int reads(const struct client *c)
{
    return c->role != NONREADER;
}

/* Serve the reading clients for up to ms milliseconds, or until done() says
 * so. Slow readers take slow_bytes per 50 ms tick, the others all there is. */
static int pump(long ms, int (*done)(void))
{
    static struct pollfd *fds;
    static long next_tick;
    if (fds == NULL && (fds = calloc((size_t)nclients, sizeof *fds)) == NULL)
        die("chat-flood: calloc");
    long deadline = now_ms() + ms;
    while (!done()) {
        long now = now_ms();
        if (now >= deadline)
            return -1;
        if (now >= next_tick) {
            for (long i = 0; i < nclients; i++)
                if (cl[i].role == SLOW && !cl[i].closed && cl[i].fd != -1)
                    take(&cl[i], (size_t)slow_bytes);
            next_tick = now + 50;
        }
        nfds_t n = 0;
        for (long i = 0; i < nclients; i++) {
            if (!reads(&cl[i]) || cl[i].role == SLOW || cl[i].closed)
                continue;
            fds[n++] = (struct pollfd){.fd = cl[i].fd, .events = POLLIN};
        }
        long wait = next_tick - now;
        if (wait > deadline - now)
            wait = deadline - now;
        if (poll(fds, n, (int)wait) == -1 && errno != EINTR)
            die("chat-flood: poll");
        for (long i = 0, j = 0; i < nclients; i++) {
            if (!reads(&cl[i]) || cl[i].role == SLOW || cl[i].closed)
                continue;
            if (fds[j++].revents)
                take(&cl[i], 65536);
        }
    }
    return 0;
}

static int all_welcomed(void)
{
    for (long i = 0; i < nclients; i++)
        if (reads(&cl[i]) && !cl[i].welcomed)
            return 0;
    return cl[0].joins_seen >= nclients - 1;
}

static int first_welcomed(void)
{
    return cl[0].welcomed;
}

static int all_probed(void)
{
    for (long i = 0; i < nclients; i++)
        if (reads(&cl[i]) && cl[i].sid != 0 && !cl[i].probed && !cl[i].closed)
            return 0;
    return 1;
}

static long sum_got(void)
{
    long got = 0;
    for (long i = 0; i < nclients; i++)
        got += cl[i].got;
    return got;
}

static long idle_since;
static long progress_mark = -1;

static int flood_done(void)
{
    long got = sum_got(), expected = 0;
    int open = 0;
    for (long i = 0; i < nclients; i++)
        if (reads(&cl[i]) && !cl[i].closed) {
            expected += cl[i].expected;
            open = 1;
        }
    if (got != progress_mark) {
        progress_mark = got;
        idle_since = now_ms();
    }
    if (now_ms() - idle_since >= idle_ms)
        return 1;                       /* nothing new for too long: give up */
    long done_got = 0;
    for (long i = 0; i < nclients; i++)
        if (reads(&cl[i]) && !cl[i].closed)
            done_got += cl[i].got;
    return !open || done_got >= expected;
}

/* After the flood: read what each non-reader was sent, until the server's
 * FIN or reset, until nothing comes for 3 s (then it is still open), or
 * until the time limit. A server that cut a client off has closed its socket,
 * but its kernel still sends what that socket's send buffer held, up to
 * tcp_wmem's maximum (4 MB; tcp(7)), and only then the FIN. Through a 4 KiB
 * window that takes thousands of steps; on a loaded machine they came at
 * the pace of zero-window probes (8 KB/s: the drain never ended, the test
 * was cut by its timeout). So each non-reader first gets a large receive
 * buffer (socket(7) SO_RCVBUF): the cut-off is over, and the rest comes at
 * loopback speed. */
static long drain_nonreaders(long deadline)
{
    long closed = 0;
    int big = 1 << 20;
    for (long i = 0; i < nclients; i++) {
        struct client *c = &cl[i];
        if (c->role != NONREADER)
            continue;
        if (setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big) == -1)
            die("chat-flood: setsockopt SO_RCVBUF");
        long idle_until = now_ms() + 3000;
        while (!c->closed && now_ms() < idle_until && now_ms() < deadline) {
            long until = idle_until < deadline ? idle_until : deadline;
            struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
            int ready = poll(&pfd, 1, (int)(until - now_ms()));
            if (ready == -1 && errno != EINTR)
                die("chat-flood: poll");
            if (ready > 0) {
                take(c, 65536);
                idle_until = now_ms() + 3000;
            }
        }
        if (!c->closed && now_ms() >= deadline)
            printf("non-reader port %u: still being sent lines when the time limit passed\n",
                   c->port);
        closed += c->closed;            /* a last line cut off by the close is not checked */
    }
    return closed;
}

int main(int argc, char **argv)
{
    int opt;
    while ((opt = getopt(argc, argv, "s:l:b:r:y:Y:z:B:w:q:T:")) != -1) {
        switch (opt) {
        case 's': nsenders = number(optarg, "-s", 1, 1000); break;
        case 'l': nlines = number(optarg, "-l", 1, 10000000); break;
        case 'b': line_bytes = number(optarg, "-b", 20, 1000); break;
        case 'r': nreaders = number(optarg, "-r", 0, 1000); break;
        case 'y': nslow = number(optarg, "-y", 0, 1000); break;
        case 'Y': slow_bytes = number(optarg, "-Y", 1, 65536); break;
        case 'z': nnon = number(optarg, "-z", 0, 1000); break;
        case 'B': rcvbuf = number(optarg, "-B", 0, 1L << 30); break;
        case 'w': wait_ms = number(optarg, "-w", 1, 3600000); break;
        case 'q': idle_ms = number(optarg, "-q", 1, 3600000); break;
        case 'T': total_ms = number(optarg, "-T", 1, 3600000); break;
        default:
            die_msg("usage: chat-flood [-s SENDERS] [-l LINES] [-b BYTES] [-r READERS] [-y SLOW] "
                    "[-Y BYTES] [-z NONREADERS] [-B BYTES] [-w MS] [-q MS] [-T MS] HOST PORT");
        }
    }
    if (argc - optind != 2)
        die_msg("usage: chat-flood [options] HOST PORT");
    setvbuf(stdout, NULL, _IOLBF, 0);
    long start = now_ms();

    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai;
    int rc = getaddrinfo(argv[optind], argv[optind + 1], &hints, &ai);
    if (rc != 0)
        die_msg("chat-flood: getaddrinfo %s: %s", argv[optind], gai_strerror(rc));

    /* Readers first (client 0 watches everyone else join), non-readers last. */
    nclients = nreaders + nslow + nsenders + nnon;
    cl = calloc((size_t)nclients, sizeof *cl);
    if (cl == NULL)
        die("chat-flood: calloc");
    long k = 0;
    for (long i = 0; i < nreaders; i++) cl[k++].role = READER;
    for (long i = 0; i < nslow; i++) cl[k++].role = SLOW;
    for (long i = 0; i < nsenders; i++) { cl[k].role = SENDER; cl[k++].sid = (int)i; }
    for (long i = 0; i < nnon; i++) cl[k++].role = NONREADER;
    for (long i = 0; i < nclients; i++) {
        cl[i].fd = -1;                  /* not connected yet: poll(2) skips it */
        if (cl[i].role != SENDER)
            cl[i].sid = -1;
        cl[i].next_seq = calloc((size_t)nsenders, sizeof *cl[i].next_seq);
        if (cl[i].next_seq == NULL)
            die("chat-flood: calloc");
        cl[i].expected = reads(&cl[i]) ? (nsenders - (cl[i].role == SENDER)) * nlines : 0;
    }

    /* Start-up, with short waits: a server that never answers fails here. */
    cl[0].fd = connect_to(ai, cl[0].role == SENDER ? 0 : (int)rcvbuf);
    if (pump(wait_ms, first_welcomed) == -1) {
        printf("start-up: no welcome line within %ld ms\n", wait_ms);
        return 4;
    }
    for (long i = 1; i < nclients; i++) {
        cl[i].fd = connect_to(ai, cl[i].role == NONREADER ? 4096
                                  : cl[i].role == SENDER ? 0 : (int)rcvbuf);
        if (cl[i].role == NONREADER) {
            struct sockaddr_storage local;
            socklen_t len = sizeof local;
            if (getsockname(cl[i].fd, (struct sockaddr *)&local, &len) == -1)
                die("chat-flood: getsockname");
            cl[i].port = local.ss_family == AF_INET6
                ? ntohs(((struct sockaddr_in6 *)&local)->sin6_port)
                : ntohs(((struct sockaddr_in *)&local)->sin_port);
            printf("non-reader port %u\n", cl[i].port);
        }
    }
    freeaddrinfo(ai);
    if (pump(wait_ms, all_welcomed) == -1) {
        long w = 0;
        for (long i = 0; i < nclients; i++)
            w += reads(&cl[i]) && cl[i].welcomed;
        printf("start-up: within %ld ms, %ld of the reading clients were welcomed and the first saw %ld of %ld joins\n",
               wait_ms, w, cl[0].joins_seen, nclients - 1);
        return 4;
    }
    struct client *first = NULL;
    for (long i = 0; i < nclients; i++)
        if (cl[i].sid == 0)
            first = &cl[i];
    if (send_all(first->fd, "probe\n", 6) == -1)
        die("chat-flood: send");
    if (pump(wait_ms, all_probed) == -1) {
        long p = 0, n = 0;
        for (long i = 0; i < nclients; i++)
            if (reads(&cl[i]) && cl[i].sid != 0) {
                n++;
                p += cl[i].probed;
            }
        printf("start-up: a first line reached %ld of %ld reading clients within %ld ms\n", p, n, wait_ms);
        return 4;
    }

    /* The flood. */
    for (long i = 0; i < nclients; i++)
        if (cl[i].role == SENDER)
            make_flood(&cl[i]);
    for (long i = 0; i < nclients; i++)
        if (cl[i].role == SENDER) {
            rc = pthread_create(&cl[i].thread, NULL, sender_main, &cl[i]);
            if (rc != 0)
                die_with("chat-flood: pthread_create", rc);
        }
    last_delivery_ms = now_ms();
    idle_since = last_delivery_ms;
    int gave_up = pump(total_ms - (now_ms() - start), flood_done) == -1;
    long got = sum_got(), expected = 0, reading = 0, closed = 0;
    for (long i = 0; i < nclients; i++)
        if (reads(&cl[i])) {
            expected += cl[i].expected;
            reading++;
            closed += cl[i].closed;
        }
    if (got < expected) {
        gave_up = 1;
        long now = now_ms();
        if (now - last_delivery_ms > longest_stall_ms)
            longest_stall_ms = now - last_delivery_ms;
    }
    long writes = 0;
    for (long i = 0; i < nclients; i++)
        if (cl[i].role == SENDER) {
            writes += atomic_load(&cl[i].writes);
            int err = atomic_load(&cl[i].send_errno);
            if (err)
                printf("sender %d: send: %s\n", cl[i].sid, errno_name(err));
        }
    long nonreaders_closed = nnon > 0 ? drain_nonreaders(start + total_ms) : 0;
    printf("sent %ld lines of %ld bytes in %ld send() calls\n", nsenders * nlines, line_bytes, writes);
    printf("delivered %ld of %ld\n", got, expected);
    printf("garbled %ld\n", garbled);
    printf("out of order %ld\n", disordered);
    printf("disconnected %ld of %ld\n", closed, reading);
    printf("longest stall %.2f s\n", (double)longest_stall_ms / 1000.0);
    if (nnon > 0)
        printf("non-readers closed by the server %ld of %ld\n", nonreaders_closed, nnon);
    if (got < expected)
        printf("incomplete: %s\n", now_ms() - start >= total_ms ? "the total time limit passed"
                                    : now_ms() - idle_since >= idle_ms ? "no line was delivered for too long"
                                    : "no reading client still connected was owed a line");
    /* A sender may still be blocked in send (a server that stalled):
     * shutdown(2) makes that send fail, so every thread can be joined. */
    for (long i = 0; i < nclients; i++)
        if (cl[i].role == SENDER) {
            shutdown(cl[i].fd, SHUT_RDWR);
            rc = pthread_join(cl[i].thread, NULL);
            if (rc != 0)
                die_with("chat-flood: pthread_join", rc);
        }
    return gave_up || got < expected ? 3 : 0;
}
