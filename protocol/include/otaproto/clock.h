/*
 * The one clock every deadline in the project counts on (CLOCK_MONOTONIC, in
 * seconds as a double) and the waits that go with it: a condition variable
 * whose timed waits use that clock, a wait until a deadline, and a sleep.
 * No I/O; blocking only where a function says it waits or sleeps.
 */
#ifndef OTAPROTO_CLOCK_H
#define OTAPROTO_CLOCK_H

#include <pthread.h>

/* Monotonic seconds from an arbitrary origin; only differences mean anything. */
double ota_clock_now(void);

/*
 * Initialise c so that its timed waits count on the monotonic clock, as
 * ota_cond_wait_until needs. Returns 0, or the pthread error code (c is
 * then not initialised). The caller destroys c with pthread_cond_destroy.
 */
int ota_cond_init_mono(pthread_cond_t *c);

/*
 * With m locked, wait on c (made by ota_cond_init_mono) until it is
 * signalled or ota_clock_now() reaches deadline. Returns 0 when woken,
 * which may be spurious, so the caller re-checks its predicate and waits
 * again; ETIMEDOUT once the deadline has passed (at once when it already
 * had); another pthread error (EINVAL, EPERM) for a bad c or m, which the
 * caller treats like a timeout. m is locked again on return. Never polls:
 * it returns only on a signal, a spurious wake-up or the deadline.
 */
int ota_cond_wait_until(pthread_cond_t *c, pthread_mutex_t *m, double deadline);

/* Sleep for seconds on the monotonic clock, through signals; no-op for <= 0. */
void ota_sleep(double seconds);

#endif
