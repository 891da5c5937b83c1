/*
 * Lock misuse the tsa build must refuse (tests/tsa/expect.sh): each BREAK_*
 * macro puts one mistake in; without any, the file is correct and compiles.
 */
#include "mock_priv.h"

/* The trace's lock, then the cloud's: against the order lock -> tlock. */
void wrong_order(mc_cloud *c)
{
    mc_trace_lock(c);
#ifdef BREAK_ORDER
    mc_cloud_lock(c);
    mc_cloud_unlock(c);
#endif
    mc_trace_unlock(c);
}

/* The trace file written with the cloud's lock held. */
void flush_under_lock(mc_cloud *c)
{
    mc_cloud_lock(c);
#ifdef BREAK_FLUSH
    mc_trace_flush(c);
#endif
    mc_cloud_unlock(c);
    mc_trace_flush(c);
}

/* A leaf's holder takes another lock. */
void leaf_takes_lock(mc_cloud *c)
{
    mc_leaf_lock(c, &c->rlock);
#ifdef BREAK_LEAF
    mc_trace_add(c, OTA_TR_CLOUD, NULL, NULL, NULL, 0, "under rlock");
#endif
    mc_mutex_unlock(&c->rlock);
}

/* A "(c->lock held)" function called without the lock. */
int requires_without_lock(mc_cloud *c)
{
    int found;
#ifndef BREAK_REQUIRES
    mc_cloud_lock(c);
#endif
    found = mc_job_find(c, 1) != NULL;
#ifndef BREAK_REQUIRES
    mc_cloud_unlock(c);
#endif
    return found;
}
