/*
 * chat-server.c - lesson 15: a group chat server, one thread per client.
 *
 * The protocol is common/chat.h; this file is the concurrency. Every client
 * gets two threads: a reader that cuts lines out of its byte stream and acts
 * on them, and a writer that sends what is queued for it. One lock guards the
 * room (who is in it, names, every queue). A line is only APPENDED to the
 * others' queues under the lock; no thread sends while holding it, so a client
 * that stops reading blocks nobody but its own writer.
 *
 * Backpressure with a deadline: a queue that reaches -q bytes is "full", and a
 * sender's line waits (its reader sleeps, the lock released) until no queue is
 * full, so a fast sender slows to the pace of the slowest reader. A queue full
 * for -t seconds belongs to a client that is not reading: it is cut off. A
 * queue past 4 times -q is cut off at once. SIGINT/SIGTERM: everyone is told,
 * every connection closed, every thread joined, exit 0.
 *
 * usage: chat-server [-m MAX_CLIENTS] [-q QUEUE_LIMIT_BYTES] [-t SECONDS] [ADDRESS [PORT]]
 *   -m  most clients at once (default 64); one more is told "server full"
 *   -q  a client's queue is full at this many bytes (default 262144)
 *   -t  how long a queue may stay full before its client is dropped (default 3)
 *   ADDRESS a numeric IPv4/IPv6 address (default 127.0.0.1), PORT default 9999
 *
 * Partner: lesson 16's chat-client, or nc/telnet. Protocol: docs/15-chat-server.md
 *
 * Read: pthread_create(3), pthread_mutex_lock(3), pthread_cond_timedwait(3),
 *       pthread_condattr_setclock(3), sigwait(3), shutdown(2), tcp(7)
 */
#include "report.h"
#include "net.h"
#include "chat.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LINGER_SECONDS 2        /* how long a leaving client's writer may drain */
#define STACK_SIZE (256 * 1024) /* per thread: plenty here, and thousands fit */
#define BACKLOG SOMAXCONN       /* a burst of connects must fit (lesson 07) */
/* A writer sends only when the scheduler runs it; meanwhile a fast sender's
 * lines pile up. 256 KiB lets a burst through (docs/17-chat-poll.md). */
#define QUEUE_LIMIT (256 * 1024)
/* The hard limit: chat lines wait for room, so only notices (a /who asked
 * again and again by a client that never reads) can go that far. */
#define HARD_LIMIT_TIMES 4
/* The writer sends at most this much at a time, so the room sees its queue
 * shrink (and a waiting sender wakes) as soon as the client takes a little. */
#define WRITE_CHUNK (16 * 1024)

/*
 * One connection. Its reader thread owns it: it closes the fd and hands the
 * struct to main to be joined and freed. Fields marked [lock] are read and
 * written only with room.lock held, by any thread.
 */
struct client {
    int fd;                             /* [lock] -1 once closed */
    pthread_t reader, writer;
    char addr[ADDRESS_TEXT_MAX];        /* set before the threads start */
    char name[NAME_LEN + 1];            /* [lock] "" until /nick */
    struct client *next;                /* [lock] every session, in join order */
    int in_room;                        /* [lock] joined and not yet left */
    struct out_queue out;               /* [lock] what waits to be sent (chat.h) */
    size_t sending;                     /* [lock] bytes the writer took and is sending */
    int full;                           /* [lock] queued + sending reached -q... */
    struct timespec full_since;         /* [lock] ...at this time (CLOCK_MONOTONIC) */
    int closing;                        /* [lock] no more output: the writer drains, ends */
    int too_slow, send_error, writer_done;  /* [lock] */
    pthread_cond_t more;                /* the writer waits: "bytes queued, or closing" */
    pthread_cond_t done;                /* the reader waits: "writer_done" */
    struct line_cutter cut;             /* the reader's own: the line so far */
    char line[MAX_LINE + 1];
};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t room_made;           /* senders wait: "a full queue shrank, or went" */
    pthread_condattr_t monotonic;       /* every condition variable's clock */
    pthread_attr_t attr;                /* every thread's stack size */
    struct client *sessions;            /* every live session, in join order */
    struct client *done;                /* ended sessions, for main to join */
    long count, seats;                  /* in the room / counted against -m */
    struct chat_options opt;            /* -m, -q, -t, address, port */
    int stopping;                       /* the signal that stops us, or 0 */
} room = {.lock = PTHREAD_MUTEX_INITIALIZER,
          .opt = {.max_clients = 64, .queue_limit = QUEUE_LIMIT, .grace_seconds = 3,
                  .host = "127.0.0.1", .port = 9999}};

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
    ssize_t ignored = write(wake_pipe[1], "x", 1);  /* a full pipe wakes main anyway */
    (void)ignored;
}

static const char *who(const struct client *c)   /* [lock] */
{
    return c->name[0] ? c->name : c->addr;
}

/* Now, plus seconds, on CLOCK_MONOTONIC: the clock of our condition
 * variables, which never jumps when the date is set (clock_gettime(2)). */
static struct timespec monotonic_in(long seconds)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    t.tv_sec += seconds;
    return t;
}

static int earlier(struct timespec a, struct timespec b)
{
    return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

/* Bytes c still has to send: queued, and taken by its writer. [lock] */
static size_t backlog(const struct client *c)
{
    return queued(&c->out) + c->sending;
}

/* Cut c off as too slow [lock]: drop its queue; shutdown(2) does not block,
 * it wakes both of c's threads (send fails, recv returns 0), and c's reader
 * then leaves the room the normal way. Senders waiting for c go on. */
static void cut_off(struct client *c)
{
    c->too_slow = c->closing = 1;
    c->out.head = c->out.len = 0;
    shutdown(c->fd, SHUT_RDWR);
    pthread_cond_signal(&c->more);
    pthread_cond_broadcast(&room.room_made);
}

/* Queue len bytes for c [lock]. Never sends, never waits: the writer sends,
 * and a sender waits in wait_for_room BEFORE it queues. A queue that reaches
 * the limit is full, since now; past the hard limit, c is cut off. */
static void queue_to(struct client *c, const char *text, size_t len)
{
    if (c->closing)
        return;
    // TODO: past the hard limit (backlog(c) + len > HARD_LIMIT_TIMES * room.opt.queue_limit), or out of memory in queue_append: cut_off(c) and return.
    // TODO: wake c's writer (pthread_cond_signal(3) on c->more); if backlog(c) reached room.opt.queue_limit and c is not yet full, mark it full since now (monotonic_in(0)).
    (void)text, (void)len, (void)cut_off, (void)backlog;
}

/*
 * Backpressure [lock]: before a line from `sender` is queued to everyone,
 * wait until no one else's queue is full. pthread_cond_timedwait releases the
 * lock while it sleeps, so the room goes on; only the sender's reader waits
 * (it stops reading, its kernel buffers fill, and its client's send() blocks:
 * the backpressure reaches the client itself). A queue full for the grace
 * time (-t) belongs to a client that is not reading: it is cut off.
 */
static void wait_for_room(struct client *sender)
{
    for (;;) {
        struct timespec now = monotonic_in(0), wake = {0, 0};
        int waiting = 0;
        // TODO: for every other client o in the room whose queue is full (and not closing): full for room.opt.grace_seconds already? cut_off(o). Otherwise keep the earliest such deadline in wake and set waiting.
        // TODO: return when nobody is full, or the server is stopping, or sender is closing; else sleep on room.room_made with pthread_cond_timedwait(3) until wake (ETIMEDOUT is normal).
        (void)sender, (void)now, (void)wake, (void)waiting, (void)earlier;
        return;
    }
}

/* One line to c, or, when c is NULL, to everyone in the room but `except`. [lock] */
__attribute__((format(printf, 3, 4)))
static void say(struct client *c, const struct client *except, const char *fmt, ...)
{
    char text[CHAT_TEXT_MAX];
    va_list ap;
    va_start(ap, fmt);
    size_t len = vformat_line(text, fmt, ap);
    va_end(ap);
    if (c != NULL)
        queue_to(c, text, len);
    for (struct client *o = room.sessions; c == NULL && o != NULL; o = o->next)
        if (o->in_room && o != except)
            queue_to(o, text, len);
}

/*
 * The writer thread: wait for queued bytes, take up to WRITE_CHUNK of them
 * out of the queue (so others can queue more meanwhile), and send them
 * WITHOUT the lock. If this client stops reading, send blocks here, and only
 * here. After each chunk, waiting senders are told the queue shrank.
 */
static void *writer_main(void *arg)
{
    struct client *c = arg;
    char chunk[WRITE_CHUNK];
    lock();
    for (;;) {
        // TODO: wait on c->more (pthread_cond_wait(3)) while nothing is queued and c is not closing; stop (break) when nothing is left to send, or c is too slow.
        // TODO: take up to WRITE_CHUNK bytes from the front of c->out into chunk and count them in c->sending; unlock, send_all, lock again; sending = 0, and if c was full and backlog(c) is now under the limit: not full, broadcast room.room_made. A send error: c->send_error = errno, closing, shutdown(2) the fd (SHUT_RDWR), stop.
        (void)chunk;
        break;
    }
    c->writer_done = 1;
    pthread_cond_signal(&c->done);
    unlock();
    return NULL;
}

/* Act on one line from c (control bytes cleaned). 1 when c asked to quit. */
static int handle_line(struct client *c, const char *line)
{
    const char *name, **names;
    char note[256] = "";                /* a log line, printed after unlock */
    size_t n = 0, len;
    enum chat_command cmd = parse_command(line, &name);
    lock();
    switch (cmd) {
    case CMD_SAY:
        wait_for_room(c);               /* backpressure, see above */
        say(NULL, c, SAID, who(c), line);
        break;
    case CMD_NICK:
        for (struct client *o = room.sessions; o != NULL && valid_name(name); o = o->next)
            n += o != c && o->in_room && strcmp(o->name, name) == 0;
        if (!valid_name(name)) {
            say(c, NULL, INVALID_NAME);
        } else if (n > 0) {
            say(c, NULL, NAME_TAKEN, name);
        } else {
            snprintf(note, sizeof note, "nick %s -> %s", who(c), name);
            say(NULL, c, IS_NOW, who(c), name);     /* the others, by the old name */
            snprintf(c->name, sizeof c->name, "%s", name);
            say(c, NULL, YOU_ARE_NOW, name);
        }
        break;
    case CMD_WHO:
        names = malloc((size_t)room.count * sizeof *names);
        for (struct client *o = room.sessions; names != NULL && o != NULL; o = o->next)
            if (o->in_room)
                names[n++] = who(o);
        char *text = names ? format_who(names, n, &len) : NULL;
        if (text != NULL)
            queue_to(c, text, len);
        free(text);
        free(names);
        break;
    default:
        say(c, NULL, cmd == CMD_QUIT ? BYE : UNKNOWN);
    }
    unlock();
    if (note[0])
        log_event("%s", note);          /* stdout may be slow: never under the lock */
    return cmd == CMD_QUIT;
}

/* Out of the room [lock], with a word to the others and the log line in
 * note. why: "quit", or "closed" (err 0), or err says. The writer sends what
 * is left, then ends. */
static void leave_room(struct client *c, const char *why, int err, char note[256])
{
    char reason[CHAT_REASON_MAX];
    if (err == 0 && strcmp(why, "closed") == 0)
        err = c->send_error;            /* our send failed first: say why */
    if (c->too_slow)
        why = "too slow";
    else if (err != 0)
        why = (leave_reason(reason, err), reason);
    room.seats--;
    if (c->in_room) {
        c->in_room = 0;
        room.count--;
        if (!room.stopping) {
            snprintf(note, 256, "leave %s (%s) (%ld online)", who(c), why, room.count);
            say(NULL, c, LEFT, who(c));
        }
    }
    c->closing = 1;
    pthread_cond_signal(&c->more);
    pthread_cond_broadcast(&room.room_made);    /* nobody waits for us any more */
}

/* The reader thread: the client's session, from join to leave. */
static void *reader_main(void *arg)
{
    struct client *c = arg;
    char in[4096], note[256] = "";
    int err = 0, quit = 0;
    lock();
    if (!room.stopping) {
        say(NULL, c, JOINED, c->addr);
        c->in_room = 1;
        snprintf(note, sizeof note, "join %s (%ld online)", c->addr, ++room.count);
        say(c, NULL, WELCOME, c->addr);
    }
    unlock();
    if (note[0])
        log_event("%s", note);
    while (!quit) {
        ssize_t n = recv(c->fd, in, sizeof in, 0);
        if (n == -1 && errno == EINTR)
            continue;
        if (n <= 0) {                   /* closed (a half line is dropped), or an error */
            err = n == 0 ? 0 : errno;
            break;
        }
        for (size_t off = 0, used; off < (size_t)n && !quit; off += used) {
            enum cut_result got = cut_line(&c->cut, in + off, (size_t)n - off, &used);
            if (got == CUT_TOO_LONG) {
                lock();
                say(c, NULL, LINE_TOO_LONG);
                unlock();
            } else if (got == CUT_LINE && c->cut.len > 0) {     /* empty lines are ignored */
                clean_line(c->line, c->cut.len);
                quit = handle_line(c, c->line);
            }
        }
    }
    // TODO: leave the room (leave_room under the lock; log its note after), then give the writer LINGER_SECONDS to drain: pthread_cond_timedwait(3) on c->done until writer_done; not done by then: shutdown(2) the fd (a blocked send returns). Join the writer.
    // TODO: under the lock: close_gently(c->fd) and set c->fd = -1, move c from room.sessions to room.done; then wake_main(), so that main joins this thread and frees c.
    (void)leave_room, (void)err;
    return NULL;
}

/* Join and free every ended session (main thread). */
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
        free(c->out.buf);
        free(c);
    }
}

/*
 * Start c's two threads (main thread). From then on c's reader owns c: main
 * touches it again only to join and free it, once the reader hands it over
 * (room.done). Returns 0, or an error number with nothing left running.
 */
static int start_session(struct client *c)
{
    int rc = pthread_cond_init(&c->more, &room.monotonic);
    if (rc == 0 && (rc = pthread_cond_init(&c->done, &room.monotonic)) != 0)
        pthread_cond_destroy(&c->more);
    if (rc != 0)
        return rc;
    // TODO: start the writer (pthread_create(3) with &room.attr, writer_main, c); then append c to room.sessions (under the lock) BEFORE its reader starts, and start the reader (reader_main).
    // TODO: if the reader cannot start: undo, under the lock (closing, signal c->more, unlist c), then join the writer. On any failure destroy both condition variables and return the error.
    (void)writer_main, (void)reader_main;
    rc = ENOSYS;
    if (rc != 0) {
        pthread_cond_destroy(&c->more);
        pthread_cond_destroy(&c->done);
    }
    return rc;
}

/* A new connection: take a seat and start its session, or turn it away. */
static void add_client(int fd)
{
    lock();
    int full = room.seats >= room.opt.max_clients;
    room.seats += !full;
    unlock();
    if (full) {
        refuse(fd, REFUSE_FULL, room.opt.max_clients);
        return;
    }
    /* The writer sends whole batches: Nagle (tcp(7)) would only hold a lone
     * line back until the previous one is ACKed (lesson 05). */
    int one = 1, rc = ENOMEM;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == -1)
        warn_errno("setsockopt TCP_NODELAY");   /* slower, still correct */
    struct client *c = calloc(1, sizeof *c);
    if (c != NULL) {
        c->fd = fd;
        if (peer_address(fd, c->addr, sizeof c->addr) == -1)
            snprintf(c->addr, sizeof c->addr, "(gone)");
        line_cutter_init(&c->cut, c->line, sizeof c->line);
        rc = start_session(c);
    }
    if (rc != 0) {
        free(c);
        lock();
        room.seats--;
        unlock();
        refuse(fd, REFUSE_NO_THREAD, rc);
    }
}

/* Signals arrive here and only here: every other thread blocks them. */
static void *signal_main(void *set)
{
    int sig = 0, rc = sigwait(set, &sig);
    if (rc != 0)
        die_with("sigwait", rc);
    lock();
    room.stopping = sig;
    pthread_cond_broadcast(&room.room_made);    /* no sender waits any more */
    unlock();
    wake_main();
    return NULL;
}

/* Drain the wake pipe: its bytes only meant "look around". */
static void drain_wake_pipe(void)
{
    char drain[64];
    ssize_t ignored = read(wake_pipe[0], drain, sizeof drain);
    (void)ignored;
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
            say(c, NULL, SHUTTING_DOWN);
        shutdown(c->fd, SHUT_RD);
    }
    unlock();
    for (int left = 1; left;) {
        reap_done();
        lock();
        left = room.sessions != NULL || room.done != NULL;
        unlock();
        struct pollfd wake = {.fd = wake_pipe[0], .events = POLLIN};
        if (left && poll(&wake, 1, 100) > 0)
            drain_wake_pipe();
    }
}

int main(int argc, char **argv)
{
    parse_chat_options(&room.opt, argc, argv);
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
    int listener = tcp_listen(room.opt.host, room.opt.port, BACKLOG, &failed);
    if (listener == -1)
        die(failed);
    if (announce_listening(listener) == -1)
        die("getsockname");
    pthread_t signal_thread;
    pthread_attr_init(&room.attr);
    pthread_attr_setstacksize(&room.attr, STACK_SIZE);
    if ((rc = pthread_create(&signal_thread, &room.attr, signal_main, &stop_set)) != 0)
        die_with("pthread_create", rc);

    /* The accept loop. poll(2) waits for a connection OR a byte on the wake
     * pipe (a signal, or a session that ended and wants joining), so the
     * loop can always be stopped: a bare accept(2) could wait forever. */
    int sig = 0;
    while (sig == 0) {
        struct pollfd fds[2] = {{.fd = listener, .events = POLLIN},
                                {.fd = wake_pipe[0], .events = POLLIN}};
        if (poll(fds, 2, -1) == -1 && errno != EINTR)
            die("poll");
        if (fds[1].revents & POLLIN)
            drain_wake_pipe();
        reap_done();
        lock();
        sig = room.stopping;
        unlock();
        if (sig != 0 || !(fds[0].revents & POLLIN))
            continue;
        int fd = accept(listener, NULL, NULL);
        if (fd != -1) {
            add_client(fd);
            continue;
        }
        warn_errno("accept");           /* that connection only: keep serving */
        if (errno == EMFILE || errno == ENFILE)
            poll(NULL, 0, 100);         /* out of fds: do not spin */
    }
    shut_down(sig);
    if ((rc = pthread_join(signal_thread, NULL)) != 0)
        warn_with("pthread_join", rc);
    pthread_attr_destroy(&room.attr);
    pthread_cond_destroy(&room.room_made);
    pthread_condattr_destroy(&room.monotonic);
    close(listener);
    close(wake_pipe[0]);
    close(wake_pipe[1]);
    return 0;
}
