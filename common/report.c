/*
 * report.c - errno names and the die/warn helpers (see report.h).
 *
 * strerror(3) gives the message; the name (EADDRINUSE) is what the man pages'
 * ERRORS sections list, so we print both. glibc has strerrorname_np(3), but
 * macOS does not, so the workbook keeps its own table of the names it meets.
 */
#include "report.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct errno_entry {
    int number;
    const char *name;
};

#define ENTRY(e) {e, #e},
static const struct errno_entry errno_table[] = {
    ENTRY(EPERM)
    ENTRY(ENOENT)
    ENTRY(ESRCH)
    ENTRY(EINTR)
    ENTRY(EIO)
    ENTRY(ENXIO)
    ENTRY(E2BIG)
    ENTRY(ENOEXEC)
    ENTRY(EBADF)
    ENTRY(ECHILD)
    ENTRY(EAGAIN)
    ENTRY(ENOMEM)
    ENTRY(EACCES)
    ENTRY(EFAULT)
    ENTRY(EBUSY)
    ENTRY(EEXIST)
    ENTRY(EXDEV)
    ENTRY(ENODEV)
    ENTRY(ENOTDIR)
    ENTRY(EISDIR)
    ENTRY(EINVAL)
    ENTRY(ENFILE)
    ENTRY(EMFILE)
    ENTRY(ENOTTY)
    ENTRY(EFBIG)
    ENTRY(ENOSPC)
    ENTRY(ESPIPE)
    ENTRY(EROFS)
    ENTRY(EMLINK)
    ENTRY(EPIPE)
    ENTRY(EDOM)
    ENTRY(ERANGE)
#ifdef EDEADLK
    ENTRY(EDEADLK)
#endif
#ifdef ENAMETOOLONG
    ENTRY(ENAMETOOLONG)
#endif
#ifdef ENOLCK
    ENTRY(ENOLCK)
#endif
#ifdef ENOSYS
    ENTRY(ENOSYS)
#endif
#ifdef ENOTEMPTY
    ENTRY(ENOTEMPTY)
#endif
#ifdef ELOOP
    ENTRY(ELOOP)
#endif
#ifdef ENOMSG
    ENTRY(ENOMSG)
#endif
#ifdef EIDRM
    ENTRY(EIDRM)
#endif
#ifdef ENOSTR
    ENTRY(ENOSTR)
#endif
#ifdef ENODATA
    ENTRY(ENODATA)
#endif
#ifdef ETIME
    ENTRY(ETIME)
#endif
#ifdef ENOSR
    ENTRY(ENOSR)
#endif
#ifdef ENOLINK
    ENTRY(ENOLINK)
#endif
#ifdef EPROTO
    ENTRY(EPROTO)
#endif
#ifdef EBADMSG
    ENTRY(EBADMSG)
#endif
#ifdef EOVERFLOW
    ENTRY(EOVERFLOW)
#endif
#ifdef EILSEQ
    ENTRY(EILSEQ)
#endif
#ifdef ENOTSOCK
    ENTRY(ENOTSOCK)
#endif
#ifdef EDESTADDRREQ
    ENTRY(EDESTADDRREQ)
#endif
#ifdef EMSGSIZE
    ENTRY(EMSGSIZE)
#endif
#ifdef EPROTOTYPE
    ENTRY(EPROTOTYPE)
#endif
#ifdef ENOPROTOOPT
    ENTRY(ENOPROTOOPT)
#endif
#ifdef EPROTONOSUPPORT
    ENTRY(EPROTONOSUPPORT)
#endif
#ifdef ESOCKTNOSUPPORT
    ENTRY(ESOCKTNOSUPPORT)
#endif
#ifdef EOPNOTSUPP
    ENTRY(EOPNOTSUPP)
#endif
#ifdef EPFNOSUPPORT
    ENTRY(EPFNOSUPPORT)
#endif
#ifdef EAFNOSUPPORT
    ENTRY(EAFNOSUPPORT)
#endif
#ifdef EADDRINUSE
    ENTRY(EADDRINUSE)
#endif
#ifdef EADDRNOTAVAIL
    ENTRY(EADDRNOTAVAIL)
#endif
#ifdef ENETDOWN
    ENTRY(ENETDOWN)
#endif
#ifdef ENETUNREACH
    ENTRY(ENETUNREACH)
#endif
#ifdef ENETRESET
    ENTRY(ENETRESET)
#endif
#ifdef ECONNABORTED
    ENTRY(ECONNABORTED)
#endif
#ifdef ECONNRESET
    ENTRY(ECONNRESET)
#endif
#ifdef ENOBUFS
    ENTRY(ENOBUFS)
#endif
#ifdef EISCONN
    ENTRY(EISCONN)
#endif
#ifdef ENOTCONN
    ENTRY(ENOTCONN)
#endif
#ifdef ESHUTDOWN
    ENTRY(ESHUTDOWN)
#endif
#ifdef ETOOMANYREFS
    ENTRY(ETOOMANYREFS)
#endif
#ifdef ETIMEDOUT
    ENTRY(ETIMEDOUT)
#endif
#ifdef ECONNREFUSED
    ENTRY(ECONNREFUSED)
#endif
#ifdef EHOSTDOWN
    ENTRY(EHOSTDOWN)
#endif
#ifdef EHOSTUNREACH
    ENTRY(EHOSTUNREACH)
#endif
#ifdef EALREADY
    ENTRY(EALREADY)
#endif
#ifdef EINPROGRESS
    ENTRY(EINPROGRESS)
#endif
#ifdef ESTALE
    ENTRY(ESTALE)
#endif
#ifdef EDQUOT
    ENTRY(EDQUOT)
#endif
#ifdef ECANCELED
    ENTRY(ECANCELED)
#endif
#ifdef EOWNERDEAD
    ENTRY(EOWNERDEAD)
#endif
#ifdef ENOTRECOVERABLE
    ENTRY(ENOTRECOVERABLE)
#endif
};
#undef ENTRY

const char *errno_name(int errnum)
{
    /* Linux gives EWOULDBLOCK and EAGAIN one number; the table says EAGAIN,
     * the name socket(7) uses for a receive timeout too. */
    for (size_t i = 0; i < sizeof errno_table / sizeof errno_table[0]; i++)
        if (errno_table[i].number == errnum)
            return errno_table[i].name;
    static _Thread_local char unknown[24];
    snprintf(unknown, sizeof unknown, "E?%d", errnum);
    return unknown;
}

void warn_with(const char *call, int errnum)
{
    if (errnum == 0) {          /* no errno behind it: call is the whole message */
        fprintf(stderr, "%s\n", call);
        return;
    }
    fprintf(stderr, "%s: %s (%s)\n", call, errno_name(errnum), strerror(errnum));
}

void warn_errno(const char *call)
{
    int saved = errno;
    warn_with(call, saved);
    errno = saved;
}

_Noreturn void die_with(const char *call, int errnum)
{
    warn_with(call, errnum);
    exit(EXIT_FAILURE);
}

_Noreturn void die(const char *call)
{
    die_with(call, errno);
}

_Noreturn void die_msg(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(EXIT_FAILURE);
}
