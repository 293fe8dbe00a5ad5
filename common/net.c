/*
 * net.c - the shared socket helpers (see net.h for each one's contract).
 */
#include "net.h"
#include "chat.h"
#include "stop.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>


char *format_address(const struct sockaddr *sa, char *buf, size_t size)
{
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;

    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        port = ntohs(in->sin_port);
        snprintf(buf, size, "%s:%u", host, port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        port = ntohs(in6->sin6_port);
        snprintf(buf, size, "[%s]:%u", host, port);
    } else {
        snprintf(buf, size, "(family %d)", sa->sa_family);
    }
    return buf;
}

int numeric_address(const char *text, uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, text, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons(port);
        *len = sizeof *in4;
        return 0;
    }
    if (inet_pton(AF_INET6, text, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        *len = sizeof *in6;
        return 0;
    }
    return -1;
}

int local_address(int fd, char *buf, size_t size)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
        return -1;
    format_address((struct sockaddr *)&ss, buf, size);
    return 0;
}

int peer_address(int fd, char *buf, size_t size)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getpeername(fd, (struct sockaddr *)&ss, &len) == -1)
        return -1;
    format_address((struct sockaddr *)&ss, buf, size);
    return 0;
}

int tcp_listen(const char *host, uint16_t port, int backlog, const char **failed)
{
    char port_text[8];          /* getaddrinfo takes the service as text */
    snprintf(port_text, sizeof port_text, "%u", (unsigned)port);
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC,
        .ai_socktype = SOCK_STREAM,
        .ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV,
    };
    struct addrinfo *res;
    int rc = getaddrinfo(host, port_text, &hints, &res);
    if (rc != 0) {
        /* Not an errno: a numeric host or port that does not parse. */
        *failed = "getaddrinfo (expected a numeric address and port)";
        errno = EINVAL;
        return -1;
    }
    int fd = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
    if (fd == -1) {
        *failed = "socket";
        goto fail;
    }
    int on = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == -1) {
        *failed = "setsockopt SO_REUSEADDR";
        goto fail;
    }
    if (bind(fd, res->ai_addr, res->ai_addrlen) == -1) {
        *failed = "bind";
        goto fail;
    }
    if (listen(fd, backlog) == -1) {
        *failed = "listen";
        goto fail;
    }
    freeaddrinfo(res);
    return fd;

fail:;
    int saved = errno;
    if (fd != -1)
        close(fd);
    freeaddrinfo(res);
    errno = saved;
    return -1;
}

int announce_listening(int fd)
{
    char where[ADDRESS_TEXT_MAX];
    if (local_address(fd, where, sizeof where) == -1)
        return -1;
    printf("listening on %s\n", where);
    fflush(stdout);
    return 0;
}

int no_sigpipe(int fd)
{
#ifdef SO_NOSIGPIPE
    int on = 1;
    return setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &on, sizeof on);
#else
    (void)fd;       /* Linux: MSG_NOSIGNAL on each send does it */
    return 0;
#endif
}

int send_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    if (no_sigpipe(fd) == -1)
        return -1;
    while (len > 0) {
        // A stop signal (stop.h) cuts a blocked send short or makes it fail
        // with EINTR; sending on could block forever on a client that never
        // reads, so give up instead.
        if (stop_requested()) {
            errno = EINTR;
            return -1;
        }
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n == -1) {
            if (errno == EINTR)
                continue;       /* another signal: the test above decides */
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

void line_reader_init(struct line_reader *reader, int fd)
{
    reader->fd = fd;
    reader->start = reader->end = 0;
    reader->discarding = 0;
}

int read_line(struct line_reader *reader, char *line, size_t size, int *truncated)
{
    /* Cutting lines is chat.h's line cutter, the same one the chat servers
     * use; what is left here is the I/O: recv more when the buffer is used up. */
    struct line_cutter cut;
    line_cutter_init(&cut, line, size);
    cut.discarding = reader->discarding;
    enum cut_result got;
    for (;;) {
        size_t used;
        got = cut_line(&cut, reader->buf + reader->start, reader->end - reader->start, &used);
        reader->start += used;
        if (got != CUT_NONE)
            break;
        /* Wait in poll for bytes or a stop (stop.h): a SIGTERM that lands
         * just before recv would block must not be lost. */
        int ready = wait_or_stop(reader->fd, POLLIN);
        if (ready != 1) {
            if (ready == 0)
                errno = EINTR;
            return -1;
        }
        ssize_t n = recv(reader->fd, reader->buf, sizeof reader->buf, 0);
        if (n == -1 && errno == EINTR)
            continue;                   /* wait_or_stop looks at the stop */
        if (n == -1)
            return -1;
        if (n == 0) {
            got = cut_end(&cut);        /* a last line without a newline? */
            if (got == CUT_NONE)
                return 0;
            break;
        }
        reader->start = 0;
        reader->end = (size_t)n;
    }
    reader->discarding = cut.discarding;
    if (truncated)
        *truncated = got == CUT_TOO_LONG;
    return 1;
}

int tcp_connect(const char *host, uint16_t port, const char **failed)
{
    /* Thread-local: a resolver failure's text, for *failed. */
    static _Thread_local char resolver_failure[160];
    char port_text[8];
    snprintf(port_text, sizeof port_text, "%u", (unsigned)port);
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC,
        .ai_socktype = SOCK_STREAM,
        .ai_flags = AI_NUMERICSERV,
    };
    struct addrinfo *list;
    int rc = getaddrinfo(host, port_text, &hints, &list);
    if (rc != 0) {
        /* EAI_* codes are not errno values: the text says it all. */
        snprintf(resolver_failure, sizeof resolver_failure, "getaddrinfo %s: %s",
                 host, gai_strerror(rc));
        *failed = resolver_failure;
        errno = 0;
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *ai = list; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd == -1) {
            *failed = "socket";
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        *failed = "connect";
        int saved = errno;
        close(fd);              /* a failed connect leaves the socket unusable */
        errno = saved;
        fd = -1;
    }
    int saved = errno;
    freeaddrinfo(list);
    errno = saved;
    return fd;
}

int set_nonblocking(int fd, int on)
{
    int flags = fcntl(fd, F_GETFL);
    if (flags == -1)
        return -1;
    flags = on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK;
    return fcntl(fd, F_SETFL, flags);
}

int connect_deadline(int fd, const struct sockaddr *addr, socklen_t len, int ms)
{
    if (set_nonblocking(fd, 1) == -1)
        return -1;
    /* EINPROGRESS: the SYN is sent, the handshake not done (connect(2)). */
    int err = 0;
    if (connect(fd, addr, len) == -1) {
        err = errno;
        if (err == EINPROGRESS) {
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            int ready;
            do {
                ready = poll(&p, 1, ms);
            } while (ready == -1 && errno == EINTR);
            socklen_t err_len = sizeof err;
            if (ready == 0)
                err = ETIMEDOUT;        /* our deadline, not the kernel's */
            else if (ready == -1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &err_len) == -1)
                err = errno;            /* SO_ERROR: how the handshake ended */
        }
    }
    if (set_nonblocking(fd, 0) == -1 && err == 0)
        err = errno;
    if (err != 0) {
        errno = err;
        return -1;
    }
    return 0;
}

double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}
