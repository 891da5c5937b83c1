/*
 * mc_mutex (lock.h): a pthread mutex that knows its holder. A thread's token
 * is the address of a thread-local byte: unique among live threads, and
 * only the holder ever writes its own token into `owner`, so a thread reads
 * its own token there exactly when it holds the mutex.
 */
#include <assert.h>

#include "lock.h"
#include "otaproto/clock.h"

static _Thread_local char me;

void mc_mutex_init(mc_mutex *m)
{
    pthread_mutex_init(&m->m, NULL);
    m->owner = NULL;
}

void mc_mutex_destroy(mc_mutex *m)
{
    assert(m->owner == NULL); /* destroying a held mutex is undefined */
    pthread_mutex_destroy(&m->m);
}

/* The wrapper is where the analysis starts: its body is pthread's, not checked. */
void mc_mutex_lock(mc_mutex *m) NO_THREAD_SAFETY_ANALYSIS
{
    assert(m->owner != &me); /* not recursive: this would deadlock */
    pthread_mutex_lock(&m->m);
    m->owner = &me;
}

void mc_mutex_unlock(mc_mutex *m) NO_THREAD_SAFETY_ANALYSIS
{
    assert(m->owner == &me); /* only the holder unlocks */
    m->owner = NULL;
    pthread_mutex_unlock(&m->m);
}

int mc_mutex_held(const mc_mutex *m)
{
    return m->owner == &me;
}

int mc_cond_wait_until(pthread_cond_t *cv, mc_mutex *m, double deadline)
{
    int rc;

    assert(m->owner == &me);
    m->owner = NULL;
    rc = ota_cond_wait_until(cv, &m->m, deadline);
    m->owner = &me;
    return rc;
}

void mc_cond_wait(pthread_cond_t *cv, mc_mutex *m)
{
    assert(m->owner == &me);
    m->owner = NULL;
    pthread_cond_wait(cv, &m->m);
    m->owner = &me;
}
