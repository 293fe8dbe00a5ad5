/*
 * args.c - parse numbers from the command line (see args.h).
 *
 * strtol(3) reports three different failures: no digits at all, trailing junk
 * (endptr not at the end), and overflow (ERANGE). We check all three.
 */
#include "args.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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
