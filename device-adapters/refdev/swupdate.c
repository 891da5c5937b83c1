/*
 * The reference device as an embedded-Linux gateway (--swupdate CERT): a
 * verified download is handed to SWUpdate (`swupdate -i`), which checks the
 * bundle's CMS signature against CERT and the payload's SHA-256, and writes
 * it with its raw handler into the inactive one of two file-backed slots in
 * the state folder (slotA.img, slotB.img); the device then boots that slot
 * and reports the version its root file system names. SWUpdate's refusal
 * ends the attempt in -3. It does not download or verify the pushed digest.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "appimage.h"
#include "refdev.h"

extern char **environ;

#define SWU_DEADLINE_S 60.0 /* an install of a few MiB takes about a second here */
#define SWU_HW         "ota-gateway:1.0"
#define SWU_VERSION    "ota-swu-rootfs version=" /* the first line of a slot's payload */
#define SWU_MAX_ENV    512

/* The slot an install wrote, booted by rd_swu_commit; 0: none pending. */
static char pending_slot;

static char active_slot(void)
{
    char s[8] = "";

    return rd_state_read("bootslot", s, sizeof(s)) == 0 && s[0] == 'B' ? 'B' : 'A';
}

static void slot_path(char slot, char *buf, size_t cap)
{
    char name[16];

    snprintf(name, sizeof(name), "slot%c.img", slot);
    rd_state_path(name, buf, cap);
}

/* The version the root file system in a slot names; -1 when it names none. */
static int slot_version(char slot, char *version, size_t vcap)
{
    char path[600], line[OTA_MAX_VERSION + sizeof(SWU_VERSION) + 2];
    FILE *f;
    int rc = -1;

    slot_path(slot, path, sizeof(path));
    f = fopen(path, "rb");
    if (!f)
        return -1;
    if (fgets(line, sizeof(line), f) && !strncmp(line, SWU_VERSION, strlen(SWU_VERSION))) {
        char *v = line + strlen(SWU_VERSION);
        v[strcspn(v, "\r\n")] = '\0';
        if (v[0]) {
            snprintf(version, vcap, "%s", v);
            rc = 0;
        }
    }
    fclose(f);
    return rc;
}

/* An empty slot (a partition just erased); -1 with why. */
static int erase_slot(char slot, char *why, size_t cap)
{
    char path[600];
    FILE *f;

    slot_path(slot, path, sizeof(path));
    f = fopen(path, "wb");
    if (!f || fclose(f) != 0)
        return snprintf(why, cap, "cannot erase %.200s: %s", path, strerror(errno)), -1;
    return 0;
}

int rd_swu_boot(char *version, size_t vcap)
{
    char path[600], why[300];

    /* A new board's partitions exist, empty (the factory image runs from neither). */
    for (char s = 'A'; s <= 'B'; s++) {
        slot_path(s, path, sizeof(path));
        if (access(path, F_OK) != 0 && erase_slot(s, why, sizeof(why)) != 0)
            rd_log("%s", why);
    }
    if (rd_has_bug(BUG_REPORTS_PUSHED_VER))
        return -1; /* the version recorded at the upgrade, the push's */
    return slot_version(active_slot(), version, vcap);
}

/* The environment SWUpdate runs with: ours, with TMPDIR in the state folder. */
static char **swu_env(const char *tmpdir, char *tmpvar, size_t cap)
{
    static char *env[SWU_MAX_ENV];
    int n = 0;

    snprintf(tmpvar, cap, "TMPDIR=%s", tmpdir);
    env[n++] = tmpvar;
    for (char **e = environ; *e && n < SWU_MAX_ENV - 1; e++)
        if (strncmp(*e, "TMPDIR=", 7))
            env[n++] = *e;
    env[n] = NULL;
    return env;
}

/* Wait for SWUpdate, at most SWU_DEADLINE_S; its exit status, or -1 when it was killed. */
static int swu_wait(pid_t pid)
{
    double end = ota_clock_now() + SWU_DEADLINE_S;
    int status = 0;
    pid_t r;

    while ((r = waitpid(pid, &status, WNOHANG)) == 0 && ota_clock_now() < end)
        ota_sleep(0.02);
    if (r == 0) {
        rd_log("SWUpdate did not finish within %.0f s: killed", SWU_DEADLINE_S);
        kill(-pid, SIGKILL);
        waitpid(pid, &status, 0);
        return -1;
    }
    kill(-pid, SIGKILL); /* a helper process of its own left behind, if any */
    return r == pid && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/*
 * SWUpdate's log lines into the device log; its first ERROR line into err.
 * 1 when its installer said it succeeded and nothing failed.
 */
static int swu_forward(const char *log, char *err, size_t cap)
{
    char line[512];
    FILE *f = fopen(log, "r");
    int ok = 0;

    err[0] = '\0';
    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] != '[' || strstr(line, "[lua_") || strstr(line, "[print_registered_"))
            continue; /* its banner, the handlers it has, that no Lua handlers are installed */
        rd_log("swupdate: %s", line);
        /* "[ERROR] : SWUPDATE failed [0] ERROR : HASH mismatch : ..." names the cause */
        const char *e = strstr(line, "ERROR : ");
        if (strstr(line, "[ERROR]") && e && !err[0])
            snprintf(err, cap, "%.300s", e + strlen("ERROR : "));
        if (strstr(line, "[ERROR]") && !err[0])
            snprintf(err, cap, "%.300s", line);
        if (strstr(line, "[INFO ] : SWUPDATE successful !"))
            ok = 1;
    }
    fclose(f);
    return ok && !err[0];
}

/*
 * Run `swupdate -i image` in the state folder (its raw handler writes
 * ./slotX.img, its sockets and scratch files go to TMPDIR there), selecting
 * the slot's set of sw-description; its exit status, -1 when it could not run.
 */
static int swu_run(const char *image, char slot, char *err, size_t cap)
{
    char dir[PATH_MAX], tmpdir[PATH_MAX + 16], log[PATH_MAX + 16], cfg[PATH_MAX + 16], sel[32];
    char tmpvar[PATH_MAX + 32];
    char *argv[] = {"swupdate", "-f",        cfg,  "-l", "3",  "-H",          SWU_HW,
                    "-k",       rd.swu_cert, "-e", sel,  "-i", (char *)image, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    pid_t pid;
    int rc;

    /* Absolute paths: SWUpdate runs in the state folder, which may be named relative to ours. */
    if (!realpath(rd.state_dir, dir))
        return snprintf(err, cap, "%.200s: %s", rd.state_dir, strerror(errno)), -1;
    snprintf(tmpdir, sizeof(tmpdir), "%s/swupdate.tmp", dir);
    snprintf(log, sizeof(log), "%s/swupdate.log", dir);
    snprintf(cfg, sizeof(cfg), "%s/swupdate.cfg", dir);
    snprintf(sel, sizeof(sel), "stable,slot%c", slot);
    if (mkdir(tmpdir, 0700) != 0 && errno != EEXIST)
        return snprintf(err, cap, "cannot make %.200s: %s", tmpdir, strerror(errno)), -1;
    /* A private configuration: no /etc/swupdate.cfg of the host applies. */
    if (rd_state_write("swupdate.cfg",
                       "globals :\n{\n    loglevel = 3;\n    syslog = false;\n};\n"))
        return snprintf(err, cap, "cannot write %.200s", cfg), -1;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addchdir_np(&fa, dir);
    posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawnattr_init(&at);
    posix_spawnattr_setpgroup(&at, 0); /* its own group: a deadline kills its helpers too */
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP);
    rc = posix_spawnp(&pid, "swupdate", &fa, &at, argv, swu_env(tmpdir, tmpvar, sizeof(tmpvar)));
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (rc != 0)
        return snprintf(err, cap, "SWUpdate could not be started: %s", strerror(rc)), -1;
    rc = swu_wait(pid);
    /*
     * Debian's SWUpdate 2022.12 in -i mode exits 1 after many complete
     * installs (one run in five to two in three here, also run alone): the
     * result its -i client reads back from the installer over IPC is then a
     * failure though the installer logged success. The installer's "SWUPDATE
     * successful" with no error line is the verdict then, as for an agent
     * that follows SWUpdate's progress; the slot must still name a version.
     */
    if (swu_forward(log, err, cap) && rc == 1) {
        rd_log("SWUpdate exited 1 after its installer reported success: installed");
        rc = 0;
    }
    return rc;
}

/*
 * (bug ignores-image-check) What a gateway whose updater falls back to
 * unpacking the bundle itself does: rootfs.img taken out of the cpio archive
 * unchecked (no magic, no signature, no hash) and written to the slot.
 */
static int unpack_by_hand(const char *image, char slot, char *why, size_t cap)
{
    size_t n = 0, at = 0;
    unsigned char *b = rd_img_load(image, &n, why, cap);
    int rc = -1;

    while (b && at + 110 <= n) {
        char field[9] = "";
        unsigned long size, name;
        memcpy(field, b + at + 54, 8); /* c_filesize */
        size = strtoul(field, NULL, 16);
        memcpy(field, b + at + 94, 8); /* c_namesize */
        name = strtoul(field, NULL, 16);
        size_t data = (at + 110 + name + 3) & ~(size_t)3;
        if (name == 0 || data > n || size > n - data)
            break;
        if (!strncmp((const char *)b + at + 110, "rootfs.img", name)) {
            char path[600];
            slot_path(slot, path, sizeof(path));
            rc = rd_img_save(path, b + data, size, why, cap);
            break;
        }
        at = (data + size + 3) & ~(size_t)3;
    }
    if (b && rc != 0 && !why[0])
        snprintf(why, cap, "no rootfs.img in the bundle");
    free(b);
    return rc;
}

/*
 * SWUpdate's "HASH mismatch : <64 hex> <--> <64 hex>" as "HASH mismatch (the
 * hashes are in the device log)": the reason fits a progress desc (PROG-2,
 * 128 characters), and its own log line, forwarded, keeps both hashes.
 */
static const char *drop_hashes(char *err)
{
    char *arrow = strstr(err, " <--> "), *colon = NULL;

    for (char *c = strstr(err, " : "); c && (!arrow || c < arrow); c = strstr(c + 1, " : "))
        colon = c;
    if (arrow && colon)
        snprintf(colon, (size_t)(arrow - colon) + 1, " (the hashes are in the device log)");
    return err;
}

int rd_swu_install(const ota_push *p, const char *part, char *version, size_t vcap, char *why,
                   size_t cap)
{
    char slot = active_slot() == 'A' ? 'B' : 'A', image[PATH_MAX], err[400];
    int rc;

    snprintf(version, vcap, "%s", p->version);
    pending_slot = 0;
    if (p->is_diff)
        return snprintf(why, cap, "SWUpdate bundles only: this gateway takes no diffs"), -1;
    if (!realpath(part, image))
        return snprintf(why, cap, "%.200s: %s", part, strerror(errno)), -1;
    if (erase_slot(slot, why, cap) != 0)
        return -1;
    rd_log("handing %s to SWUpdate for slot%c", image, slot);
    rc = swu_run(image, slot, err, sizeof(err));
    if (rc != 0 && rd_has_bug(BUG_IGNORES_IMAGE_CHECK)) {
        rd_log("(bug ignores-image-check) SWUpdate refused the bundle (%s): unpacking it by hand",
               err);
        why[0] = '\0';
        if (unpack_by_hand(image, slot, why, cap) != 0)
            return -1;
        rc = 0;
    }
    if (rc != 0)
        return snprintf(why, cap, "SWUpdate refused the bundle (exit status %d): %s", rc,
                        err[0] ? drop_hashes(err) : "see its log"),
               -1;
    if (rd_has_bug(BUG_REPORTS_PUSHED_VER)) {
        pending_slot = slot;
        return 0;
    }
    if (slot_version(slot, version, vcap) != 0)
        return snprintf(why, cap,
                        "SWUpdate installed slot%c, but its root file system names "
                        "no version",
                        slot),
               -1;
    if (strcmp(version, p->version) != 0)
        rd_log("slot%c holds version %s (pushed as %s): booting %s", slot, version, p->version,
               version);
    pending_slot = slot;
    return 0;
}

int rd_swu_commit(char *why, size_t cap)
{
    char s[2] = {pending_slot, '\0'};

    if (!pending_slot)
        return 0;
    pending_slot = 0;
    if (rd_state_write("bootslot", s) != 0)
        return snprintf(why, cap, "cannot switch the boot slot: %s", strerror(errno)), -1;
    rd_log("boot slot is now slot%s", s);
    return 0;
}
