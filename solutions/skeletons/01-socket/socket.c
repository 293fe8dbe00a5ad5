/*
 * socket.c - lesson 01: a socket is a file descriptor.
 *
 * Creates sockets of three families (IPv4 TCP, IPv6 UDP, Unix stream), prints
 * each one's fd and what the kernel says it is (SO_DOMAIN, SO_TYPE,
 * SO_PROTOCOL, read back with getsockopt). Then asks for sockets it may not
 * have (raw sockets need CAP_NET_RAW) or that do not exist, and shows the
 * errors. Last, it closes one socket and opens another, to show that the
 * lowest free fd number is handed out again.
 *
 * usage: socket
 *
 * Read: socket(2), socket(7), ip(7), ipv6(7), unix(7), raw(7), packet(7),
 *       getsockopt(2), close(2)
 */
#include "report.h"
#include "args.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/if_ether.h>   /* ETH_P_ALL, for the AF_PACKET attempt */
#endif

/* Names for the numbers we print, so the output reads like the man pages. */
static const char *domain_name(int domain)
{
    switch (domain) {
    case AF_INET: return "AF_INET";
    case AF_INET6: return "AF_INET6";
    case AF_UNIX: return "AF_UNIX";
#ifdef AF_PACKET
    case AF_PACKET: return "AF_PACKET";
#endif
    default: return "?";
    }
}

static const char *type_name(int type)
{
    switch (type) {
    case SOCK_STREAM: return "SOCK_STREAM";
    case SOCK_DGRAM: return "SOCK_DGRAM";
    case SOCK_RAW: return "SOCK_RAW";
    default: return "?";
    }
}

static const char *protocol_name(int protocol)
{
    switch (protocol) {
    case 0: return "0";
    case IPPROTO_TCP: return "IPPROTO_TCP";
    case IPPROTO_UDP: return "IPPROTO_UDP";
    case IPPROTO_ICMP: return "IPPROTO_ICMP";
    default: return "?";
    }
}

/* Read an int-valued option at level SOL_SOCKET; 0 on success, -1 with errno set. */
static int socket_option(int fd, int option, int *value)
{
    // TODO: read the option into *value with getsockopt(2), level SOL_SOCKET.
    (void)fd, (void)option, (void)value;
    errno = ENOSYS;
    return -1;
}

/*
 * Create one socket and print a line about it, in the shape strace(1) uses:
 *   socket(AF_INET, SOCK_STREAM, 0) = 3: SO_DOMAIN=AF_INET SO_TYPE=SOCK_STREAM SO_PROTOCOL=IPPROTO_TCP
 *   socket(AF_INET, SOCK_RAW, IPPROTO_ICMP) failed: EPERM (Operation not permitted)
 * Returns the new fd, or -1 when the kernel refused (that is a result here, not a bug).
 */
static int open_and_report(const char *call, int domain, int type, int protocol)
{
    // TODO: create a socket of this domain, type and protocol with socket(2).
    int fd = -1;
    errno = ENOSYS;
    (void)domain, (void)type, (void)protocol;
    if (fd == -1) {
        printf("%s failed: %s (%s)\n", call, errno_name(errno), strerror(errno));
        return -1;
    }

    // Ask the kernel what fd is, rather than trusting our own arguments:
    // socket(7) lists SO_DOMAIN, SO_TYPE and SO_PROTOCOL as read-only options.
    // SO_DOMAIN and SO_PROTOCOL are Linux (and FreeBSD); macOS has neither,
    // and there the line shows "?" for them: only SO_TYPE is read back.
    int got_domain = -1, got_type = -1, got_protocol = -1;
#ifdef SO_DOMAIN
    if (socket_option(fd, SO_DOMAIN, &got_domain) == -1)
        die("getsockopt SO_DOMAIN");
#endif
    if (socket_option(fd, SO_TYPE, &got_type) == -1)
        die("getsockopt SO_TYPE");
#ifdef SO_PROTOCOL
    if (socket_option(fd, SO_PROTOCOL, &got_protocol) == -1)
        die("getsockopt SO_PROTOCOL");
#endif
    printf("%s = %d: SO_DOMAIN=%s SO_TYPE=%s SO_PROTOCOL=%s\n", call, fd,
           domain_name(got_domain), type_name(got_type), protocol_name(got_protocol));
    return fd;
}

/* Close fd if it is open; a failed close(2) is still worth a word. */
static void close_if_open(int fd)
{
    if (fd != -1 && close(fd) == -1)
        warn_errno("close");
}

int main(int argc, char **argv)
{
    usage_init("usage: socket");
    next_option(argc, argv, "h");       /* no options but -h */
    if (optind < argc)
        usage_error(NULL, NULL, NULL);  /* and no arguments */
    // Line-buffered stdout even into a pipe, so output and errors interleave in order.
    setvbuf(stdout, NULL, _IOLBF, 0);

    /* Three everyday sockets: the kernel picks the protocol when we pass 0. */
    int tcp4 = open_and_report("socket(AF_INET, SOCK_STREAM, 0)", AF_INET, SOCK_STREAM, 0);
    int udp6 = open_and_report("socket(AF_INET6, SOCK_DGRAM, 0)", AF_INET6, SOCK_DGRAM, 0);
    int unix_stream = open_and_report("socket(AF_UNIX, SOCK_STREAM, 0)", AF_UNIX, SOCK_STREAM, 0);

    /* Raw sockets see (and can forge) other traffic: they need CAP_NET_RAW. */
    int raw = open_and_report("socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)", AF_INET, SOCK_RAW, IPPROTO_ICMP);
#ifdef AF_PACKET
    int packet = open_and_report("socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL))",
                                 AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
#else
    int packet = -1;   /* macOS and the BSDs use bpf(4) instead of AF_PACKET */
#endif

    /* Asking for what does not exist: a family number no kernel knows, and a
     * stream socket that would speak UDP. Neither creates anything. */
    int bad_family = open_and_report("socket(999, SOCK_STREAM, 0)", 999, SOCK_STREAM, 0);
    int bad_protocol = open_and_report("socket(AF_INET, SOCK_STREAM, IPPROTO_UDP)",
                                       AF_INET, SOCK_STREAM, IPPROTO_UDP);

    /* fd numbers are reused: after close, the next socket gets the lowest free one. */
    int old_fd = tcp4;
    // TODO: close the IPv4 TCP socket (close(2)), so its fd number becomes free.
    int again = open_and_report("socket(AF_INET, SOCK_STREAM, 0)", AF_INET, SOCK_STREAM, 0);
    if (old_fd == -1 || again == -1)
        printf("fd reuse not shown: a socket(AF_INET, SOCK_STREAM, 0) failed\n");
    else if (again == old_fd)
        printf("after close(%d), the new socket got fd %d again: the lowest free number is reused\n",
               old_fd, again);
    else
        printf("after close(%d), the new socket got fd %d, not %d: was fd %d really closed?\n",
               old_fd, again, old_fd, old_fd);

    /* Every fd we opened is closed on the way out: exit() would do it, but a
     * server that forgets to close runs out of fds (see lesson 13, EMFILE). */
    int opened[] = {udp6, unix_stream, raw, packet, bad_family, bad_protocol, again};
    for (size_t i = 0; i < sizeof opened / sizeof opened[0]; i++)
        close_if_open(opened[i]);
    return 0;
}
