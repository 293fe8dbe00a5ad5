/*
 * options.c - lesson 02: socket options, read, set and read back.
 *
 * Creates one TCP socket and, for each option in a small table, prints its
 * default, the value it sets, and the value the kernel reports afterwards.
 * The read-back is the point: the kernel may store something other than what
 * you asked for. SO_RCVBUF and SO_SNDBUF come back doubled on Linux, and
 * capped by /proc/sys/net/core/rmem_max and wmem_max. SO_TYPE and SO_ERROR
 * are read-only: setting them fails, and the program shows how.
 *
 * usage: options [BUFFER_BYTES]
 *   BUFFER_BYTES  the size asked for with SO_RCVBUF and SO_SNDBUF (default 8192)
 *
 * Partner: none; compare with `strace -e trace=setsockopt,getsockopt`.
 *
 * Read: setsockopt(2) / getsockopt(2), socket(7) (SO_* options, rmem_max),
 *       tcp(7) (TCP_NODELAY, tcp_rmem, tcp_wmem)
 */
#include "report.h"
#include "args.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define USAGE "usage: options [BUFFER_BYTES]"

/* Read an int-valued option at any level; 0, or -1 with errno set. */
static int get_option(int fd, int level, int name, int *value)
{
    // TODO: read the option (at this level) into *value with getsockopt(2).
    (void)fd, (void)level, (void)name, (void)value;
    errno = ENOSYS;
    return -1;
}

/* Set an int-valued option at any level; 0, or -1 with errno set. */
static int set_option(int fd, int level, int name, int value)
{
    // TODO: set the option (at this level) to value with setsockopt(2).
    (void)fd, (void)level, (void)name, (void)value;
    errno = ENOSYS;
    return -1;
}

/*
 * One row of the table. The level says whose option it is: SOL_SOCKET for
 * options every socket has (socket(7)), IPPROTO_TCP for TCP's own (tcp(7)).
 * Option numbers are only unique within a level: TCP_NODELAY and SO_DEBUG
 * are both 1, so the wrong level silently sets the wrong option.
 */
struct option_row {
    const char *level_name, *name;      /* "SOL_SOCKET", "SO_RCVBUF" */
    int level, option;                  /* SOL_SOCKET, SO_RCVBUF */
    int set_to;          /* the value to set; ignored when read_only */
    int read_only;
};

/* Print one row:  SOL_SOCKET  SO_RCVBUF: default 131072, set 8192, read back 16384 */
static void show_row(int fd, const struct option_row *row)
{
    int before = -1, after = -1;
    char get_call[64], set_call[64];     /* "getsockopt SO_RCVBUF", for die() */
    snprintf(get_call, sizeof get_call, "getsockopt %s", row->name);
    snprintf(set_call, sizeof set_call, "setsockopt %s", row->name);
    if (get_option(fd, row->level, row->option, &before) == -1)
        die(get_call);

    if (row->read_only) {
        // Try to set it anyway, to show what the kernel says. The two
        // read-only rows say what their number means: "1 (SOCK_STREAM)".
        int failed = set_option(fd, row->level, row->option, 1) == -1, saved = errno;
        const char *meaning = row->option == SO_TYPE ? (before == SOCK_STREAM ? "SOCK_STREAM" : "?")
                              : before == 0 ? "no pending error" : errno_name(before);
        printf("%-11s %s: %d (%s)", row->level_name, row->name, before, meaning);
        if (failed)
            printf(", read-only: setsockopt fails with %s (%s)\n", errno_name(saved), strerror(saved));
        else
            printf(", setsockopt accepted a write to a read-only option?\n");
        return;
    }

    if (set_option(fd, row->level, row->option, row->set_to) == -1)
        die(set_call);
    if (get_option(fd, row->level, row->option, &after) == -1)
        die(get_call);
    printf("%-11s %s: default %d, set %d, read back %d\n",
           row->level_name, row->name, before, row->set_to, after);
}

/* Print a /proc/sys value (a Linux sysctl) if this system has it. */
static void show_sysctl(const char *path)
{
    char text[128];
    FILE *f = fopen(path, "r");         /* NULL: not Linux, or no /proc */
    if (f != NULL && fgets(text, sizeof text, f) != NULL)
        printf("%s = %s", path, text);   /* text ends in its newline */
    if (f != NULL)
        fclose(f);
}

int main(int argc, char **argv)
{
    long buffer = 8192;                 /* BUFFER_BYTES' default */
    const char *why;
    usage_init(USAGE);
    /* No options but -h, then [BUFFER_BYTES] (common/args.h). */
    if (only_arguments(argc, argv, 0, 1) == 1 && parse_long(argv[optind], 1, 1L << 30, &buffer, &why) == -1)
        usage_error("BUFFER_BYTES", argv[optind], why);
    setvbuf(stdout, NULL, _IOLBF, 0);

    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd == -1)
        die("socket");
    printf("socket(AF_INET, SOCK_STREAM, 0) = %d\n", fd);

    const struct option_row rows[] = {
        {"SOL_SOCKET", "SO_REUSEADDR", SOL_SOCKET, SO_REUSEADDR, 1, 0},
        {"SOL_SOCKET", "SO_REUSEPORT", SOL_SOCKET, SO_REUSEPORT, 1, 0},
        {"SOL_SOCKET", "SO_KEEPALIVE", SOL_SOCKET, SO_KEEPALIVE, 1, 0},
        {"SOL_SOCKET", "SO_RCVBUF", SOL_SOCKET, SO_RCVBUF, (int)buffer, 0},
        {"SOL_SOCKET", "SO_SNDBUF", SOL_SOCKET, SO_SNDBUF, (int)buffer, 0},
        {"IPPROTO_TCP", "TCP_NODELAY", IPPROTO_TCP, TCP_NODELAY, 1, 0},
        {"SOL_SOCKET", "SO_TYPE", SOL_SOCKET, SO_TYPE, 0, 1},
        {"SOL_SOCKET", "SO_ERROR", SOL_SOCKET, SO_ERROR, 0, 1},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        show_row(fd, &rows[i]);

    // The limits behind the buffer numbers (socket(7), tcp(7)).
    show_sysctl("/proc/sys/net/core/rmem_max");
    show_sysctl("/proc/sys/net/core/wmem_max");

    if (close(fd) == -1)
        die("close");
    return 0;
}
