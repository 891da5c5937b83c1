/*
 * Several device instances side by side (--jobs N): worker processes, one
 * test at a time handed to whichever is free, and one merged trace.
 *
 * Returns as in ct.h: 0, or -1 when workers could not be started or all
 * died with tests left.
 */
#ifndef CT_WORKERS_H
#define CT_WORKERS_H

#include <stdio.h>

#include "ct.h"

#define CT_MAX_WORKERS 16

typedef struct {
    char *s; /* trace lines, newline-terminated */
    size_t len;
} ct_text;

typedef struct {
    int nworkers;
    const ct_case *const *cases; /* the selected tests, catalogue order */
    size_t ncases;
    const size_t *order;   /* the order tests are handed out in (indexes of cases); NULL: theirs */
    rp_test *results;      /* ncases slots, filled as results come */
    const char *scratch;   /* worker k writes its trace to scratch/worker-<k+1>.jsonl */
    const char *trace;     /* the run's trace, written as tests end */
    const char *dev;       /* the device's name, for the run's own records */
    const char *run_begin; /* the run-begin record's JSON */
    /* Runs in the worker process: set up, say "ready", run what it is given; its exit status. */
    int (*worker)(int k, int cmd_fd, int res_fd, void *ud);
    void (*on_start)(size_t idx, void *ud);
    void (*on_result)(const rp_test *t, void *ud);
    void (*on_lost)(int k, const char *why, void *ud); /* worker said "lost <why>"; may be NULL */
    void (*on_spawned)(void *ud); /* every worker forked (start threads only now); may be NULL */
    long *again; /* tests handed back by a worker whose board is gone, run again first */
    size_t nagain;
    void *ud;

    /* filled by ct_workers_run */
    char *done; /* per test: a result came (or its worker died during it) */
    long **ran; /* per worker: the tests it was given, in order */
    size_t *nran;
    char fw[CT_MAX_WORKERS][72]; /* per worker: the version its device reported last */
    ct_text *chunks;             /* per test: its trace lines, as they were taken */
    ct_text tail;                /* lines after a worker's last test */
    FILE *out;
    rp_test boot;    /* the first "boot" a worker sent: its device never came up */
    int boot_failed; /* boot holds one */
} ct_workers;

/* Run the tests; -1 when workers could not be started or all died with tests left. */
int ct_workers_run(ct_workers *j);
/*
 * Rewrite the run's trace in catalogue order (during the run it grows in the
 * order tests end) and close it with the run-end record.
 */
int ct_workers_finish(ct_workers *j, const char *run_end);
void ct_workers_free(ct_workers *j);
/* Test t's begin and end records, in test idx's place of the trace (idx < 0: after them). */
void ct_workers_put_test(ct_workers *j, long idx, const rp_test *t);
/* A failed result for case c, citing its first rule; the caller writes the message. */
void ct_workers_failed(rp_test *t, const ct_case *c);

#endif
