/*
 * stop.h - stop a server on SIGINT or SIGTERM without ever losing the signal.
 *
 * The tempting loop
 *     while (!stop_signal)
 *         conn = accept(listener, NULL, NULL);
 * has a race: a signal that lands after the test and before accept() starts
 * to wait runs the handler, sets the flag, and accept() then sleeps anyway,
 * until the next client comes. Lesson 04 writes the cure out raw (the
 * self-pipe trick, as lesson 17 does too): the handler also writes one byte
 * into a pipe, and the program waits in poll(2) on its socket *and* the
 * pipe. A byte written before poll() is still there when poll() looks, so
 * no signal is missed. From lesson 05 on, programs call these helpers.
 *
 * The handlers are installed without SA_RESTART, so a blocking call that is
 * already waiting is interrupted too (EINTR, or a short count): signals are
 * never blocked, and every chapter's EINTR experiment still works.
 *
 * Contract as in net.h: -1 with errno set on failure; nothing exits or prints.
 *
 * Read: signal(7), signal-safety(7), pipe(2), poll(2), sigaction(2)
 */
#ifndef WORKBOOK_STOP_H
#define WORKBOOK_STOP_H

/* Install the SIGINT and SIGTERM handlers and make the pipe. Call once, first.
 * A child made by fork(2) that goes on running (lesson 18) calls it again:
 * it inherited the parent's pipe, so a stop byte written by either process
 * would wake both. Called again, it closes the old pipe and makes its own. */
int stop_init(void);

/* The signal that asked us to stop (SIGINT or SIGTERM), or 0 if none yet. */
int stop_requested(void);

/* "SIGINT" or "SIGTERM" (or "no signal"), for the "stopped by ..." line. */
const char *stop_signal_name(void);

/*
 * Wait until fd has one of events (POLLIN, POLLOUT) or a stop was asked.
 * Returns 1 when fd is ready (or has an error or hang-up to report: the next
 * call on it will say which), 0 when a stop was asked, -1 with errno if poll
 * failed. Other signals (EINTR) are waited through.
 */
int wait_or_stop(int fd, short events);

/*
 * For a program that reads a socket through stdio (lesson 14), which cannot
 * wait in poll: while fd is set here, the handler also shuts fd's reading
 * side down (shutdown(2) is async-signal-safe), so a read that is blocked, or
 * about to block, returns end of file at once. -1 unsets it; do that before
 * another thread could reuse the fd's number once it is closed. Test
 * stop_requested() after setting it: a stop may have come just before.
 */
void stop_shuts_down(int fd);

/* Sleep ms milliseconds, or less if a stop is asked: 1 when the time is up,
 * 0 for a stop, -1 with errno if poll failed. */
int sleep_or_stop(int ms);

/* The pipe's read end, for a program that waits in poll(2) on many sockets
 * itself (lesson 17): put it in the pollfd array, and poll returns once a
 * stop was asked. -1 before stop_init. */
int stop_fd(void);

#endif
