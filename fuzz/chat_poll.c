/*
 * fuzz/chat_poll.c - a libFuzzer target for lesson 17's line framing and
 * command handling (solutions/17-chat-poll/chat-server.c, included whole with
 * its main renamed, so its static functions are reachable).
 *
 * Each input: three clients join through socketpairs (add_client); the input
 * after its first byte is what client A sends, in pieces whose sizes come from
 * the first byte, each piece read by handle_client_data (framing, "\r", over-long
 * lines, control bytes, /nick /who /quit and unknown commands), then the room's
 * queues are flushed and departures reaped, as the event loop does. What
 * client B receives must hold no control byte but "\n" and TAB (the protocol:
 * they become "?"). ASan and UBSan check every access; shutdown_room frees all.
 *
 * link: common/net.c common/stop.c common/args.c
 * (report.c is replaced below: its warnings would flood the fuzzer's stderr.)
 */
#include <stdint.h>

#define main chat_server_main
#include "../solutions/17-chat-poll/chat-server.c" // NOLINT(bugprone-suspicious-include)
#undef main

/* common/report.h, quiet: a warning is normal here (TCP_NODELAY on a socketpair). */
const char *errno_name(int errnum) { (void)errnum; return "E?"; }
void warn_errno(const char *call) { (void)call; }
void warn_with(const char *call, int errnum) { (void)call; (void)errnum; }
_Noreturn void die(const char *call) { (void)call; abort(); }
_Noreturn void die_with(const char *call, int errnum) { (void)call; (void)errnum; abort(); }
_Noreturn void die_msg(const char *fmt, ...) { (void)fmt; abort(); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void drain(int fd, int check)
{
    char buf[4096];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, MSG_DONTWAIT)) > 0) {
        for (ssize_t i = 0; check && i < n; i++) {
            unsigned char b = (unsigned char)buf[i];
            if ((b < 0x20 && b != '\n' && b != '\t') || b == 0x7f) {
                fprintf(stderr, "chat_poll: control byte 0x%02x reached another client\n", b);
                abort();
            }
        }
    }
}

static int in_room(const struct server *srv, const struct client *c)
{
    for (const struct client *p = srv->first; p != NULL; p = p->next)
        if (p == c)
            return 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int quiet;
    if (!quiet) {                       /* the server's log goes to stdout */
        if (freopen("/dev/null", "w", stdout) == NULL)
            abort();
        quiet = 1;
    }
    if (size < 1 || size > 16384)
        return 0;
    size_t piece_max = 1 + data[0] % 32;
    data++;
    size--;

    struct pollfd fds[8] = {{0}};
    struct client *slots[8] = {0};
    struct server srv = {.max_clients = 6, .queue_limit = 65536, .spare_fd = -1,
                         .listener = -1, .fds = fds, .slots = slots, .nfds = 2};
    int peer[3];
    for (int i = 0; i < 3; i++) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
            abort();
        peer[i] = sv[0];
        add_client(&srv, sv[1]);
    }
    struct client *a = srv.slots[2];
    flush_dirty(&srv);

    size_t off = 0;
    unsigned step = 0;
    while (off < size && in_room(&srv, a)) {
        size_t n = 1 + (size_t)((step++ * 7 + data[off]) % piece_max);
        if (n > size - off)
            n = size - off;
        if (send(peer[0], data + off, n, 0) != (ssize_t)n)
            abort();
        off += n;
        handle_client_data(&srv, a);
        flush_dirty(&srv);
        reap_departed(&srv);
        for (int i = 0; i < 3; i++)
            drain(peer[i], i == 1);
    }
    stop_signal = SIGTERM;
    shutdown_room(&srv);
    stop_signal = 0;
    for (int i = 0; i < 3; i++) {
        drain(peer[i], i == 1);
        close(peer[i]);
    }
    return 0;
}
