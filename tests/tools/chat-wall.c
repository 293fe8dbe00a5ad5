/*
 * chat-wall.c - a crowd of chat clients that runs into a server's wall.
 *
 * For lesson 19's tests (select and FD_SETSIZE): starts N connects at once
 * (non-blocking), reads each client's first line and sorts the clients into
 * the welcomed ("* welcome ...") and the refused (any other first line, after
 * which the server must close the connection). Then one welcomed client says
 * a line, and every other welcomed client must receive it: the room still
 * works next to the refusals. With -k, one welcomed client then leaves, and
 * once the server has let it go (the speaker asks /who every 50 ms until the
 * room is one smaller: a room of more than 1,000 is not told "* ... left",
 * chat.h), a new client connects: its descriptor is free below the wall, so
 * it must be welcomed.
 *
 * It holds its clients with poll(2), not select: it must itself go past
 * 1,024 descriptors. A test tool, not a lesson: the tests read its counts.
 *
 * With -l the clients connect one after another, each once the one before
 * has its first line, so the server accepts them in order and the last one
 * holds its highest descriptor; that last one says the line.
 *
 * usage: chat-wall [-n CLIENTS] [-T MS] [-k] [-l] HOST PORT
 * Prints "connected N of N", "welcomed W", "refused R", "refusal: LINE" (the
 * first refused client's line), "closed after refusal R of R", "closed
 * without a line 0", "welcomed but closed 0", "received W-1 of W-1", and
 * with -k "rejoined 1 of 1". Exits 0 when all of that came true, 3 if not
 * (or the deadline passed first), 1 on an error.
 */
#include "args.h"
#include "report.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define USAGE "usage: chat-wall [-n CLIENTS] [-T MS] [-k] [-l] HOST PORT"
#define MARK "wall-broadcast-5e1c"
#define FIRST_MAX 200

enum state { CONNECTING, WAITING, WELCOMED, REFUSED };

struct member {
    enum state state;
    int closed;                         /* by the server (or by us, for -k's leaver) */
    char first[FIRST_MAX];              /* the first line, as far as it came */
    size_t first_len;
    int received;                       /* saw MARK */
    long online;                        /* the last "* online (K)" seen (the speaker, for -k); 0: none yet */
    char tail[64];                      /* last bytes seen, to find words across reads */
};

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int connect_one(const struct sockaddr_in *addr)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd == -1)
        die("socket");
    if (connect(fd, (const struct sockaddr *)addr, sizeof *addr) == -1 && errno != EINPROGRESS)
        die("connect");
    return fd;
}

/* Bytes arrived for m: fill its first line, then look for words in the
 * stream (the tail of the last read joined to this one). */
static void got_bytes(struct member *m, const char *buf, size_t n)
{
    size_t i = 0;
    if (m->state == WAITING) {
        for (; i < n; i++) {
            if (buf[i] == '\n') {
                m->first[m->first_len] = '\0';
                m->state = strncmp(m->first, "* welcome ", 10) == 0 ? WELCOMED : REFUSED;
                i++;
                break;
            }
            if (m->first_len < FIRST_MAX - 1)
                m->first[m->first_len++] = buf[i] == '\0' ? '?' : buf[i];
        }
    }
    size_t keep = strlen(m->tail), len = keep + (n - i);
    char *joined = malloc(len + 1);
    if (joined == NULL)
        die("malloc");
    memcpy(joined, m->tail, keep);
    memcpy(joined + keep, buf + i, n - i);
    joined[len] = '\0';
    for (size_t k = 0; k < len; k++)    /* a NUL must not hide a word */
        if (joined[k] == '\0')
            joined[k] = '?';
    if (strstr(joined, MARK))
        m->received = 1;
    const char *who = strstr(joined, "* online (");
    char *after;
    long count = who ? strtol(who + strlen("* online ("), &after, 10) : -1;
    if (who && *after == ')')
        m->online = count;
    size_t t = len < sizeof m->tail - 1 ? len : sizeof m->tail - 1;
    memcpy(m->tail, joined + len - t, t);
    m->tail[t] = '\0';
    free(joined);
}

int main(int argc, char **argv)
{
    long n = 1030, total_ms = 30000;
    const char *why;
    int opt, rejoin = 0, last_speaks = 0;
    usage_init(USAGE);
    while ((opt = next_option(argc, argv, "n:T:klh")) != -1) {
        if (opt == 'k')
            rejoin = 1;
        else if (opt == 'l')
            last_speaks = 1;
        else if (opt == 'n')
            n = option_long("CLIENTS", 2, 20000);
        else if (opt == 'T')
            total_ms = option_long("MS", 1, 600000);
    }
    uint16_t port;
    struct sockaddr_in addr = {.sin_family = AF_INET};
    if (argc - optind != 2 || inet_pton(AF_INET, argv[optind], &addr.sin_addr) != 1
        || parse_port(argv[optind + 1], &port, &why) == -1)
        usage_error(NULL, NULL, NULL);
    addr.sin_port = htons(port);
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct rlimit lim;                  /* we hold more than 1,024 sockets ourselves */
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &lim) == -1)
            warn_errno("setrlimit RLIMIT_NOFILE");
    }

    /* One more slot for the newcomer of -k. */
    struct pollfd *fds = calloc((size_t)n + 1, sizeof *fds);
    struct member *m = calloc((size_t)n + 1, sizeof *m);
    if (fds == NULL || m == NULL)
        die("calloc");
    long slots = last_speaks ? 1 : n;   /* -l: one at a time; else all the SYNs at once */
    for (long i = 0; i < slots; i++)
        fds[i] = (struct pollfd){.fd = connect_one(&addr), .events = POLLOUT};
    long connected = 0, speaker = -1, leaver = -1;
    long deadline = now_ms() + total_ms;
    int sent = 0, done = 0, rejoined = 0;
    long room_after = -1, who_at = -1;  /* -k: the room without the leaver; next /who */
    while (now_ms() < deadline && !done) {
        if (who_at != -1 && now_ms() >= who_at && fds[speaker].fd != -1) {
            if (send(fds[speaker].fd, "/who\n", 5, MSG_NOSIGNAL) != 5)
                die("send /who");
            who_at = now_ms() + 50;
        }
        if (poll(fds, (nfds_t)slots, 100) == -1 && errno != EINTR)
            die("poll");
        for (long i = 0; i < slots; i++) {
            if (fds[i].fd == -1 || fds[i].revents == 0)
                continue;
            if (m[i].state == CONNECTING) {
                int err = 0;
                socklen_t len = sizeof err;
                if (getsockopt(fds[i].fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
                    die("getsockopt SO_ERROR");
                if (err != 0)
                    die_with("connect", err);
                m[i].state = WAITING;
                connected += i < n;
                fds[i].events = POLLIN;
                continue;
            }
            char buf[65536];
            ssize_t got = recv(fds[i].fd, buf, sizeof buf, 0);
            if (got == -1 && (errno == EAGAIN || errno == EINTR))
                continue;
            if (got <= 0) {             /* the server closed it (or reset it) */
                m[i].closed = 1;
                close(fds[i].fd);
                fds[i].fd = -1;         /* poll skips it from now on */
                continue;
            }
            got_bytes(&m[i], buf, (size_t)got);
        }
        if (last_speaks && slots < n && m[slots - 1].state >= WELCOMED) {
            fds[slots] = (struct pollfd){.fd = connect_one(&addr), .events = POLLOUT};
            slots++;                    /* -l: the next one, now that this one is in */
            continue;
        }
        if (last_speaks && slots < n)
            continue;
        /* Everyone has answered and the refused are closed: one speaks. */
        long pending = 0, missing = 0;
        for (long i = 0; i < n; i++)
            pending += !m[i].closed && m[i].state != WELCOMED;
        if (!sent && pending == 0) {
            for (long k = 0; k < n && speaker == -1; k++) {
                long i = last_speaks ? n - 1 - k : k;
                if (m[i].state == WELCOMED && !m[i].closed)
                    speaker = i;
            }
            if (speaker == -1)
                break;                  /* nobody was welcomed */
            const char *line = "hello " MARK "\n";
            if (send(fds[speaker].fd, line, strlen(line), MSG_NOSIGNAL) != (ssize_t)strlen(line))
                die("send");
            sent = 1;
        }
        if (!sent)
            continue;
        for (long i = 0; i < n; i++)
            missing += m[i].state == WELCOMED && !m[i].closed && i != speaker && !m[i].received;
        if (missing > 0) {
            continue;
        } else if (!rejoin) {
            done = 1;
        } else if (leaver == -1) {      /* the last welcomed one leaves */
            for (long i = n - 1; i >= 0 && leaver == -1; i--)
                if (m[i].state == WELCOMED && !m[i].closed && i != speaker)
                    leaver = i;
            if (leaver == -1)
                break;
            room_after = -1;
            for (long i = 0; i < n; i++)
                room_after += m[i].state == WELCOMED && !m[i].closed;
            close(fds[leaver].fd);
            fds[leaver].fd = -1;
            who_at = now_ms();
        } else if (slots == n && m[speaker].online == room_after) {
            /* The room is one smaller: the server has closed the leaver's fd
             * (it counts the room after the close), so a newcomer gets a
             * number below the wall. */
            who_at = -1;
            fds[n] = (struct pollfd){.fd = connect_one(&addr), .events = POLLOUT};
            slots = n + 1;
        } else if (slots == n + 1 && (m[n].state == WELCOMED || m[n].state == REFUSED)) {
            rejoined = m[n].state == WELCOMED;
            done = 1;
        }
    }

    long welcomed = 0, refused = 0, closed = 0, silent = 0, lost = 0, received = 0;
    const char *refusal = NULL;
    for (long i = 0; i < n; i++) {
        if (m[i].state == WELCOMED) {
            welcomed++;
            received += i != speaker && m[i].received;
            lost += m[i].closed && i != leaver;
        } else if (m[i].state == REFUSED) {
            refused++;
            closed += m[i].closed;
            if (refusal == NULL)
                refusal = m[i].first;
        } else if (m[i].closed) {
            silent++;                   /* closed before a whole first line */
        }
    }
    printf("connected %ld of %ld\n", connected, n);
    printf("welcomed %ld\n", welcomed);
    printf("refused %ld\n", refused);
    if (refusal != NULL)
        printf("refusal: %s\n", refusal);
    printf("closed after refusal %ld of %ld\n", closed, refused);
    printf("closed without a line %ld\n", silent);
    printf("welcomed but closed %ld\n", lost);
    printf("received %ld of %ld\n", received, welcomed > 0 ? welcomed - 1 : 0);
    if (rejoin)
        printf("rejoined %d of 1\n", rejoined);
    for (long i = 0; i < slots; i++)
        if (fds[i].fd != -1)
            close(fds[i].fd);
    free(fds);
    free(m);
    return done && silent == 0 && lost == 0 && closed == refused && (!rejoin || rejoined) ? 0 : 3;
}
