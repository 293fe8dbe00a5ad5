/*
 * chat-server.c - lesson 15: a group chat server, one thread per client.
 *
 * The protocol is common/chat.h; this file is the concurrency. Each client
 * has a reader thread (cuts lines out of its stream, acts on them) and a
 * writer thread (sends its queue). One lock guards the room: who is in it,
 * names, every queue. Under it a line is only APPENDED to queues; nobody
 * sends holding it, so a client that stops reading blocks only its writer.
 * Backpressure with a deadline: while a queue holds -q bytes, senders wait,
 * so a fast sender slows to the slowest reader's pace; a queue full for -t
 * seconds, or past 4 times -q, is cut off. SIGINT/SIGTERM: all told, exit 0.
 *
 * usage: chat-server [-m MAX_CLIENTS] [-q QUEUE_LIMIT_BYTES] [-t SECONDS] [ADDRESS [PORT]]
 * Partner: lesson 16's chat-client, or nc/telnet. Protocol: docs/15-chat-server.md
 * Read: pthread_create(3), pthread_mutex_lock(3), pthread_cond_timedwait(3),
 *       pthread_condattr_setclock(3), sigwait(3), shutdown(2), tcp(7)
 */
#include "report.h"
#include "net.h"
#include "chat.h"
#include "clock.h"

#include <errno.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LINGER_SECONDS 2        /* how long a leaving client's writer may drain */
#define STACK_SIZE (256 * 1024) /* per thread: plenty here, and thousands fit */
#define BACKLOG SOMAXCONN       /* a burst of connects must fit (lesson 07) */
#define QUEUE_LIMIT (256 * 1024) /* -q: a burst fits before the writers run */
#define HARD_LIMIT_TIMES 4      /* times -q: only notices (/who, unread) get there */
#define WRITE_CHUNK (16 * 1024) /* a writer's bite: its queue shrinks sooner */

/* One connection, owned by its reader thread. [lock]: only with room.lock held. */
struct client {
    int fd;                             /* [lock] -1 once closed */
    pthread_t reader, writer;
    char name[ADDRESS_TEXT_MAX];        /* [lock] the address, until /nick */
    struct client *next;                /* [lock] every session, in join order */
    int in_room, closing, too_slow;     /* [lock] joined / no more output / cut off */
    struct out_queue out;               /* [lock] not yet sent, in-flight included */
    int full;                           /* [lock] queued(&out) reached -q; then... */
    struct timespec full_until;         /* [lock] ...cut off at (CLOCK_MONOTONIC) */
    int send_error, writer_done, finished;  /* [lock] finished: main may join the reader */
    pthread_cond_t more;                /* the writer waits: "bytes queued, or closing" */
    pthread_cond_t done;                /* the reader waits: "writer_done" */
    struct line_cutter cut;             /* the reader's own: the line so far */
    char line[MAX_LINE + 1];
};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t room_made;           /* senders wait: "a full queue shrank, or went" */
    pthread_attr_t attr;                /* every thread's stack size */
    struct client *sessions;            /* every session not yet joined, in join order */
    long count, seats;                  /* in the room / counted against -m */
    struct chat_options opt;            /* -m, -q, -t, -a, address, port */
    int stopping;                       /* the signal that stops us, or 0 */
} room = {.lock = PTHREAD_MUTEX_INITIALIZER,
          .opt = {.max_clients = 64, .queue_limit = QUEUE_LIMIT, .grace_seconds = 3,
                  .announce_max = ANNOUNCE_MAX, .host = "127.0.0.1", .port = 9999}};
static int wake_pipe[2];                /* the signal thread -> main: "stop" */

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

/* Cut c off as too slow [lock]: drop its queue; shutdown(2) never blocks and
 * wakes both its threads (send fails, recv returns 0): its reader leaves. */
static void cut_off(struct client *c)
{
    c->too_slow = c->closing = 1;
    c->out.head = c->out.len = 0;
    shutdown(c->fd, SHUT_RDWR);
    pthread_cond_signal(&c->more);
    pthread_cond_broadcast(&room.room_made);
}

/* Queue len bytes for c [lock]; never sends, never waits (senders wait in
 * wait_for_room first). At -q it is full, since now; past 4 times, cut off. */
static void queue_to(struct client *c, const char *text, size_t len)
{
    if (c->closing)
        return;
    // TODO: past the hard limit (queued(&c->out) + len > HARD_LIMIT_TIMES * room.opt.queue_limit), or out of memory in queue_append: cut_off(c) and return. Else wake c's writer (pthread_cond_signal(3) on c->more); if queued(&c->out) reached room.opt.queue_limit and c is not yet full, mark it full until the grace time from now (monotonic_in(room.opt.grace_seconds)).
    (void)text, (void)len, (void)cut_off;
}

/* Backpressure [lock]: before a line from `sender` is queued to everyone,
 * wait until no one else's queue is full. pthread_cond_timedwait releases the
 * lock while it sleeps: only the sender's reader waits (it stops reading, so
 * its client's send() blocks: the pressure reaches the client). A queue full
 * for the grace time (-t) is not being read: it is cut off. */
static void wait_for_room(struct client *sender)
{
    for (;;) {
        struct timespec now = monotonic_in(0), wake = {0, 0};
        int waiting = 0;
        // TODO: for every other client o in the room whose queue is full (and not closing): past o->full_until already? cut_off(o). Otherwise keep the earliest full_until in wake and set waiting.
        // TODO: return when nobody is full, or the server is stopping, or sender is closing; else sleep on room.room_made with pthread_cond_timedwait(3) until wake (ETIMEDOUT is normal).
        (void)sender, (void)now, (void)wake, (void)waiting; return;
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

/* The writer thread: copy up to WRITE_CHUNK queued bytes (others may queue
 * more meanwhile, and the buffer may move) and send them WITHOUT the lock: if
 * this client stops reading, send blocks here, and only here. Once sent they
 * leave the queue, and waiting senders hear that it shrank. */
static void *writer_main(void *arg)
{
    struct client *c = arg;
    char chunk[WRITE_CHUNK];
    lock();
    for (;;) {
        // TODO: wait on c->more (pthread_cond_wait(3)) while nothing is queued and c is not closing; stop (break) when nothing is left to send, or c is too slow.
        // TODO: copy up to WRITE_CHUNK bytes from the front of c->out into chunk; unlock, send_all, lock again. Cut off meanwhile (too_slow)? stop. Else c->out.head += len; if c was full and is now under the limit: not full, broadcast room.room_made. A send error: c->send_error = errno, closing, shutdown(2) the fd (SHUT_RDWR), stop.
        (void)chunk; break;
    }
    c->writer_done = 1;
    pthread_cond_signal(&c->done);
    unlock();
    return NULL;
}

/* Act on a line from c, cleaned (NULL: one too long). 1 when c asked to quit. */
static int handle_line(struct client *c, const char *line)
{
    const char *name, **names;
    char note[256] = "";                /* a log line, printed after unlock */
    size_t n = 0, len;
    enum chat_command cmd = line ? parse_command(line, &name) : CMD_UNKNOWN;
    lock();
    switch (cmd) {
    case CMD_SAY:
        wait_for_room(c);               /* backpressure, see above */
        say(NULL, c, SAID, c->name, line);
        break;
    case CMD_NICK:
        for (struct client *o = room.sessions; o != NULL && valid_name(name); o = o->next)
            n += o != c && o->in_room && strcmp(o->name, name) == 0;
        if (!valid_name(name)) {
            say(c, NULL, INVALID_NAME);
        } else if (n > 0) {
            say(c, NULL, NAME_TAKEN, name);
        } else {
            snprintf(note, sizeof note, "nick %s -> %s", c->name, name);
            say(NULL, c, IS_NOW, c->name, name);     /* the others, by the old name */
            snprintf(c->name, sizeof c->name, "%s", name);
            say(c, NULL, YOU_ARE_NOW, name);
        }
        break;
    case CMD_WHO:
        names = malloc((size_t)room.count * sizeof *names);
        for (struct client *o = room.sessions; names != NULL && o != NULL; o = o->next)
            if (o->in_room)
                names[n++] = o->name;
        char *text = names ? format_who(names, n, &len) : NULL;
        if (text != NULL)
            queue_to(c, text, len);
        free(text);
        free(names);
        break;
    default:
        say(c, NULL, !line ? LINE_TOO_LONG : cmd == CMD_QUIT ? BYE : UNKNOWN);
    }
    unlock();
    if (note[0])
        log_event("%s", note);          /* stdout may be slow: never under the lock */
    return cmd == CMD_QUIT;
}

/* The reader thread: the client's session, from join to leave. */
static void *reader_main(void *arg)
{
    struct client *c = arg;
    char in[4096], note[256] = "", why[CHAT_REASON_MAX] = "closed";
    int err = 0, quit = 0;
    lock();
    if (!room.stopping) {
        if (announced(&room.opt, room.count + 1))   /* a big room is not told (chat.h) */
            say(NULL, c, JOINED, c->name);
        c->in_room = 1;
        snprintf(note, sizeof note, "join %s (%ld online)", c->name, ++room.count);
        say(c, NULL, WELCOME, c->name);
    }
    unlock();
    if (note[0])
        log_event("%s", note);
    while (!quit) {
        ssize_t n = recv(c->fd, in, sizeof in, 0);     /* no EINTR: no handlers */
        err = n == -1 ? errno : 0;
        if (n <= 0)
            break;                      /* closed (a half line is dropped), or an error */
        for (size_t off = 0, used; off < (size_t)n && !quit; off += used) {
            enum cut_result got = cut_line(&c->cut, in + off, (size_t)n - off, &used);
            if (got == CUT_LINE && c->cut.len > 0)      /* empty lines are ignored */
                clean_line(c->line, c->cut.len);
            if (got == CUT_TOO_LONG || (got == CUT_LINE && c->cut.len > 0))
                quit = handle_line(c, got == CUT_LINE ? c->line : NULL);
        }
    }
    /* Out of the room, telling the others (not at a stop: all are leaving).
     * The writer sends the rest, then ends. */
    note[0] = '\0';
    lock();
    if (c->too_slow || quit)
        snprintf(why, sizeof why, "%s", c->too_slow ? "too slow" : "quit");
    else if (err != 0 || (err = c->send_error) != 0)    /* or our send failed first */
        leave_reason(why, err);
    room.seats--;
    room.count -= c->in_room;
    if (c->in_room && !room.stopping) {
        snprintf(note, sizeof note, "leave %s (%s) (%ld online)", c->name, why, room.count);
        if (announced(&room.opt, room.count + 1))   /* the room as it was, with c */
            say(NULL, c, LEFT, c->name);
    }
    c->in_room = 0;
    c->closing = 1;
    pthread_cond_signal(&c->more);
    pthread_cond_broadcast(&room.room_made);    /* nobody waits for us any more */
    unlock();
    if (note[0])
        log_event("%s", note);
    // TODO: give the writer LINGER_SECONDS to drain: under the lock, pthread_cond_timedwait(3) on c->done until writer_done; not done by then: shutdown(2) the fd (a blocked send returns). Join the writer.
    // TODO: under the lock: close_gently(c->fd), c->fd = -1, and mark c finished: main joins this thread and frees c.
    return NULL;
}

/* Join and free the finished sessions (main thread); 1 if others remain. A
 * finished reader never takes the lock again: joining it under it is quick. */
static int join_finished(void)
{
    lock();
    for (struct client **p = &room.sessions, *c; (c = *p) != NULL;) {
        if (!c->finished) {
            p = &c->next;
            continue;
        }
        *p = c->next;                   /* unlisted: no other thread sees it now */
        int rc = pthread_join(c->reader, NULL);
        if (rc != 0)
            warn_with("pthread_join", rc);
        pthread_cond_destroy(&c->more);
        pthread_cond_destroy(&c->done);
        free(c->out.buf);
        free(c);
    }
    int left = room.sessions != NULL;
    unlock();
    return left;
}

/* A new connection (main thread): take a seat and start its two threads, or
 * turn it away. Once they run, c's reader owns c: main touches it again only
 * to join and free it, when it is finished. */
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
    /* No Nagle (tcp(7)): a lone line is not held back until an ACK (lesson 05). */
    int one = 1, rc = ENOMEM;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == -1)
        warn_errno("setsockopt TCP_NODELAY");   /* slower, still correct */
    struct client *c = calloc(1, sizeof *c);
    if (c != NULL && (rc = monotonic_cond_init(&c->more)) == 0 &&
        (rc = monotonic_cond_init(&c->done)) != 0)
        pthread_cond_destroy(&c->more);
    if (c != NULL && rc == 0) {
        c->fd = fd;
        if (peer_address(fd, c->name, sizeof c->name) == -1)
            snprintf(c->name, sizeof c->name, "(gone)");
        line_cutter_init(&c->cut, c->line, sizeof c->line);
        // TODO: start the writer (pthread_create(3) with &room.attr, writer_main, c); then, holding the lock, start the reader (reader_main) and append c to the end of room.sessions: the reader's first lock() waits until c is listed.
        // TODO: if the reader cannot start: undo under the lock (closing, signal c->more), then join the writer. Leave the error in rc (0: both run).
        rc = ENOSYS, (void)writer_main, (void)reader_main;
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
    if (write(wake_pipe[1], "x", 1) == -1)
        die("write");                   /* main would never wake: give up now */
    return NULL;
}

int main(int argc, char **argv)
{
    parse_chat_options(&room.opt, argc, argv);
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* Block SIGINT and SIGTERM before any thread starts (threads inherit it):
     * only signal_main, in sigwait, sees them. No handler: signal-safety(7). */
    sigset_t stop_set;
    sigemptyset(&stop_set);
    sigaddset(&stop_set, SIGINT);
    sigaddset(&stop_set, SIGTERM);
    int rc = pthread_sigmask(SIG_BLOCK, &stop_set, NULL);
    if (rc != 0)
        die_with("pthread_sigmask", rc);
    /* Every condition variable waits on CLOCK_MONOTONIC (common/clock.h). */
    if ((rc = monotonic_cond_init(&room.room_made)) != 0)
        die_with("pthread_cond_init", rc);
    if ((rc = pthread_attr_init(&room.attr)) != 0 ||
        (rc = pthread_attr_setstacksize(&room.attr, STACK_SIZE)) != 0)
        die_with("pthread_attr_setstacksize", rc);
    if (pipe(wake_pipe) == -1)
        die("pipe");
    const char *failed;
    int listener = tcp_listen(room.opt.host, room.opt.port, BACKLOG, &failed);
    if (listener == -1)
        die(failed);
    if (announce_listening(listener) == -1)
        die("getsockname");
    pthread_t signal_thread;
    if ((rc = pthread_create(&signal_thread, &room.attr, signal_main, &stop_set)) != 0)
        die_with("pthread_create", rc);
    /* The accept loop. poll(2) waits for a connection OR the wake pipe, so a
     * stop ends the wait; a bare accept(2) could wait for ever. Each wake-up
     * joins the sessions that ended since the last (at most -m of them). */
    struct pollfd fds[2] = {{.fd = listener, .events = POLLIN},
                            {.fd = wake_pipe[0], .events = POLLIN}};
    while (fds[1].revents == 0) {
        if (poll(fds, 2, -1) == -1)
            die("poll");                /* EINTR cannot come: no handlers */
        join_finished();
        if (!(fds[0].revents & POLLIN) || fds[1].revents != 0)
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
    /* Stop: tell everyone, wake each reader (SHUT_RD: recv returns 0), and
     * join them all as they drain, close and end. */
    lock();
    const char *sig = room.stopping == SIGINT ? "SIGINT" : "SIGTERM";
    long online = room.count;
    say(NULL, NULL, SHUTTING_DOWN);
    for (struct client *c = room.sessions; c != NULL; c = c->next)
        shutdown(c->fd, SHUT_RD);
    unlock();
    log_event("shutting down (signal %s), %ld clients", sig, online);
    while (join_finished())             /* each session ends soon: join them all */
        poll(NULL, 0, 20);
    if ((rc = pthread_join(signal_thread, NULL)) != 0)
        warn_with("pthread_join", rc);
    pthread_attr_destroy(&room.attr);
    pthread_cond_destroy(&room.room_made);
    close(listener);
    close(wake_pipe[0]);
    close(wake_pipe[1]);
    return 0;
}
