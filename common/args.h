/*
 * args.h - command-line numbers, parsed with a reason for every rejection.
 *
 * Never atoi(): it turns "80x" into 80 and "http" into 0 without a word.
 * These helpers return 0 on success and -1 on failure, with a short reason
 * ("not a number", "too large: at most 65535") in *why. They never exit.
 *
 * Read: getopt(3), strtol(3), inet_pton(3)
 */
#ifndef WORKBOOK_ARGS_H
#define WORKBOOK_ARGS_H

#include <stdint.h>

/* A TCP/UDP port: 0..65535. Port 0 asks the kernel to choose (see lesson 06). */
int parse_port(const char *text, uint16_t *port, const char **why);

/* A decimal integer in [min, max]. */
int parse_long(const char *text, long min, long max, long *value, const char **why);

/*
 * The command-line frame every program shares (TLPI's usageErr, made small).
 * Unlike the parsers above, these end the program: a bad command line is the
 * one failure no program can go on after.
 *
 *   usage_init(USAGE);                    first thing in main
 *   while ((opt = next_option(argc, argv, "n:h")) != -1) ...
 *   endpoint_args(argc, argv, &host, &port);    [ADDRESS [PORT]], if it takes them
 *
 * -h prints the usage on stdout and exits 0 (asked for, not an error); a bad
 * argument prints one reason and the usage on stderr and exits 1.
 */

/* Remember "usage: NAME ..." for usage_error and -h; NAME names the program. */
void usage_init(const char *usage);

/* "NAME: WHAT TEXT: WHY" (when what is not NULL), then the usage, on stderr;
 * exit(1). */
_Noreturn void usage_error(const char *what, const char *text, const char *why);

/* getopt(3) with optstring, which must list 'h': -h prints the usage on stdout
 * and exits 0; an unknown option or a missing value (getopt prints which)
 * ends in usage_error. Returns the next option of the program's own, or -1. */
int next_option(int argc, char **argv, const char *optstring);

/* The value of the option next_option just returned (optarg) as a decimal
 * number in [min, max]; a bad one ends in usage_error(what, optarg, why). */
long option_long(const char *what, long min, long max);

/* The frame of a program with no options but -h: next_option, then the
 * arguments left (argv[optind] onwards) must number min to max, else
 * usage_error. Returns how many there are. */
int only_arguments(int argc, char **argv, int min, int max);

/* 0 if text is a numeric IPv4 or IPv6 address ("127.0.0.1", "::1"); else -1
 * and *why. Servers take numbers only: a name may resolve to several. */
int parse_numeric_host(const char *text, const char **why);

/* The arguments left after the options, [ADDRESS [PORT]]: a numeric address
 * and a port 0..65535. What is absent keeps the value passed in (the
 * default); anything else ends in usage_error. */
void endpoint_args(int argc, char **argv, const char **host, uint16_t *port);

#endif
