/*
 * The data an installed or a build-tree program needs, found relative to the
 * program itself (/proc/self/exe), so that a copy unpacked anywhere (a
 * staging root, /opt, a package's /usr) works without configuration. It does
 * not read OTA_FIXTURES or options: callers put those first.
 */
#include "otaproto/datadir.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef OTA_SOURCE_DIR
#define OTA_SOURCE_DIR "."
#endif
#ifndef OTA_CERTS_DIR
#define OTA_CERTS_DIR "certs"
#endif
/* Both relative to the installed bin/ folder; CMake derives them from GNUInstallDirs. */
#ifndef OTA_DATA_REL
#define OTA_DATA_REL "../share/ota-conformance"
#endif
#ifndef OTA_PLUGIN_REL
#define OTA_PLUGIN_REL "../lib/ota-conformance"
#endif

static void self_dir(char *buf, size_t cap)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

    if (n <= 0) {
        snprintf(buf, cap, ".");
        return;
    }
    exe[n] = '\0';
    snprintf(buf, cap, "%s", dirname(exe));
}

/* dir/rel, with ".." resolved when the folder exists (so --help shows a plain path). */
static void join_real(char *out, size_t cap, const char *dir, const char *rel)
{
    char raw[OTA_DATA_PATH_MAX], real[PATH_MAX];

    snprintf(raw, sizeof(raw), "%.3800s/%.200s", dir, rel);
    snprintf(out, cap, "%.4000s", realpath(raw, real) ? real : raw);
}

/* The per-user cache: $XDG_CACHE_HOME/ota-conformance/certs, else ~/.cache/…. */
static void user_certs(char *out, size_t cap)
{
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");

    if (xdg && xdg[0] == '/')
        snprintf(out, cap, "%.3900s/ota-conformance/certs", xdg);
    else
        snprintf(out, cap, "%.3900s/.cache/ota-conformance/certs", home && home[0] ? home : "/tmp");
}

void ota_data_locate(ota_data_paths *p)
{
    char share[OTA_DATA_PATH_MAX];

    memset(p, 0, sizeof(*p));
    self_dir(p->bindir, sizeof(p->bindir));
    join_real(share, sizeof(share), p->bindir, OTA_DATA_REL);
    if (access(share, R_OK) == 0)
        snprintf(p->share, sizeof(p->share), "%s", share);

    snprintf(p->plugin, sizeof(p->plugin), "%.4000s/otaauth.so", p->bindir);
    if (access(p->plugin, R_OK) != 0 && p->share[0])
        join_real(p->plugin, sizeof(p->plugin), p->bindir, OTA_PLUGIN_REL "/otaauth.so");

    if (p->share[0]) {
        snprintf(p->fixtures, sizeof(p->fixtures), "%s", p->share);
        snprintf(p->maker, sizeof(p->maker), "%.4000s/make-certs.sh", p->share);
        user_certs(p->certs, sizeof(p->certs));
    } else {
        snprintf(p->fixtures, sizeof(p->fixtures), "%s", OTA_SOURCE_DIR "/fixtures");
        snprintf(p->maker, sizeof(p->maker), "%s", OTA_SOURCE_DIR "/fixtures/certs/make-certs.sh");
        snprintf(p->certs, sizeof(p->certs), "%s", OTA_CERTS_DIR);
    }
}

static int run_maker(const char *maker, const char *dir)
{
    int status = 0;
    pid_t pid = fork();

    if (pid < 0)
        return -1;
    if (pid == 0) {
        execl("/bin/sh", "sh", maker, dir, (char *)NULL);
        _exit(127);
    }
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int ota_data_certs_ensure(const ota_data_paths *p, const char *dir, char *err, size_t errcap)
{
    char ca[OTA_DATA_PATH_MAX + 16];

    snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
    if (access(ca, R_OK) == 0)
        return 0;
    /* Only an installed copy makes its own; a build makes them, and --certs is the user's. */
    if (!p->share[0] || strcmp(dir, p->certs) != 0) {
        snprintf(err, errcap, "no test certificates in %.300s (build the project, or --certs DIR)",
                 dir);
        return -1;
    }
    fprintf(stderr, "making the test certificates in %s (first use)\n", dir);
    if (run_maker(p->maker, dir) != 0 || access(ca, R_OK) != 0) {
        snprintf(
            err, errcap,
            "could not make the test certificates in %.300s with %.300s (is openssl installed?)",
            dir, p->maker);
        return -1;
    }
    return 0;
}

void ota_data_describe(const ota_data_paths *p, FILE *f)
{
    fprintf(f, "  fixtures       %s%s\n", p->fixtures,
            p->share[0] ? " (installed)" : " (source tree)");
    fprintf(f, "  certificates   %s%s\n", p->certs,
            p->share[0] ? " (made on first use with --tls)" : " (made by the build)");
    fprintf(f, "  broker plugin  %s\n", p->plugin);
}
