/*
 * report.h - how every workbook program reports a failed call.
 *
 * A failure names the call, the errno name and the message, e.g.
 *     bind: EADDRINUSE (Address already in use)
 * so a student can look the name up in the call's man page (ERRORS section).
 *
 * die_*  print and exit(1): for failures the program cannot go on after.
 * warn_* print and return: for failures that end one connection, not the server.
 * Both save and restore errno, so a caller may still inspect it afterwards.
 */
#ifndef WORKBOOK_REPORT_H
#define WORKBOOK_REPORT_H

/* "EADDRINUSE" for EADDRINUSE; "E?123" for a number this table does not know. */
const char *errno_name(int errnum);

/* "call: ENAME (message)" on stderr using the current errno, then exit(1). */
_Noreturn void die(const char *call);

/* Same line as die(), but returns: the caller decides what to drop. */
void warn_errno(const char *call);

/* Same as die()/warn_errno() for an explicit error number (getsockopt SO_ERROR,
 * pthread_* and friends return the error instead of setting errno). An error
 * number of 0 prints call alone: a failure with no errno (tcp_connect's
 * resolver failure) says everything in its text. */
_Noreturn void die_with(const char *call, int errnum);
void warn_with(const char *call, int errnum);

/* A message with no errno behind it (bad argument, resolver failure): exit(1). */
_Noreturn void die_msg(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

#endif
