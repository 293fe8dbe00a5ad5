/*
 * errors.c - lesson 13: provoke, report and classify the common socket errors.
 *
 * Each CASE makes one failure happen on purpose, on loopback, with peers the
 * program creates itself (ports picked by the kernel), then prints one line:
 *     connect: ECONNREFUSED (Connection refused) -> ends this connection attempt; ...
 * the failing call, the errno name and message, and what a real program
 * should do about it. Exit status 0 when the case produced its error, 2 when
 * something else happened (e.g. "acces" run as root: the bind succeeds).
 *
 * usage: errors CASE
 *        CASE: refused addrinuse acces timedout reset pipe badf mfile
 *
 * Read: errno(3), connect(2), bind(2), send(2), recv(2), close(2), socket(2),
 *       poll(2), setrlimit(2), socket(7) (SO_LINGER, SO_ERROR), tcp(7), ip(7)
 */
#include "report.h"
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <unistd.h>

#define USAGE "usage: errors CASE   (CASE: refused addrinuse acces timedout reset pipe badf mfile)"
#define DEADLINE_MS 1000   /* how long the "timedout" case waits for connect */

/*
 * What an error means for the program that gets it. Three kinds:
 * the program cannot go on; this one connection (or attempt) is over; or the
 * call was merely interrupted or would block, and is simply made again.
 */
static const char *classify(int err)
{
    // TODO: return a sentence saying what err means for a program: which errors end the
    // TODO: program, which end one connection (or attempt), which say "try the call again",
    // TODO: and which are bugs in the code. errno(3) and each call's ERRORS section help.
    // TODO: The tests match the start of each sentence exactly as the chapter's table
    // TODO: (docs/13-errors.md) words it, e.g. "ends this connection attempt": use those words.
    (void)err;
    return "?";
}

/* The lesson's line: "CALL: ENAME (message) -> what to do". */
static int report(const char *call, int err, int expected)
{
    printf("%s: %s (%s) -> %s\n", call, errno_name(err), strerror(err), classify(err));
    if (err != expected) {
        printf("expected %s, got %s\n", errno_name(expected), errno_name(err));
        return 2;
    }
    return 0;
}

/* Every case ends the same way: the call failed as expected (0), failed
 * otherwise (2), or did not fail at all (2, with what that means). */
static int verdict(int failed, const char *call, int expected, const char *otherwise)
{
    if (failed)
        return report(call, errno, expected);
    printf("%s\n", otherwise);
    return 2;
}

/* A new IPv4 TCP socket, or die: setup, not the case's failure. */
static int tcp_socket(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd == -1)
        die("socket");
    return fd;
}

/* A listening socket on 127.0.0.1, port chosen by the kernel; its address in *addr. */
static int loopback_listener(int backlog, struct sockaddr_in *addr)
{
    const char *failed;
    int fd = tcp_listen("127.0.0.1", 0, backlog, &failed);
    if (fd == -1)
        die(failed);
    socklen_t len = sizeof *addr;
    if (getsockname(fd, (struct sockaddr *)addr, &len) == -1)
        die("getsockname");
    return fd;
}

/* Both ends of a loopback connection, or die (setup, not the case's
 * failure): the client's fd, and the server's in *conn. */
static int connected_pair(int *conn)
{
    struct sockaddr_in addr;
    int listener = loopback_listener(1, &addr);
    int fd = tcp_socket();
    if (connect(fd, (const struct sockaddr *)&addr, sizeof addr) == -1)
        die("connect (setup)");
    if ((*conn = accept(listener, NULL, NULL)) == -1)
        die("accept");
    close(listener);
    return fd;
}

/* refused: nothing listens on the port (a socket is bound there, not listening). */
static int case_refused(void)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    int holder = socket(AF_INET, SOCK_STREAM, 0);
    // Bound but not listening: the port is ours, so no one else can answer on it.
    if (holder == -1 || bind(holder, (struct sockaddr *)&addr, len) == -1 ||
        getsockname(holder, (struct sockaddr *)&addr, &len) == -1)
        die("bind (setup)");
    int fd = tcp_socket();
    int rc = verdict(connect(fd, (struct sockaddr *)&addr, len) == -1, "connect", ECONNREFUSED,
                     "connect succeeded: something listens on that port");
    close(fd);
    close(holder);
    return rc;
}

/* addrinuse: a second socket binds the port a listener holds. */
static int case_addrinuse(void)
{
    struct sockaddr_in addr;
    int listener = loopback_listener(1, &addr);
    int fd = tcp_socket();
    int rc = verdict(bind(fd, (struct sockaddr *)&addr, sizeof addr) == -1, "bind", EADDRINUSE,
                     "bind succeeded: the port was free");
    close(fd);
    close(listener);
    return rc;
}

/* acces: a port below 1024 without privilege (CAP_NET_BIND_SERVICE). */
static int case_acces(void)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(1),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = tcp_socket();
    int rc = verdict(bind(fd, (struct sockaddr *)&addr, sizeof addr) == -1, "bind 127.0.0.1:1", EACCES,
                     "bind 127.0.0.1:1 succeeded: this process may bind ports below 1024 (root?)");
    close(fd);
    return rc;
}

/*
 * Start a non-blocking connect and wait at most ms for it. Returns 0 when
 * connected, else -1 with errno: the connect's own error, or ETIMEDOUT when
 * the deadline passed first (the kernel alone would wait about two minutes).
 */
static int connect_within(int fd, const struct sockaddr_in *addr, int ms)
{
    // TODO: make fd non-blocking (fcntl(2) O_NONBLOCK), start connect(2) (EINPROGRESS is
    // TODO: expected), wait with poll(2) for POLLOUT at most ms, then read the result with
    // TODO: getsockopt SO_ERROR (socket(7)). A poll timeout becomes errno = ETIMEDOUT.
    (void)fd, (void)addr, (void)ms;
    errno = ENOSYS;
    return -1;
}

/*
 * timedout: a listener with backlog 0 that never accepts. Its accept queue
 * holds one connection; once that is full, Linux drops further SYNs, so the
 * next connect gets no answer at all and only a deadline ends the wait.
 */
static int case_timedout(void)
{
    struct sockaddr_in addr;
    int listener = loopback_listener(0, &addr);
    int fds[16], n = 0, rc = 2;
    for (; n < 16; n++) {
        fds[n] = tcp_socket();
        if (connect_within(fds[n], &addr, DEADLINE_MS) == 0)
            continue;   // it went into the queue: the next one may not
        char call[64];
        snprintf(call, sizeof call, "connect (deadline %d ms, %d queued)", DEADLINE_MS, n);
        rc = report(call, errno, ETIMEDOUT);
        n++;
        break;
    }
    if (rc != 0 && n == 16)
        printf("16 connects all succeeded: the accept queue never filled\n");
    for (int i = 0; i < n; i++)
        close(fds[i]);
    close(listener);
    return rc;
}

/* reset: the peer closes with SO_LINGER {on, 0}, which sends RST instead of FIN. */
static int case_reset(void)
{
    int conn;
    int fd = connected_pair(&conn);
    // TODO: make close(2) on conn reset the connection: SO_LINGER with l_onoff 1 and
    // TODO: l_linger 0 (socket(7)). Then close it.
    close(conn);
    // Bounded: if no RST comes, recv gives up after 5 s with EAGAIN.
    struct timeval tv = {.tv_sec = 5};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == -1)
        die("setsockopt SO_RCVTIMEO");
    char byte;
    int rc = verdict(recv(fd, &byte, 1, 0) == -1, "recv", ECONNRESET,
                     "recv returned 0: the peer closed normally (FIN), not with a reset");
    close(fd);
    return rc;
}

/* pipe: keep sending after the peer has closed; SIGPIPE ignored, so send says EPIPE. */
static int case_pipe(void)
{
    // TODO: ignore SIGPIPE (signal(2) or sigaction(2) with SIG_IGN), or the first failing
    // TODO: send kills this process before it can report anything.
    int conn;
    int fd = connected_pair(&conn);
    close(conn);   // an ordinary close: FIN. The peer answers our next data with RST.
    int rc = 2;
    // The first send is accepted (the kernel does not know yet); the RST it
    // provokes makes a later one fail. Bounded: 100 tries, 20 ms apart.
    for (int i = 0; i < 100; i++) {
        if (send(fd, "x", 1, 0) == -1) {
            char call[48];
            snprintf(call, sizeof call, "send (try %d)", i + 1);
            rc = report(call, errno, EPIPE);
            break;
        }
        usleep(20 * 1000);
    }
    if (rc == 2)
        printf("100 sends succeeded after the peer closed\n");
    close(fd);
    return rc;
}

/* badf: using an fd after closing it. A real program has a bug if it sees this. */
static int case_badf(void)
{
    int fd = tcp_socket();
    if (close(fd) == -1)
        die("close");
    // Nothing opens between the close and the send, so the number is still free.
    int failed = send(fd, "x", 1, 0) == -1;
    return verdict(failed, "send on a closed fd", EBADF, "send on a closed fd succeeded?");
}

/* mfile: a low RLIMIT_NOFILE, then sockets until socket() refuses. */
static int case_mfile(void)
{
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) == -1)
        die("getrlimit");
    lim.rlim_cur = 16;   // the soft limit may be lowered by anyone
    if (setrlimit(RLIMIT_NOFILE, &lim) == -1)
        die("setrlimit");
    int fds[16], n = 0, rc = 2;
    while (n < 16) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd == -1) {
            char call[64];
            snprintf(call, sizeof call, "socket (after %d more, limit 16)", n);
            rc = report(call, errno, EMFILE);
            break;
        }
        fds[n++] = fd;
    }
    for (int i = 0; i < n; i++)
        close(fds[i]);
    return rc;
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run)(void);
    } cases[] = {
        {"refused", case_refused}, {"addrinuse", case_addrinuse}, {"acces", case_acces},
        {"timedout", case_timedout}, {"reset", case_reset}, {"pipe", case_pipe},
        {"badf", case_badf}, {"mfile", case_mfile},
    };
    if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        printf("%s\n", USAGE);
        return 0;
    }
    if (argc != 2) {
        fprintf(stderr, "%s\n", USAGE);
        return 1;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (strcmp(argv[1], cases[i].name) == 0)
            return cases[i].run();
    fprintf(stderr, "errors: unknown case %s\n%s\n", argv[1], USAGE);
    return 1;
}
