/*
 * args.c - parse numbers from the command line (see args.h).
 *
 * strtol(3) reports three different failures: no digits at all, trailing junk
 * (endptr not at the end), and overflow (ERANGE). We check all three.
 */
#include "args.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int parse_long(const char *text, long min, long max, long *value, const char **why)
{
    char *end = NULL;

    errno = 0;
    long n = strtol(text, &end, 10);
    if (end == text || *text == '\0') {
        *why = "not a number";
        return -1;
    }
    if (*end != '\0') {
        *why = "not a number (trailing characters)";
        return -1;
    }
    if (errno == ERANGE || n > max) {
        *why = "too large";
        return -1;
    }
    if (n < min) {
        *why = "too small";
        return -1;
    }
    *value = n;
    return 0;
}

int parse_port(const char *text, uint16_t *port, const char **why)
{
    long n;

    if (parse_long(text, 0, 65535, &n, why) == -1) {
        if (strcmp(*why, "too large") == 0)
            *why = "too large: a port is at most 65535";
        else if (strcmp(*why, "too small") == 0)
            *why = "too small: a port is at least 0";
        return -1;
    }
    *port = (uint16_t)n;
    return 0;
}

static const char *usage_text = "usage: program";

void usage_init(const char *usage)
{
    usage_text = usage;
}

_Noreturn void usage_error(const char *what, const char *text, const char *why)
{
    if (what != NULL) {
        /* NAME is the usage's second word: "usage: send [-b BYTES] ..." */
        const char *name = usage_text + strlen("usage: ");
        fprintf(stderr, "%.*s: %s %s: %s\n", (int)strcspn(name, " "), name, what, text, why);
    }
    fprintf(stderr, "%s\n", usage_text);
    exit(1);
}

int next_option(int argc, char **argv, const char *optstring)
{
    int opt = getopt(argc, argv, optstring);
    if (opt == 'h') {
        /* Asked for: stdout, success (the GNU coding standards' --help). */
        printf("%s\n", usage_text);
        exit(0);
    }
    if (opt == '?' || opt == ':')
        usage_error(NULL, NULL, NULL);      /* getopt said which option */
    return opt;
}

long option_long(const char *what, long min, long max)
{
    long value;
    const char *why;
    if (parse_long(optarg, min, max, &value, &why) == -1)
        usage_error(what, optarg, why);
    return value;
}

int only_arguments(int argc, char **argv, int min, int max)
{
    next_option(argc, argv, "h");
    int left = argc - optind;
    if (left < min || left > max)
        usage_error(NULL, NULL, NULL);
    return left;
}

int parse_numeric_host(const char *text, const char **why)
{
    unsigned char addr[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, text, addr) == 1 || inet_pton(AF_INET6, text, addr) == 1)
        return 0;
    *why = "not a numeric IPv4 or IPv6 address";
    return -1;
}

void endpoint_args(int argc, char **argv, const char **host, uint16_t *port)
{
    const char *why;
    int left = argc - optind;
    if (left > 2)
        usage_error(NULL, NULL, NULL);
    if (left >= 1) {
        if (parse_numeric_host(argv[optind], &why) == -1)
            usage_error("address", argv[optind], why);
        *host = argv[optind];
    }
    if (left == 2 && parse_port(argv[optind + 1], port, &why) == -1)
        usage_error("port", argv[optind + 1], why);
}
