/*
 * chat-server.c - lesson 15: a group chat server, one thread per client.
 *
 * Every client gets two threads: a reader that cuts lines out of the byte
 * stream and acts on them, and a writer that sends what is queued for it.
 * One lock guards the room (who is in it, names, each client's queue). A
 * line from one client is only APPENDED to the others' queues under the
 * lock; no thread ever sends while holding it, so a client that stops
 * reading blocks nobody but its own writer.
 *
 * Backpressure with a deadline: a queue that reaches -q bytes is "full", and
 * a client's line waits (its reader thread sleeps, the lock released) until
 * no queue is full, so a fast sender is slowed to the pace of the slowest
 * reader instead of drowning it. A queue that stays full for -t seconds
 * belongs to a client that is not reading: it is cut off, and the senders go
 * on. A queue that passes 4 times -q is cut off at once. SIGINT/SIGTERM:
 * everyone is told, every connection closed, every thread joined, exit 0.
 *
 * usage: chat-server [-m MAX_CLIENTS] [-q QUEUE_LIMIT_BYTES] [-t SECONDS] [ADDRESS [PORT]]
 *   -m  most clients at once (default 64); one more is told "server full"
 *   -q  a client's queue is full at this many bytes (default 262144)
 *   -t  how long a queue may stay full before its client is dropped (default 3)
 *   ADDRESS a numeric IPv4/IPv6 address (default 127.0.0.1), PORT default 9999
 *
 * Partner: lesson 16's chat-client, or nc/telnet. Protocol: docs/15-chat-server.md
 *
 * Read: pthread_create(3), pthread_mutex_lock(3), pthread_cond_wait(3),
 *       pthread_cond_timedwait(3), pthread_condattr_setclock(3),
 *       clock_gettime(2), pthread_sigmask(3), sigwait(3), shutdown(2),
 *       recv(2), send(2), tcp(7)
 */
#include "report.h"
#include "args.h"
#include "net.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define USAGE "usage: chat-server [-m MAX_CLIENTS] [-q QUEUE_LIMIT_BYTES] [-t SECONDS] [ADDRESS [PORT]]"
#define MAX_LINE 1000           /* bytes in a chat line, not counting "\n" */
#define NAME_LEN 20             /* /nick NAME: 1-20 of [A-Za-z0-9_-] */
#define LINGER_SECONDS 2        /* how long a leaving client's writer may drain */
#define STACK_SIZE (256 * 1024) /* per thread: plenty here, and thousands fit */
/* listen(2)'s backlog: a burst of clients connecting at once must not find
 * the accept queue full (lesson 07). The kernel caps it at somaxconn. */
#define BACKLOG SOMAXCONN
/* A writer thread sends only when the scheduler runs it; until then a fast
 * sender's lines pile up in the queue, and its sender waits. 256 KiB lets a
 * burst through without waiting (2,000 lines unpaced, measured in
 * docs/17-chat-poll.md). */
#define QUEUE_LIMIT (256 * 1024)
#define GRACE_SECONDS 3         /* -t: how long a full queue may stay full */
/* The hard limit, 4 times -q: past it a client is cut off at once. Chat
 * lines wait for room, so only notices (joins, leaves, /who answers to a
 * client that asks and never reads) can take a queue that far. */
#define HARD_LIMIT_TIMES 4
/* The writer sends at most this much per turn, so the room sees its queue
 * shrink (and a waiting sender wakes) as soon as a reader takes a little. */
#define WRITE_CHUNK (16 * 1024)
#define COMMANDS "commands: /nick NAME, /who, /quit"

/*
 * One connection. The reader thread owns it: it closes the fd and hands the
 * struct to main to be joined and freed. Fields marked [lock] are read and
 * written only with room.lock held, by any thread.
 */
struct client {
    int fd;                             /* [lock] -1 once closed */
    pthread_t reader, writer;
    char addr[ADDRESS_TEXT_MAX];        /* set before the threads start, then constant */
    char name[NAME_LEN + 1];            /* [lock] "" until /nick */
    struct client *next;                /* [lock] every session, in join order */
    int in_room;                        /* [lock] joined and not yet left */
    char *out;                          /* [lock] queued bytes, out[out_head..out_len) */
    size_t out_head, out_len, out_cap;  /* [lock] */
    size_t sending;                     /* [lock] bytes the writer took and is sending */
    int full;                           /* [lock] queued + sending reached the -q limit... */
    struct timespec full_since;         /* [lock] ...at this time (CLOCK_MONOTONIC) */
    int closing;                        /* [lock] no more output; writer drains and ends */
    int too_slow, send_error, writer_done;  /* [lock] */
    /* One condition variable per condition (pthread_cond_wait(3)), all on
     * CLOCK_MONOTONIC: a signal can never wake the wrong kind of waiter. */
    pthread_cond_t more;                /* the writer waits: "queued bytes, or closing" */
    pthread_cond_t done;                /* the reader waits: "writer_done" */
    /* The reader's own framing state: only the reader thread touches these. */
    char in[4096];
    size_t in_start, in_end;
    char line[MAX_LINE + 2];            /* 1000 bytes and a "\r" */
    size_t line_len;
    int discarding;
};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t room_made;           /* senders wait: "a full queue shrank, or went" */
    pthread_condattr_t monotonic;       /* every condition variable's clock */
    struct client *sessions;            /* every live session, in join order */
    struct client *done;                /* finished sessions for main to join */
    long count, seats, max_clients;     /* in the room / counted against -m / -m */
    size_t queue_limit;                 /* -q: a queue this long is full */
    long grace;                         /* -t: seconds a queue may stay full */
    int stopping;
} room = {.lock = PTHREAD_MUTEX_INITIALIZER, .max_clients = 64,
          .queue_limit = QUEUE_LIMIT, .grace = GRACE_SECONDS};

static int wake_pipe[2] = {-1, -1};    /* any thread -> main: "look around" */

static void lock(void)
{
    int rc = pthread_mutex_lock(&room.lock);
    if (rc != 0)
        die_with("pthread_mutex_lock", rc);
}

static void unlock(void)
{
    int rc = pthread_mutex_unlock(&room.lock);
    if (rc != 0)
        die_with("pthread_mutex_unlock", rc);
}

static void wake_main(void)
{
    ssize_t ignored = write(wake_pipe[1], "x", 1);  /* full pipe: main is awake anyway */
    (void)ignored;
}

/* One log line, "[2026-11-24 10:15:02] join 127.0.0.1:40312 (1 online)".
 * stdio locks the stream itself, so threads' lines never mix (flockfile(3)). */
__attribute__((format(printf, 1, 2)))
static void log_event(const char *fmt, ...)
{
    char stamp[32], text[MAX_LINE + 200];
    time_t now = time(NULL);
    struct tm tm;
    strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", localtime_r(&now, &tm));
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    printf("[%s] %s\n", stamp, text);
}

static const char *who(const struct client *c)   /* [lock] */
{
    return c->name[0] ? c->name : c->addr;
}

/* The time now on CLOCK_MONOTONIC, the clock our condition variables use:
 * it never jumps when someone sets the date (clock_gettime(2)). */
static struct timespec now_monotonic(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now;
}

static int earlier(struct timespec a, struct timespec b)
{
    return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

/* Bytes c still has to send: queued, and taken by its writer. [lock] */
static size_t backlog(const struct client *c)
{
    return c->out_len - c->out_head + c->sending;
}

/* Cut c off as too slow (lock held): drop its queue; shutdown(2) does not
 * block, it wakes both of c's threads (send fails, recv returns 0), and c's
 * reader then leaves the room the normal way. Senders waiting for c go on. */
static void cut_off(struct client *c)
{
    c->too_slow = c->closing = 1;
    c->out_head = c->out_len = 0;
    shutdown(c->fd, SHUT_RDWR);
    pthread_cond_signal(&c->more);
    pthread_cond_broadcast(&room.room_made);
}

/* Append len bytes to c's queue, growing it; -1 when out of memory. [lock] */
static int append(struct client *c, const char *text, size_t len)
{
    if (c->out_len + len > c->out_cap && c->out_head > 0) {   /* reuse the front */
        memmove(c->out, c->out + c->out_head, c->out_len - c->out_head);
        c->out_len -= c->out_head;
        c->out_head = 0;
    }
    if (c->out_len + len > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        while (cap < c->out_len + len)
            cap *= 2;
        char *bigger = realloc(c->out, cap);
        if (bigger == NULL)
            return -1;
        c->out = bigger;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, text, len);
    c->out_len += len;
    return 0;
}

/*
 * Queue len bytes for c (lock held). Never sends, never waits: the writer
 * thread sends, and a sender waits in wait_for_room BEFORE it queues. A
 * queue that reaches the limit is marked full, with the time; one that
 * would pass the hard limit is a client to cut off now: the room's memory
 * stays bounded.
 */
static void queue_to(struct client *c, const char *text, size_t len)
{
    if (c->closing)
        return;
    // TODO: past the hard limit? If backlog(c) + len would pass HARD_LIMIT_TIMES * room.queue_limit, cut_off(c) and return.
    // TODO: append the text (append(); out of memory: cut_off), wake c's writer with pthread_cond_signal(3) on c->more.
    // TODO: if backlog(c) has reached room.queue_limit and c is not yet full, mark it full since now_monotonic().
    (void)text, (void)len, (void)append, (void)cut_off;
}

/* c's writer sent some of its backlog (lock held): a queue back under the
 * limit is no longer full, and the senders waiting for it may go on. */
static void made_room(struct client *c)
{
    if (c->full && backlog(c) < room.queue_limit) {
        c->full = 0;
        pthread_cond_broadcast(&room.room_made);
    }
}

/*
 * Backpressure (lock held): before a line from `sender` is queued to
 * everyone, wait until no one else's queue is full. pthread_cond_timedwait
 * releases the lock while it sleeps, so the room goes on; the reader that
 * waits is the sender's own, so only the sender is slowed (it stops reading,
 * its kernel buffers fill, and its send() blocks: the backpressure reaches
 * the client itself). A queue full for the grace time (-t) belongs to a
 * client that is not reading: it is cut off, so one stalled client can hold
 * a sender back for that long at most.
 */
static void wait_for_room(struct client *sender)
{
    for (;;) {
        struct timespec now = now_monotonic(), wake = {0, 0};
        int waiting = 0;
        // TODO: for every other client o in the room whose queue is full (o->full, and not o->closing): if it has been full for room.grace seconds (o->full_since + grace is not later than now), cut_off(o); otherwise remember the earliest such deadline in wake and set waiting.
        // TODO: stop waiting when nobody is full, or the server is stopping, or sender itself is closing; else sleep on room.room_made with pthread_cond_timedwait(3) until wake (ETIMEDOUT is normal).
        (void)sender, (void)now, (void)wake, (void)waiting, (void)earlier;
        return;
    }
}

/* Format one line (adding "\n") and queue it to c, or to everyone in the
 * room but `except` when c is NULL. Lock held. */
__attribute__((format(printf, 3, 4)))
static void say(struct client *c, const struct client *except, const char *fmt, ...)
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
    if (c != NULL) {
        queue_to(c, text, (size_t)n);
        return;
    }
    for (struct client *o = room.sessions; o != NULL; o = o->next)
        if (o->in_room && o != except)
            queue_to(o, text, (size_t)n);
}

/*
 * The writer thread: wait for queued bytes, copy up to WRITE_CHUNK of them
 * out of the queue (so others can queue more meanwhile), and send them
 * WITHOUT the lock. If this client stops reading, send blocks here, and only
 * here. After each chunk, made_room tells waiting senders the queue shrank.
 */
static void *writer_main(void *arg)
{
    struct client *c = arg;
    char chunk[WRITE_CHUNK];
    lock();
    for (;;) {
        // TODO: wait on c->more (pthread_cond_wait(3)) while nothing is queued (out_head == out_len) and c is not closing; stop when nothing is left to send, or c is too slow.
        // TODO: copy up to WRITE_CHUNK queued bytes from c->out + c->out_head into chunk, advance out_head, count them in c->sending; unlock, send_all, lock again; sending = 0 and made_room(c). On a send error record errno in c->send_error, set closing, shutdown(2) the fd (SHUT_RDWR) and stop.
        (void)chunk, (void)made_room;
        break;
    }
    c->writer_done = 1;
    pthread_cond_signal(&c->done);
    unlock();
    return NULL;
}

enum { LINE, TOO_LONG, END, ERROR };

/*
 * Framing: the next line of c's stream into c->line (*len bytes and a NUL;
 * it may hold NULs of its own). TCP keeps no message boundaries: one
 * recv may bring half a line or ten lines, so bytes wait in c->in until their
 * "\n" comes. A line over MAX_LINE is reported once (TOO_LONG) and its bytes
 * skipped up to its "\n": never split, never glued to the next line.
 * END: the peer closed (a last line with no "\n" is dropped). ERROR: errno set.
 */
static int next_line(struct client *c, size_t *len)
{
    // TODO: take bytes from c->in[c->in_start..c->in_end) until a "\n" (return LINE without it and one "\r"), recv(2) more when they run out (0 is END, -1 ERROR, retry EINTR); past MAX_LINE + 1 bytes return TOO_LONG once and skip up to the "\n".
    (void)c, (void)len;
    return END;
}

/* 0x00-0x1F (but TAB) and 0x7F become "?": an ESC could drive another user's
 * terminal, a NUL would cut a C string. UTF-8 (>= 0x80) passes. */
static void sanitize(char *line, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char b = (unsigned char)line[i];
        if ((b < 0x20 && b != '\t') || b == 0x7f)
            line[i] = '?';
    }
}

static int valid_name(const char *name)
{
    size_t len = strlen(name);
    return len >= 1 && len <= NAME_LEN &&
           strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == len;
}

static void send_who(struct client *c)   /* lock held */
{
    size_t size = 64 + (size_t)room.count * (ADDRESS_TEXT_MAX + 2), used;
    char *text = malloc(size);
    if (text == NULL) {
        say(c, NULL, "* out of memory");
        return;
    }
    used = (size_t)snprintf(text, size, "* online (%ld):", room.count);
    const char *sep = " ";
    for (struct client *o = room.sessions; o != NULL; o = o->next)
        if (o->in_room) {
            used += (size_t)snprintf(text + used, size - used, "%s%s", sep, who(o));
            sep = ", ";
        }
    text[used++] = '\n';
    queue_to(c, text, used);
    free(text);
}

/* Act on one line from c. Returns 1 when c asked to quit. */
static int handle_line(struct client *c, char *line)
{
    int quit = 0;
    char note[256] = "";                /* a log line, printed after unlock */
    lock();
    if (line[0] != '/') {
        wait_for_room(c);                           /* backpressure, see above */
        say(NULL, c, "%s: %s", who(c), line);       /* everyone but the sender */
    } else if (strncmp(line, "/nick", 5) == 0 && (line[5] == ' ' || line[5] == '\0')) {
        const char *name = line[5] ? line + 6 : "";
        int taken = 0;
        for (struct client *o = room.sessions; o != NULL; o = o->next)
            if (o != c && o->in_room && strcmp(o->name, name) == 0)
                taken = 1;
        if (!valid_name(name)) {
            say(c, NULL, "* invalid name (1-20 of A-Z a-z 0-9 _ -)");
        } else if (taken) {
            say(c, NULL, "* name %s is taken", name);
        } else {
            char old[ADDRESS_TEXT_MAX];
            snprintf(old, sizeof old, "%s", who(c));
            snprintf(c->name, sizeof c->name, "%s", name);
            snprintf(note, sizeof note, "nick %s -> %s", old, name);
            say(c, NULL, "* you are now %s", name);
            say(NULL, c, "* %s is now %s", old, name);
        }
    } else if (strcmp(line, "/who") == 0) {
        send_who(c);
    } else if (strcmp(line, "/quit") == 0) {
        say(c, NULL, "* bye");
        quit = 1;
    } else {
        say(c, NULL, "* unknown command; " COMMANDS);
    }
    unlock();
    if (note[0])
        log_event("%s", note);
    return quit;
}

static void enter_room(struct client *c)
{
    long online = 0;
    lock();
    if (!room.stopping) {
        say(NULL, c, "* %s joined", c->addr);
        c->in_room = 1;
        online = ++room.count;
        say(c, NULL, "* welcome %s; " COMMANDS, c->addr);
    }
    unlock();
    /* Logging waits for stdout, which may be a slow pipe: never under the lock. */
    if (online > 0)
        log_event("join %s (%ld online)", c->addr, online);
}

/* Out of the room, with the reason in the log and a word to the others. */
static void leave_room(struct client *c, const char *why, int err)
{
    char reason[64], note[256] = "";
    lock();
    if (err == 0 && why != NULL && strcmp(why, "closed") == 0)
        err = c->send_error;            /* our send failed first: say why */
    if (c->too_slow)
        why = "too slow";
    else if (err == ECONNRESET || err == EPIPE)
        why = "reset";
    else if (err != 0) {
        snprintf(reason, sizeof reason, "error: %s", errno_name(err));
        why = reason;
    }
    if (why == NULL)
        why = "closed";
    if (c->in_room) {
        c->in_room = 0;
        room.count--;
        room.seats--;
        if (!room.stopping) {
            snprintf(note, sizeof note, "leave %s (%s) (%ld online)", who(c), why, room.count);
            say(NULL, c, "* %s left", who(c));
        }
    } else {
        room.seats--;
    }
    c->closing = 1;                     /* the writer sends what is left, then ends */
    pthread_cond_signal(&c->more);
    pthread_cond_broadcast(&room.room_made);    /* nobody waits for us any more */
    unlock();
    if (note[0])
        log_event("%s", note);
}

/* Give the writer LINGER_SECONDS to drain (a "* bye" still queued), then cut
 * it off with shutdown(2) (a blocked send returns EPIPE), and join it. */
static void finish_writer(struct client *c)
{
    struct timespec deadline = now_monotonic();
    deadline.tv_sec += LINGER_SECONDS;
    lock();
    while (!c->writer_done)
        if (pthread_cond_timedwait(&c->done, &room.lock, &deadline) == ETIMEDOUT)
            break;
    if (!c->writer_done)
        shutdown(c->fd, SHUT_RDWR);
    unlock();
    int rc = pthread_join(c->writer, NULL);
    if (rc != 0)
        warn_with("pthread_join", rc);
}

/* The reader thread: the client's session from join to leave. */
static void *reader_main(void *arg)
{
    struct client *c = arg;
    const char *why = NULL;
    int err = 0;
    enter_room(c);
    for (;;) {
        size_t len;
        int kind = next_line(c, &len);
        if (kind == END) {
            why = "closed";
            break;
        }
        if (kind == ERROR) {
            err = errno;
            break;
        }
        if (kind == TOO_LONG) {
            lock();
            say(c, NULL, "* line too long (max %d bytes), dropped", MAX_LINE);
            unlock();
            continue;
        }
        if (len == 0)
            continue;                   /* empty lines are ignored */
        sanitize(c->line, len);
        if (handle_line(c, c->line)) {
            why = "quit";
            break;
        }
    }
    leave_room(c, why, err);
    finish_writer(c);

    /* Close so the peer sees FIN after our last bytes, not RST: unread input
     * would turn close(2) into a reset (tcp(7)), so drain a little first. */
    char sink[4096];
    shutdown(c->fd, SHUT_WR);
    for (int i = 0; i < 16 && recv(c->fd, sink, sizeof sink, MSG_DONTWAIT) > 0; i++)
        ;
    lock();
    if (close(c->fd) == -1)
        warn_errno("close");
    c->fd = -1;
    struct client **p = &room.sessions;     /* hand ourselves to main */
    while (*p != c)
        p = &(*p)->next;
    *p = c->next;
    c->next = room.done;
    room.done = c;
    unlock();
    wake_main();
    return NULL;
}

/* Join and free every finished session (main thread). */
static void reap_done(void)
{
    lock();
    struct client *list = room.done;
    room.done = NULL;
    unlock();
    while (list != NULL) {
        struct client *c = list;
        list = c->next;
        int rc = pthread_join(c->reader, NULL);
        if (rc != 0)
            warn_with("pthread_join", rc);
        pthread_cond_destroy(&c->more);
        pthread_cond_destroy(&c->done);
        free(c->out);
        free(c);
    }
}

/* Turn a connection away; a fresh socket's buffer has room for one line. */
static void refuse(int fd, const char *addr, const char *why)
{
    char text[128];
    int n = snprintf(text, sizeof text, "* %s, try again later\n", why);
    ssize_t ignored = send(fd, text, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)ignored;
    if (close(fd) == -1)
        warn_errno("close");
    log_event("refused %s: %s", addr, why);
}

/* A new connection: take a seat, start its two threads. */
static void add_client(int fd, const pthread_attr_t *attr)
{
    char addr[ADDRESS_TEXT_MAX], why[64];
    if (peer_address(fd, addr, sizeof addr) == -1)
        snprintf(addr, sizeof addr, "(gone)");
    lock();
    int full = room.seats >= room.max_clients;
    if (!full)
        room.seats++;
    unlock();
    if (full) {
        snprintf(why, sizeof why, "server full (%ld clients)", room.max_clients);
        refuse(fd, addr, why);
        return;
    }
    /* The writer sends whole batches, so Nagle's algorithm (tcp(7)) would only
     * hold a lone chat line back until the previous one is ACKed (lesson 05). */
    int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == -1)
        warn_errno("setsockopt TCP_NODELAY");   /* slower, still correct */
    struct client *c = calloc(1, sizeof *c);
    int rc = c == NULL ? ENOMEM : pthread_cond_init(&c->more, &room.monotonic);
    if (rc == 0 && (rc = pthread_cond_init(&c->done, &room.monotonic)) != 0)
        pthread_cond_destroy(&c->more);
    if (rc == 0) {
        c->fd = fd;
        snprintf(c->addr, sizeof c->addr, "%s", addr);
        rc = pthread_create(&c->writer, attr, writer_main, c);
        if (rc == 0) {
            lock();                     /* listed before its reader can look for itself */
            struct client **p = &room.sessions;
            while (*p != NULL)
                p = &(*p)->next;
            *p = c;
            unlock();
            rc = pthread_create(&c->reader, attr, reader_main, c);
            if (rc != 0) {              /* undo: stop the writer, unlist */
                lock();
                c->closing = 1;
                pthread_cond_signal(&c->more);
                for (p = &room.sessions; *p != c; p = &(*p)->next)
                    ;
                *p = c->next;
                unlock();
                pthread_join(c->writer, NULL);
            }
        }
        if (rc != 0) {
            pthread_cond_destroy(&c->more);
            pthread_cond_destroy(&c->done);
        }
    }
    if (rc != 0) {
        free(c);
        lock();
        room.seats--;
        unlock();
        snprintf(why, sizeof why, "cannot start a thread (%s)", errno_name(rc));
        refuse(fd, addr, why);
    }
}

/* Signals arrive here and only here: every other thread blocks them. */
static void *signal_main(void *arg)
{
    sigset_t *set = arg;
    int sig = 0;
    int rc = sigwait(set, &sig);
    if (rc != 0)
        die_with("sigwait", rc);
    lock();
    room.stopping = sig;
    pthread_cond_broadcast(&room.room_made);    /* no sender waits any more */
    unlock();
    wake_main();
    return NULL;
}

/* Tell everyone, wake every reader (shutdown SHUT_RD: recv returns 0), and
 * wait until each session has closed its connection and ended. */
static void shut_down(int sig)
{
    lock();
    long online = room.count;
    unlock();
    log_event("shutting down (signal %s), %ld clients", sig == SIGINT ? "SIGINT" : "SIGTERM", online);
    lock();
    for (struct client *c = room.sessions; c != NULL; c = c->next) {
        if (c->in_room)
            say(c, NULL, "* server shutting down");
        shutdown(c->fd, SHUT_RD);
    }
    unlock();
    for (;;) {
        reap_done();
        lock();
        int left = room.sessions != NULL || room.done != NULL;
        unlock();
        if (!left)
            break;
        struct pollfd pfd = {.fd = wake_pipe[0], .events = POLLIN};
        if (poll(&pfd, 1, 100) > 0) {
            char drain[64];
            ssize_t ignored = read(wake_pipe[0], drain, sizeof drain);
            (void)ignored;
        }
    }
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1", *port = "9999", *why;
    long value;
    uint16_t port_number = 9999;
    int opt;
    while ((opt = getopt(argc, argv, "m:q:t:h")) != -1) {
        switch (opt) {
        case 'm':
            if (parse_long(optarg, 1, 100000, &room.max_clients, &why) == -1)
                die_msg("chat-server: -m %s: %s\n%s", optarg, why, USAGE);
            break;
        case 'q':
            if (parse_long(optarg, 4096, 1L << 30, &value, &why) == -1)
                die_msg("chat-server: -q %s: %s\n%s", optarg, why, USAGE);
            room.queue_limit = (size_t)value;
            break;
        case 't':
            if (parse_long(optarg, 1, 3600, &room.grace, &why) == -1)
                die_msg("chat-server: -t %s: %s\n%s", optarg, why, USAGE);
            break;
        case 'h':
            printf("%s\n", USAGE);
            return 0;
        default:
            fprintf(stderr, "%s\n", USAGE);
            return 1;
        }
    }
    if (argc - optind > 2)
        die_msg("chat-server: too many arguments\n%s", USAGE);
    if (optind < argc)
        host = argv[optind];
    if (optind + 1 < argc) {
        port = argv[optind + 1];
        if (parse_port(port, &port_number, &why) == -1)
            die_msg("chat-server: port %s: %s\n%s", port, why, USAGE);
    }
    setvbuf(stdout, NULL, _IOLBF, 0);

    /* Block SIGINT and SIGTERM before any thread starts: threads inherit the
     * mask, so only signal_main (in sigwait) ever sees them. SIGPIPE stays
     * blocked too: a send to a gone peer is EPIPE, not death. */
    sigset_t stop_set, blocked;
    sigemptyset(&stop_set);
    sigaddset(&stop_set, SIGINT);
    sigaddset(&stop_set, SIGTERM);
    blocked = stop_set;
    sigaddset(&blocked, SIGPIPE);
    int rc = pthread_sigmask(SIG_BLOCK, &blocked, NULL);
    if (rc != 0)
        die_with("pthread_sigmask", rc);
    /* Timed waits measure time on CLOCK_MONOTONIC: CLOCK_REALTIME, the
     * default, jumps when the date is set (pthread_condattr_setclock(3)). */
    if ((rc = pthread_condattr_init(&room.monotonic)) != 0 ||
        (rc = pthread_condattr_setclock(&room.monotonic, CLOCK_MONOTONIC)) != 0 ||
        (rc = pthread_cond_init(&room.room_made, &room.monotonic)) != 0)
        die_with("pthread_cond_init", rc);
    if (pipe(wake_pipe) == -1)
        die("pipe");

    const char *failed;
    int listener = tcp_listen(host, port_number, BACKLOG, &failed);
    if (listener == -1)
        die(failed);
    if (announce_listening(listener) == -1)
        die("getsockname");

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, STACK_SIZE);
    pthread_t signal_thread;
    rc = pthread_create(&signal_thread, &attr, signal_main, &stop_set);
    if (rc != 0)
        die_with("pthread_create", rc);

    /* The accept loop. poll(2) waits for a connection OR a byte on the wake
     * pipe (a signal, or a session that ended and wants joining), so the
     * loop can always be stopped: a bare accept(2) could wait forever. */
    int sig = 0;
    while (sig == 0) {
        struct pollfd fds[2] = {{.fd = listener, .events = POLLIN},
                                {.fd = wake_pipe[0], .events = POLLIN}};
        if (poll(fds, 2, -1) == -1) {
            if (errno == EINTR)
                continue;
            die("poll");
        }
        if (fds[1].revents & POLLIN) {
            char drain[64];
            ssize_t ignored = read(wake_pipe[0], drain, sizeof drain);
            (void)ignored;
        }
        reap_done();
        lock();
        sig = room.stopping;
        unlock();
        if (sig == 0 && (fds[0].revents & POLLIN)) {
            int fd = accept(listener, NULL, NULL);
            if (fd == -1) {
                warn_errno("accept");   /* that connection only: keep serving */
                if (errno == EMFILE || errno == ENFILE)
                    poll(NULL, 0, 100); /* do not spin while out of fds */
                continue;
            }
            add_client(fd, &attr);
        }
    }
    shut_down(sig);
    rc = pthread_join(signal_thread, NULL);
    if (rc != 0)
        warn_with("pthread_join", rc);
    pthread_attr_destroy(&attr);
    pthread_cond_destroy(&room.room_made);
    pthread_condattr_destroy(&room.monotonic);
    close(listener);
    close(wake_pipe[0]);
    close(wake_pipe[1]);
    return 0;
}
