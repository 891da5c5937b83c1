/*
 * The ticker: one thread that runs the cloud's timers a few times a second.
 * It times out open jobs whose timer ran out and writes the summaries of
 * repeat bursts that ended or went on for a second. It decides nothing
 * itself; job.c and trace_repeat.c do.
 */
#include <time.h>

#include "mock_priv.h"

#define TICK_S 0.2

static void *ticker_main(void *arg)
{
    mc_cloud *c = arg;

    pthread_mutex_lock(&c->klock);
    while (!c->k_stop) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += (long)(TICK_S * 1e9);
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&c->kcond, &c->klock, &ts);
        if (c->k_stop)
            break;
        pthread_mutex_unlock(&c->klock);
        mc_jobs_tick(c);
        mc_trace_tick(c);
        pthread_mutex_lock(&c->klock);
    }
    pthread_mutex_unlock(&c->klock);
    return NULL;
}

int mc_ticker_start(mc_cloud *c)
{
    pthread_condattr_t ca;

    pthread_mutex_init(&c->klock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->kcond, &ca);
    pthread_condattr_destroy(&ca);
    c->k_stop = 0;
    c->ticker_up = pthread_create(&c->ticker, NULL, ticker_main, c) == 0;
    if (!c->ticker_up) {
        pthread_cond_destroy(&c->kcond);
        pthread_mutex_destroy(&c->klock);
        return MC_ERR_NOMEM;
    }
    return MC_OK;
}

void mc_ticker_stop(mc_cloud *c)
{
    if (!c->ticker_up)
        return;
    pthread_mutex_lock(&c->klock);
    c->k_stop = 1;
    pthread_cond_broadcast(&c->kcond);
    pthread_mutex_unlock(&c->klock);
    pthread_join(c->ticker, NULL);
    c->ticker_up = 0;
    pthread_cond_destroy(&c->kcond);
    pthread_mutex_destroy(&c->klock);
}
