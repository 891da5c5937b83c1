/*
 * Several boards at once (--device given more than once, or --lab FILE):
 * the list of boards, each with its profile, port and identity. The tests
 * are shared out over them by workers.c, one worker process per board, as
 * --jobs shares them over device instances; boards.c says what each worker
 * tests and notices when its board is gone.
 *
 * Returns as in ct.h: 0, or -1 with err.
 */
#ifndef CT_BOARDS_H
#define CT_BOARDS_H

#include <limits.h>

#define CT_MAX_BOARDS 16 /* as many as --jobs has workers (CT_MAX_WORKERS) */

typedef struct {
    char name[64];            /* in results and messages: the lab file's name, else the profile's */
    char profile[PATH_MAX];   /* its device profile */
    char port[512];           /* serial.port over the profile's ("": the profile's) */
    int mqtt_port, http_port; /* over the profile's (0: the profile's) */
    char pk[65], dn[65], secret[129]; /* identity over the profile's ("": the profile's) */
} ct_board;

typedef struct {
    ct_board b[CT_MAX_BOARDS];
    int n; /* 0 or 1: one device, as without boards */
} ct_boards;

#endif
