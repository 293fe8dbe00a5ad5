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
 * The room itself (the protocol, each client's queue, short sends, the
 * backpressure with a grace time, EMFILE, the shutdown) is lesson 17's, from
 * common/room.h. Its backpressure here: while any queue is full the loop
 * simply stops taking clients off `ready`.
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
 *       recv(2), getrlimit(2)
 */
#define _GNU_SOURCE             /* accept4(2) is a Linux call */
#include "chat.h"
#include "report.h"
#include "room.h"
#include "stop.h"

#include <errno.h>
#include <stdint.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#define ACCEPTS_PER_TURN 1024   /* then serve the room before accepting more */
#define EVENTS_PER_WAIT 1024    /* epoll_wait hands over at most this many at once */
#define OWN_FDS 10              /* kept back from the limit: stdio, epoll, pipe, listener, spare */

/* A client of the room, plus what edge-triggering needs to know of it. */
struct client {
    struct room_client rc;              /* first: a room_client * is a client * */
    struct client *next_ready;          /* on the list of sockets that may hold input */
    int on_ready;
    int watching_out;                   /* EPOLLOUT is in its epoll interest */
};

struct server {
    int ep;                             /* the epoll instance */
    int accept_ready;                   /* the listener may have connections waiting */
    struct client *ready, *ready_tail;  /* may hold unread input: read until EAGAIN */
    struct room room;                   /* the chat (common/room.h) */
};

/* Register fd with epoll, or change what it watches; data.ptr says who it is. */
static int watch(struct server *srv, int op, int fd, uint32_t events, void *who)
{
    struct epoll_event ev = {.events = events, .data.ptr = who};
    return epoll_ctl(srv->ep, op, fd, &ev);
}

/* The room's hook for a new client: watch it edge-triggered for input and
 * for the peer's end of stream (EPOLLRDHUP). */
static int join(struct room *room, struct room_client *rc)
{
    struct server *srv = room->loop;
    // TODO: register rc->fd with epoll (EPOLL_CTL_ADD): EPOLLIN | EPOLLRDHUP | EPOLLET, data.ptr = rc. On failure warn_errno("epoll_ctl") and return -1 (the room frees the client and closes its fd). Why is no EPOLLOUT asked for here?
    (void)srv, (void)rc, (void)watch;
    return 0;
}

/* After a send: room to write is watched only while the queue holds bytes.
 * A socket is nearly always writable: level-triggered, an EPOLLOUT asked
 * for with nothing to send comes back from every epoll_wait (a busy loop);
 * the interest list says what the server really waits for. */
static void want_output(struct room *room, struct room_client *rc, int want)
{
    struct server *srv = room->loop;
    struct client *c = (struct client *)rc;
    if (c->watching_out == want)
        return;                         /* an epoll_ctl only when it changes */
    // TODO: EPOLL_CTL_MOD rc->fd to EPOLLIN | EPOLLRDHUP | EPOLLET, plus EPOLLOUT when want is 1 (data.ptr = rc); note it in c->watching_out. A failure is warn_errno("epoll_ctl").
    (void)srv;
}

/* c may hold input we have not read: put it on the ready list (once). */
static void mark_ready(struct server *srv, struct client *c)
{
    if (c->on_ready || c->rc.gone[0])
        return;
    c->on_ready = 1;
    c->next_ready = NULL;
    if (srv->ready_tail)
        srv->ready_tail->next_ready = c;
    else
        srv->ready = c;
    srv->ready_tail = c;
}

/* The room's hook for a client that leaves: off the ready list. (Closing
 * its fd takes it out of the epoll instance: epoll(7), Q6.) */
static void leave(struct room *room, struct room_client *rc)
{
    struct server *srv = room->loop;
    struct client *c = (struct client *)rc, *prev = NULL;
    for (struct client *r = srv->ready; c->on_ready && r != NULL; prev = r, r = r->next_ready)
        if (r == c) {
            if (prev) prev->next_ready = r->next_ready; else srv->ready = r->next_ready;
            if (srv->ready_tail == r) srv->ready_tail = prev;
            break;
        }
}

static const struct room_hooks epoll_hooks = {
    .client_size = sizeof(struct client),
    .join = join, .want_output = want_output, .leave = leave,
};

/* One turn's reading: a chunk from each client on the ready list, in order,
 * unless a queue is full (backpressure: leave them waiting, still listed). */
static void read_ready(struct server *srv)
{
    struct client *end = srv->ready_tail;
    while (srv->ready != NULL && srv->room.nfull == 0) {
        struct client *c = srv->ready;
        srv->ready = c->next_ready;
        if (srv->ready == NULL)
            srv->ready_tail = NULL;
        c->on_ready = 0;
        // TODO: one chunk: room_read(&srv->room, &c->rc) unless c is gone. It returns 1 when c may hold more (bytes came), 0 once recv said EAGAIN (or c left): then, and only then, c is off the list. While it may hold more, put it back (mark_ready): under EPOLLET no edge would ever bring it back.
        if (c == end)
            break;                      /* one chunk each per turn */
    }
}

/* The listener had an edge: accept until EAGAIN (a batch per turn). */
static void handle_new_connections(struct server *srv)
{
    for (int i = 0; i < ACCEPTS_PER_TURN; i++) {
        // TODO: fd = accept4(2) on srv->room.listener with SOCK_NONBLOCK | SOCK_CLOEXEC (one call: no fcntl). On EAGAIN/EWOULDBLOCK the queue is empty: clear srv->accept_ready and return. (Keep the error handling below.)
        int fd = -1;
        (void)srv;
        return;
        if (fd == -1) {
            if (!room_accept_failed(&srv->room, "accept4", errno))
                return;                 /* paused: out of descriptors, no spare */
            continue;                   /* refused with the reason, or that one only */
        }
        room_admit(&srv->room, fd);     /* -m, then the room: join, welcome */
    }
}

/* Each client costs one descriptor: take all the kernel allows, and say so
 * in the log. Unless -m says fewer, that many clients (but a few). */
static void use_every_descriptor(struct room *room)
{
    struct rlimit before, now;
    if (getrlimit(RLIMIT_NOFILE, &before) == -1)
        die("getrlimit RLIMIT_NOFILE");
    raise_fd_limit();
    if (getrlimit(RLIMIT_NOFILE, &now) == -1)
        die("getrlimit RLIMIT_NOFILE");
    long most = now.rlim_cur == RLIM_INFINITY ? 1000000 : (long)now.rlim_cur - OWN_FDS;
    if (room->opt.max_clients == 0 || room->opt.max_clients > most)
        room->opt.max_clients = most > 1 ? most : 1;
    log_event("open files: soft limit raised from %ld to the hard limit %ld: room for %ld clients",
              (long)before.rlim_cur, (long)now.rlim_cur, room->opt.max_clients);
}

int main(int argc, char **argv)
{
    static struct server srv;
    room_init(&srv.room, &epoll_hooks, &srv, 0, argc, argv);    /* 0 clients: as many as fds allow */
    use_every_descriptor(&srv.room);
    room_listen(&srv.room);
    /* The listener and the pipe are told apart from clients by data.ptr. */
    // TODO: create the epoll instance (epoll_create1(2), EPOLL_CLOEXEC) into srv.ep; watch srv.room.listener (EPOLLIN | EPOLLET, data.ptr = &srv.room.listener) and stop_fd() (EPOLLIN, data.ptr = NULL: a stop). die() on failure.
    if (announce_listening(srv.room.listener) == -1)
        die("getsockname");
    srv.accept_ready = 1;               /* a connection may be there already */

    static struct epoll_event events[EVENTS_PER_WAIT];
    while (!stop_requested()) {
        int timeout = room_next_timeout(&srv.room);     /* -1, or a full queue's deadline */
        /* Work we know of and no edge will announce: do not sleep. */
        if ((srv.ready && srv.room.nfull == 0) || (srv.accept_ready && !room_accept_paused(&srv.room)))
            timeout = 0;
        // TODO: n = epoll_wait(2) into events (EVENTS_PER_WAIT, this timeout); EINTR: go round again; other errors: die("epoll_wait"). Then for each event: data.ptr == NULL: a stop was asked, skip it; == &srv.room.listener: srv.accept_ready = 1; else a client c: any of EPOLLIN, EPOLLRDHUP, EPOLLHUP, EPOLLERR -> mark_ready (read to the end before believing the hang-up: lines may come first); EPOLLOUT -> room_flush.
        (void)timeout, (void)mark_ready, (void)events;
        break;
        read_ready(&srv);
        if (srv.accept_ready && !room_accept_paused(&srv.room))
            handle_new_connections(&srv);
        room_end_turn(&srv.room);       /* the turn's lines leave; the departed go */
    }
    room_shutdown(&srv.room);
    close(srv.ep);
    return 0;
}
