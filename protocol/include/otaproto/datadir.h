/*
 * Where a program of this project finds its data: the fixtures (device
 * profiles, fault plans, schemas), the broker plugin and the test
 * certificates. An installed copy looks next to its own binary
 * (../share/ota-conformance, ../lib/<multiarch>/ota-conformance); a program
 * run from a build folder falls back to the source tree and the build's
 * certs/. Not part of the stable API (docs/api-stability.md).
 */
#ifndef OTAPROTO_DATADIR_H
#define OTAPROTO_DATADIR_H

#include <stddef.h>
#include <stdio.h>

#define OTA_DATA_PATH_MAX 4096

typedef struct {
    char bindir[OTA_DATA_PATH_MAX];   /* the folder of the running program */
    char share[OTA_DATA_PATH_MAX];    /* the installed data folder; "" from a build folder */
    char fixtures[OTA_DATA_PATH_MAX]; /* share, else the source tree's fixtures/ */
    char plugin[OTA_DATA_PATH_MAX];   /* otaauth.so: next to the program, else installed */
    char certs[OTA_DATA_PATH_MAX];    /* installed: a per-user cache; else the build's certs/ */
    char maker[OTA_DATA_PATH_MAX];    /* the certificate maker script */
} ota_data_paths;

/* Fill p for the running program. Never fails: paths that do not exist are still named. */
void ota_data_locate(ota_data_paths *p);

/*
 * Make sure `dir` holds the test certificates (ca.pem last, as the maker
 * writes it). When it does not and `dir` is p->certs of an installed copy,
 * run the maker into it (first use). 0 when ca.pem is there afterwards, -1
 * with a sentence in err otherwise.
 */
int ota_data_certs_ensure(const ota_data_paths *p, const char *dir, char *err, size_t errcap);

/* Print where this copy looks, for --help: one line each, indented. */
void ota_data_describe(const ota_data_paths *p, FILE *f);

#endif
