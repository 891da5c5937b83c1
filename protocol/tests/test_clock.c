/* The monotonic clock and deadline waits: on time, woken early, and never spinning. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>

#include "otaproto/clock.h"

/* Generous for a shared, loaded machine; the point is "not seconds late". */
#define LATE_S 0.3

typedef struct {
    pthread_mutex_t m;
    pthread_cond_t c;
    int done;
    double after; /* the helper thread's delay before it acts */
    pthread_t waiter;
} waitpair;

static int pair_setup(void **state)
{
    static waitpair w;

    memset(&w, 0, sizeof(w));
    pthread_mutex_init(&w.m, NULL);
    if (ota_cond_init_mono(&w.c) != 0)
        return -1;
    *state = &w;
    return 0;
}

static int pair_teardown(void **state)
{
    waitpair *w = *state;

    pthread_cond_destroy(&w->c);
    pthread_mutex_destroy(&w->m);
    return 0;
}

static double thread_cpu_s(void)
{
    struct rusage ru;

    getrusage(RUSAGE_THREAD, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void *signal_later(void *arg)
{
    waitpair *w = arg;

    ota_sleep(w->after);
    pthread_mutex_lock(&w->m);
    w->done = 1;
    pthread_cond_broadcast(&w->c);
    pthread_mutex_unlock(&w->m);
    return NULL;
}

static void clock_moves_forward(void **state)
{
    double a = ota_clock_now(), b;
    (void)state;

    ota_sleep(0.01);
    b = ota_clock_now();
    assert_true(a > 0);
    assert_true(b - a >= 0.01);
}

static void unsignalled_wait_times_out_on_time(void **state)
{
    waitpair *w = *state;
    double t0 = ota_clock_now(), end = t0 + 0.2, took;
    int rc;

    pthread_mutex_lock(&w->m);
    while ((rc = ota_cond_wait_until(&w->c, &w->m, end)) == 0)
        ;
    pthread_mutex_unlock(&w->m);
    took = ota_clock_now() - t0;
    assert_int_equal(rc, ETIMEDOUT);
    assert_true(ota_clock_now() >= end);
    assert_true(took >= 0.2);
    assert_true(took < 0.2 + LATE_S);
}

static void past_deadline_times_out_at_once(void **state)
{
    waitpair *w = *state;
    double t0 = ota_clock_now();

    pthread_mutex_lock(&w->m);
    assert_int_equal(ota_cond_wait_until(&w->c, &w->m, t0 - 1.0), ETIMEDOUT);
    assert_int_equal(ota_cond_wait_until(&w->c, &w->m, 0), ETIMEDOUT);
    pthread_mutex_unlock(&w->m);
    assert_true(ota_clock_now() - t0 < 0.05);
}

static void wait_until(waitpair *w, double deadline, int *wakes)
{
    pthread_mutex_lock(&w->m);
    while (!w->done && ota_cond_wait_until(&w->c, &w->m, deadline) == 0)
        (*wakes)++;
    pthread_mutex_unlock(&w->m);
}

static void signal_wakes_the_wait_early(void **state)
{
    waitpair *w = *state;
    double t0 = ota_clock_now(), took;
    pthread_t t;
    int wakes = 0;

    w->after = 0.1;
    assert_int_equal(pthread_create(&t, NULL, signal_later, w), 0);
    wait_until(w, t0 + 5.0, &wakes);
    took = ota_clock_now() - t0;
    pthread_join(t, NULL);
    assert_true(w->done);
    assert_true(took >= 0.1);
    assert_true(took < 0.1 + LATE_S);
}

/* A deadline far beyond any clock still waits, and a signal still ends it. */
static void far_deadline_waits_for_the_signal(void **state)
{
    waitpair *w = *state;
    pthread_t t;
    int wakes = 0;

    w->after = 0.05;
    assert_int_equal(pthread_create(&t, NULL, signal_later, w), 0);
    wait_until(w, 1e300, &wakes);
    pthread_join(t, NULL);
    assert_true(w->done);
}

/*
 * Issue 12: a monotonic deadline on a realtime variable returned at once, so
 * a loop that re-checked its predicate and the clock woke thousands of times
 * a second. The same loop on our variable wakes a handful of times at most.
 */
static void deadline_wait_does_not_spin(void **state)
{
    waitpair *w = *state;
    double t0 = ota_clock_now(), end = t0 + 1.0, cpu0 = thread_cpu_s();
    int wakes = 0;

    pthread_mutex_lock(&w->m);
    while (!w->done && ota_clock_now() < end) {
        wakes++;
        ota_cond_wait_until(&w->c, &w->m, end);
    }
    pthread_mutex_unlock(&w->m);
    assert_true(ota_clock_now() - t0 >= 1.0);
    assert_true(wakes <= 3);
    assert_true(thread_cpu_s() - cpu0 < 0.05);
}

static void sleep_lasts_its_time(void **state)
{
    double t0 = ota_clock_now(), took;
    (void)state;

    ota_sleep(0.1);
    took = ota_clock_now() - t0;
    assert_true(took >= 0.1);
    assert_true(took < 0.1 + LATE_S);
    t0 = ota_clock_now();
    ota_sleep(0);
    ota_sleep(-1);
    assert_true(ota_clock_now() - t0 < 0.05);
}

static void on_usr1(int sig)
{
    (void)sig;
}

static void *interrupt_later(void *arg)
{
    waitpair *w = arg;

    ota_sleep(0.05);
    pthread_kill(w->waiter, SIGUSR1);
    return NULL;
}

/* A signal handler that runs during the sleep does not cut it short. */
static void sleep_survives_a_signal(void **state)
{
    waitpair *w = *state;
    struct sigaction sa, old;
    double t0;
    pthread_t t;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_usr1; /* no SA_RESTART: the sleep sees EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, &old);
    w->waiter = pthread_self();
    t0 = ota_clock_now();
    assert_int_equal(pthread_create(&t, NULL, interrupt_later, w), 0);
    ota_sleep(0.2);
    pthread_join(t, NULL);
    sigaction(SIGUSR1, &old, NULL);
    assert_true(ota_clock_now() - t0 >= 0.2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(clock_moves_forward),
        cmocka_unit_test_setup_teardown(unsignalled_wait_times_out_on_time, pair_setup,
                                        pair_teardown),
        cmocka_unit_test_setup_teardown(past_deadline_times_out_at_once, pair_setup, pair_teardown),
        cmocka_unit_test_setup_teardown(signal_wakes_the_wait_early, pair_setup, pair_teardown),
        cmocka_unit_test_setup_teardown(far_deadline_waits_for_the_signal, pair_setup,
                                        pair_teardown),
        cmocka_unit_test_setup_teardown(deadline_wait_does_not_spin, pair_setup, pair_teardown),
        cmocka_unit_test(sleep_lasts_its_time),
        cmocka_unit_test_setup_teardown(sleep_survives_a_signal, pair_setup, pair_teardown),
    };
    return cmocka_run_group_tests_name("clock", tests, NULL, NULL);
}
