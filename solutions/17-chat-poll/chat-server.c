/*
 * chat-server.c - lesson 17: the group chat in one thread, with poll().
 *
 * The same chat as lesson 15 (the protocol is common/chat.h, unchanged), but
 * no thread per client: one thread waits in poll(2) on every socket at once
 * and does whatever is ready. Every socket is non-blocking, so no call can
 * stall the room. Each client has a line cutter (the line read so far) and an
 * output queue (what the kernel would not take yet).
 *
 * Backpressure with a deadline, as in lesson 15: a queue that reaches -q bytes
 * is "full", and while any queue is full the loop reads from nobody (POLLIN is
 * taken out of every client's events), so senders slow to the pace of the
 * slowest reader. A queue full for -t seconds belongs to a client that is not
 * reading: it is dropped as too slow. A queue past 4 times -q is dropped at once.
 *
 * usage: chat-server [-m MAX_CLIENTS] [-q QUEUE_LIMIT_BYTES] [-t SECONDS] [ADDRESS [PORT]]
 *   -m  most clients at once (default 10000); one more is told "server full"
 *   -q  a client's queue is full at this many bytes (default 65536)
 *   -t  how long a queue may stay full before its client is dropped (default 3)
 *   ADDRESS a numeric IPv4/IPv6 address (default 127.0.0.1), PORT default 9999
 * Partner: lesson 16's chat-client, or nc/telnet; bench/chat-load measures it.
 * Read: poll(2), fcntl(2) (O_NONBLOCK), accept(2), send(2), recv(2), tcp(7),
 *       getrlimit(2), clock_gettime(2) (CLOCK_MONOTONIC), epoll(7)
 */
#include "report.h"
#include "net.h"
#include "chat.h"
#include "stop.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define READ_CHUNK 65536        /* one recv per client per turn, at most this */
#define ACCEPTS_PER_TURN 1024   /* then serve the room before accepting more */
/* The hard limit, 4 times -q: reading stops while a queue is full, but one
 * read that came before can add its lines on top, and notices never wait. */
#define HARD_LIMIT_TIMES 4
#define BACKLOG SOMAXCONN       /* a burst of connects must fit (lesson 07) */

struct client {
    int fd;
    size_t slot;                        /* our entry in the pollfd array */
    struct client *prev, *next;         /* the room, in join order */
    int dirty;                          /* lines queued this turn: flush at its end */
    char gone[CHAT_REASON_MAX];         /* "" while in the room, else why it leaves */
    struct client *next_gone;
    char addr[ADDRESS_TEXT_MAX];
    char name[NAME_LEN + 1];            /* "" until /nick: then the address is shown */
    struct line_cutter cut;             /* the line read so far (chat.h)... */
    char line[MAX_LINE + 1];            /* ...is put together here */
    struct out_queue out;               /* what the kernel has not taken yet (chat.h) */
    int mid_line;                       /* the kernel took only part of a line so far */
    int full;                           /* pending reached -q... */
    double full_since;                  /* ...at this time (now_ms) */
};

struct server {
    struct pollfd *fds;                 /* [0] self-pipe, [1] listener, [2..] clients */
    struct client **slots;              /* slots[i] owns fds[i] for i >= 2 */
    size_t nfds;
    struct client *first, *last;        /* the room in join order */
    struct client *gone;                /* clients to remove */
    long count;
    struct chat_options opt;            /* -m, -q, -t, -a, address, port */
    long nfull;                         /* clients whose queue is full: while > 0, read nobody */
    int listener, spare_fd;
    time_t accept_paused_until;
};

static const char *who(const struct client *c)
{
    return c->name[0] ? c->name : c->addr;
}

/* What poll watches for c: input unless a queue is full (the backpressure);
 * room to send only while output waits (a socket is nearly always writable). */
static short interest(const struct server *srv, const struct client *c)
{
    //@todo return POLLIN unless some queue is full (srv->nfull > 0), plus POLLOUT only while c has bytes queued (queued(&c->out) > 0).
    //@ (void)srv, (void)c;
    //@ return POLLIN;
    //@begin
    return (short)((srv->nfull > 0 ? 0 : POLLIN) | (queued(&c->out) > 0 ? POLLOUT : 0));
    //@end
}

/* c's queue is full, or no longer: count it. When the count goes from 0 to 1
 * or back, every client's events change (read nobody, or everyone again). */
static void set_full(struct server *srv, struct client *c, int full)
{
    if (c->full == full)
        return;
    c->full = full;
    c->full_since = now_ms();
    srv->nfull += full ? 1 : -1;
    for (struct client *o = srv->first; srv->nfull == (full ? 1 : 0) && o != NULL; o = o->next)
        if (!o->gone[0])
            srv->fds[o->slot].events = interest(srv, o);
}

/* c leaves, for why (NULL: for the error err): nothing more is read from or
 * sent to it; reap_departed removes it once no index into the arrays is in use. */
static void depart(struct server *srv, struct client *c, const char *why, int err)
{
    if (c->gone[0])
        return;
    if (why != NULL)
        snprintf(c->gone, sizeof c->gone, "%s", why);
    else
        leave_reason(c->gone, err);     /* "reset", "error: ENAME" */
    c->next_gone = srv->gone;
    srv->gone = c;
    srv->fds[c->slot].events = 0;
    set_full(srv, c, 0);                /* nobody waits for it any more */
}

/* Send what c's queue holds, as much as the kernel takes now, in as few calls
 * as it takes; POLLOUT is watched only while something is left. */
static void flush_client(struct server *srv, struct client *c)
{
    //@todo send c->out.buf[head..len) with send(2) (MSG_NOSIGNAL) until it is all gone: a short send leaves the rest queued (advance c->out.head by what was sent); EINTR: try again; EAGAIN/EWOULDBLOCK: stop, POLLOUT will say when; any other error: depart(srv, c, NULL, errno) and stop.
    //@todo then: c->mid_line says whether the last byte sent was not a "\n"; an empty queue starts again at 0; a full queue now under srv->opt.queue_limit is no longer full (set_full).
    //@todo last, POLLOUT on or off: unless c is gone, its events in srv->fds become interest(srv, c).
    //@ (void)srv, (void)c, (void)depart;
    //@begin
    struct out_queue *q = &c->out;
    while (q->head < q->len) {
        ssize_t n = send(c->fd, q->buf + q->head, q->len - q->head, MSG_NOSIGNAL);
        if (n == -1) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                depart(srv, c, NULL, errno);
            break;                      /* the kernel's buffer is full: POLLOUT tells us when */
        }
        q->head += (size_t)n;           /* a partial send: the rest stays queued */
    }
    if (c->out.head > 0)                /* every queued text ends with "\n" */
        c->mid_line = c->out.buf[c->out.head - 1] != '\n';
    if (c->out.head == c->out.len)
        c->out.head = c->out.len = 0;
    if (c->full && queued(&c->out) < srv->opt.queue_limit)
        set_full(srv, c, 0);            /* it took some: the room may read again */
    if (!c->gone[0])
        srv->fds[c->slot].events = interest(srv, c);
    //@end
}

/* Queue len bytes for c, to leave at the end of this turn. A queue that reaches
 * the limit is full; one that would pass the hard limit is dropped now. */
static void queue_text(struct server *srv, struct client *c, const char *text, size_t len)
{
    size_t limit = srv->opt.queue_limit;
    if (c->gone[0])
        return;
    if (queued(&c->out) > 0 && queued(&c->out) + len >= limit) {
        flush_client(srv, c);           /* maybe the kernel has room again */
        if (c->gone[0])
            return;
        if (queued(&c->out) + len > HARD_LIMIT_TIMES * limit) {
            depart(srv, c, "too slow", 0);
            return;
        }
    }
    if (queue_append(&c->out, text, len) == -1) {
        depart(srv, c, NULL, ENOMEM);
        return;
    }
    if (queued(&c->out) >= limit)
        set_full(srv, c, 1);
    c->dirty = 1;
}

/* One line to c, or, when c is NULL, to everyone in the room but `except`.
 * Lesson 15's say() on purpose, line for line: only the queueing it calls
 * (this server's own buffers, no lock) differs. */
__attribute__((format(printf, 4, 5)))
static void say(struct server *srv, struct client *c, const struct client *except,
                const char *fmt, ...)
{
    char text[CHAT_TEXT_MAX];
    va_list ap;
    va_start(ap, fmt);
    size_t len = vformat_line(text, fmt, ap);
    va_end(ap);
    if (c != NULL)
        queue_text(srv, c, text, len);
    for (struct client *o = srv->first; c == NULL && o != NULL; o = o->next)
        if (o != except)
            queue_text(srv, o, text, len);
}

/* The end of a turn: every queue that grew leaves, in one send each. */
static void flush_dirty(struct server *srv)
{
    for (struct client *c = srv->first; c != NULL; c = c->next)
        if (c->dirty && !c->gone[0]) {
            c->dirty = 0;
            flush_client(srv, c);
        }
}

/* One line from c, its control bytes already cleaned: the protocol. */
static void handle_line(struct server *srv, struct client *c, const char *line)
{
    const char *name;
    switch (parse_command(line, &name)) {
    case CMD_SAY:
        say(srv, NULL, c, SAID, who(c), line);
        break;
    case CMD_NICK:
        if (!valid_name(name)) {
            say(srv, c, NULL, INVALID_NAME);
            return;
        }
        for (struct client *o = srv->first; o != NULL; o = o->next)
            if (o != c && strcmp(o->name, name) == 0) {
                say(srv, c, NULL, NAME_TAKEN, name);
                return;
            }
        log_event("nick %s -> %s", who(c), name);
        say(srv, NULL, c, IS_NOW, who(c), name);      /* the others, by the old name */
        snprintf(c->name, sizeof c->name, "%s", name);
        say(srv, c, NULL, YOU_ARE_NOW, name);
        break;
    case CMD_WHO: {
        const char **names = malloc((size_t)srv->count * sizeof *names);
        size_t n = 0, len;
        for (struct client *o = srv->first; names != NULL && o != NULL; o = o->next)
            names[n++] = who(o);
        char *text = names ? format_who(names, n, &len) : NULL;
        if (text != NULL)
            queue_text(srv, c, text, len);
        free(text);
        free(names);
        break;
    }
    case CMD_QUIT:
        say(srv, c, NULL, BYE);
        depart(srv, c, "quit", 0);
        break;
    case CMD_UNKNOWN:
        say(srv, c, NULL, UNKNOWN);
        break;
    }
}

/* Readable (or hung up): one recv, then every complete line in it. */
static void handle_client_data(struct server *srv, struct client *c)
{
    static char chunk[READ_CHUNK];
    ssize_t n = recv(c->fd, chunk, sizeof chunk, 0);
    if (n <= 0) {
        if (n == 0)
            depart(srv, c, "closed", 0);   /* a half line is dropped with it */
        else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            depart(srv, c, NULL, errno);
        return;
    }
    for (size_t off = 0, used; off < (size_t)n && !c->gone[0]; off += used) {
        enum cut_result got = cut_line(&c->cut, chunk + off, (size_t)n - off, &used);
        if (got == CUT_TOO_LONG) {
            say(srv, c, NULL, LINE_TOO_LONG);
        } else if (got == CUT_LINE && c->cut.len > 0) {    /* empty lines are ignored */
            clean_line(c->line, c->cut.len);
            handle_line(srv, c, c->line);
        }
    }
}

static void add_client(struct server *srv, int fd)
{
    struct client *c = calloc(1, sizeof *c);
    if (c == NULL || set_nonblocking(fd, 1) == -1) {
        warn_errno(c == NULL ? "calloc" : "fcntl O_NONBLOCK");
        free(c);
        close(fd);
        return;
    }
    c->fd = fd;
    line_cutter_init(&c->cut, c->line, sizeof c->line);
    /* A turn's lines leave in one send; Nagle would hold the next (lesson 05). */
    int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == -1)
        warn_errno("setsockopt TCP_NODELAY");
    if (peer_address(fd, c->addr, sizeof c->addr) == -1)
        snprintf(c->addr, sizeof c->addr, "fd%d", fd);
    c->slot = srv->nfds++;
    srv->slots[c->slot] = c;
    srv->fds[c->slot] = (struct pollfd){.fd = fd, .events = interest(srv, c)};
    if (announced(&srv->opt, srv->count + 1))   /* a big room is not told (chat.h) */
        say(srv, NULL, NULL, JOINED, c->addr);  /* before c is in the room */
    c->prev = srv->last;
    if (srv->last)
        srv->last->next = c;
    else
        srv->first = c;
    srv->last = c;
    srv->count++;
    log_event("join %s (%ld online)", c->addr, srv->count);
    say(srv, c, NULL, WELCOME, c->addr);
}

/* The listener is readable: accept every connection that waits (up to a
 * batch), until accept says EAGAIN: the queue is empty. */
static void handle_new_connection(struct server *srv)
{
    //@todo accept(2) in a loop of at most ACCEPTS_PER_TURN: EAGAIN/EWOULDBLOCK means the queue is empty (return); a room of opt.max_clients is full: refuse(fd, REFUSE_FULL, max_clients); else add_client.
    //@todo out of descriptors (EMFILE/ENFILE): close srv->spare_fd, accept the connection, refuse(fd, REFUSE_NO_FDS, that errno), open the spare again ("/dev/null"); with no spare, pause accepting for a second (accept_paused_until, fds[1].events = 0). Other errors: warn_errno and go on.
    //@ (void)srv, (void)add_client;
    //@begin
    for (int i = 0; i < ACCEPTS_PER_TURN; i++) {
        int fd = accept(srv->listener, NULL, NULL);
        if (fd == -1) {
            int err = errno;
            if (err == EAGAIN || err == EWOULDBLOCK)
                return;                 /* the accept queue is empty */
            if ((err == EMFILE || err == ENFILE) && srv->spare_fd != -1) {
                /* Left queued, it would wake poll again and again: free the
                 * spare fd, take the connection, refuse it. */
                close(srv->spare_fd);
                fd = accept(srv->listener, NULL, NULL);
                if (fd != -1)
                    refuse(fd, REFUSE_NO_FDS, err);
                srv->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                continue;
            }
            if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
                warn_errno("accept");   /* no spare: stop accepting for a second */
                srv->accept_paused_until = time(NULL) + 1;
                srv->fds[1].events = 0;
                return;
            }
            warn_errno("accept");       /* ECONNABORTED and friends: that one only */
            continue;
        }
        if (srv->count >= srv->opt.max_clients)
            refuse(fd, REFUSE_FULL, srv->opt.max_clients);
        else
            add_client(srv, fd);
    }
    //@end
}

/* Take the departed out of the room and tell the others; telling them can
 * make more departures (too slow), so repeat until none is left. */
static void reap_departed(struct server *srv)
{
    while (srv->gone) {
        struct client *c = srv->gone;
        srv->gone = c->next_gone;
        if (strcmp(c->gone, "too slow") == 0)
            send_goodbye(c->fd, &c->out, c->mid_line, TOO_SLOW);
        else if (strcmp(c->gone, "quit") == 0)
            send_goodbye(c->fd, &c->out, c->mid_line, NULL);
        if (c->prev) c->prev->next = c->next; else srv->first = c->next;
        if (c->next) c->next->prev = c->prev; else srv->last = c->prev;
        size_t last = --srv->nfds;      /* the last slot fills the hole */
        srv->fds[c->slot] = srv->fds[last];
        srv->slots[c->slot] = srv->slots[last];
        /* slots[2..nfds) always hold live clients; the analyzer cannot know. */
        srv->slots[c->slot]->slot = c->slot;    // NOLINT(clang-analyzer-core.NullDereference)
        srv->count--;
        close_gently(c->fd);
        log_event("leave %s (%s) (%ld online)", who(c), c->gone, srv->count);
        if (announced(&srv->opt, srv->count + 1))   /* the room as it was, with c */
            say(srv, NULL, NULL, LEFT, who(c));
        free(c->out.buf);
        free(c);
        flush_dirty(srv);
    }
}

static void shutdown_room(struct server *srv)
{
    log_event("shutting down (signal %s), %ld clients", stop_signal_name(), srv->count);
    while (srv->first) {
        struct client *c = srv->first;
        srv->first = c->next;
        send_goodbye(c->fd, &c->out, c->mid_line, SHUTTING_DOWN);
        close_gently(c->fd);
        free(c->out.buf);
        free(c);
    }
    close(srv->listener);
    close(srv->spare_fd);
}

/* Drop every client whose queue has been full for the grace time (it is not
 * reading); returns how long poll may sleep until the next deadline, or -1. */
static int drop_stalled(struct server *srv)
{
    if (srv->nfull == 0)
        return -1;
    double now = now_ms(), wait = -1;
    for (struct client *c = srv->first; c != NULL; c = c->next) {
        if (!c->full || c->gone[0])
            continue;
        double left = c->full_since + srv->opt.grace_seconds * 1000.0 - now;
        if (left <= 0)
            depart(srv, c, "too slow", 0);
        else if (wait == -1 || left < wait)
            wait = left;
    }
    return wait == -1 ? -1 : (int)wait + 1;     /* poll counts whole ms: round up */
}

/* The event loop: wait for whatever is ready, do it, never wait inside. */
static void serve(struct server *srv)
{
    while (!stop_requested()) {
        int timeout = drop_stalled(srv);    /* also: wake when a full queue's grace ends */
        reap_departed(srv);
        if (srv->accept_paused_until && (timeout == -1 || timeout > 1000))
            timeout = 1000;
        if (srv->accept_paused_until && time(NULL) >= srv->accept_paused_until) {
            srv->accept_paused_until = 0;
            srv->fds[1].events = POLLIN;
        }
        //@todo wait in poll(2) on srv->fds (srv->nfds of them) for timeout ms; EINTR: go round again (a stop signal ends the loop); other errors: die("poll").
        //@todo for each client slot i from 2 to the nfds poll saw (new clients start at revents 0): skip gone ones, drop POLLIN from revents while srv->nfull > 0; POLLNVAL ends the client (EBADF); POLLIN, POLLHUP or POLLERR: handle_client_data; POLLOUT: flush_client.
        //@todo a readable listener (fds[1]): handle_new_connection. Then flush_dirty (each client's lines of this turn, batched) and reap_departed.
        //@ (void)handle_client_data, (void)handle_new_connection, (void)flush_dirty;
        //@ break;
        //@begin
        if (poll(srv->fds, srv->nfds, timeout) == -1) {
            if (errno == EINTR)
                continue;
            die("poll");
        }
        /* Slots added by accept() below start with revents 0; removals wait
         * for reap_departed, so every index here stays valid. */
        size_t n = srv->nfds;
        for (size_t i = 2; i < n; i++) {
            struct client *c = srv->slots[i];
            short rev = srv->fds[i].revents;
            if (srv->nfull > 0)         /* a queue filled up this turn: read nobody more */
                rev = (short)(rev & ~POLLIN);
            if (rev == 0 || c->gone[0])
                continue;
            if (rev & POLLNVAL)
                depart(srv, c, NULL, EBADF);
            else if (rev & (POLLIN | POLLHUP | POLLERR))
                handle_client_data(srv, c);
            if ((rev & POLLOUT) && !c->gone[0])
                flush_client(srv, c);
        }
        if (srv->fds[1].revents & POLLIN)
            handle_new_connection(srv);
        flush_dirty(srv);               /* each client's lines of this turn, batched */
        reap_departed(srv);
        //@end
    }
}

int main(int argc, char **argv)
{
    struct server srv = {.opt = {.max_clients = 10000, .queue_limit = 65536,
                                 .grace_seconds = 3, .announce_max = ANNOUNCE_MAX,
                                 .host = "127.0.0.1", .port = 9999},
                         .spare_fd = -1};
    parse_chat_options(&srv.opt, argc, argv);
    setvbuf(stdout, NULL, _IOLBF, 0);
    raise_fd_limit();

    /* A stop signal writes a byte into stop.h's self-pipe: poll wakes for it. */
    if (stop_init() == -1)
        die("stop_init");
    srv.spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (srv.spare_fd == -1)
        die("open /dev/null");
    const char *failed;
    srv.listener = tcp_listen(srv.opt.host, srv.opt.port, BACKLOG, &failed);
    if (srv.listener == -1)
        die(failed);
    if (set_nonblocking(srv.listener, 1) == -1)     /* accept until EAGAIN */
        die("fcntl O_NONBLOCK");
    srv.fds = calloc((size_t)srv.opt.max_clients + 2, sizeof *srv.fds);
    srv.slots = calloc((size_t)srv.opt.max_clients + 2, sizeof *srv.slots);
    if (srv.fds == NULL || srv.slots == NULL)
        die("calloc");
    srv.fds[0] = (struct pollfd){.fd = stop_fd(), .events = POLLIN};
    srv.fds[1] = (struct pollfd){.fd = srv.listener, .events = POLLIN};
    srv.nfds = 2;
    if (announce_listening(srv.listener) == -1)
        die("getsockname");

    serve(&srv);
    shutdown_room(&srv);
    free(srv.fds);
    free(srv.slots);
    return 0;
}
