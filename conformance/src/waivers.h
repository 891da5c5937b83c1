/*
 * Waivers (--waivers FILE): a team keeps CI green on a known failure while
 * every other test still counts. Each waiver names a test or a rule, a
 * reason and the last day it holds (docs/waivers.md). A failure a live
 * waiver matches becomes RP_WAIVED with the reason; an expired waiver no
 * longer waives and is said on the terminal and in the reports.
 *
 * Returns as in ct.h: 0, or -1 with err; ct_waivers_apply answers whether
 * it waived (1 or 0).
 */
#ifndef CT_WAIVERS_H
#define CT_WAIVERS_H

#include <stddef.h>

#include "otareport/report.h"

/*
 * Read FILE, judging each waiver's date against today (UTC, YYYY-MM-DD).
 * 0, or -1 with err saying where (line:column) and what is wrong.
 */
int ct_waivers_load(const char *path, const char *today, char *err, size_t errcap);
/* Today's date in UTC, as waivers write it. */
void ct_waivers_today(char out[11]);
/* A failed test a live waiver matches: RP_WAIVED, its reason in t->waiver. 1 when waived. */
int ct_waivers_apply(rp_test *t);
/* The expired waivers, one sentence each (NULL past the last). */
const char *ct_waivers_expired(int i);

#endif
