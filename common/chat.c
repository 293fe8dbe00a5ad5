/*
 * chat.c - the chat protocol (see chat.h for each function's contract).
 */
#include "chat.h"
#include "args.h"
#include "net.h"
#include "report.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

void log_event(const char *fmt, ...)
{
    char stamp[32], text[CHAT_TEXT_MAX];
    time_t now = time(NULL);
    struct tm tm;
    strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", localtime_r(&now, &tm));
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    printf("[%s] %s\n", stamp, text);
}

size_t format_line(char text[CHAT_TEXT_MAX], const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t len = vformat_line(text, fmt, ap);
    va_end(ap);
    return len;
}

size_t vformat_line(char text[CHAT_TEXT_MAX], const char *fmt, va_list ap)
{
    int n = vsnprintf(text, CHAT_TEXT_MAX - 1, fmt, ap);
    if (n < 0)
        n = 0;
    if (n > CHAT_TEXT_MAX - 2)          /* cut: keep room for "\n" and the NUL */
        n = CHAT_TEXT_MAX - 2;
    text[n++] = '\n';
    text[n] = '\0';
    return (size_t)n;
}

char *format_who(const char *const names[], size_t count, size_t *len)
{
    size_t size = 64;
    for (size_t i = 0; i < count; i++)
        size += strlen(names[i]) + 2;
    char *text = malloc(size);
    if (text == NULL)
        return NULL;
    size_t used = (size_t)snprintf(text, size, "* online (%zu):", count);
    for (size_t i = 0; i < count; i++)
        used += (size_t)snprintf(text + used, size - used, "%s%s", i ? ", " : " ", names[i]);
    text[used++] = '\n';
    text[used] = '\0';
    *len = used;
    return text;
}

int announced(const struct chat_options *opt, long room_size)
{
    return room_size <= opt->announce_max;
}

int valid_name(const char *name)
{
    size_t len = strlen(name);
    return len >= 1 && len <= NAME_LEN &&
           strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == len;
}

enum chat_command parse_command(const char *line, const char **name)
{
    if (line[0] != '/')
        return CMD_SAY;
    if (strncmp(line, "/nick", 5) == 0 && (line[5] == ' ' || line[5] == '\0')) {
        *name = line[5] ? line + 6 : "";
        return CMD_NICK;
    }
    if (strcmp(line, "/who") == 0)
        return CMD_WHO;
    if (strcmp(line, "/quit") == 0)
        return CMD_QUIT;
    return CMD_UNKNOWN;
}

void clean_line(char *line, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char b = (unsigned char)line[i];
        if ((b < 0x20 && b != '\t') || b == 0x7f)
            line[i] = '?';
    }
}

void refuse(int fd, enum refusal why, long value)
{
    char addr[ADDRESS_TEXT_MAX], reason[64], text[128];
    if (peer_address(fd, addr, sizeof addr) == -1)
        snprintf(addr, sizeof addr, "(gone)");
    if (why == REFUSE_FULL)
        snprintf(reason, sizeof reason, "server full (%ld clients)", value);
    else if (why == REFUSE_FD_SETSIZE)
        snprintf(reason, sizeof reason, "server full (fd %ld >= FD_SETSIZE %d)", value, FD_SETSIZE);
    else
        snprintf(reason, sizeof reason, "%s (%s)",
                 why == REFUSE_NO_FDS ? "out of file descriptors" : "cannot start a thread",
                 errno_name((int)value));
    int n = snprintf(text, sizeof text, "* %s, try again later\n", reason);
    send_now(fd, text, (size_t)n);
    if (close(fd) == -1)
        warn_errno("close");
    log_event("refused %s: %s", addr, reason);
}

void send_now(int fd, const char *text, size_t len)
{
    while (send(fd, text, len, MSG_NOSIGNAL | MSG_DONTWAIT) == -1 && errno == EINTR)
        continue;                       /* a signal came before anything was sent */
}

void close_gently(int fd)
{
    char sink[4096];
    shutdown(fd, SHUT_WR);
    for (int i = 0; i < 16 && recv(fd, sink, sizeof sink, MSG_DONTWAIT) > 0; i++)
        ;
    if (close(fd) == -1)
        warn_errno("close");
}

void leave_reason(char why[CHAT_REASON_MAX], int err)
{
    if (err == ECONNRESET || err == EPIPE)
        snprintf(why, CHAT_REASON_MAX, "reset");
    else
        snprintf(why, CHAT_REASON_MAX, "error: %s", errno_name(err));
}

void raise_fd_limit(void)
{
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) == -1) {
        warn_errno("getrlimit RLIMIT_NOFILE");
        return;
    }
    lim.rlim_cur = lim.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &lim) == -1)
        warn_errno("setrlimit RLIMIT_NOFILE");
}

size_t queued(const struct out_queue *q)
{
    return q->len - q->head;
}

int queue_append(struct out_queue *q, const char *text, size_t n)
{
    if (n == 0)
        return 0;
    if (q->len + n > q->cap && q->head > 0) {   /* reuse the front */
        memmove(q->buf, q->buf + q->head, q->len - q->head);
        q->len -= q->head;
        q->head = 0;
    }
    if (q->len + n > q->cap) {
        size_t cap = q->cap ? q->cap : 1024;
        while (cap < q->len + n)
            cap *= 2;
        char *bigger = realloc(q->buf, cap);
        if (bigger == NULL)
            return -1;
        q->buf = bigger;
        q->cap = cap;
    }
    memcpy(q->buf + q->len, text, n);
    q->len += n;
    return 0;
}

void send_goodbye(int fd, const struct out_queue *q, int mid_line, const char *notice)
{
    const char *rest = q->buf + q->head;
    size_t keep = 0, nlen = notice ? strlen(notice) : 0;
    if (mid_line && queued(q) > 0) {    /* up to and with that line's "\n" */
        const char *nl = memchr(rest, '\n', queued(q));
        keep = nl ? (size_t)(nl - rest) + 1 : queued(q);
    } else if (notice == NULL) {
        keep = queued(q);               /* no notice: what is queued, as the kernel takes it */
    }
    char *text = malloc(keep + nlen + 1);
    if (text == NULL)
        return;
    if (keep > 0)
        memcpy(text, rest, keep);
    if (notice != NULL) {
        memcpy(text + keep, notice, nlen);
        text[keep + nlen++] = '\n';
    }
    send_now(fd, text, keep + nlen);
    free(text);
}

void parse_chat_options(struct chat_options *opt, int argc, char **argv)
{
    const char *why;
    long value;
    int c;
    while ((c = getopt(argc, argv, "m:q:t:a:h")) != -1) {
        switch (c) {
        case 'm':
            if (parse_long(optarg, 1, 1000000, &opt->max_clients, &why) == -1)
                die_msg("chat-server: -m %s: %s\n%s", optarg, why, CHAT_USAGE);
            break;
        case 'q':
            if (parse_long(optarg, 1, 1L << 30, &value, &why) == -1)
                die_msg("chat-server: -q %s: %s\n%s", optarg, why, CHAT_USAGE);
            opt->queue_limit = (size_t)value;
            break;
        case 't':
            if (parse_long(optarg, 1, 3600, &opt->grace_seconds, &why) == -1)
                die_msg("chat-server: -t %s: %s\n%s", optarg, why, CHAT_USAGE);
            break;
        case 'a':
            if (parse_long(optarg, 0, 1000000, &opt->announce_max, &why) == -1)
                die_msg("chat-server: -a %s: %s\n%s", optarg, why, CHAT_USAGE);
            break;
        case 'h':
            printf("%s\n", CHAT_USAGE);
            exit(0);
        default:
            die_msg("%s", CHAT_USAGE);  /* getopt has said what was wrong */
        }
    }
    if (argc - optind > 2)
        die_msg("chat-server: too many arguments\n%s", CHAT_USAGE);
    if (optind < argc)
        opt->host = argv[optind];
    if (optind + 1 < argc && parse_port(argv[optind + 1], &opt->port, &why) == -1)
        die_msg("chat-server: port %s: %s\n%s", argv[optind + 1], why, CHAT_USAGE);
}

void line_cutter_init(struct line_cutter *cut, char *line, size_t size)
{
    *cut = (struct line_cutter){.line = line, .size = size};
}

enum cut_result cut_line(struct line_cutter *cut, const char *data, size_t n, size_t *used)
{
    if (cut->done) {                    /* the line handed out last time is taken */
        cut->len = 0;
        cut->done = 0;
    }
    for (size_t i = 0; i < n; i++) {
        char c = data[i];
        if (c == '\n') {
            if (cut->discarding) {      /* the end of an over-long line's tail */
                cut->discarding = 0;
                continue;
            }
            if (!cut->held_cr && cut->len > 0 && cut->line[cut->len - 1] == '\r')
                cut->len--;
            cut->line[cut->len] = '\0';
            cut->held_cr = 0;
            cut->done = 1;
            *used = i + 1;
            return CUT_LINE;
        }
        if (cut->discarding)
            continue;
        if (!cut->held_cr && cut->len + 1 < cut->size) {
            cut->line[cut->len++] = c;
        } else if (!cut->held_cr && c == '\r') {
            cut->held_cr = 1;           /* full: fits only if "\n" comes next */
        } else {
            /* Longer than fits: hand back what fits and skip the rest up to
             * its "\n". This byte is not used, so a "\n" here ends it. */
            cut->line[cut->len] = '\0';
            cut->held_cr = 0;
            cut->discarding = 1;
            cut->done = 1;
            *used = i;
            return CUT_TOO_LONG;
        }
    }
    *used = n;
    return CUT_NONE;
}

enum cut_result cut_end(struct line_cutter *cut)
{
    if (cut->done) {
        cut->len = 0;
        cut->done = 0;
    }
    if (cut->len == 0 && !cut->held_cr)
        return CUT_NONE;
    int truncated = cut->held_cr;       /* its "\r" did not fit */
    cut->line[cut->len] = '\0';
    cut->held_cr = 0;
    cut->done = 1;
    return truncated ? CUT_TOO_LONG : CUT_LINE;
}
