/*
 * chat-server.c - lesson 19: the group chat in one thread, with select().
 *
 * Lesson 17's chat (protocol: common/chat.h) on select(2), whose bit arrays
 * (fd_set) change three things: select overwrites the sets it gets, so each
 * turn hands it fresh copies; it looks at fds 0 .. nfds-1, so nfds is the
 * highest fd + 1; and a set holds FD_SETSIZE (1024) fds: FD_SET on fd 1024 or
 * more writes past its end (undefined behaviour, select(2) BUGS), so such a
 * client is refused. Queues, backpressure and EMFILE are lesson 17's.
 *
 * usage: chat-server [-m MAX_CLIENTS] [-q QUEUE_LIMIT_BYTES] [-t SECONDS] [ADDRESS [PORT]]
 *   -m  most clients at once (default 10000, but select stops near 1,017)
 *   -q  a client's queue is full at this many bytes (default 65536)
 *   -t  how long a queue may stay full before its client is dropped (default 3)
 *   ADDRESS a numeric IPv4/IPv6 address (default 127.0.0.1), PORT default 9999
 *
 * Partner: lesson 16's chat-client, or nc/telnet.
 *
 * Read: select(2) (BUGS: FD_SETSIZE), select_tut(2), fcntl(2), accept(2),
 *       send(2), recv(2), tcp(7), getrlimit(2)
 */
#include "report.h"
#include "net.h"
#include "chat.h"
#include "stop.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define READ_CHUNK 65536        /* one recv per client per turn, at most this */
#define ACCEPTS_PER_TURN 1024   /* then serve the room before accepting more */
#define HARD_LIMIT_TIMES 4      /* past 4 times -q a queue is dropped at once (lesson 17) */
#define BACKLOG SOMAXCONN       /* a burst of connects must fit (lesson 07) */

struct client {
    int fd;                             /* always < FD_SETSIZE: see handle_new_connection */
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
    /* What we want to hear about; select gets copies (it overwrites them). */
    fd_set readers;                     /* every client in the room */
    fd_set writers;                     /* the clients with output queued */
    int maxfd;                          /* the highest fd in any set: nfds is maxfd + 1 */
    int base_maxfd;                     /* the higher of the stop pipe and the listener */
    struct client *by_fd[FD_SETSIZE];   /* select answers in fd numbers: whose is each */
    struct client *first, *last;        /* the room in join order */
    struct client *gone;                /* clients to remove */
    long count;
    struct chat_options opt;            /* -m, -q, -t, address, port */
    long nfull;                         /* clients whose queue is full: while > 0, read nobody */
    int listener, spare_fd;
    time_t accept_paused_until;         /* while set, the listener is left out */
};

static const char *who(const struct client *c)
{
    return c->name[0] ? c->name : c->addr;
}

/* c's queue is full, or no longer: count it. While any queue is full the
 * loop reads from nobody (no client goes into select's read set). */
static void set_full(struct server *srv, struct client *c, int full)
{
    if (c->full == full)
        return;
    c->full = full;
    c->full_since = now_ms();
    srv->nfull += full ? 1 : -1;
}

/* c leaves, for why (NULL: for the error err): nothing more is read from or
 * sent to it; reap_departed closes it, once the loop's walk is over. */
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

/* Send what c's queue holds, as much as the kernel takes now, in as few calls
 * as it takes (lesson 17); select watches for room only while something is left. */
static void flush_client(struct server *srv, struct client *c)
{
    struct out_queue *q = &c->out;
    while (q->head < q->len) {
        ssize_t n = send(c->fd, q->buf + q->head, q->len - q->head, MSG_NOSIGNAL);
        if (n == -1) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                depart(srv, c, NULL, errno);
            break;                      /* the kernel's buffer is full: select says when */
        }
        q->head += (size_t)n;           /* a partial send: the rest stays queued */
    }
    if (c->out.head > 0)                /* every queued text ends with "\n" */
        c->mid_line = c->out.buf[c->out.head - 1] != '\n';
    if (c->out.head == c->out.len)
        c->out.head = c->out.len = 0;
    if (c->full && queued(&c->out) < srv->opt.queue_limit)
        set_full(srv, c, 0);            /* it took some: the room may read again */
    if (c->gone[0])
        return;
    //@todo ask select to watch c's socket for room (FD_SET in srv->writers) only while c has bytes queued (queued(&c->out) > 0); FD_CLR it otherwise.
    //@begin
    if (queued(&c->out) > 0)
        FD_SET(c->fd, &srv->writers);   /* tell us when the kernel has room */
    else
        FD_CLR(c->fd, &srv->writers);   /* nearly always writable: asking would spin */
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
    //@todo register c with the loop: srv->by_fd[fd] = c, fd in srv->readers (FD_SET), and srv->maxfd raised if fd is higher.
    //@begin
    srv->by_fd[fd] = c;
    FD_SET(fd, &srv->readers);          /* safe: fd < FD_SETSIZE, checked on accept */
    if (fd > srv->maxfd)
        srv->maxfd = fd;
    //@end
    say(srv, NULL, NULL, JOINED, c->addr);      /* before c is in the room */
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
    for (int i = 0; i < ACCEPTS_PER_TURN; i++) {
        int fd = accept(srv->listener, NULL, NULL);
        if (fd == -1) {
            int err = errno;
            if (err == EAGAIN || err == EWOULDBLOCK)
                return;                 /* the accept queue is empty */
            if ((err == EMFILE || err == ENFILE) && srv->spare_fd != -1) {
                /* Left queued, it would wake select again and again: free the
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
                return;
            }
            warn_errno("accept");       /* ECONNABORTED and friends: that one only */
            continue;
        }
        //@todo an fd of FD_SETSIZE or more cannot go into an fd_set (FD_SET would write past its end): refuse(fd, REFUSE_FD_SETSIZE, fd) and go on with the next.
        //@begin
        if (fd >= FD_SETSIZE) {
            /* With a soft RLIMIT_NOFILE above 1024 the kernel hands out fd
             * 1024 and up, and select cannot watch them (select(2), BUGS). */
            refuse(fd, REFUSE_FD_SETSIZE, fd);
            continue;
        }
        //@end
        if (srv->count >= srv->opt.max_clients)
            refuse(fd, REFUSE_FULL, srv->opt.max_clients);
        else
            add_client(srv, fd);
    }
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
        srv->count--;
        //@todo take c->fd out of both sets and out of srv->by_fd; if it was srv->maxfd, lower maxfd to the highest fd still in use (never below srv->base_maxfd).
        //@begin
        FD_CLR(c->fd, &srv->readers);
        FD_CLR(c->fd, &srv->writers);
        srv->by_fd[c->fd] = NULL;
        while (srv->maxfd > srv->base_maxfd && srv->by_fd[srv->maxfd] == NULL)
            srv->maxfd--;               /* a smaller nfds: less for select to scan */
        //@end
        close_gently(c->fd);
        log_event("leave %s (%s) (%ld online)", who(c), c->gone, srv->count);
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
 * reading); returns how long select may sleep until the next deadline (ms), or -1. */
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
    return wait == -1 ? -1 : (int)wait + 1;     /* whole ms: round up */
}

/* The event loop: wait for whatever is ready, do it, never wait inside. */
static void serve(struct server *srv)
{
    while (!stop_requested()) {
        int timeout = drop_stalled(srv);    /* also: wake when a full queue's grace ends */
        reap_departed(srv);
        if (srv->accept_paused_until && (timeout == -1 || timeout > 1000))
            timeout = 1000;
        /* select() overwrites its sets with the ready descriptors: it gets
         * copies, made fresh each turn, and srv keeps what we want to hear. */
        fd_set can_read, can_write;
        //@todo copy srv->readers into can_read (FD_ZERO it instead while srv->nfull > 0: that is the backpressure), and srv->writers into can_write.
        //@ FD_ZERO(&can_read);
        //@ FD_ZERO(&can_write);
        //@begin
        if (srv->nfull > 0)
            FD_ZERO(&can_read);         /* a queue is full: read nobody */
        else
            can_read = srv->readers;    /* an fd_set is a struct: = copies it */
        can_write = srv->writers;
        //@end
        FD_SET(stop_fd(), &can_read);
        if (!srv->accept_paused_until)
            FD_SET(srv->listener, &can_read);
        struct timeval tv = {.tv_sec = timeout / 1000, .tv_usec = timeout % 1000 * 1000};
        //@todo wait in select(2) on can_read and can_write: nfds is one more than the highest fd (srv->maxfd); &tv as the timeout, or NULL when timeout is -1 (no deadline). EINTR: go round again (a stop signal ends the loop); other errors: die("select").
        //@ (void)tv;
        //@ break;
        //@begin
        if (select(srv->maxfd + 1, &can_read, &can_write, NULL, timeout == -1 ? NULL : &tv) == -1) {
            if (errno == EINTR)
                continue;
            die("select");
        }
        //@end
        if (srv->accept_paused_until && time(NULL) >= srv->accept_paused_until)
            srv->accept_paused_until = 0;
        /* New clients are not in this turn's copies; leaving ones are only
         * marked (closed in reap_departed): no fd changes hands in the walk. */
        int top = srv->maxfd;
        for (int fd = 0; fd <= top; fd++) {
            struct client *c = srv->by_fd[fd];
            if (c == NULL || c->gone[0])
                continue;
            //@todo dispatch: fd set in can_read (and srv->nfull still 0: a queue that filled up this turn stops the reading) -> handle_client_data; set in can_write (and c not gone) -> flush_client.
            //@ (void)handle_client_data;
            //@begin
            if (FD_ISSET(fd, &can_read) && srv->nfull == 0)
                handle_client_data(srv, c);
            if (FD_ISSET(fd, &can_write) && !c->gone[0])
                flush_client(srv, c);
            //@end
        }
        if (FD_ISSET(srv->listener, &can_read))
            handle_new_connection(srv);
        flush_dirty(srv);               /* each client's lines of this turn, batched */
        reap_departed(srv);
    }
}

int main(int argc, char **argv)
{
    static struct server srv = {        /* static: by_fd (8 KB) stays off the stack */.opt = {.max_clients = 10000, .queue_limit = 65536,
                                 .grace_seconds = 3, .host = "127.0.0.1", .port = 9999},
                         .spare_fd = -1};
    parse_chat_options(&srv.opt, argc, argv);
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* No raise_fd_limit() here, unlike lesson 17: select cannot use a
     * descriptor past FD_SETSIZE, so more would only be refused later. */

    /* A stop signal writes a byte into stop.h's self-pipe: select wakes for it. */
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
    if (srv.listener >= FD_SETSIZE || stop_fd() >= FD_SETSIZE)  /* started with 1,020 fds open? */
        die_msg("chat-server: the listener or the stop pipe is past FD_SETSIZE");
    FD_ZERO(&srv.readers);
    FD_ZERO(&srv.writers);
    srv.base_maxfd = srv.listener > stop_fd() ? srv.listener : stop_fd();
    srv.maxfd = srv.base_maxfd;
    if (announce_listening(srv.listener) == -1)
        die("getsockname");

    serve(&srv);
    shutdown_room(&srv);
    return 0;
}
