/*
 * broadcast.h - what lesson 04's sender and receiver agree on.
 *
 * The workbook only ever broadcasts on the loopback network, 127.0.0.0/8,
 * whose broadcast address is 127.255.255.255: the datagrams never leave this
 * machine. Do not point these programs at 255.255.255.255 or at your LAN's
 * broadcast address: every host on the network would receive them.
 */
#ifndef BROADCAST_H
#define BROADCAST_H

#define BROADCAST_ADDRESS "127.255.255.255"
#define BROADCAST_PORT 12345      /* the source course's port */
#define MAX_DATAGRAM 512          /* what the receiver prints of each datagram */

#include "report.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

/* A UDP socket (broadcast is a datagram idea: TCP connects to one peer, UDP
 * can address many), and in *addr the IPv4 address ip ("0.0.0.0" for every
 * local one) with port. Any failure ends the program. */
static inline int udp_socket_for(const char *ip, uint16_t port, struct sockaddr_in *addr)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd == -1)
        die("socket");
    memset(addr, 0, sizeof *addr);
    addr->sin_family = AF_INET;
    addr->sin_port = htons(port);
    if (inet_pton(AF_INET, ip, &addr->sin_addr) != 1)
        die_msg("inet_pton %s: not an IPv4 address", ip);
    return fd;
}

#endif
