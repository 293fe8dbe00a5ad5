/*
 * chat-server.c - lesson 20: the group chat on epoll, edge-triggered.
 *
 * The chat of lessons 15 and 17 (same protocol, same log, same tests), one
 * thread, but waiting in epoll_wait(2) instead of poll(2). The kernel keeps
 * the list of watched sockets, so a wakeup costs what is ready, not what is
 * connected: the server holds as many clients as the process may open files.
 *
 * Edge-triggered (EPOLLET): epoll reports a socket when something *new*
 * arrives, not while data waits. A socket whose input we have not read to
 * the end (EAGAIN) is never reported again until more comes, so the server
 * keeps its own list of sockets that may still hold input (`ready`) and
 * reads from each, one chunk per turn, until recv says EAGAIN. The listener
 * is the same: accept4 until EAGAIN. EPOLLOUT is asked for only while a
 * client's queue holds bytes the kernel would not take.
 *
 * Backpressure as in lesson 17: while any queue is full (-q bytes) the room
 * reads from nobody (it simply stops taking clients off `ready`); a queue
 * full for -t seconds is a client that does not read: it is dropped.
 *
 * usage: chat-server [-m MAX_CLIENTS] [-q QUEUE_LIMIT_BYTES] [-t SECONDS] [ADDRESS [PORT]]
 *   -m  most clients at once (default: as many as the descriptor limit allows)
 *   -q  a client's queue is full at this many bytes (default 65536)
 *   -t  how long a queue may stay full before its client is dropped (default 3)
 *   ADDRESS a numeric IPv4/IPv6 address (default 127.0.0.1), PORT default 9999
 *
 * Partner: lesson 16's chat-client, or nc/telnet; bench/chat-load measures it.
 *
 * Read: epoll(7), epoll_create1(2), epoll_ctl(2), epoll_wait(2), accept4(2),
 *       recv(2), send(2), getrlimit(2), tcp(7), signal-safety(7)
 */
#define _GNU_SOURCE             /* accept4(2) is a Linux call */
#include "chat.h"
#include "net.h"
#include "report.h"
#include "stop.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define READ_CHUNK 65536        /* one recv per client per turn, at most this */
#define ACCEPTS_PER_TURN 1024   /* then serve the room before accepting more */
#define EVENTS_PER_WAIT 1024    /* epoll_wait hands over at most this many at once */
#define OWN_FDS 10              /* kept back from the limit: stdio, epoll, pipe, listener, spare */
#define GRACE_SECONDS 3
#define HARD_LIMIT_TIMES 4      /* a queue past 4 times -q is dropped at once */

struct client {
    int fd;
    struct client *prev, *next;         /* the room, in join order */
    struct client *next_ready;          /* on the list of sockets that may hold input */
    int on_ready;
    struct client *next_dirty;          /* on the list of queues to flush */
    int dirty;
    char gone[CHAT_REASON_MAX];         /* "" while in the room, else why it leaves */
    struct client *next_gone;
    char addr[ADDRESS_TEXT_MAX];
    char name[NAME_LEN + 1];            /* "" until /nick: then the address is shown */
    struct line_cutter cut;             /* cuts lines out of what recv brings (chat.h) */
    char line[MAX_LINE + 1];
    struct out_queue out;               /* what the kernel would not take yet (chat.h) */
    int watching_out;                   /* EPOLLOUT is in its epoll interest */
    int mid_line;                       /* the kernel took only part of a line so far */
    int full;                           /* pending reached -q... */
    double full_since;                  /* ...at this time (now_ms) */
};

struct server {
    int ep, listener, spare_fd;
    int accept_ready;                   /* the listener may have connections waiting */
    time_t accept_paused_until;
    struct client *first, *last;        /* the room in join order */
    struct client *ready, *ready_tail;  /* may hold unread input: read until EAGAIN */
    struct client *dirty, *gone;
    long count, max_clients;
    size_t queue_limit;
    double grace_ms;
    long nfull;                         /* clients whose queue is full: while > 0, read nobody */
};

static const char *who(const struct client *c)
{
    return c->name[0] ? c->name : c->addr;
}

/* Register fd with epoll, or change what it watches; data.ptr says who it is. */
static int watch(struct server *srv, int op, int fd, uint32_t events, void *who)
{
    struct epoll_event ev = {.events = events, .data.ptr = who};
    return epoll_ctl(srv->ep, op, fd, &ev);
}

/* A client is watched edge-triggered for input and for the peer's end of
 * stream (EPOLLRDHUP), and for room to write only while its queue holds
 * bytes. A socket is nearly always writable: level-triggered, an EPOLLOUT
 * asked for with nothing to send comes back from every epoll_wait (a busy
 * loop); the interest list says what the server really waits for. */
static void watch_output(struct server *srv, struct client *c, int want)
{
    if (c->watching_out == want || c->gone[0])
        return;
    // TODO: EPOLL_CTL_MOD c->fd to EPOLLIN | EPOLLRDHUP | EPOLLET, plus EPOLLOUT when want is 1 (data.ptr = c); note it in c->watching_out. A failure is warn_errno("epoll_ctl").
    (void)srv;
}

/* c may hold input we have not read: put it on the ready list (once). */
static void mark_ready(struct server *srv, struct client *c)
{
    if (c->on_ready || c->gone[0])
        return;
    c->on_ready = 1;
    c->next_ready = NULL;
    if (srv->ready_tail)
        srv->ready_tail->next_ready = c;
    else
        srv->ready = c;
    srv->ready_tail = c;
}

static void set_full(struct server *srv, struct client *c, int full)
{
    if (c->full == full)
        return;
    c->full = full;
    c->full_since = now_ms();
    srv->nfull += full ? 1 : -1;
}

/* Each client costs one descriptor: take all the kernel allows, and say so
 * in the log. Unless -m says fewer, that many clients (but a few). */
static void use_every_descriptor(struct server *srv)
{
    struct rlimit before, now;
    if (getrlimit(RLIMIT_NOFILE, &before) == -1)
        die("getrlimit RLIMIT_NOFILE");
    raise_fd_limit();
    if (getrlimit(RLIMIT_NOFILE, &now) == -1)
        die("getrlimit RLIMIT_NOFILE");
    long room = now.rlim_cur == RLIM_INFINITY ? 1000000 : (long)now.rlim_cur - OWN_FDS;
    if (srv->max_clients == 0 || srv->max_clients > room)
        srv->max_clients = room > 1 ? room : 1;
    log_event("open files: soft limit raised from %ld to the hard limit %ld: room for %ld clients",
              (long)before.rlim_cur, (long)now.rlim_cur, srv->max_clients);
}

/* Mark c to leave, for why (or, when why is NULL, the error err): it is
 * taken out at the end of the turn (reap_departed), never in the middle. */
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
    set_full(srv, c, 0);                /* nobody waits for it any more */
}

/* Send what the queue holds, until it is empty or the kernel's buffer is
 * full (EAGAIN); then ask epoll to say when there is room, and only then. */
static void flush_client(struct server *srv, struct client *c)
{
    while (queued(&c->out) > 0) {
        ssize_t n = send(c->fd, c->out.buf + c->out.head, queued(&c->out), MSG_NOSIGNAL);
        if (n == -1) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                depart(srv, c, NULL, errno);
            break;
        }
        c->out.head += (size_t)n;       /* a partial send: the rest stays queued */
    }
    if (c->out.head > 0)                /* every queued text ends with "\n" */
        c->mid_line = c->out.buf[c->out.head - 1] != '\n';
    if (c->full && queued(&c->out) < srv->queue_limit)
        set_full(srv, c, 0);            /* it took some: the room may read again */
    watch_output(srv, c, queued(&c->out) > 0);
}

/* Queue len bytes for c; they leave at the end of this turn (flush_dirty). */
static void queue_text(struct server *srv, struct client *c, const char *text, size_t len)
{
    if (c->gone[0])
        return;
    size_t pending = queued(&c->out);
    if (pending > 0 && pending + len >= srv->queue_limit) {
        flush_client(srv, c);           /* maybe the kernel has room again */
        if (c->gone[0])
            return;
        pending = queued(&c->out);
        if (pending + len > HARD_LIMIT_TIMES * srv->queue_limit) {
            depart(srv, c, "too slow", 0);
            return;
        }
    }
    if (queue_append(&c->out, text, len) == -1) {
        depart(srv, c, NULL, ENOMEM);
        return;
    }
    if (queued(&c->out) >= srv->queue_limit)
        set_full(srv, c, 1);
    if (!c->dirty) {
        c->dirty = 1;
        c->next_dirty = srv->dirty;
        srv->dirty = c;
    }
}

/* One line to c, or, when c is NULL, to everyone in the room but `except`. */
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

static void flush_dirty(struct server *srv)
{
    while (srv->dirty) {
        struct client *c = srv->dirty;
        srv->dirty = c->next_dirty;
        c->dirty = 0;
        if (!c->gone[0])
            flush_client(srv, c);
    }
}

static void send_who(struct server *srv, struct client *c)
{
    const char **names = malloc((size_t)srv->count * sizeof *names);
    size_t n = 0, len;
    for (struct client *o = srv->first; names != NULL && o != NULL; o = o->next)
        names[n++] = who(o);
    char *text = names ? format_who(names, n, &len) : NULL;
    if (text != NULL)
        queue_text(srv, c, text, len);
    free(text);
    free(names);
}

static void handle_line(struct server *srv, struct client *c, char *line)
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
        char old[ADDRESS_TEXT_MAX];
        snprintf(old, sizeof old, "%s", who(c));
        snprintf(c->name, sizeof c->name, "%s", name);
        log_event("nick %s -> %s", old, name);
        say(srv, c, NULL, YOU_ARE_NOW, name);
        say(srv, NULL, c, IS_NOW, old, name);
        break;
    case CMD_WHO:
        send_who(srv, c);
        break;
    case CMD_QUIT:
        say(srv, c, NULL, BYE);
        depart(srv, c, "quit", 0);
        break;
    case CMD_UNKNOWN:
        say(srv, c, NULL, UNKNOWN);
        break;
    }
}

/* Cut complete lines out of n bytes just read (chat.h), and act on each. */
static void take_bytes(struct server *srv, struct client *c, const char *bytes, size_t n)
{
    for (size_t off = 0, used; off < n && !c->gone[0]; off += used) {
        enum cut_result r = cut_line(&c->cut, bytes + off, n - off, &used);
        if (r == CUT_TOO_LONG) {
            say(srv, c, NULL, LINE_TOO_LONG);
        } else if (r == CUT_LINE && c->cut.len > 0) {
            clean_line(c->line, c->cut.len);    /* NUL and ESC become "?" */
            handle_line(srv, c, c->line);
        }
    }
}

/* One chunk from c, which is on the ready list. Returns 1 if c may hold more
 * (it stays on the list), 0 once it is drained (EAGAIN) or gone. */
static int read_some(struct server *srv, struct client *c)
{
    static char chunk[READ_CHUNK];
    // TODO: one recv(2) of up to READ_CHUNK bytes into chunk. 0 is the end of the stream: depart(srv, c, "closed", 0), return 0. -1 with EAGAIN/EWOULDBLOCK: drained, return 0 (epoll says when more comes); EINTR: return 1; other errors: depart(srv, c, NULL, errno), return 0. Bytes: take_bytes, then return 1 - why not 0, under EPOLLET?
    (void)srv, (void)c, (void)chunk, (void)take_bytes;
    return 0;
}

/* One turn's reading: a chunk from each client on the ready list, in order,
 * unless a queue is full (backpressure: leave them waiting, still listed). */
static void read_ready(struct server *srv)
{
    struct client *end = srv->ready_tail;
    while (srv->ready != NULL && srv->nfull == 0) {
        struct client *c = srv->ready;
        srv->ready = c->next_ready;
        if (srv->ready == NULL)
            srv->ready_tail = NULL;
        c->on_ready = 0;
        // TODO: read_some(srv, c) unless c is gone; if it says c may hold more, put c back on the list (mark_ready): nothing else would bring it back.
        (void)read_some;
        if (c == end)
            break;                      /* one chunk each per turn */
    }
}

static void add_client(struct server *srv, int fd)
{
    struct client *c = calloc(1, sizeof *c);
    if (c == NULL) {
        warn_errno("calloc");
        close(fd);
        return;
    }
    c->fd = fd;
    int one = 1;                        /* our own batching; no Nagle delay (lesson 05) */
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == -1)
        warn_errno("setsockopt TCP_NODELAY");
    if (peer_address(fd, c->addr, sizeof c->addr) == -1)
        snprintf(c->addr, sizeof c->addr, "fd%d", fd);
    line_cutter_init(&c->cut, c->line, sizeof c->line);
    // TODO: register fd with epoll (EPOLL_CTL_ADD): EPOLLIN | EPOLLRDHUP | EPOLLET, data.ptr = c. On failure warn_errno("epoll_ctl"), free c, close fd, return. Why is no EPOLLOUT asked for here?
    (void)watch;
    say(srv, NULL, NULL, JOINED, c->addr);   /* before c is in the room */
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

/* The listener had an edge: accept until EAGAIN (a batch per turn). */
static void handle_new_connections(struct server *srv)
{
    for (int i = 0; i < ACCEPTS_PER_TURN; i++) {
        // TODO: fd = accept4(2) on srv->listener with SOCK_NONBLOCK | SOCK_CLOEXEC (one call: no fcntl). On EAGAIN/EWOULDBLOCK the queue is empty: clear srv->accept_ready and return. (Keep the error handling below.)
        int fd = -1;
        (void)srv;
        return;
        if (fd == -1) {
            if ((errno == EMFILE || errno == ENFILE) && srv->spare_fd != -1) {
                /* Out of descriptors: free the spare, take the connection,
                 * refuse it, so it does not wait in the queue for ever. */
                int err = errno;
                close(srv->spare_fd);
                fd = accept4(srv->listener, NULL, NULL, SOCK_CLOEXEC);
                if (fd != -1)
                    refuse(fd, REFUSE_NO_FDS, err);
                srv->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                continue;
            }
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                warn_errno("accept4");  /* no spare: try again in a second */
                srv->accept_paused_until = time(NULL) + 1;
                return;
            }
            warn_errno("accept4");      /* ECONNABORTED and friends: that one only */
            continue;
        }
        if (srv->count >= srv->max_clients) {
            refuse(fd, REFUSE_FULL, srv->count);
            continue;
        }
        add_client(srv, fd);
    }
}

/* Take the departed out of the room and every list, and tell the others
 * (which may make more departures: repeat until none is left). */
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
        srv->count--;
        for (struct client **p = &srv->dirty; c->dirty && *p; p = &(*p)->next_dirty)
            if (*p == c) {
                *p = c->next_dirty;
                break;
            }
        struct client *prev = NULL;
        for (struct client *r = srv->ready; c->on_ready && r; prev = r, r = r->next_ready)
            if (r == c) {
                if (prev) prev->next_ready = r->next_ready; else srv->ready = r->next_ready;
                if (srv->ready_tail == r) srv->ready_tail = prev;
                break;
            }
        close_gently(c->fd);
        log_event("leave %s (%s) (%ld online)", who(c), c->gone, srv->count);
        say(srv, NULL, NULL, LEFT, who(c));
        free(c->out.buf);
        free(c);
        flush_dirty(srv);
    }
}

/* Drop clients whose queue stayed full for the grace time; return how long
 * epoll_wait may sleep until the next such deadline (-1: none). */
static int drop_stalled(struct server *srv)
{
    if (srv->nfull == 0)
        return -1;
    double now = now_ms(), wait = -1;
    for (struct client *c = srv->first; c != NULL; c = c->next) {
        if (!c->full || c->gone[0])
            continue;
        double left = c->full_since + srv->grace_ms - now;
        if (left <= 0)
            depart(srv, c, "too slow", 0);
        else if (wait == -1 || left < wait)
            wait = left;
    }
    return wait == -1 ? -1 : (int)wait + 1;   /* round up: wake after, not before */
}

static void shutdown_room(struct server *srv)
{
    log_event("shutting down (signal %s), %ld clients",
              stop_signal_name(), srv->count);
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
    close(srv->ep);
}

int main(int argc, char **argv)
{
    struct chat_options opt = {.max_clients = 0, .queue_limit = 65536,
                               .grace_seconds = GRACE_SECONDS, .host = "127.0.0.1", .port = 9999};
    parse_chat_options(&opt, argc, argv);   /* 0 clients: as many as fds allow */
    struct server srv = {.max_clients = opt.max_clients, .queue_limit = opt.queue_limit,
                         .grace_ms = opt.grace_seconds * 1000.0, .spare_fd = -1};
    const char *failed;
    setvbuf(stdout, NULL, _IOLBF, 0);
    use_every_descriptor(&srv);

    if (stop_init() == -1)              /* SIGINT/SIGTERM write to a pipe: stop_fd() */
        die("stop_init");
    srv.spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (srv.spare_fd == -1)
        die("open /dev/null");
    srv.listener = tcp_listen(opt.host, opt.port, SOMAXCONN, &failed);
    if (srv.listener == -1)
        die(failed);
    if (set_nonblocking(srv.listener, 1) == -1)
        die("fcntl O_NONBLOCK");
    /* The listener and the pipe are told apart from clients by data.ptr. */
    // TODO: create the epoll instance (epoll_create1(2), EPOLL_CLOEXEC) into srv.ep; watch srv.listener (EPOLLIN | EPOLLET, data.ptr = &srv.listener) and stop_fd() (EPOLLIN, data.ptr = NULL: a stop). die() on failure.
    if (announce_listening(srv.listener) == -1)
        die("getsockname");
    srv.accept_ready = 1;               /* a connection may be there already */

    static struct epoll_event events[EVENTS_PER_WAIT];
    while (!stop_requested()) {
        int timeout = drop_stalled(&srv);
        reap_departed(&srv);
        if (srv.accept_paused_until && time(NULL) >= srv.accept_paused_until)
            srv.accept_paused_until = 0;
        if (srv.accept_ready && srv.accept_paused_until)
            timeout = timeout == -1 || timeout > 1000 ? 1000 : timeout;
        /* Work we know of and no edge will announce: do not sleep. */
        if ((srv.ready && srv.nfull == 0) || (srv.accept_ready && !srv.accept_paused_until))
            timeout = 0;
        // TODO: n = epoll_wait(2) into events (EVENTS_PER_WAIT, this timeout); EINTR: go round again; other errors: die("epoll_wait"). Then for each event: data.ptr == NULL: a stop was asked, skip it; == &srv.listener: srv.accept_ready = 1; else a client c: any of EPOLLIN, EPOLLRDHUP, EPOLLHUP, EPOLLERR -> mark_ready (read to the end before believing the hang-up: lines may come first); EPOLLOUT -> flush_client.
        (void)timeout, (void)mark_ready, (void)events;
        break;
        read_ready(&srv);
        if (srv.accept_ready && !srv.accept_paused_until)
            handle_new_connections(&srv);
        flush_dirty(&srv);              /* each client's lines of this turn, batched */
        reap_departed(&srv);
    }
    shutdown_room(&srv);
    return 0;
}
