/*
 * Power cuts at a process device's flash writes (cutter.c): inotify on its
 * state folder, SIGKILL at the n-th change. Used by the power group.
 *
 * Returns as in ct.h; ct_cutter_fired answers a question (1 once it cut).
 */
#ifndef CT_CUTTER_H
#define CT_CUTTER_H

#include "ct.h"

typedef struct ct_cutter ct_cutter;

/*
 * Watch dir from now on; at the nth change named key (n >= 1; key as
 * ct_cutter_name gives it, "rename to version"; NULL: any change) cancel
 * the device's open jobs and cut its power (dut_restart on ct.dut: SIGKILL,
 * then the adapter starts it again). n = 0 only counts and names the
 * changes. NULL when dir cannot be watched. The caller owns the watcher and
 * stops it with ct_cutter_stop.
 */
ct_cutter *ct_cutter_start(const char *dir, const char *key, int nth);
/* The changes counted so far (none after the cut). */
int ct_cutter_events(ct_cutter *c);
/*
 * 1 once it cut; what gets the change it cut at ("rename to version"), at
 * the trace count just before the cut (the device's next start is after it).
 */
int ct_cutter_fired(ct_cutter *c, char *what, size_t cap, size_t *at);
/* The k-th change (from 1) in words, "?" past what was kept. */
void ct_cutter_name(ct_cutter *c, int k, char *buf, size_t cap);
/* Stop watching and free; NULL is fine. */
void ct_cutter_stop(ct_cutter *c);

#endif
