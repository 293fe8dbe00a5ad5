/*
 * chat-server.c - lesson 17: the group chat in one thread, with poll().
 *
 * The same chat as lesson 15 (same protocol, same log, same tests), but no
 * thread per client: one thread waits in poll(2) on every socket at once and
 * does whatever is ready. Every socket is non-blocking, so no call can stall
 * the room. Each client has a read buffer (to cut lines out of the byte
 * stream) and an output queue (what the kernel would not take yet).
 *
 * Backpressure with a deadline, the same contract as lesson 15: a queue that
 * reaches -q bytes is "full", and while any queue is full the loop reads from
 * nobody (POLLIN is taken out of every client's events), so senders are
 * slowed to the pace of the slowest reader instead of drowning it. A queue
 * that stays full for -t seconds belongs to a client that is not reading: it
 * is disconnected as too slow and the room reads again. A queue that passes
 * 4 times -q is disconnected at once.
 *
 * usage: chat-server [-m MAX_CLIENTS] [-q QUEUE_LIMIT_BYTES] [-t SECONDS] [ADDRESS [PORT]]
 *   -m  most clients at once (default 10000); one more is told "server full"
 *   -q  a client's queue is full at this many bytes (default 65536)
 *   -t  how long a queue may stay full before its client is dropped (default 3)
 *   ADDRESS a numeric IPv4/IPv6 address (default 127.0.0.1), PORT default 9999
 *
 * Partner: lesson 16's chat-client, or nc/telnet; bench/chat-load measures it.
 *
 * Read: poll(2), fcntl(2) (O_NONBLOCK), accept(2), send(2), recv(2),
 *       socket(7), tcp(7), getrlimit(2), signal-safety(7), pipe(2), epoll(7),
 *       clock_gettime(2) (CLOCK_MONOTONIC)
 */
#include "report.h"
#include "args.h"
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define USAGE "usage: chat-server [-m MAX_CLIENTS] [-q QUEUE_LIMIT_BYTES] [-t SECONDS] [ADDRESS [PORT]]"
#define MAX_LINE 1000           /* bytes in a chat line, not counting "\n" */
#define NAME_LEN 20             /* /nick NAME: 1-20 of [A-Za-z0-9_-] */
#define READ_CHUNK 65536        /* one recv per client per wakeup, at most this */
#define ACCEPTS_PER_WAKEUP 1024 /* then serve the room before accepting more */
#define GRACE_SECONDS 3         /* -t: how long a full queue may stay full */
/* The hard limit, 4 times -q: past it a client is dropped at once. Reading
 * stops while a queue is full, but one read (READ_CHUNK) that came before
 * can still add its lines on top, and notices never wait. */
#define HARD_LIMIT_TIMES 4
/* listen(2): the accept queue holds connections the kernel finished for us
 * (lesson 07). A burst of thousands of connects must not overflow it while we
 * are busy, so ask for SOMAXCONN; the kernel caps it at net.core.somaxconn. */
#define BACKLOG SOMAXCONN
#define COMMANDS "commands: /nick NAME, /who, /quit"

struct client {
    int fd;
    size_t slot;                        /* our entry in the pollfd array */
    struct client *prev, *next;         /* the room, in join order */
    struct client *next_dirty;          /* on the list of queues to flush */
    int dirty;
    const char *gone;                   /* NULL while in the room, else why it leaves */
    char gone_text[64];
    struct client *next_gone;
    char addr[ADDRESS_TEXT_MAX];
    char name[NAME_LEN + 1];            /* "" until /nick: then the address is shown */
    char in[MAX_LINE + 2];              /* the line read so far (room for a "\r") */
    size_t in_len;
    int too_long;                       /* dropping an over-long line up to its "\n" */
    char *out;                          /* output queue: out[out_head..out_len) is pending */
    size_t out_head, out_len, out_cap;
    int mid_line;                       /* the kernel took only part of a line so far */
    int full;                           /* pending reached -q... */
    long full_since;                    /* ...at this time (ms, CLOCK_MONOTONIC) */
};

struct server {
    struct pollfd *fds;                 /* [0] self-pipe, [1] listener, [2..] clients */
    struct client **slots;              /* slots[i] owns fds[i] for i >= 2 */
    size_t nfds;
    struct client *first, *last;        /* the room in join order */
    struct client *dirty, *gone;
    long count, max_clients;
    size_t queue_limit;                 /* -q: a queue this long is full */
    long grace_ms;                      /* -t: how long it may stay full */
    long nfull;                         /* clients whose queue is full: while > 0, read nobody */
    int listener, spare_fd;
    time_t accept_paused_until;
};

static volatile sig_atomic_t stop_signal = 0;
static int wake_pipe[2] = {-1, -1};

/* The signal handler only sets a flag and writes a byte to the self-pipe:
 * both are async-signal-safe (signal-safety(7)), and the byte wakes poll(). */
static void on_signal(int sig)
{
    int saved = errno;
    stop_signal = sig;
    ssize_t ignored = write(wake_pipe[1], "x", 1);  /* full pipe: already awake */
    (void)ignored;
    errno = saved;
}

_Noreturn static void bad_usage(const char *what)
{
    if (what != NULL)
        fprintf(stderr, "chat-server: %s\n", what);
    fprintf(stderr, "%s\n", USAGE);
    exit(1);
}

/* One log line, "[2026-11-24 10:15:02] join 127.0.0.1:40312 (1 online)". */
__attribute__((format(printf, 1, 2)))
static void log_event(const char *fmt, ...)
{
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", localtime_r(&now, &tm));
    printf("[%s] ", stamp);
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
}

static const char *who(const struct client *c)
{
    return c->name[0] ? c->name : c->addr;
}

/* What poll should watch for c: its input, unless some queue is full (that
 * is the backpressure), and room in its socket, only while it has output
 * queued (a socket is nearly always writable: asking anyway spins). */
static short interest(const struct server *srv, const struct client *c)
{
    return (short)((srv->nfull > 0 ? 0 : POLLIN) | (c->out_len > c->out_head ? POLLOUT : 0));
}

/* The number of full queues went from 0 to 1 or back: every client's
 * events change (stop reading everyone, or read everyone again). */
static void update_all_events(struct server *srv)
{
    for (struct client *o = srv->first; o != NULL; o = o->next)
        if (!o->gone)
            srv->fds[o->slot].events = interest(srv, o);
}

/* c's queue is full, or no longer: count it, and change what poll watches. */
static void set_full(struct server *srv, struct client *c, int full)
{
    if (c->full == full)
        return;
    c->full = full;
    c->full_since = now_ms();
    srv->nfull += full ? 1 : -1;
    if (srv->nfull == (full ? 1 : 0))
        update_all_events(srv);
}

/* O_NONBLOCK: recv/send/accept return EAGAIN instead of waiting (fcntl(2)). */
static int make_nonblocking(int fd)
{
    //@todo make fd non-blocking: read its flags with fcntl(2) F_GETFL, add O_NONBLOCK with F_SETFL.
    //@ (void)fd;
    //@ return 0;
    //@begin
    int flags = fcntl(fd, F_GETFL);
    if (flags == -1)
        return -1;
    return fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    //@end
}

/* Each client costs one descriptor: take all the kernel allows (getrlimit(2)). */
static void raise_fd_limit(void)
{
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) == -1) {
        warn_errno("getrlimit RLIMIT_NOFILE");
        return;
    }
    lim.rlim_cur = lim.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &lim) == -1)
        warn_errno("setrlimit RLIMIT_NOFILE");
}

static int get_listener_socket(const char *host, uint16_t port)
{
    const char *failed;
    int fd = tcp_listen(host, port, BACKLOG, &failed);
    if (fd == -1)
        die(failed);
    if (make_nonblocking(fd) == -1)
        die("fcntl O_NONBLOCK");
    return fd;
}

static void depart(struct server *srv, struct client *c, const char *why)
{
    if (c->gone)
        return;
    snprintf(c->gone_text, sizeof c->gone_text, "%s", why);
    c->gone = c->gone_text;
    c->next_gone = srv->gone;
    srv->gone = c;
    srv->fds[c->slot].events = 0;       /* nothing more from or to it */
    set_full(srv, c, 0);                /* nobody waits for it any more */
}

static void depart_errno(struct server *srv, struct client *c, int err)
{
    char why[64];
    if (err == ECONNRESET || err == EPIPE)
        snprintf(why, sizeof why, "reset");
    else
        snprintf(why, sizeof why, "error: %s", errno_name(err));
    depart(srv, c, why);
}

/* Send what the queue holds, as much as the kernel takes now: send(2) until
 * the queue is empty or the kernel's buffer is full (EAGAIN). All the lines
 * queued since the last flush leave together, in as few calls as it takes. */
static void flush_client(struct server *srv, struct client *c)
{
    //@todo send the pending bytes out[out_head..out_len) with send(2) (MSG_NOSIGNAL); keep what it did not take; EAGAIN means "later", other errors end the client (depart_errno).
    //@ (void)srv, (void)c;
    //@begin
    while (c->out_head < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_head, c->out_len - c->out_head, MSG_NOSIGNAL);
        if (n == -1) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                depart_errno(srv, c, errno);
            break;                      /* the kernel's buffer is full: POLLOUT tells us when */
        }
        c->out_head += (size_t)n;       /* a partial send: the rest stays queued */
    }
    //@end
    if (c->out_head > 0)                /* every queued text ends with "\n" */
        c->mid_line = c->out[c->out_head - 1] != '\n';
    if (c->out_head == c->out_len)
        c->out_head = c->out_len = 0;
    if (c->full && c->out_len - c->out_head < srv->queue_limit)
        set_full(srv, c, 0);            /* it took some: the room may read again */
    if (!c->gone)
        srv->fds[c->slot].events = interest(srv, c);
}

/* Queue len bytes for c; they leave at the end of this loop turn. A queue
 * that reaches the limit is full (the room stops reading until it drains);
 * one that would pass the hard limit is a client to drop now. */
static void queue_text(struct server *srv, struct client *c, const char *text, size_t len)
{
    if (c->gone)
        return;
    size_t pending = c->out_len - c->out_head;
    //@todo a queue that would reach srv->queue_limit: first try flush_client (the kernel may have room), return if that ended the client, and recompute pending.
    //@todo past the hard limit (HARD_LIMIT_TIMES * srv->queue_limit) even so: depart(srv, c, "too slow") and return.
    //@begin
    if (pending > 0 && pending + len >= srv->queue_limit) {
        flush_client(srv, c);           /* maybe the kernel has room again */
        if (c->gone)
            return;
        pending = c->out_len - c->out_head;
        if (pending + len > HARD_LIMIT_TIMES * srv->queue_limit) {
            depart(srv, c, "too slow");
            return;
        }
    }
    //@end
    if (c->out_len + len > c->out_cap) {
        if (pending > 0 && c->out_head > 0)
            memmove(c->out, c->out + c->out_head, pending);
        c->out_head = 0;
        c->out_len = pending;
        size_t cap = c->out_cap ? c->out_cap : 1024;
        while (cap < pending + len)
            cap *= 2;
        if (cap != c->out_cap) {
            char *bigger = realloc(c->out, cap);
            if (bigger == NULL) {
                depart_errno(srv, c, ENOMEM);
                return;
            }
            c->out = bigger;
            c->out_cap = cap;
        }
    }
    memcpy(c->out + c->out_len, text, len);
    c->out_len += len;
    //@todo still at or over srv->queue_limit after all: set_full(srv, c, 1), which stops the room reading until c's queue drains or c is dropped.
    //@begin
    if (c->out_len - c->out_head >= srv->queue_limit)
        set_full(srv, c, 1);
    //@end
    if (!c->dirty) {
        c->dirty = 1;
        c->next_dirty = srv->dirty;
        srv->dirty = c;
    }
}

__attribute__((format(printf, 3, 4)))
static void tell(struct server *srv, struct client *c, const char *fmt, ...)
{
    char text[MAX_LINE + 200];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof text - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof text - 2)
        n = (int)sizeof text - 2;
    text[n++] = '\n';
    queue_text(srv, c, text, (size_t)n);
}

/* The same line to everyone in the room except `except` (may be NULL). */
__attribute__((format(printf, 3, 4)))
static void broadcast(struct server *srv, struct client *except, const char *fmt, ...)
{
    char text[MAX_LINE + 200];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof text - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof text - 2)
        n = (int)sizeof text - 2;
    text[n++] = '\n';
    for (struct client *c = srv->first; c != NULL; c = c->next)
        if (c != except)
            queue_text(srv, c, text, (size_t)n);
}

static void flush_dirty(struct server *srv)
{
    while (srv->dirty) {
        struct client *c = srv->dirty;
        srv->dirty = c->next_dirty;
        c->dirty = 0;
        if (!c->gone)
            flush_client(srv, c);
    }
}

static int valid_name(const char *name)
{
    size_t len = strlen(name);
    if (len < 1 || len > NAME_LEN)
        return 0;
    return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == len;
}

static void send_who(struct server *srv, struct client *c)
{
    size_t size = 64 + (size_t)srv->count * (ADDRESS_TEXT_MAX + 2), used;
    char *text = malloc(size);
    if (text == NULL) {
        tell(srv, c, "* out of memory");
        return;
    }
    used = (size_t)snprintf(text, size, "* online (%ld): ", srv->count);
    for (struct client *o = srv->first; o != NULL; o = o->next)
        used += (size_t)snprintf(text + used, size - used, "%s%s", who(o), o->next ? ", " : "\n");
    queue_text(srv, c, text, used);
    free(text);
}

static void handle_line(struct server *srv, struct client *c, char *line)
{
    /* Control bytes would let one user drive another's terminal: neuter them. */
    for (char *p = line; *p; p++)
        if ((unsigned char)*p < 0x20 ? *p != '\t' : *p == 0x7f)
            *p = '?';
    if (line[0] != '/') {
        broadcast(srv, c, "%s: %s", who(c), line);
    } else if (strncmp(line, "/nick", 5) == 0 && (line[5] == ' ' || line[5] == '\0')) {
        const char *name = line[5] ? line + 6 : "";
        if (!valid_name(name)) {
            tell(srv, c, "* invalid name (1-20 of A-Z a-z 0-9 _ -)");
            return;
        }
        for (struct client *o = srv->first; o != NULL; o = o->next)
            if (o != c && strcmp(o->name, name) == 0) {
                tell(srv, c, "* name %s is taken", name);
                return;
            }
        char old[ADDRESS_TEXT_MAX];
        snprintf(old, sizeof old, "%s", who(c));
        snprintf(c->name, sizeof c->name, "%s", name);
        log_event("nick %s -> %s", old, name);
        tell(srv, c, "* you are now %s", name);
        broadcast(srv, c, "* %s is now %s", old, name);
    } else if (strcmp(line, "/who") == 0) {
        send_who(srv, c);
    } else if (strcmp(line, "/quit") == 0) {
        tell(srv, c, "* bye");
        depart(srv, c, "quit");
    } else {
        tell(srv, c, "* unknown command; " COMMANDS);
    }
}

/* Readable (or hung up): one recv, then every complete line in it. */
static void handle_client_data(struct server *srv, struct client *c)
{
    static char chunk[READ_CHUNK];
    ssize_t n = recv(c->fd, chunk, sizeof chunk, 0);
    if (n == 0) {
        depart(srv, c, "closed");
        return;
    }
    if (n == -1) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            depart_errno(srv, c, errno);
        return;
    }
    for (ssize_t i = 0; i < n && !c->gone; i++) {
        char byte = chunk[i];
        if (byte != '\n') {
            if (c->too_long)
                continue;
            if (c->in_len == MAX_LINE + 1) {  /* 1000 bytes and a "\r" fit, no more */
                c->too_long = 1;
                tell(srv, c, "* line too long (max %d bytes), dropped", MAX_LINE);
                continue;
            }
            c->in[c->in_len++] = byte;
            continue;
        }
        size_t len = c->in_len;
        int dropped = c->too_long;
        c->in_len = 0;
        c->too_long = 0;
        if (dropped)
            continue;
        if (len > 0 && c->in[len - 1] == '\r')
            len--;
        if (len > MAX_LINE) {
            tell(srv, c, "* line too long (max %d bytes), dropped", MAX_LINE);
            continue;
        }
        if (len == 0)
            continue;
        for (size_t j = 0; j < len; j++)    /* a NUL byte must not cut the line */
            if (c->in[j] == '\0')
                c->in[j] = '?';
        c->in[len] = '\0';
        handle_line(srv, c, c->in);
    }
}

/* Best effort, never waiting: one non-blocking send, whatever it takes
 * (tried again only when a signal interrupted it before it sent anything). */
static void try_send(int fd, const char *text, size_t len)
{
    while (send(fd, text, len, MSG_NOSIGNAL | MSG_DONTWAIT) == -1 && errno == EINTR)
        continue;
}

/* Refuse a connection we cannot keep: tell it the real reason (if its
 * buffer has room), close it, log it. */
static void refuse(int fd, const char *reason)
{
    char addr[ADDRESS_TEXT_MAX] = "?", text[128];
    if (peer_address(fd, addr, sizeof addr) == -1)
        snprintf(addr, sizeof addr, "(gone)");
    int n = snprintf(text, sizeof text, "* %s, try again later\n", reason);
    try_send(fd, text, (size_t)n);
    if (close(fd) == -1)
        warn_errno("close");
    log_event("refused %s: %s", addr, reason);
}

static void add_client(struct server *srv, int fd)
{
    struct client *c = calloc(1, sizeof *c);
    if (c == NULL || make_nonblocking(fd) == -1) {
        warn_errno(c == NULL ? "calloc" : "fcntl O_NONBLOCK");
        free(c);
        close(fd);
        return;
    }
    c->fd = fd;
    /* We batch a turn's lines ourselves into one send; Nagle would hold the next
     * batch back until the peer ACKs, and delayed ACKs make that 40 ms (tcp(7),
     * lesson 05). */
    int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == -1)
        warn_errno("setsockopt TCP_NODELAY");
    if (peer_address(fd, c->addr, sizeof c->addr) == -1)
        snprintf(c->addr, sizeof c->addr, "fd%d", fd);
    c->slot = srv->nfds++;
    srv->slots[c->slot] = c;
    srv->fds[c->slot] = (struct pollfd){.fd = fd, .events = interest(srv, c)};
    broadcast(srv, NULL, "* %s joined", c->addr);   /* before c is in the room */
    c->prev = srv->last;
    if (srv->last)
        srv->last->next = c;
    else
        srv->first = c;
    srv->last = c;
    srv->count++;
    log_event("join %s (%ld online)", c->addr, srv->count);
    tell(srv, c, "* welcome %s; " COMMANDS, c->addr);
}

/* The listener is readable: accept what waits, up to a batch. */
static void handle_new_connection(struct server *srv)
{
    for (int i = 0; i < ACCEPTS_PER_WAKEUP; i++) {
        int fd = accept(srv->listener, NULL, NULL);
        if (fd == -1) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;                 /* the accept queue is empty */
            if ((errno == EMFILE || errno == ENFILE) && srv->spare_fd != -1) {
                /* Out of descriptors. The connection would wait in the queue
                 * and poll() would report it again at once: a busy loop. Free
                 * the spare descriptor, take the connection, refuse it. */
                const char *why = errno == EMFILE ? "out of file descriptors (EMFILE)"
                                                  : "out of file descriptors (ENFILE)";
                close(srv->spare_fd);
                fd = accept(srv->listener, NULL, NULL);
                if (fd != -1)
                    refuse(fd, why);
                srv->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                continue;
            }
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                warn_errno("accept");   /* no spare: stop accepting for a second */
                srv->accept_paused_until = time(NULL) + 1;
                srv->fds[1].events = 0;
                return;
            }
            warn_errno("accept");       /* ECONNABORTED and friends: that one only */
            continue;
        }
        if (srv->count >= srv->max_clients) {
            char why[64];
            snprintf(why, sizeof why, "server full (%ld clients)", srv->count);
            refuse(fd, why);
            continue;
        }
        add_client(srv, fd);
    }
}

/* Last words to a departing client, without waiting: the rest of a line the
 * kernel took only half of, then a notice, so its framing stays whole. */
static void say_goodbye(struct client *c, const char *notice)
{
    size_t pending = c->out_len - c->out_head, keep = pending;
    if (c->mid_line) {
        char *nl = memchr(c->out + c->out_head, '\n', pending);
        keep = nl ? (size_t)(nl - (c->out + c->out_head)) + 1 : pending;
    } else if (notice != NULL) {
        keep = 0;                       /* at a line boundary: just the notice */
    }
    size_t nlen = notice ? strlen(notice) : 0;
    char *text = malloc(keep + nlen + 1);
    if (text == NULL)
        return;
    if (keep > 0)
        memcpy(text, c->out + c->out_head, keep);
    if (notice)
        memcpy(text + keep, notice, nlen);
    try_send(c->fd, text, keep + nlen);
    free(text);
}

/* Close fd so that the peer sees FIN, not RST: unread input makes close(2)
 * reset the connection (tcp(7)), which can destroy the goodbye in flight. */
static void close_quietly(int fd)
{
    char sink[4096];
    shutdown(fd, SHUT_WR);
    for (int i = 0; i < 16 && recv(fd, sink, sizeof sink, MSG_DONTWAIT) > 0; i++)
        ;
    if (close(fd) == -1)
        warn_errno("close");
}

static void remove_client(struct server *srv, struct client *c)
{
    if (c->prev) c->prev->next = c->next; else srv->first = c->next;
    if (c->next) c->next->prev = c->prev; else srv->last = c->prev;
    size_t last = srv->nfds - 1;        /* the last slot fills the hole */
    srv->fds[c->slot] = srv->fds[last];
    srv->slots[c->slot] = srv->slots[last];
    srv->slots[c->slot]->slot = c->slot;
    srv->nfds--;
    srv->count--;
}

/* Take the departed out of the room and tell the others; telling them can
 * make more departures (too slow), so repeat until none is left. */
static void reap_departed(struct server *srv)
{
    while (srv->gone) {
        struct client *c = srv->gone;
        srv->gone = c->next_gone;
        if (strcmp(c->gone, "too slow") == 0)
            say_goodbye(c, "* too slow, disconnected\n");
        else if (strcmp(c->gone, "quit") == 0)
            say_goodbye(c, NULL);
        remove_client(srv, c);
        close_quietly(c->fd);
        log_event("leave %s (%s) (%ld online)", who(c), c->gone, srv->count);
        broadcast(srv, NULL, "* %s left", who(c));
        if (c->dirty) {                 /* unlink it from the flush list */
            struct client **p = &srv->dirty;
            while (*p != c)
                p = &(*p)->next_dirty;
            *p = c->next_dirty;
        }
        free(c->out);
        free(c);
        flush_dirty(srv);
    }
}

static void shutdown_room(struct server *srv)
{
    int sig = stop_signal;
    log_event("shutting down (signal %s), %ld clients", sig == SIGINT ? "SIGINT" : "SIGTERM", srv->count);
    while (srv->first) {
        struct client *c = srv->first;
        srv->first = c->next;
        say_goodbye(c, "* server shutting down\n");   /* its backlog is forfeit */
        close_quietly(c->fd);
        free(c->out);
        free(c);
    }
    close(srv->listener);
    close(srv->spare_fd);
}

/* Drop every client whose queue has been full for the grace time: it is
 * not reading. Returns how long poll may sleep before the next such
 * deadline (-1: no queue is full, sleep as long as it takes). */
static int drop_stalled(struct server *srv)
{
    if (srv->nfull == 0)
        return -1;
    long now = (long)now_ms(), wait = -1;
    //@todo for each client c in the room that is full and not gone: if it has been full for srv->grace_ms (now - c->full_since), depart(srv, c, "too slow"); otherwise keep in wait the shortest time left until that happens.
    //@ (void)now;
    //@begin
    for (struct client *c = srv->first; c != NULL; c = c->next) {
        if (!c->full || c->gone)
            continue;
        long left = c->full_since + srv->grace_ms - now;
        if (left <= 0)
            depart(srv, c, "too slow");
        else if (wait == -1 || left < wait)
            wait = left;
    }
    //@end
    return (int)wait;
}

int main(int argc, char **argv)
{
    struct server srv = {.max_clients = 10000, .queue_limit = 65536,
                         .grace_ms = GRACE_SECONDS * 1000L, .spare_fd = -1};
    const char *host = "127.0.0.1", *port = "9999", *why;
    long value;
    uint16_t port_number = 9999;
    int opt;
    while ((opt = getopt(argc, argv, "m:q:t:h")) != -1) {
        switch (opt) {
        case 'm':
            if (parse_long(optarg, 1, 1000000, &srv.max_clients, &why) == -1)
                die_msg("chat-server: -m %s: %s\n%s", optarg, why, USAGE);
            break;
        case 'q':
            if (parse_long(optarg, 1, 1L << 30, &value, &why) == -1)
                die_msg("chat-server: -q %s: %s\n%s", optarg, why, USAGE);
            srv.queue_limit = (size_t)value;
            break;
        case 't':
            if (parse_long(optarg, 1, 3600, &value, &why) == -1)
                die_msg("chat-server: -t %s: %s\n%s", optarg, why, USAGE);
            srv.grace_ms = value * 1000;
            break;
        case 'h':
            printf("%s\n", USAGE);
            return 0;
        default:
            bad_usage(NULL);
        }
    }
    if (argc - optind > 2)
        bad_usage("too many arguments");
    if (optind < argc)
        host = argv[optind];
    if (optind + 1 < argc) {
        port = argv[optind + 1];
        if (parse_port(port, &port_number, &why) == -1)
            die_msg("chat-server: port %s: %s\n%s", port, why, USAGE);
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    raise_fd_limit();

    /* Start-up: the only place where a call may block. */
    if (pipe(wake_pipe) == -1)
        die("pipe");
    if (make_nonblocking(wake_pipe[0]) == -1 || make_nonblocking(wake_pipe[1]) == -1)
        die("fcntl O_NONBLOCK");
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) == -1 || sigaction(SIGTERM, &sa, NULL) == -1)
        die("sigaction");
    srv.spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (srv.spare_fd == -1)
        die("open /dev/null");
    srv.listener = get_listener_socket(host, port_number);
    srv.fds = calloc((size_t)srv.max_clients + 2, sizeof *srv.fds);
    srv.slots = calloc((size_t)srv.max_clients + 2, sizeof *srv.slots);
    if (srv.fds == NULL || srv.slots == NULL)
        die("calloc");
    srv.fds[0] = (struct pollfd){.fd = wake_pipe[0], .events = POLLIN};
    srv.fds[1] = (struct pollfd){.fd = srv.listener, .events = POLLIN};
    srv.nfds = 2;
    if (announce_listening(srv.listener) == -1)
        die("getsockname");

    /* The event loop: wait for whatever is ready, do it, never wait inside. */
    while (!stop_signal) {
        int timeout = drop_stalled(&srv);   /* also: wake when a full queue's grace ends */
        reap_departed(&srv);
        if (srv.accept_paused_until && (timeout == -1 || timeout > 1000))
            timeout = 1000;
        //@todo wait with poll(2) on srv.fds (srv.nfds entries, this timeout); on EINTR go round again, on other errors die("poll").
        //@ (void)timeout;
        //@ break;
        //@begin
        if (poll(srv.fds, srv.nfds, timeout) == -1) {
            if (errno == EINTR)
                continue;
            die("poll");
        }
        //@end
        if (srv.accept_paused_until && time(NULL) >= srv.accept_paused_until) {
            srv.accept_paused_until = 0;
            srv.fds[1].events = POLLIN;
        }
        if (srv.fds[0].revents & POLLIN) {
            char drain[64];
            while (read(wake_pipe[0], drain, sizeof drain) > 0)
                ;
        }
        /* Slots added by accept() below start with revents 0; removals wait
         * for reap_departed, so every index here stays valid. */
        size_t n = srv.nfds;
        for (size_t i = 2; i < n; i++) {
            struct client *c = srv.slots[i];
            short rev = srv.fds[i].revents;
            if (srv.nfull > 0)          /* a queue filled up this turn: read nobody more */
                rev = (short)(rev & ~POLLIN);
            if (rev == 0 || c->gone)
                continue;
            //@todo dispatch by revents: POLLNVAL ends the client; POLLIN, POLLHUP or POLLERR: handle_client_data; POLLOUT: flush_client.
            //@ (void)handle_client_data, (void)c;
            //@begin
            if (rev & POLLNVAL)
                depart_errno(&srv, c, EBADF);
            else if (rev & (POLLIN | POLLHUP | POLLERR))
                handle_client_data(&srv, c);
            if ((rev & POLLOUT) && !c->gone)
                flush_client(&srv, c);
            //@end
        }
        if (srv.fds[1].revents & POLLIN)
            handle_new_connection(&srv);
        flush_dirty(&srv);              /* each client's lines of this turn, batched */
        reap_departed(&srv);
    }
    shutdown_room(&srv);
    free(srv.fds);
    free(srv.slots);
    return 0;
}
