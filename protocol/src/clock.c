/*
 * The monotonic clock and deadline waits. A condition variable's timed wait
 * counts on the clock the variable was made with (realtime by default); a
 * monotonic deadline given to a realtime variable lies decades in the past,
 * so every wait returns at once and its caller spins. Hence one way to make
 * the variable and one way to wait on it.
 */
#include <errno.h>
#include <time.h>

#include "otaproto/clock.h"

#define NS_PER_S 1000000000L
#define FAR_S    1e12 /* about 30,000 years: a deadline past it waits "forever" */

double ota_clock_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * The deadline as a timespec, rounded up to the next nanosecond so that a
 * wait that timed out has really reached the deadline in seconds too.
 */
static struct timespec to_timespec(double t)
{
    struct timespec ts = {0, 0};

    if (!(t > 0)) /* also NaN */
        return ts;
    if (t > FAR_S)
        t = FAR_S;
    ts.tv_sec = (time_t)t;
    ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9 + 0.999);
    if (ts.tv_nsec >= NS_PER_S) {
        ts.tv_sec++;
        ts.tv_nsec -= NS_PER_S;
    }
    return ts;
}

int ota_cond_init_mono(pthread_cond_t *c)
{
    pthread_condattr_t ca;
    int rc = pthread_condattr_init(&ca);

    if (rc != 0)
        return rc;
    rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (rc == 0)
        rc = pthread_cond_init(c, &ca);
    pthread_condattr_destroy(&ca);
    return rc;
}

int ota_cond_wait_until(pthread_cond_t *c, pthread_mutex_t *m, double deadline)
{
    struct timespec ts = to_timespec(deadline);
    int rc;

    if (ota_clock_now() >= deadline)
        return ETIMEDOUT;
    do
        rc = pthread_cond_timedwait(c, m, &ts);
    while (rc == EINTR);
    return rc;
}

void ota_sleep(double seconds)
{
    struct timespec ts;

    if (seconds <= 0)
        return;
    ts = to_timespec(ota_clock_now() + seconds);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}
