/*
 * chat.h - the chat protocol, written once for every chat server.
 *
 * Lessons 15 (a thread per client), 17 (one thread, poll) and the later
 * chat servers speak the same protocol; what they differ in is how they wait
 * for many clients at once. So the protocol lives here: its limits, the
 * replies, the log line, the name rules, what a command is, the cleaning of
 * control bytes, and the cutting of lines out of a byte stream. A server keeps
 * only its concurrency: who reads, who writes, who waits, and when.
 *
 * The protocol (docs/15-chat-server.md): a line is at most MAX_LINE bytes and
 * ends with "\n" (one "\r" before it is dropped); a line is said to everyone
 * else as "NAME: TEXT"; "/nick NAME", "/who" and "/quit" are commands; every
 * reply from the server starts with "* ".
 *
 * Nothing here does socket I/O, except refuse() (one send that never waits,
 * then close); log_event writes to stdout.
 */
#ifndef WORKBOOK_CHAT_H
#define WORKBOOK_CHAT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define MAX_LINE 1000           /* bytes in a chat line, not counting "\n" */
#define NAME_LEN 20             /* /nick NAME: 1-20 of [A-Za-z0-9_-] */
#define COMMANDS "commands: /nick NAME, /who, /quit"
/* Room for one formatted line: a name or an address, a whole chat line, "\n". */
#define CHAT_TEXT_MAX (MAX_LINE + 200)

/* The replies, as printf formats (the server adds "\n"). */
#define SAID           "%s: %s"                 /* who, line */
#define WELCOME        "* welcome %s; " COMMANDS  /* address */
#define JOINED         "* %s joined"            /* address */
#define LEFT           "* %s left"              /* who */
#define YOU_ARE_NOW    "* you are now %s"       /* new name */
#define IS_NOW         "* %s is now %s"         /* old, new */
#define NAME_TAKEN     "* name %s is taken"
#define INVALID_NAME   "* invalid name (1-20 of A-Z a-z 0-9 _ -)"
#define UNKNOWN        "* unknown command; " COMMANDS
#define BYE            "* bye"
#define LINE_TOO_LONG  "* line too long (max 1000 bytes), dropped"
#define SHUTTING_DOWN  "* server shutting down"
#define TOO_SLOW       "* too slow, disconnected"

/* Joins and departures ("* X joined", "* X left") are told to the others
 * only in a room of at most -a clients (default ANNOUNCE_MAX), counting the
 * one who comes or goes. Each notice is a line for everyone, so filling a
 * room of N costs N*N/2 lines: 198 million (5 GB) for 19,900 clients, more
 * than any way of waiting can send in time (docs/20-chat-epoll.md). Twitch's
 * chat stops its JOIN and PART messages at 1,000 users for the same reason.
 * /who still lists everyone. */
#define ANNOUNCE_MAX 1000
/* 1 if a join or a departure in a room of room_size clients (the one who
 * comes or goes included) is told to the others (opt->announce_max), else 0. */
struct chat_options;
int announced(const struct chat_options *opt, long room_size);

/* One log line on stdout, "[2026-11-24 10:15:02] join 127.0.0.1:40312 (1 online)",
 * written with one printf: stdio locks the stream for each call
 * (flockfile(3)), so lines from several threads never mix. */
void log_event(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Format one line of at most CHAT_TEXT_MAX - 1 bytes into text (cut there if
 * longer) and add "\n"; returns its length with the "\n" (no NUL counted). */
size_t format_line(char text[CHAT_TEXT_MAX], const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The same with a va_list, for a server's own printf-like tell(). */
size_t vformat_line(char text[CHAT_TEXT_MAX], const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* The answer to /who: "* online (3): a, bob, 127.0.0.1:40312\n" for the
 * count names in join order, in a malloc'ed buffer (free it); its length in
 * *len. NULL when out of memory. */
char *format_who(const char *const names[], size_t count, size_t *len);

/* 1 if name is 1 to NAME_LEN of A-Z a-z 0-9 _ -, else 0. */
int valid_name(const char *name);

/* What a line asks for. CMD_NICK: *name points at the wanted name in line
 * (it may be invalid or "": check it with valid_name). */
enum chat_command { CMD_SAY, CMD_NICK, CMD_WHO, CMD_QUIT, CMD_UNKNOWN };
enum chat_command parse_command(const char *line, const char **name);

/* Turn each control byte of line[0..len) (0x00-0x1F but TAB, and 0x7F) into
 * "?": an ESC could drive another user's terminal, a NUL would cut the line
 * short as a C string. UTF-8 (0x80 and up) passes. */
void clean_line(char *line, size_t len);

/*
 * Turn a connection away that the server cannot keep, giving the real reason:
 *   REFUSE_FULL       "* server full (N clients), try again later"  (value: N)
 *   REFUSE_NO_FDS     "* out of file descriptors (EMFILE), ..."  (value: errno)
 *   REFUSE_NO_THREAD  "* cannot start a thread (EAGAIN), ..."    (value: errno)
 *   REFUSE_FD_SETSIZE "* server full (fd 1024 >= FD_SETSIZE 1024), ..."  (value: the fd;
 *                     select(2) cannot watch it: lesson 19)
 * One send that never waits (a new socket has room for one line), then
 * close(2), then the log line "refused ADDRESS: REASON".
 */
enum refusal { REFUSE_FULL, REFUSE_NO_FDS, REFUSE_NO_THREAD, REFUSE_FD_SETSIZE };
void refuse(int fd, enum refusal why, long value);

/* Best effort, never waiting: one send(2) with MSG_DONTWAIT of what the
 * socket's buffer takes now (tried again only after EINTR); the rest is lost.
 * For last words to a client that may never read (refuse, goodbyes). */
void send_now(int fd, const char *text, size_t len);

/* Close a client's socket so that it sees FIN after our last bytes, not RST:
 * close(2) with unread input resets the connection (tcp(7)), which can
 * destroy a goodbye still in flight. So shutdown(SHUT_WR), read what waits
 * (without waiting), then close. */
void close_gently(int fd);

/* Why a client left, for the log: "reset" (ECONNRESET, EPIPE) or
 * "error: ENAME", into why (CHAT_REASON_MAX bytes). */
#define CHAT_REASON_MAX 64
void leave_reason(char why[CHAT_REASON_MAX], int err);

/* Each client costs a descriptor: raise the soft RLIMIT_NOFILE to the hard
 * limit (getrlimit(2)); a failure is a warning, the server runs anyway. */
void raise_fd_limit(void);

/*
 * An output queue: the bytes one client has still to receive, in order. The
 * server appends whole lines at the back; its sender takes from the front
 * (head += what the kernel took). Only the memory is managed here; who sends,
 * and when, is the server's own concurrency. free(q->buf) at the end.
 */
struct out_queue {
    char *buf;                  /* pending bytes: buf[head..len) */
    size_t head, len, cap;
};

/* Bytes still pending in q. */
size_t queued(const struct out_queue *q);

/* Append n bytes, first moving the pending bytes to the front or growing the
 * buffer when they do not fit: 0, or -1 when out of memory (q unchanged). */
int queue_append(struct out_queue *q, const char *text, size_t n);

/* Last words to a departing client, never waiting (send_now): the rest of
 * the line the kernel took only part of (mid_line: q's head is inside a
 * line), then notice (NULL: none; "\n" is added), so the client's stream
 * ends on whole lines. The rest of q is forfeit. */
void send_goodbye(int fd, const struct out_queue *q, int mid_line, const char *notice);

/*
 * The chat server's options, the same for every one of them:
 *   chat-server [-m MAX_CLIENTS] [-q QUEUE_LIMIT_BYTES] [-t SECONDS] [-a ANNOUNCE_MAX] [ADDRESS [PORT]]
 * Fill opt with the server's defaults, then call parse_chat_options: -h prints
 * the usage on stdout and exits 0; a bad argument prints one error and the
 * usage on stderr and exits 1.
 */
struct chat_options {
    long max_clients;           /* -m: most clients at once; one more is refused */
    size_t queue_limit;         /* -q: a client's queue is full at this many bytes */
    long grace_seconds;         /* -t: how long a queue may stay full */
    long announce_max;          /* -a: joins and departures told up to this room size */
    const char *host;           /* a numeric address */
    uint16_t port;              /* 0: the kernel picks one */
};
#define CHAT_USAGE "usage: chat-server [-m MAX_CLIENTS] [-q QUEUE_LIMIT_BYTES] [-t SECONDS] [-a ANNOUNCE_MAX] [ADDRESS [PORT]]"
void parse_chat_options(struct chat_options *opt, int argc, char **argv);

/*
 * The line cutter: TCP keeps no message boundaries (lesson 10), so lines are
 * cut out of whatever bytes arrive, a byte or a megabyte at a time. Feed it
 * the bytes; it tells you when a line is complete. It does no I/O: read_line
 * (net.h) feeds it from recv, a chat server from its own reads, a fuzzer from
 * memory.
 *
 *   struct line_cutter cut;
 *   char line[MAX_LINE + 1];
 *   line_cutter_init(&cut, line, sizeof line);
 *   ... n bytes arrived in buf:
 *   for (size_t off = 0, used; off < n; off += used)
 *       switch (cut_line(&cut, buf + off, n - off, &used)) {
 *       case CUT_LINE:     the line is cut.line[0..cut.len), NUL-terminated
 *       case CUT_TOO_LONG: cut.line holds its first size-1 bytes; the rest,
 *                          up to its "\n", will be skipped
 *       case CUT_NONE:     all n - off bytes used, no line complete yet
 *       }
 *
 * A line ends at "\n"; one "\r" before it is dropped. A line whose text
 * (without "\n" or "\r\n") is longer than size-1 bytes is reported
 * CUT_TOO_LONG as soon as that is certain, once. "abcdefg\r\n" fits a size
 * of 8. A line may hold NUL bytes (cut.len counts them).
 */
struct line_cutter {
    char *line;                 /* where the line is put together: size bytes */
    size_t size;
    size_t len;                 /* bytes of the current line in line[] */
    int held_cr;                /* a "\r" came when line was full: "\n" next? */
    int discarding;             /* skipping the rest of an over-long line */
    int done;                   /* the last call handed out a line */
};

enum cut_result { CUT_NONE, CUT_LINE, CUT_TOO_LONG };

void line_cutter_init(struct line_cutter *cut, char *line, size_t size);

/* Use bytes of data[0..n) up to the end of the next line; *used says how many.
 * Returns CUT_LINE or CUT_TOO_LONG, or CUT_NONE when all n were used. */
enum cut_result cut_line(struct line_cutter *cut, const char *data, size_t n, size_t *used);

/* The stream ended: a last line without "\n" (CUT_LINE, or CUT_TOO_LONG when
 * only its "\r" did not fit), or CUT_NONE when nothing is pending. */
enum cut_result cut_end(struct line_cutter *cut);

#endif
