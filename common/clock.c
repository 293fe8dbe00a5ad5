/*
 * clock.c - deadlines on the monotonic clock (see clock.h).
 */
#include "clock.h"

struct timespec monotonic_in(long seconds)
{
    struct timespec t;
    /* Cannot fail: CLOCK_MONOTONIC always exists on Linux, and &t is valid. */
    clock_gettime(CLOCK_MONOTONIC, &t);
    t.tv_sec += seconds;
    return t;
}

int earlier(struct timespec a, struct timespec b)
{
    return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

int monotonic_cond_init(pthread_cond_t *cond)
{
    pthread_condattr_t attr;
    int rc = pthread_condattr_init(&attr);
    if (rc != 0)
        return rc;
    if ((rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)) == 0)
        rc = pthread_cond_init(cond, &attr);
    pthread_condattr_destroy(&attr);
    return rc;
}
