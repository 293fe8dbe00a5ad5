/*
 * args.h - command-line numbers, parsed with a reason for every rejection.
 *
 * Never atoi(): it turns "80x" into 80 and "http" into 0 without a word.
 * These helpers return 0 on success and -1 on failure, with a short reason
 * ("not a number", "too large: at most 65535") in *why. They never exit.
 */
#ifndef WORKBOOK_ARGS_H
#define WORKBOOK_ARGS_H

#include <stdint.h>

/* A TCP/UDP port: 0..65535. Port 0 asks the kernel to choose (see lesson 06). */
int parse_port(const char *text, uint16_t *port, const char **why);

/* A decimal integer in [min, max]. */
int parse_long(const char *text, long min, long max, long *value, const char **why);

#endif
