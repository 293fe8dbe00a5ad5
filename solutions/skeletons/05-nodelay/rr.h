/*
 * rr.h - the tiny request/response protocol of lesson 05 (rr-client, rr-server).
 *
 * A request is a 4-byte header, the body's length in network byte order,
 * followed by the body. The reply has the same shape, with the 2-byte body
 * "ok". The client sends header and body with two separate send() calls and
 * then waits for the reply: the write-write-read pattern that Nagle's
 * algorithm and delayed ACKs turn into a stall.
 */
#ifndef RR_H
#define RR_H

#include "stop.h"

#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/socket.h>

#define RR_HEADER_SIZE 4
#define RR_MAX_BODY 65536
#define RR_REPLY "ok"

/* Receive exactly len bytes (a byte stream may deliver them in pieces, see
 * lesson 10). Returns 1 when all came, 0 if the peer closed first, -1 with
 * errno: EINTR when SIGINT/SIGTERM asked to stop (common/stop.h; a peer
 * that stops halfway through a request must not keep a server from it). */
static inline int rr_recv_full(int fd, void *buf, size_t len)
{
    char *p = buf;
    while (len > 0) {
        int ready = wait_or_stop(fd, POLLIN);
        if (ready != 1) {
            if (ready == 0)
                errno = EINTR;
            return -1;
        }
        ssize_t n = recv(fd, p, len, 0);
        if (n == -1) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0)
            return 0;
        p += n;
        len -= (size_t)n;
    }
    return 1;
}

/* The header for a body of len bytes, most significant byte first. */
static inline void rr_put_length(unsigned char header[RR_HEADER_SIZE], unsigned long len)
{
    header[0] = (unsigned char)(len >> 24);
    header[1] = (unsigned char)(len >> 16);
    header[2] = (unsigned char)(len >> 8);
    header[3] = (unsigned char)len;
}

static inline unsigned long rr_get_length(const unsigned char header[RR_HEADER_SIZE])
{
    return (unsigned long)header[0] << 24 | (unsigned long)header[1] << 16
         | (unsigned long)header[2] << 8 | (unsigned long)header[3];
}

#endif
