/*
 * stop.c - the self-pipe stop helpers (see stop.h for why and how).
 */
#include "stop.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

/* Moved up to fd 100 and above (F_DUPFD): the lessons print and test the fd
 * numbers socket() and accept() return (3, 4, ...), and the pipe must not
 * take them. */
#define STOP_PIPE_MIN_FD 100

static volatile sig_atomic_t stop_signal = 0;
static volatile sig_atomic_t shutdown_fd = -1;  /* stop_shuts_down */
static int stop_pipe[2] = {-1, -1};

/* Only async-signal-safe work here (signal-safety(7)): set the flag, write a
 * byte, shut down shutdown_fd's reading side (shutdown is on that list). The
 * write end is non-blocking, so a full pipe cannot hang the handler (and a
 * full pipe already wakes poll). errno is saved because the interrupted code
 * may be about to read it. */
static void on_stop_signal(int sig)
{
    int saved = errno;
    stop_signal = sig;
    ssize_t ignored = write(stop_pipe[1], "x", 1);
    (void)ignored;
    if (shutdown_fd != -1)
        shutdown(shutdown_fd, SHUT_RD);
    errno = saved;
}

/* Move fd to STOP_PIPE_MIN_FD or above, close-on-exec; returns the new fd. */
static int move_up(int fd)
{
    int high = fcntl(fd, F_DUPFD_CLOEXEC, STOP_PIPE_MIN_FD);
    if (high == -1 && errno == EINVAL)  /* an fd limit of 100 or less: stay low */
        return fcntl(fd, F_SETFD, FD_CLOEXEC) == -1 ? -1 : fd;
    int saved = errno;
    close(fd);
    errno = saved;
    return high;
}

int stop_init(void)
{
    /* Called again (a forked child): drop the pipe it shares with its parent. */
    if (stop_pipe[0] != -1) {
        close(stop_pipe[0]);
        close(stop_pipe[1]);
        stop_pipe[0] = stop_pipe[1] = -1;
    }
    stop_signal = 0;

    int fds[2];
    if (pipe(fds) == -1)
        return -1;
    stop_pipe[0] = move_up(fds[0]);
    stop_pipe[1] = move_up(fds[1]);
    if (stop_pipe[0] == -1 || stop_pipe[1] == -1)
        return -1;
    int flags = fcntl(stop_pipe[1], F_GETFL);
    if (flags == -1 || fcntl(stop_pipe[1], F_SETFL, flags | O_NONBLOCK) == -1)
        return -1;

    /* No SA_RESTART: a call already blocked when the signal comes returns
     * (EINTR or a short count) instead of going on waiting. */
    struct sigaction sa = {.sa_handler = on_stop_signal};
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) == -1 || sigaction(SIGTERM, &sa, NULL) == -1)
        return -1;
    return 0;
}

void stop_shuts_down(int fd)
{
    shutdown_fd = fd;
}

int stop_requested(void)
{
    return stop_signal;
}

const char *stop_signal_name(void)
{
    return stop_signal == SIGINT ? "SIGINT" : stop_signal == SIGTERM ? "SIGTERM" : "no signal";
}

int wait_or_stop(int fd, short events)
{
    struct pollfd p[2] = {
        {.fd = stop_pipe[0], .events = POLLIN},
        {.fd = fd, .events = events},
    };
    for (;;) {
        if (stop_signal)
            return 0;
        if (poll(p, 2, -1) == -1) {
            if (errno == EINTR)
                continue;       /* the flag is tested again above */
            return -1;
        }
        if (p[0].revents != 0)
            return 0;           /* the pipe has a byte: a stop was asked */
        if (p[1].revents != 0)
            return 1;
    }
}

int sleep_or_stop(int ms)
{
    struct pollfd p = {.fd = stop_pipe[0], .events = POLLIN};
    if (stop_signal)
        return 0;
    /* An interrupted poll (EINTR) ends the sleep early: the caller's loop
     * comes back soon enough, and a stop shows in the flag. */
    int ready = poll(&p, 1, ms);
    if (ready == -1 && errno != EINTR)
        return -1;
    return stop_signal ? 0 : 1;
}

int stop_fd(void)
{
    return stop_pipe[0];
}
