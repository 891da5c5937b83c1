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

    mc_leaf_lock(c, &c->klock);
    while (!c->k_stop) {
        mc_cond_wait_until(&c->kcond, &c->klock, ota_clock_now() + TICK_S);
        if (c->k_stop)
            break;
        mc_mutex_unlock(&c->klock);
        mc_jobs_tick(c);
        mc_trace_tick(c);
        mc_leaf_lock(c, &c->klock);
    }
    mc_mutex_unlock(&c->klock);
    return NULL;
}

int mc_ticker_start(mc_cloud *c)
{
    mc_mutex_init(&c->klock);
    ota_cond_init_mono(&c->kcond);
    c->k_stop = 0;
    c->ticker_up = pthread_create(&c->ticker, NULL, ticker_main, c) == 0;
    if (!c->ticker_up) {
        pthread_cond_destroy(&c->kcond);
        mc_mutex_destroy(&c->klock);
        return MC_ERR_NOMEM;
    }
    return MC_OK;
}

void mc_ticker_stop(mc_cloud *c)
{
    if (!c->ticker_up)
        return;
    mc_leaf_lock(c, &c->klock);
    c->k_stop = 1;
    pthread_cond_broadcast(&c->kcond);
    mc_mutex_unlock(&c->klock);
    pthread_join(c->ticker, NULL);
    c->ticker_up = 0;
    pthread_cond_destroy(&c->kcond);
    mc_mutex_destroy(&c->klock);
}
