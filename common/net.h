/*
 * net.h - the small socket helper layer later lessons share.
 *
 * Each helper is first written out raw in the lesson that teaches it
 * (send_all in lesson 09, read_line in lessons 10-11, the listening socket in
 * lessons 06-08); from then on lessons call these instead, so a program shows
 * its own lesson's idea and not the plumbing again.
 *
 * Contract, as in Kerrisk's library: a helper returns -1 with errno set and
 * never exits or prints; the caller decides whether a failure ends the
 * program (die) or one connection (warn_errno and close).
 */
#ifndef WORKBOOK_NET_H
#define WORKBOOK_NET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

/* Room for "[ffff:...:ffff]:65535" and a NUL. */
#define ADDRESS_TEXT_MAX (INET6_ADDRSTRLEN + 10)

/* Write sa as "127.0.0.1:9999" or "[::1]:9999" into buf; returns buf. */
char *format_address(const struct sockaddr *sa, char *buf, size_t size);

/*
 * Fill *ss (zeroed first) and *len from a numeric IPv4 or IPv6 address and
 * a port, both in network byte order (lesson 06 writes this out). 0, or -1
 * if text is not a numeric address.
 */
int numeric_address(const char *text, uint16_t port, struct sockaddr_storage *ss, socklen_t *len);

/* The local address of fd (getsockname) as text; -1 with errno on failure. */
int local_address(int fd, char *buf, size_t size);

/* The peer's address of fd (getpeername) as text; -1 with errno on failure. */
int peer_address(int fd, char *buf, size_t size);

/*
 * A listening TCP socket on a numeric HOST ("127.0.0.1", "::1", "0.0.0.0") and
 * PORT (0 lets the kernel choose), with SO_REUSEADDR set before bind (see
 * lesson 06) and the given listen backlog (lesson 07). Returns the fd, or -1
 * with errno set and *failed naming the call that failed ("bind", ...).
 */
int tcp_listen(const char *host, uint16_t port, int backlog, const char **failed);

/*
 * A TCP connection to HOST (a name or a numeric address) and PORT, trying
 * each address getaddrinfo(3) gives, IPv4 or IPv6, until one connects
 * (lesson 12). Returns the fd, or -1 with *failed naming what failed:
 * "socket" or "connect" with errno set (the last address's), or a resolver
 * failure ("getaddrinfo HOST: Name or service not known") with errno 0.
 */
int tcp_connect(const char *host, uint16_t port, const char **failed);

/*
 * Connect fd to addr, waiting at most ms milliseconds (lesson 03): a
 * non-blocking connect(2), poll(2) for POLLOUT, then SO_ERROR says how it
 * ended. fd is blocking again afterwards. 0, or -1 with errno (ETIMEDOUT when
 * the time ran out, ECONNREFUSED, ...). ms -1: as long as the kernel tries.
 */
int connect_deadline(int fd, const struct sockaddr *addr, socklen_t len, int ms);

/* Make fd non-blocking (on = 1) or blocking (on = 0) with fcntl(2) F_SETFL,
 * keeping its other flags (lesson 03). 0, or -1 with errno. */
int set_nonblocking(int fd, int on);

/* Milliseconds on CLOCK_MONOTONIC, with fractions: for deadlines and timings,
 * never affected by setting the date (clock_gettime(2)). */
double now_ms(void);

/* Print "listening on ADDRESS:PORT" for a listening fd and flush stdout: the
 * line a person reads and the tests wait for. -1 with errno on failure. */
int announce_listening(int fd);

/*
 * MSG_NOSIGNAL (Linux, POSIX 2008) makes one send fail with EPIPE instead of
 * raising SIGPIPE (lesson 09). Systems without it (older macOS, some BSDs)
 * get 0 here, and no_sigpipe(fd) sets their per-socket SO_NOSIGPIPE instead:
 * call it on each connected socket you send on (send_all does). On Linux it
 * does nothing. 0, or -1 with errno.
 */
#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif
int no_sigpipe(int fd);

/* Send all len bytes, retrying after EINTR and short sends (lesson 09).
 * Never raises SIGPIPE (MSG_NOSIGNAL): a gone peer is EPIPE. 0, or -1 with errno.
 * Once SIGINT/SIGTERM asked a program to stop (stop.h), it gives up with EINTR
 * instead of sending on: the peer might never read. */
int send_all(int fd, const void *buf, size_t len);

/*
 * Line reading over a byte stream (lessons 10-11): TCP keeps no message
 * boundaries, so lines are cut out of a buffer that recv fills.
 */
struct line_reader {
    int fd;
    size_t start, end;          /* unread bytes are buf[start..end) */
    int discarding;             /* dropping the rest of an over-long line */
    char buf[4096];
};

void line_reader_init(struct line_reader *reader, int fd);

/*
 * Read the next line into line (at most size-1 bytes and a NUL), without its
 * "\n" or "\r\n". Returns 1 for a line, 0 at end of stream (a last line with no
 * newline is returned as a line first, as it is), -1 with errno on error. A
 * line whose text (without "\n" or "\r\n") is longer than size-1 bytes is cut
 * there and *truncated set to 1 (the rest of it is skipped); otherwise
 * *truncated is 0: "abcdefg\r\n" fits a size of 8. truncated may be NULL.
 * It waits in wait_or_stop (stop.h): once a stop is asked, -1 with EINTR,
 * whenever the signal came; other signals' EINTR is retried.
 */
int read_line(struct line_reader *reader, char *line, size_t size, int *truncated);

#endif
