/*
 * room.c - the chat room of a single-threaded event-loop server (room.h).
 *
 * Lesson 17's room (solutions/17-chat-poll/chat-server.c, where students
 * write it around poll), with what poll alone needs left to the loop's
 * hooks. Read that chapter for the why of each rule; the comments here say
 * what each piece keeps true.
 */
#include "room.h"
#include "report.h"
#include "stop.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define READ_CHUNK 65536        /* one recv per client per call, at most this */
#define ACCEPTS_PER_TURN 1024   /* then serve the room before accepting more */
/* The hard limit, 4 times -q: reading stops while a queue is full, but one
 * read that came before can add its lines on top, and notices never wait. */
#define HARD_LIMIT_TIMES 4
#define PAUSE_SECONDS 1         /* out of descriptors with no spare: wait this long */

void room_init(struct room *room, const struct room_hooks *hooks, void *loop,
               long max_clients, int argc, char **argv)
{
    *room = (struct room){.hooks = hooks, .loop = loop, .listener = -1, .spare_fd = -1,
                          .opt = {.max_clients = max_clients, .queue_limit = 65536,
                                  .grace_seconds = 3, .announce_max = ANNOUNCE_MAX,
                                  .host = "127.0.0.1", .port = 9999}};
    parse_chat_options(&room->opt, argc, argv);
    setvbuf(stdout, NULL, _IOLBF, 0);   /* each log line leaves at once */
}

void room_listen(struct room *room)
{
    /* A stop signal writes a byte into stop.h's self-pipe: the loop watches
     * stop_fd(), so it wakes even if the signal came just before it waited. */
    if (stop_init() == -1)
        die("stop_init");
    room->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (room->spare_fd == -1)
        die("open /dev/null");
    const char *failed;
    /* A burst of connects must fit in the accept queue (lesson 07). */
    room->listener = tcp_listen(room->opt.host, room->opt.port, SOMAXCONN, &failed);
    if (room->listener == -1)
        die(failed);
    if (set_nonblocking(room->listener, 1) == -1)   /* accept until EAGAIN */
        die("fcntl O_NONBLOCK");
}

const char *room_who(const struct room_client *c)
{
    return c->name[0] ? c->name : c->addr;
}

/* c's queue is full, or no longer: count it. While any queue is full the
 * loop asks for nobody's input (room.nfull > 0). */
static void set_full(struct room *room, struct room_client *c, int full)
{
    if (c->full == full)
        return;
    c->full = full;
    c->full_since = now_ms();
    room->nfull += full ? 1 : -1;
}

void room_depart(struct room *room, struct room_client *c, const char *why, int err)
{
    if (c->gone[0])
        return;
    if (why != NULL)
        snprintf(c->gone, sizeof c->gone, "%s", why);
    else
        leave_reason(c->gone, err);     /* "reset", "error: ENAME" */
    c->next_gone = room->gone;
    room->gone = c;
    set_full(room, c, 0);               /* nobody waits for it any more */
}

void room_flush(struct room *room, struct room_client *c)
{
    struct out_queue *q = &c->out;
    while (q->head < q->len) {
        ssize_t n = send(c->fd, q->buf + q->head, q->len - q->head, MSG_NOSIGNAL);
        if (n == -1) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                room_depart(room, c, NULL, errno);
            break;                      /* the kernel's buffer is full: the loop hears when */
        }
        q->head += (size_t)n;           /* a partial send: the rest stays queued */
    }
    if (q->head > 0)                    /* every queued text ends with "\n" */
        c->mid_line = q->buf[q->head - 1] != '\n';
    if (q->head == q->len)
        q->head = q->len = 0;
    if (c->full && queued(q) < room->opt.queue_limit)
        set_full(room, c, 0);           /* it took some: the room may read again */
    if (!c->gone[0])
        room->hooks->want_output(room, c, queued(q) > 0);
}

/* Queue len bytes for c, to leave at the end of this turn. A queue that
 * reaches the limit is full; one that would pass the hard limit is dropped. */
static void queue_text(struct room *room, struct room_client *c, const char *text, size_t len)
{
    size_t limit = room->opt.queue_limit;
    if (c->gone[0])
        return;
    if (queued(&c->out) > 0 && queued(&c->out) + len >= limit) {
        room_flush(room, c);            /* maybe the kernel has room again */
        if (c->gone[0])
            return;
        if (queued(&c->out) + len > HARD_LIMIT_TIMES * limit) {
            room_depart(room, c, "too slow", 0);
            return;
        }
    }
    if (queue_append(&c->out, text, len) == -1) {
        room_depart(room, c, NULL, ENOMEM);
        return;
    }
    if (queued(&c->out) >= limit)
        set_full(room, c, 1);
    if (!c->dirty) {                    /* a list, so a turn costs what it sends */
        c->dirty = 1;
        c->next_dirty = room->dirty;
        room->dirty = c;
    }
}

/* One line to c, or, when c is NULL, to everyone in the room but `except`. */
__attribute__((format(printf, 4, 5)))
static void say(struct room *room, struct room_client *c, const struct room_client *except,
                const char *fmt, ...)
{
    char text[CHAT_TEXT_MAX];
    va_list ap;
    va_start(ap, fmt);
    size_t len = vformat_line(text, fmt, ap);
    va_end(ap);
    if (c != NULL)
        queue_text(room, c, text, len);
    for (struct room_client *o = room->first; c == NULL && o != NULL; o = o->next)
        if (o != except)
            queue_text(room, o, text, len);
}

/* Every queue that grew leaves, in one send each if the kernel takes it. */
static void flush_dirty(struct room *room)
{
    while (room->dirty) {
        struct room_client *c = room->dirty;
        room->dirty = c->next_dirty;
        c->dirty = 0;
        if (!c->gone[0])
            room_flush(room, c);
    }
}

/* One line from c, its control bytes already cleaned: the protocol. */
static void handle_line(struct room *room, struct room_client *c, const char *line)
{
    const char *name;
    switch (parse_command(line, &name)) {
    case CMD_SAY:
        say(room, NULL, c, SAID, room_who(c), line);
        break;
    case CMD_NICK:
        if (!valid_name(name)) {
            say(room, c, NULL, INVALID_NAME);
            return;
        }
        for (struct room_client *o = room->first; o != NULL; o = o->next)
            if (o != c && strcmp(o->name, name) == 0) {
                say(room, c, NULL, NAME_TAKEN, name);
                return;
            }
        log_event("nick %s -> %s", room_who(c), name);
        say(room, NULL, c, IS_NOW, room_who(c), name);    /* the others, by the old name */
        snprintf(c->name, sizeof c->name, "%s", name);
        say(room, c, NULL, YOU_ARE_NOW, name);
        break;
    case CMD_WHO: {
        const char **names = malloc((size_t)room->count * sizeof *names);
        size_t n = 0, len;
        for (struct room_client *o = room->first; names != NULL && o != NULL; o = o->next)
            names[n++] = room_who(o);
        char *text = names ? format_who(names, n, &len) : NULL;
        if (text != NULL)
            queue_text(room, c, text, len);
        free(text);
        free(names);
        break;
    }
    case CMD_QUIT:
        say(room, c, NULL, BYE);
        room_depart(room, c, "quit", 0);
        break;
    case CMD_UNKNOWN:
        say(room, c, NULL, UNKNOWN);
        break;
    }
}

int room_read(struct room *room, struct room_client *c)
{
    static char chunk[READ_CHUNK];      /* one thread: one buffer serves every client */
    ssize_t n = recv(c->fd, chunk, sizeof chunk, 0);
    if (n == 0) {
        room_depart(room, c, "closed", 0);  /* a half line is dropped with it */
        return 0;
    }
    if (n == -1) {
        if (errno == EINTR)
            return 1;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            room_depart(room, c, NULL, errno);
        return 0;                       /* EAGAIN: nothing more for now */
    }
    for (size_t off = 0, used; off < (size_t)n && !c->gone[0]; off += used) {
        enum cut_result got = cut_line(&c->cut, chunk + off, (size_t)n - off, &used);
        if (got == CUT_TOO_LONG) {
            say(room, c, NULL, LINE_TOO_LONG);
        } else if (got == CUT_LINE && c->cut.len > 0) {    /* empty lines are ignored */
            clean_line(c->line, c->cut.len);
            handle_line(room, c, c->line);
        }
    }
    return !c->gone[0];
}

static void add_client(struct room *room, int fd)
{
    size_t size = room->hooks->client_size;
    struct room_client *c = calloc(1, size > sizeof *c ? size : sizeof *c);
    if (c == NULL) {
        warn_errno("calloc");
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
    if (room->hooks->join(room, c) == -1) {
        free(c);
        close(fd);
        return;
    }
    if (announced(&room->opt, room->count + 1))
        say(room, NULL, NULL, JOINED, c->addr); /* before c is in the room */
    c->prev = room->last;
    if (room->last)
        room->last->next = c;
    else
        room->first = c;
    room->last = c;
    room->count++;
    log_event("join %s (%ld online)", c->addr, room->count);
    say(room, c, NULL, WELCOME, c->addr);
}

void room_admit(struct room *room, int fd)
{
    if (room->hooks->admit != NULL && room->hooks->admit(room, fd) == -1)
        return;                         /* the loop's own refusal: already closed */
    if (room->count >= room->opt.max_clients)
        refuse(fd, REFUSE_FULL, room->opt.max_clients);
    else
        add_client(room, fd);
}

int room_accept_failed(struct room *room, const char *call, int err)
{
    if (err == EAGAIN || err == EWOULDBLOCK)
        return 0;                       /* the accept queue is empty */
    if ((err == EMFILE || err == ENFILE) && room->spare_fd != -1) {
        /* Left queued, the connection would make the listener readable again
         * and again (a busy loop): free the spare fd, take it, refuse it. */
        close(room->spare_fd);
        int fd = accept(room->listener, NULL, NULL);
        if (fd != -1)
            refuse(fd, REFUSE_NO_FDS, err);
        room->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        return 1;
    }
    warn_with(call, err);
    if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
        room->accept_paused_until = time(NULL) + PAUSE_SECONDS;
        return 0;                       /* no spare: stop accepting for a while */
    }
    return 1;                           /* ECONNABORTED and friends: that one only */
}

int room_accept_paused(struct room *room)
{
    if (room->accept_paused_until && time(NULL) >= room->accept_paused_until)
        room->accept_paused_until = 0;
    return room->accept_paused_until != 0;
}

void room_accept(struct room *room)
{
    for (int i = 0; i < ACCEPTS_PER_TURN; i++) {
        int fd = accept(room->listener, NULL, NULL);
        if (fd == -1) {
            if (!room_accept_failed(room, "accept", errno))
                return;
            continue;
        }
        if (set_nonblocking(fd, 1) == -1) {
            warn_errno("fcntl O_NONBLOCK");
            close(fd);
            continue;
        }
        room_admit(room, fd);
    }
}

/* Take the departed out of the room and tell the others; telling them can
 * make more departures (too slow), so repeat until none is left. */
static void reap_departed(struct room *room)
{
    while (room->gone) {
        struct room_client *c = room->gone;
        room->gone = c->next_gone;
        if (strcmp(c->gone, "too slow") == 0)
            send_goodbye(c->fd, &c->out, c->mid_line, TOO_SLOW);
        else if (strcmp(c->gone, "quit") == 0)
            send_goodbye(c->fd, &c->out, c->mid_line, NULL);
        if (c->prev) c->prev->next = c->next; else room->first = c->next;
        if (c->next) c->next->prev = c->prev; else room->last = c->prev;
        room->count--;
        for (struct room_client **p = &room->dirty; c->dirty && *p; p = &(*p)->next_dirty)
            if (*p == c) {
                *p = c->next_dirty;
                break;
            }
        room->hooks->leave(room, c);
        close_gently(c->fd);
        log_event("leave %s (%s) (%ld online)", room_who(c), c->gone, room->count);
        if (announced(&room->opt, room->count + 1)) /* the room as it was, with c */
            say(room, NULL, NULL, LEFT, room_who(c));
        free(c->out.buf);
        free(c);
        flush_dirty(room);
    }
}

void room_end_turn(struct room *room)
{
    flush_dirty(room);                  /* each client's lines of this turn, batched */
    reap_departed(room);
}

/* Drop every client whose queue has been full for the grace time (it is
 * not reading); returns the ms until the next such deadline, or -1. */
static int drop_stalled(struct room *room)
{
    if (room->nfull == 0)
        return -1;
    double now = now_ms(), wait = -1;
    for (struct room_client *c = room->first; c != NULL; c = c->next) {
        if (!c->full || c->gone[0])
            continue;
        double left = c->full_since + room->opt.grace_seconds * 1000.0 - now;
        if (left <= 0)
            room_depart(room, c, "too slow", 0);
        else if (wait == -1 || left < wait)
            wait = left;
    }
    return wait == -1 ? -1 : (int)wait + 1;     /* whole ms: round up, wake after */
}

int room_next_timeout(struct room *room)
{
    int timeout = drop_stalled(room);
    reap_departed(room);
    if (room_accept_paused(room) && (timeout == -1 || timeout > PAUSE_SECONDS * 1000))
        timeout = PAUSE_SECONDS * 1000;
    return timeout;
}

void room_shutdown(struct room *room)
{
    log_event("shutting down (signal %s), %ld clients", stop_signal_name(), room->count);
    while (room->first) {
        struct room_client *c = room->first;
        room->first = c->next;
        send_goodbye(c->fd, &c->out, c->mid_line, SHUTTING_DOWN);
        close_gently(c->fd);
        free(c->out.buf);
        free(c);
    }
    close(room->listener);
    close(room->spare_fd);
}
