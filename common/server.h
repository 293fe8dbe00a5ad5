/*
 * server.h - the frame of a server that serves one client at a time.
 *
 * Lesson 08 writes this frame out raw: the listening socket, the accept loop,
 * closing every fd, and a stop on SIGINT/SIGTERM that no timing can lose
 * (stop.h). From lesson 09 on a server calls these two helpers, and its own
 * code is only what it does with one client.
 *
 * Unlike net.h, these die (report.h) when a call fails: they are the whole
 * server's life, not one connection's.
 *
 * Read: accept(2), listen(2), poll(2), signal(7)
 */
#ifndef WORKBOOK_SERVER_H
#define WORKBOOK_SERVER_H

#include <stdint.h>

/*
 * Catch SIGINT and SIGTERM (stop_init), listen on HOST:PORT with the backlog
 * (tcp_listen) and print "listening on ADDRESS:PORT". Returns the listening
 * fd; exits with the failed call's name on any failure.
 */
int server_start(const char *host, uint16_t port, int backlog);

/* server_start without the "listening on" line, for a server that sets an
 * option on the listener first (lesson 10's SO_RCVBUF): announce_listening
 * (net.h) after it. */
int server_listen(const char *host, uint16_t port, int backlog);

/* The end of a server: print "stopped by SIGTERM" (or SIGINT) and close fd,
 * its listening socket; exits if close fails. */
void server_stopped(int fd);

/*
 * Accept clients one at a time until SIGINT or SIGTERM, print
 * "client N: ADDRESS:PORT connected" and hand each to serve(n, conn, ctx):
 * n counts clients from 1, and serve owns conn (it closes it). A signal that lands at any moment, even just before accept
 * would block, ends the wait. Then prints "stopped by SIGTERM" (or SIGINT),
 * closes the listener and returns how many clients were served.
 */
long serve_until_stopped(int listener, void (*serve)(long n, int conn, void *ctx), void *ctx);

/*
 * The next client on listener, or -1 once SIGINT or SIGTERM asked to stop
 * (the loop inside serve_until_stopped, for a server that prints its own
 * lines: lesson 22). EINTR is waited through; another failed accept
 * (ECONNABORTED, EMFILE) is warned about and the wait goes on.
 */
int accept_or_stop(int listener);

/*
 * The whole main of a server with no options but -h: [ADDRESS [PORT]]
 * (default 127.0.0.1 9999), stdout line-buffered, server_start with the
 * backlog, serve_until_stopped. Returns 0, main's exit status.
 */
int server_main(int argc, char **argv, const char *usage, int backlog,
                void (*serve)(long n, int conn, void *ctx), void *ctx);

/*
 * Lesson 11's echo, for a server whose lesson is something else (lesson 18):
 * send greeting, then log each line as `client N: line "..."` and answer it
 * with "Echo: LINE\r\n", until the client leaves, a call fails or a stop is
 * asked; then say which and close conn. Lines come from read_line (net.h):
 * one longer than 1023 bytes is cut there and its rest skipped.
 */
void echo_lines(long client, int conn, const char *greeting);

#endif
