/*
 * fork-server.c - lesson 18: lesson 11's echo server, one process per client.
 *
 * The classic Unix server: the parent only accepts. For each connection it
 * calls fork(2), and the child, a copy of the parent, serves that one client
 * (greets it, echoes its lines as lesson 11 does) and exits. Clients no longer
 * wait for each other: a slow one holds up only its own process.
 *
 * After fork both processes hold both sockets. Each closes the one it does not
 * use: the child the listening socket, the parent the connection. A child that
 * forgets keeps the port listening after the parent is gone; a parent that
 * forgets keeps every connection open after its child closed it, so the
 * client never sees the end.
 *
 * A child that ends stays a zombie until its parent collects its exit status
 * with waitpid(2). The SIGCHLD handler does it, in a loop with WNOHANG: one
 * SIGCHLD may stand for several children (signals do not queue), and WNOHANG
 * stops the loop when no other child has ended yet. The handler is installed
 * with SA_RESTART; the accept loop still treats EINTR as "try again" (see the
 * chapter for why both).
 *
 * At most -m children serve at once; one more client is told the server is
 * full and closed. SIGINT or SIGTERM: the parent stops accepting, passes
 * SIGTERM on to every child, waits for them all and exits 0.
 *
 * usage: fork-server [-m MAX_CLIENTS] [ADDRESS [PORT]]
 *   -m       most clients served at once (default 64)
 *   ADDRESS  a numeric IPv4 or IPv6 address (default 127.0.0.1)
 *   PORT     default 9999; 0 lets the kernel choose
 *
 * Partner: `nc 127.0.0.1 9999` or `telnet 127.0.0.1 9999`, several at once.
 *
 * Read: fork(2), waitpid(2), sigaction(2), signal(7) ("Interruption of system
 *       calls"), sigprocmask(2), _exit(2), credentials(7)
 */
#include "report.h"
#include "args.h"
#include "net.h"
#include "server.h"
#include "stop.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define USAGE "usage: fork-server [-m MAX_CLIENTS] [ADDRESS [PORT]]"
#define GREETING "Hello, client!\r\n"
/* listen(2)'s backlog: many clients connecting at once must not find the
 * accept queue full (lesson 07). The kernel caps it at somaxconn. */
#define BACKLOG SOMAXCONN

/*
 * The children serving now, by PID (0: a free slot). The SIGCHLD handler
 * clears a child's slot when it reaps it; main fills slots, and reads them,
 * only while SIGCHLD is blocked, so the two never meet halfway.
 */
static pid_t *children;
static long max_children;
static volatile sig_atomic_t running;   /* slots in use */

/* The child pid has been reaped: free its slot. Called by the handler, and
 * by main with SIGCHLD blocked. Async-signal-safe: plain loads and stores. */
static void forget_child(pid_t pid)
{
    for (long i = 0; i < max_children; i++) {
        if (children[i] == pid) {
            children[i] = 0;
            running--;
            return;
        }
    }
}

/*
 * SIGCHLD: one or more children have ended. Only async-signal-safe calls here
 * (signal-safety(7): waitpid is one, printf is not); errno is saved because
 * the code this handler interrupted may be about to read it.
 */
static void on_child_ended(int sig)
{
    (void)sig;
    int saved = errno;
    // TODO: reap every child that has ended, and no more: waitpid(2) for any
    //       child (-1), without waiting (WNOHANG), in a loop until it
    //       returns 0 (others still run) or -1 (none left); forget_child()
    //       each PID it returns. One SIGCHLD may stand for several children.
    errno = saved;
}

/*
 * In the child: lesson 11's echo, from common/server.h (echo_lines greets,
 * echoes lines until the client leaves and closes conn). This lesson's idea
 * is the process around it.
 */
static void serve(long client, int conn)
{
    char peer[ADDRESS_TEXT_MAX];
    if (peer_address(conn, peer, sizeof peer) == -1)
        snprintf(peer, sizeof peer, "(unknown)");
    printf("client %ld: %s connected (process %ld)\n", client, peer, (long)getpid());
    echo_lines(client, conn, GREETING);
}

/* One client too many: say so and close. The message is short and the
 * connection new, so send_all cannot block on it. */
static void refuse(long client, int conn)
{
    char text[96];
    int n = snprintf(text, sizeof text,
                     "Sorry, the server is full (%ld clients); try again later.\r\n", max_children);
    if (send_all(conn, text, (size_t)n) == -1)
        warn_errno("send");
    if (close(conn) == -1)
        warn_errno("close");
    printf("client %ld: refused, %ld clients already\n", client, max_children);
}

/* Fork a child to serve conn; the parent goes back to accepting. */
static void start_child(long client, int listener, int conn)
{
    // Hold back SIGCHLD, SIGINT and SIGTERM while the child is made: the
    // parent must note the PID before the handler can reap it, and the child
    // must get its own stop pipe before a stop signal can reach it (stop.h).
    // Blocked signals wait; none is lost (sigprocmask(2)).
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGCHLD);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    if (sigprocmask(SIG_BLOCK, &block, &old) == -1)
        die("sigprocmask");

    // TODO: make the child with fork(2). On failure (EAGAIN: too many
    //       processes) warn, close conn and go back to accepting.
    pid_t pid = -1;
    errno = ENOSYS;
    if (pid == -1) {
        warn_errno("fork");
        if (close(conn) == -1)
            warn_errno("close");
        printf("client %ld: dropped, no process to serve it\n", client);
    } else if (pid == 0) {
        // The child: a copy of the parent, with its own copy of every fd.
        if (stop_init() == -1)              /* a stop pipe of its own */
            die("child: stop_init");
        if (sigprocmask(SIG_SETMASK, &old, NULL) == -1)
            die("child: sigprocmask");
        // TODO: in the child: close the listening socket. It belongs to the
        //       parent; a child that keeps it holds the port for as long as it lives.
        (void)listener;
        serve(client, conn);
        // exit, not return: the child must never go back into the parent's
        // accept loop. stdout is line-buffered, so nothing of the parent's
        // output is left in the copy of its buffer to be printed twice.
        exit(0);
    } else {
        for (long i = 0; i < max_children; i++) {
            if (children[i] == 0) {
                children[i] = pid;
                running++;
                break;
            }
        }
        printf("client %ld: served by process %ld (%ld running)\n", client, (long)pid, (long)running);
        // TODO: in the parent: close the connection. The child serves it; while
        //       the parent holds a copy, the child's close does not end it.
    }
    if (sigprocmask(SIG_SETMASK, &old, NULL) == -1)
        die("sigprocmask");
}

/* SIGINT/SIGTERM: pass SIGTERM on to every child, wait until all have ended. */
static void stop_children(void)
{
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGCHLD);
    if (sigprocmask(SIG_BLOCK, &block, NULL) == -1)   /* we reap them here */
        die("sigprocmask");
    if (running > 0)
        printf("stopping %ld running processes\n", (long)running);
    for (long i = 0; i < max_children; i++)
        if (children[i] != 0 && kill(children[i], SIGTERM) == -1)
            warn_errno("kill");
    // Each child stops on SIGTERM (its waits and sends are interrupted,
    // common/stop.h), so this loop ends.
    while (running > 0) {
        pid_t pid = waitpid(-1, NULL, 0);
        if (pid == -1) {
            if (errno == EINTR)             /* a second Ctrl-C: keep waiting */
                continue;
            if (errno != ECHILD)
                warn_errno("waitpid");
            break;
        }
        forget_child(pid);
    }
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    uint16_t port = 9999;
    int opt;
    max_children = 64;
    usage_init(USAGE);
    while ((opt = next_option(argc, argv, "m:h")) != -1) {
        if (opt == 'm')
            max_children = option_long("-m", 1, 10000);
    }
    endpoint_args(argc, argv, &host, &port);
    // Line-buffered: every line leaves in one write(2), before any fork, so
    // parent and children never print each other's half lines or twice.
    setvbuf(stdout, NULL, _IOLBF, 0);

    children = calloc((size_t)max_children, sizeof *children);
    if (children == NULL)
        die("calloc");

    /* SIGINT and SIGTERM end every wait at any moment (common/stop.h). */
    if (stop_init() == -1)
        die("stop_init");

    // TODO: install on_child_ended for SIGCHLD with sigaction(2), with
    //       SA_RESTART (the chapter says why) and an empty sa_mask.
    (void)on_child_ended;

    const char *failed = "tcp_listen";
    int listener = tcp_listen(host, port, BACKLOG, &failed);
    if (listener == -1)
        die(failed);
    if (announce_listening(listener) == -1)
        die("getsockname");

    long clients = 0;
    int ready;
    while ((ready = wait_or_stop(listener, POLLIN)) == 1) {
        int conn = accept(listener, NULL, NULL);
        if (conn == -1) {
            // TODO: a signal that came while accept(2) waited is not an error:
            //       on EINTR, go round again without a word (the loop's test
            //       notices a stop). Warn about any other error, and go on.
            die("accept");
        }
        clients++;
        if (running >= max_children)
            refuse(clients, conn);
        else
            start_child(clients, listener, conn);
    }
    if (ready == -1)
        die("poll");

    if (close(listener) == -1)              /* no new clients from here on */
        die("close");
    stop_children();
    printf("stopped by %s\n", stop_signal_name());
    free(children);
    return 0;
}
