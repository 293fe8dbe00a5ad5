/*
 * fake-hosts.c - a getaddrinfo(3) the tests control, loaded with LD_PRELOAD.
 *
 * Lesson 12's client must try every address a name resolves to, in order,
 * until one connects. To test that on any machine, whatever its /etc/hosts
 * holds, the tests run the client with this library preloaded:
 *
 *     LD_PRELOAD=build/tools/fake-hosts.so \
 *     FAKE_HOSTS_NAME=two.workbook.test FAKE_HOSTS_ADDRS=127.0.0.2,127.0.0.1 \
 *     FAKE_HOSTS_LOG=/tmp/calls client two.workbook.test PORT
 *
 * getaddrinfo() on FAKE_HOSTS_NAME returns, in this order, the results of the
 * real getaddrinfo() on each numeric address of FAKE_HOSTS_ADDRS, with the
 * caller's service and hints; any other name goes to the real getaddrinfo().
 * Every call of getaddrinfo() and freeaddrinfo() on such a list is appended to
 * FAKE_HOSTS_LOG, with the hints, so a test can check them.
 *
 * The list is made of glibc's own nodes, one allocation each, so the real
 * freeaddrinfo() frees the joined list correctly.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int getaddrinfo_fn(const char *, const char *, const struct addrinfo *, struct addrinfo **);
typedef void freeaddrinfo_fn(struct addrinfo *);

static void log_call(const char *format, ...)
{
    const char *path = getenv("FAKE_HOSTS_LOG");
    if (path == NULL)
        return;
    FILE *f = fopen(path, "a");
    if (f == NULL)
        return;
    va_list ap;
    va_start(ap, format);
    vfprintf(f, format, ap);
    va_end(ap);
    fclose(f);
}

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                struct addrinfo **res)
{
    getaddrinfo_fn *real;
    // dlsym returns a void *; POSIX's way to turn it into a function pointer.
    *(void **)&real = dlsym(RTLD_NEXT, "getaddrinfo");
    const char *name = getenv("FAKE_HOSTS_NAME");
    const char *addrs = getenv("FAKE_HOSTS_ADDRS");
    if (real == NULL)
        return EAI_SYSTEM;
    if (node == NULL || name == NULL || addrs == NULL || strcmp(node, name) != 0)
        return real(node, service, hints, res);

    log_call("getaddrinfo %s family=%d socktype=%d protocol=%d\n", node,
             hints ? hints->ai_family : -1, hints ? hints->ai_socktype : -1,
             hints ? hints->ai_protocol : -1);
    struct addrinfo numeric = {0};
    if (hints != NULL)
        numeric = *hints;
    numeric.ai_flags |= AI_NUMERICHOST;
    struct addrinfo *head = NULL, **tail = &head;
    char list[256];
    snprintf(list, sizeof list, "%s", addrs);
    for (char *save = NULL, *a = strtok_r(list, ",", &save); a != NULL; a = strtok_r(NULL, ",", &save)) {
        struct addrinfo *part = NULL;
        int rc = real(a, service, &numeric, &part);
        if (rc != 0)
            continue;   /* e.g. ::1 asked for with AF_INET: that family is filtered out */
        *tail = part;
        while (*tail != NULL)
            tail = &(*tail)->ai_next;
    }
    if (head == NULL)
        return EAI_NONAME;
    *res = head;
    return 0;
}

void freeaddrinfo(struct addrinfo *ai)
{
    freeaddrinfo_fn *real;
    *(void **)&real = dlsym(RTLD_NEXT, "freeaddrinfo");
    if (ai != NULL)
        log_call("freeaddrinfo\n");
    if (real != NULL)
        real(ai);
}
