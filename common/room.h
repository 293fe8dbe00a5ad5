/*
 * room.h - the chat room of a single-threaded event-loop server.
 *
 * Lesson 17 writes it raw, around poll(2): each client's line cutter and
 * output queue, the protocol (chat.h), a turn's lines batched into one send
 * per client, short sends, backpressure with a grace time, departures marked
 * during a turn and reaped at its end, accepting with a spare descriptor for
 * EMFILE, and the shutdown. None of that depends on how the loop waits, so
 * the later event loops (lesson 19: select, lesson 20: epoll) take it from
 * here and keep only what is theirs: the waiting call, the dispatch of what
 * it reports, and telling the kernel what they wait for.
 *
 * The loop talks to the room with calls, and the room to the loop with
 * hooks (struct room_hooks): a client joins or leaves, its queue holds bytes
 * or is empty again (so the loop asks for writability, or stops asking: a
 * socket is nearly always writable, and asking with nothing to send is a
 * busy loop), and a new connection may be refused for the loop's own reason.
 *
 * One turn of a loop:
 *
 *   int timeout = room_next_timeout(&room);    drops stalled clients, reaps
 *   wait (poll, select, epoll_wait), for at most timeout ms (-1: no deadline),
 *        asking for no client's input while room.nfull > 0 (backpressure)
 *   a readable client: room_read; a writable one: room_flush;
 *   the listener: room_accept (or the loop's own accept and room_admit)
 *   room_end_turn(&room);                      the turn's lines leave; the gone go
 *
 * Everything is single-threaded: no call blocks (every socket is
 * non-blocking), and no client is freed while the loop may still hold a
 * pointer to it: room_depart only marks it; room_next_timeout and
 * room_end_turn take the marked ones out.
 *
 * Read: docs/17-chat-poll.md (the room, written out), send(2), recv(2),
 *       accept(2), tcp(7), fcntl(2)
 */
#ifndef WORKBOOK_ROOM_H
#define WORKBOOK_ROOM_H

#include "chat.h"
#include "net.h"

#include <stddef.h>
#include <time.h>

struct room;

/* One client. A loop that needs fields of its own (epoll's ready list) puts
 * a struct room_client first in its own struct and sets hooks.client_size:
 * a pointer to the one is then a pointer to the other (C11 6.7.2.1). */
struct room_client {
    int fd;                             /* non-blocking */
    struct room_client *prev, *next;    /* the room, in join order */
    struct room_client *next_dirty;     /* on the list of queues to send this turn */
    int dirty;
    char gone[CHAT_REASON_MAX];         /* "" while in the room, else why it leaves */
    struct room_client *next_gone;
    char addr[ADDRESS_TEXT_MAX];
    char name[NAME_LEN + 1];            /* "" until /nick: then the address is shown */
    struct line_cutter cut;             /* the line read so far (chat.h)... */
    char line[MAX_LINE + 1];            /* ...is put together here */
    struct out_queue out;               /* what the kernel has not taken yet (chat.h) */
    int mid_line;                       /* the kernel took only part of a line so far */
    int full;                           /* the queue reached -q... */
    double full_since;                  /* ...at this time (now_ms) */
};

struct room_hooks {
    /* Bytes per client, for a loop's own struct that starts with a struct
     * room_client; 0: just that. */
    size_t client_size;
    /* May a new connection fd join? 0: yes; -1: the hook refused it (refuse()
     * from chat.h: told, closed, logged). NULL: every fd may. */
    int (*admit)(struct room *room, int fd);
    /* c (c->fd) joins: start watching it for input. 0, or -1 when it cannot
     * be watched (the hook says why): c is then freed and its fd closed. */
    int (*join)(struct room *room, struct room_client *c);
    /* After each send to c: its queue still holds bytes (want 1: ask to hear
     * when the kernel has room) or is empty (want 0: stop asking). Not called
     * for a client that is leaving. */
    void (*want_output)(struct room *room, struct room_client *c, int want);
    /* c leaves, just before its fd is closed: forget it. */
    void (*leave)(struct room *room, struct room_client *c);
};

struct room {
    struct room_client *first, *last;   /* the room in join order */
    struct room_client *dirty;          /* queues that grew this turn */
    struct room_client *gone;           /* marked to leave */
    long count;                         /* clients in the room */
    long nfull;                         /* queues that are full: while > 0, read from nobody */
    struct chat_options opt;            /* -m, -q, -t, -a, address, port */
    int listener, spare_fd;             /* spare_fd: /dev/null, kept for EMFILE */
    time_t accept_paused_until;         /* out of descriptors with no spare: until then */
    const struct room_hooks *hooks;
    void *loop;                         /* the loop's own state, for its hooks */
};

/* Fill room with the defaults (-m max_clients, -q 65536, -t 3, 127.0.0.1
 * 9999), parse the command line (parse_chat_options: a bad one exits), and
 * make stdout line-buffered (the log). */
void room_init(struct room *room, const struct room_hooks *hooks, void *loop,
               long max_clients, int argc, char **argv);

/* stop_init (SIGINT and SIGTERM write to stop_fd()), the spare descriptor,
 * and a non-blocking listener with a backlog of SOMAXCONN. Exits on failure. */
void room_listen(struct room *room);

/* A client's name, or its address until it takes one. */
const char *room_who(const struct room_client *c);

/* Drop every client whose queue stayed full for the grace time, reap the
 * departed, and return how long the loop may wait (ms): until the next such
 * deadline, at most a second while accepting is paused; -1: no deadline. */
int room_next_timeout(struct room *room);

/* c's socket is readable (or hung up): one recv(2) of up to 64 KiB, every
 * complete line in it handled. 1: c may hold more (bytes came, or EINTR);
 * 0: it is drained (EAGAIN), or it is leaving (end of stream, error, /quit). */
int room_read(struct room *room, struct room_client *c);

/* Send what c's queue holds, as much as the kernel takes now (short sends,
 * EAGAIN), then tell the loop whether bytes remain (hooks.want_output). */
void room_flush(struct room *room, struct room_client *c);

/* Mark c to leave, for why, or when why is NULL for the error err ("reset",
 * "error: ENAME"). Nothing more is read from or sent to it. */
void room_depart(struct room *room, struct room_client *c, const char *why, int err);

/* The end of a turn: each queue that grew is sent, in one send if the
 * kernel takes it, and the departed are taken out (and the room told). */
void room_end_turn(struct room *room);

/* accept(2) on the listener until EAGAIN (at most 1024 a turn), each new
 * socket made non-blocking (accept does not pass O_NONBLOCK on, accept(2)
 * NOTES) and handed to room_admit. */
void room_accept(struct room *room);

/* A new, non-blocking connection: the loop's admit hook, then the -m limit
 * ("* server full"), then it joins: hooks.join, "* ADDR joined", the welcome. */
void room_admit(struct room *room, int fd);

/* accept (named call, for the warning) failed with err. EMFILE or ENFILE:
 * the spare descriptor is closed, the waiting connection accepted, told why
 * and closed, the spare opened again; with no spare, accepting pauses for a
 * second (room_accept_paused). Returns 1: accept again; 0: stop for this
 * turn (EAGAIN: the queue is empty; or paused). */
int room_accept_failed(struct room *room, const char *call, int err);

/* 1 while accepting is paused (the loop leaves the listener out), 0 once
 * the pause is over. */
int room_accept_paused(struct room *room);

/* On a stop signal: "* server shutting down" to every client (never
 * waiting), every socket closed, the listener and the spare too. */
void room_shutdown(struct room *room);

#endif
