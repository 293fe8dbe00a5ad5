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

/*
 * Accept clients one at a time until SIGINT or SIGTERM, print
 * "client N: ADDRESS:PORT connected" and hand each to serve(n, conn, ctx):
 * n counts clients from 1, and serve owns conn (it closes it). A signal that lands at any moment, even just before accept
 * would block, ends the wait. Then prints "stopped by SIGTERM" (or SIGINT),
 * closes the listener and returns how many clients were served.
 */
long serve_until_stopped(int listener, void (*serve)(long n, int conn, void *ctx), void *ctx);

#endif
