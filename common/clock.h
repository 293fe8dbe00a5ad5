/*
 * clock.h - deadlines on the monotonic clock, for timed waits.
 *
 * A deadline given to pthread_cond_timedwait(3) is an absolute time on the
 * condition variable's clock. That clock is CLOCK_REALTIME unless set
 * otherwise: the date, which jumps when someone (or NTP) sets it, so "3
 * seconds from now" could become an hour, or the past. CLOCK_MONOTONIC only
 * moves forward (clock_gettime(2)). A deadline and the condition variable
 * that waits for it must use the same clock: both come from here.
 *
 * Read: clock_gettime(2), pthread_condattr_setclock(3)
 */
#ifndef WORKBOOK_CLOCK_H
#define WORKBOOK_CLOCK_H

#include <pthread.h>
#include <time.h>

/* Now plus seconds, on CLOCK_MONOTONIC (monotonic_in(0) is now). */
struct timespec monotonic_in(long seconds);

/* 1 if a is earlier than b, else 0. */
int earlier(struct timespec a, struct timespec b);

/* pthread_cond_init with CLOCK_MONOTONIC as the clock of its timed waits:
 * 0, or an error number. pthread_cond_destroy it as usual. */
int monotonic_cond_init(pthread_cond_t *cond);

#endif
