/* clock.h: seconds on CLOCK_MONOTONIC, the clock every interval, rate and age in hakstat
 * is measured on (a change of the wall clock moves none of them). */
#ifndef HS_CLOCK_H
#define HS_CLOCK_H

#include <time.h>

static inline double hs_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif /* HS_CLOCK_H */
