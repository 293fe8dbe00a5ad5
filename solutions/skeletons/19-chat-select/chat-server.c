/*
 * chat-server.c - lesson 19: the group chat in one thread, with select().
 *
 * Lesson 17's chat on select(2), whose bit arrays (fd_set) change three
 * things: select overwrites the sets it gets, so each turn hands it fresh
 * copies; it looks at fds 0 .. nfds-1, so nfds is the highest fd + 1; and a
 * set holds FD_SETSIZE (1024) fds: FD_SET on fd 1024 or more writes past its
 * end (undefined behaviour, select(2) BUGS), so such a client is refused.
 *
 * The room itself (the protocol, each client's queue, short sends, the
 * backpressure with a grace time, EMFILE, the shutdown) is lesson 17's, from
 * common/room.h: this file is the loop, its sets, and the hooks through
 * which the room tells it who joins, who leaves and who has output waiting.
 *
 * usage: chat-server [-m MAX_CLIENTS] [-q QUEUE_LIMIT_BYTES] [-t SECONDS] [ADDRESS [PORT]]
 *   -m  most clients at once (default 10000, but select stops near 1,017)
 *   -q  a client's queue is full at this many bytes (default 65536)
 *   -t  how long a queue may stay full before its client is dropped (default 3)
 *   ADDRESS a numeric IPv4/IPv6 address (default 127.0.0.1), PORT default 9999
 *
 * Partner: lesson 16's chat-client, or nc/telnet.
 *
 * Read: select(2) (BUGS: FD_SETSIZE), select_tut(2), accept(2), getrlimit(2)
 */
#include "report.h"
#include "chat.h"
#include "room.h"
#include "stop.h"

#include <errno.h>
#include <stdio.h>
#include <sys/select.h>

struct server {
    /* What we want to hear about; select gets copies (it overwrites them). */
    fd_set readers;                     /* every client in the room */
    fd_set writers;                     /* the clients with output queued */
    int maxfd;                          /* the highest fd in any set: nfds is maxfd + 1 */
    int base_maxfd;                     /* the higher of the stop pipe and the listener */
    struct room_client *by_fd[FD_SETSIZE];  /* select answers in fd numbers: whose is each */
    struct room room;                   /* the chat (common/room.h) */
};

/* The room's hook for a new connection: the wall. Every fd must pass here
 * before it goes anywhere near a set. */
static int below_the_wall(struct room *room, int fd)
{
    (void)room;
    // TODO: an fd of FD_SETSIZE or more cannot go into an fd_set (FD_SET would write past its end): refuse(fd, REFUSE_FD_SETSIZE, fd) and return -1 (the room goes on with the next).
    (void)fd;
    return 0;
}

/* c joins: from now on the loop listens to its fd. */
static int join(struct room *room, struct room_client *c)
{
    struct server *srv = room->loop;
    // TODO: register c with the loop: srv->by_fd[c->fd] = c, c->fd in srv->readers (FD_SET), and srv->maxfd raised if c->fd is higher.
    (void)srv, (void)c;
    return 0;
}

/* After a send to c: watch its socket for room only while output waits. */
static void want_output(struct room *room, struct room_client *c, int want)
{
    struct server *srv = room->loop;
    // TODO: ask select to watch c's socket for room (FD_SET in srv->writers) only while want is 1 (c's queue holds bytes); FD_CLR it otherwise.
    (void)srv, (void)c, (void)want;
}

/* c leaves (its fd is closed next): forget it, and maybe lower maxfd. */
static void leave(struct room *room, struct room_client *c)
{
    struct server *srv = room->loop;
    // TODO: take c->fd out of both sets and out of srv->by_fd; if it was srv->maxfd, lower maxfd to the highest fd still in use (never below srv->base_maxfd).
    (void)srv, (void)c;
}

static const struct room_hooks select_hooks = {
    .admit = below_the_wall, .join = join, .want_output = want_output, .leave = leave,
};

/* The event loop: wait for whatever is ready, do it, never wait inside. */
static void serve(struct server *srv)
{
    struct room *room = &srv->room;
    while (!stop_requested()) {
        int timeout = room_next_timeout(room);  /* also: when a full queue's grace ends */
        /* select() overwrites its sets with the ready descriptors: it gets
         * copies, made fresh each turn, and srv keeps what we want to hear. */
        fd_set can_read, can_write;
        // TODO: copy srv->readers into can_read (FD_ZERO it instead while room->nfull > 0: that is the backpressure), and srv->writers into can_write.
        FD_ZERO(&can_read);
        FD_ZERO(&can_write);
        FD_SET(stop_fd(), &can_read);
        int accepting = !room_accept_paused(room);
        if (accepting)
            FD_SET(room->listener, &can_read);
        struct timeval tv = {.tv_sec = timeout / 1000, .tv_usec = timeout % 1000 * 1000};
        // TODO: wait in select(2) on can_read and can_write: nfds is one more than the highest fd (srv->maxfd); &tv as the timeout, or NULL when timeout is -1 (no deadline). EINTR: go round again (a stop signal ends the loop); other errors: die("select").
        (void)tv;
        break;
        /* New clients are not in this turn's copies; leaving ones are only
         * marked (closed at the end of the turn): no fd changes hands here. */
        int top = srv->maxfd;
        for (int fd = 0; fd <= top; fd++) {
            struct room_client *c = srv->by_fd[fd];
            if (c == NULL || c->gone[0])
                continue;
            // TODO: dispatch: fd set in can_read (and room->nfull still 0: a queue that filled up this turn stops the reading) -> room_read; set in can_write (and c not gone) -> room_flush.
        }
        if (accepting && FD_ISSET(room->listener, &can_read))
            room_accept(room);          /* accept until EAGAIN; below_the_wall first */
        room_end_turn(room);            /* the turn's lines leave; the departed go */
    }
}

int main(int argc, char **argv)
{
    static struct server srv;           /* static: by_fd (8 KB) stays off the stack */
    room_init(&srv.room, &select_hooks, &srv, 10000, argc, argv);
    /* No raise_fd_limit() here, unlike lesson 17: select cannot use a
     * descriptor past FD_SETSIZE, so more would only be refused later. */
    room_listen(&srv.room);
    if (srv.room.listener >= FD_SETSIZE || stop_fd() >= FD_SETSIZE)  /* started with 1,020 fds open? */
        die_msg("chat-server: the listener or the stop pipe is past FD_SETSIZE");
    FD_ZERO(&srv.readers);
    FD_ZERO(&srv.writers);
    srv.base_maxfd = srv.room.listener > stop_fd() ? srv.room.listener : stop_fd();
    srv.maxfd = srv.base_maxfd;
    if (announce_listening(srv.room.listener) == -1)
        die("getsockname");

    serve(&srv);
    room_shutdown(&srv.room);
    return 0;
}
