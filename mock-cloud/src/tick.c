/*
 * The ticker: one thread that runs the cloud's timers a few times a second.
 * It times out open jobs whose timer ran out and writes the summaries of
 * repeat bursts that ended or went on for a second. It decides nothing
 * itself; job.c and trace_repeat.c do.
 */
#include "mock_priv.h"

#define TICK_S 0.2

static void *ticker_main(void *arg)
{
    mc_cloud *c = arg;

    pthread_mutex_lock(&c->klock);
    while (!c->k_stop) {
        ota_cond_wait_until(&c->kcond, &c->klock, ota_clock_now() + TICK_S);
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
    pthread_mutex_init(&c->klock, NULL);
    ota_cond_init_mono(&c->kcond);
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
