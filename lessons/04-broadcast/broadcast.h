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

#endif
