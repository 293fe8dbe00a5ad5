/*
 * peer.c - a small TCP client the tests use to talk to a lesson's program.
 *
 * It does what bash's /dev/tcp cannot: send bytes with NULs in them, read with
 * a deadline, half-close (shutdown SHUT_WR), reset (SO_LINGER 0), shrink the
 * receive buffer, print its own local port. It is a test tool, not a lesson.
 *
 * usage: peer [options] HOST PORT
 *   -d TEXT   send TEXT; C escapes \n \r \t \0 \\ and \xHH are understood
 *   -f FILE   send FILE's bytes ("-" for standard input)
 *   -w MS     wait MS milliseconds after connecting, before sending
 *   -W MS     wait MS milliseconds after sending, before reading
 *   -B BYTES  set SO_RCVBUF before connecting (forces small reads, slow drain)
 *   -H        half-close after sending: shutdown(SHUT_WR), then read to the end
 *   -R        reset after sending: SO_LINGER 0 and close, without reading
 *   -N        do not read: close right after sending
 *   -n BYTES  stop reading after BYTES bytes
 *   -u TEXT   stop reading once TEXT (escapes as -d) has been received
 *   -q MS     stop reading after MS milliseconds of silence (default 3000)
 *   -T MS     stop reading after MS milliseconds in all (default 10000)
 *   -P        print "peer: local port N" on stderr after connecting
 * What it receives goes to stdout untouched. Exit 0 when it connected and the
 * read ended by EOF, -n, -u or a requested close; 3 on an idle or total timeout;
 * 1 on an error (printed as "peer: call: ENAME (message)").
 */
#include "report.h"
#include "args.h"
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

static size_t unescape(const char *in, char *out)
{
    size_t n = 0;
    while (*in) {
        if (*in != '\\' || in[1] == '\0') { out[n++] = *in++; continue; }
        in++;
        switch (*in) {
        case 'n': out[n++] = '\n'; in++; break;
        case 'r': out[n++] = '\r'; in++; break;
        case 't': out[n++] = '\t'; in++; break;
        case '0': out[n++] = '\0'; in++; break;
        case 'x': {
            char hex[3] = {0};
            if (in[1] && in[2]) { hex[0] = in[1]; hex[1] = in[2]; }
            out[n++] = (char)strtol(hex, NULL, 16);
            in += 3;
            break;
        }
        default: out[n++] = *in++; break;
        }
    }
    return n;
}

static long number(const char *text, const char *what)
{
    long v;
    const char *why;
    if (parse_long(text, 0, 1L << 40, &v, &why) == -1)
        die_msg("peer: %s %s: %s", what, text, why);
    return v;
}

int main(int argc, char **argv)
{
    const char *text = NULL, *file = NULL, *until_text = NULL;
    long wait_before = 0, wait_after = 0, rcvbuf = 0, max_bytes = -1;
    long idle_ms = 3000, total_ms = 10000;
    int half_close = 0, reset = 0, no_read = 0, print_port = 0, opt;

    while ((opt = getopt(argc, argv, "d:f:w:W:B:HRNn:u:q:T:P")) != -1) {
        switch (opt) {
        case 'd': text = optarg; break;
        case 'f': file = optarg; break;
        case 'w': wait_before = number(optarg, "-w"); break;
        case 'W': wait_after = number(optarg, "-W"); break;
        case 'B': rcvbuf = number(optarg, "-B"); break;
        case 'H': half_close = 1; break;
        case 'R': reset = 1; break;
        case 'N': no_read = 1; break;
        case 'n': max_bytes = number(optarg, "-n"); break;
        case 'u': until_text = optarg; break;
        case 'q': idle_ms = number(optarg, "-q"); break;
        case 'T': total_ms = number(optarg, "-T"); break;
        case 'P': print_port = 1; break;
        default: die_msg("usage: peer [-d TEXT] [-f FILE] [-w MS] [-W MS] [-B BYTES] [-H|-R|-N] [-n BYTES] [-u TEXT] [-q MS] [-T MS] [-P] HOST PORT");
        }
    }
    if (argc - optind != 2)
        die_msg("usage: peer [options] HOST PORT");

    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
    int rc = getaddrinfo(argv[optind], argv[optind + 1], &hints, &res);
    if (rc != 0)
        die_msg("peer: getaddrinfo %s: %s", argv[optind], gai_strerror(rc));
    int fd = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
    if (fd == -1)
        die("peer: socket");
    if (rcvbuf > 0) {
        int size = (int)rcvbuf;
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size) == -1)
            die("peer: setsockopt SO_RCVBUF");
    }
    if (connect(fd, res->ai_addr, res->ai_addrlen) == -1)
        die("peer: connect");
    freeaddrinfo(res);

    if (print_port) {
        struct sockaddr_storage local;
        socklen_t len = sizeof local;
        if (getsockname(fd, (struct sockaddr *)&local, &len) == -1)
            die("peer: getsockname");
        unsigned port = local.ss_family == AF_INET6
            ? ntohs(((struct sockaddr_in6 *)&local)->sin6_port)
            : ntohs(((struct sockaddr_in *)&local)->sin_port);
        fprintf(stderr, "peer: local port %u\n", port);
    }
    if (wait_before > 0)
        usleep((useconds_t)wait_before * 1000);

    if (text != NULL) {
        char *buf = malloc(strlen(text) + 1);
        if (buf == NULL)
            die("peer: malloc");
        if (send_all(fd, buf, unescape(text, buf)) == -1)
            die("peer: send");
        free(buf);
    }
    if (file != NULL) {
        int in = strcmp(file, "-") == 0 ? STDIN_FILENO : open(file, O_RDONLY);
        if (in == -1)
            die("peer: open");
        char chunk[65536];
        ssize_t n;
        while ((n = read(in, chunk, sizeof chunk)) > 0)
            if (send_all(fd, chunk, (size_t)n) == -1)
                die("peer: send");
        if (n == -1)
            die("peer: read");
        if (in != STDIN_FILENO)
            close(in);
    }

    if (reset) {
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) == -1)
            die("peer: setsockopt SO_LINGER");
        close(fd);
        return 0;
    }
    if (no_read) {
        close(fd);
        return 0;
    }
    if (half_close && shutdown(fd, SHUT_WR) == -1)
        die("peer: shutdown");
    if (wait_after > 0)
        usleep((useconds_t)wait_after * 1000);

    char until[4096];
    size_t until_len = until_text ? unescape(until_text, until) : 0;
    /* TEXT may straddle two reads: the window holds the last until_len - 1
     * bytes of the reads before, then this read's bytes. */
    static char window[sizeof until + 65536];
    size_t kept = 0;
    long received = 0, start = now_ms(), last = start;
    int status = 0;
    for (;;) {
        if (max_bytes >= 0 && received >= max_bytes)
            break;
        long now = now_ms();
        long wait = idle_ms - (now - last);
        if (total_ms - (now - start) < wait)
            wait = total_ms - (now - start);
        if (wait <= 0) {
            fprintf(stderr, "peer: %s after %ld bytes\n",
                    now - start >= total_ms ? "deadline reached" : "idle timeout", received);
            status = 3;
            break;
        }
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int ready = poll(&pfd, 1, (int)wait);
        if (ready == -1) {
            if (errno == EINTR) continue;
            die("peer: poll");
        }
        if (ready == 0)
            continue;
        char buf[65536];
        size_t want = sizeof buf;
        if (max_bytes >= 0 && (long)want > max_bytes - received)
            want = (size_t)(max_bytes - received);
        ssize_t n = recv(fd, buf, want, 0);
        if (n == -1) {
            if (errno == EINTR) continue;
            warn_errno("peer: recv");
            status = 1;
            break;
        }
        if (n == 0)
            break;
        fwrite(buf, 1, (size_t)n, stdout);
        fflush(stdout);
        received += n;
        last = now_ms();
        if (until_len > 0) {
            memcpy(window + kept, buf, (size_t)n);
            size_t len = kept + (size_t)n;
            for (size_t i = 0; i + until_len <= len; i++)
                if (window[i] == until[0] && memcmp(window + i, until, until_len) == 0)
                    goto done;
            kept = len < until_len - 1 ? len : until_len - 1;
            memmove(window, window + len - kept, kept);
        }
    }
done:
    close(fd);
    return status;
}
