/*
 * The mock cloud's mutex, annotated for clang's thread-safety analysis
 * (-Wthread-safety; the `tsa` preset builds with it and -Werror). The
 * annotations let the compiler check, within each function, that a lock is
 * held where a function REQUIRES it, not held where one EXCLUDES it, and
 * released on every path. The order of the cloud's locks is written as
 * EXCLUDES on the functions that take them (mock_priv.h), so taking one in
 * the wrong order is an error too. Under gcc every macro expands to nothing.
 *
 * clang 14 cannot name a struct member in an attribute on another member in
 * C (GUARDED_BY(lock) on a field, ACQUIRED_BEFORE between two fields), so
 * the fields a lock guards are listed in comments and the order is kept by
 * the EXCLUDES lists instead; GUARDED_BY and ACQUIRED_* work on globals.
 *
 * mc_mutex also remembers which thread holds it, so a precondition "called
 * with m held" can be asserted at run time (mc_mutex_held), which reaches
 * what the compiler does not: calls through pointers and across threads.
 */
#ifndef OTAMOCK_LOCK_H
#define OTAMOCK_LOCK_H

#include <pthread.h>

#if defined(__clang__)
#define MC_TSA(x) __attribute__((x))
#else
#define MC_TSA(x)
#endif

#define CAPABILITY(x)             MC_TSA(capability(x))
#define GUARDED_BY(x)             MC_TSA(guarded_by(x))
#define PT_GUARDED_BY(x)          MC_TSA(pt_guarded_by(x))
#define ACQUIRED_BEFORE(...)      MC_TSA(acquired_before(__VA_ARGS__))
#define ACQUIRED_AFTER(...)       MC_TSA(acquired_after(__VA_ARGS__))
#define REQUIRES(...)             MC_TSA(requires_capability(__VA_ARGS__))
#define ACQUIRE(...)              MC_TSA(acquire_capability(__VA_ARGS__))
#define RELEASE(...)              MC_TSA(release_capability(__VA_ARGS__))
#define EXCLUDES(...)             MC_TSA(locks_excluded(__VA_ARGS__))
#define ASSERT_CAPABILITY(x)      MC_TSA(assert_capability(x))
#define NO_THREAD_SAFETY_ANALYSIS MC_TSA(no_thread_safety_analysis)

typedef struct CAPABILITY("mutex") mc_mutex {
    pthread_mutex_t m;
    const void *_Atomic owner; /* the holder's token (lock.c); NULL: free */
} mc_mutex;

void mc_mutex_init(mc_mutex *m);
void mc_mutex_destroy(mc_mutex *m);
void mc_mutex_lock(mc_mutex *m) ACQUIRE(m);
void mc_mutex_unlock(mc_mutex *m) RELEASE(m);
/* 1 when the calling thread holds m. */
int mc_mutex_held(const mc_mutex *m);
/*
 * Wait on cv, m released meanwhile and held again on return, until woken or
 * ota_clock_now() reaches deadline: ota_cond_wait_until's contract.
 */
int mc_cond_wait_until(pthread_cond_t *cv, mc_mutex *m, double deadline) REQUIRES(m);
/* Wait on cv without a deadline (a thread's own stop flag ends it). */
void mc_cond_wait(pthread_cond_t *cv, mc_mutex *m) REQUIRES(m);

#endif
