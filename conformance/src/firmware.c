/*
 * The user's own firmware images for a run (firmware.h): versions picked
 * from the given files or built on demand, each build once per version (and
 * size, when the command takes {size}) into the cache, its output in the
 * trace and its time on the terminal; variants made from the real images.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ct.h"
#include "firmware.h"

#define LAST_LINES 5
#define LINE_MAX_  400

static struct {
    dut_firmware cfg;
    char module[OTA_MAX_MODULE + 1];
    char flash_cmd[DUT_PROFILE_MAX_CMD];
    char first_version[OTA_MAX_VERSION + 1]; /* the profile's firmwareVersion */
    char cache[PATH_MAX];
    int quiet;
    int next;                       /* alternate: where the rotation goes on */
    char last[OTA_MAX_VERSION + 1]; /* the version handed out last */
    char fatal[900];
    char refused[600];        /* ct_fw_probe's sentence */
    char bindir[PATH_MAX];    /* the suite's programs (ota-image): first on the commands' PATH */
    char state_dir[PATH_MAX]; /* a process device's OTA_STATE_DIR: {state_dir} in flashCommand */
} fw;

int ct_fw_on(void)
{
    return fw.cfg.present;
}

int ct_fw_checks(void)
{
    return fw.cfg.present && fw.cfg.checks;
}

const dut_firmware *ct_fw_cfg(void)
{
    return &fw.cfg;
}

const char *ct_fw_refused(void)
{
    return fw.refused[0] ? fw.refused : NULL;
}

const char *ct_fw_fatal(void)
{
    return fw.fatal[0] ? fw.fatal : NULL;
}

static int mkdirs(const char *path)
{
    char buf[PATH_MAX];

    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(buf, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

int ct_fw_setup(const dut_profile *p, const char *scratch, const char *state_dir,
                const char *bindir, int quiet, char *err, size_t errcap)
{
    memset(&fw, 0, sizeof(fw));
    fw.cfg = p->fw;
    snprintf(fw.state_dir, sizeof(fw.state_dir), "%s", state_dir ? state_dir : "");
    snprintf(fw.bindir, sizeof(fw.bindir), "%s", bindir ? bindir : "");
    if (!fw.cfg.present)
        return 0;
    snprintf(fw.module, sizeof(fw.module), "%s", p->module);
    snprintf(fw.flash_cmd, sizeof(fw.flash_cmd), "%s", p->flash_cmd);
    snprintf(fw.first_version, sizeof(fw.first_version), "%s", p->firmware_version);
    fw.quiet = quiet;
    for (int i = 0; i < fw.cfg.nfiles; i++)
        if (access(fw.cfg.files[i].file, R_OK) != 0)
            return snprintf(err, errcap, "firmware file %s (version %s) cannot be read: %s",
                            fw.cfg.files[i].file, fw.cfg.files[i].version, strerror(errno)),
                   -1;
    if (fw.cfg.cache[0])
        snprintf(fw.cache, sizeof(fw.cache), "%s", fw.cfg.cache);
    else
        snprintf(fw.cache, sizeof(fw.cache), "%.4000s/firmware", scratch);
    if (mkdirs(fw.cache) != 0)
        return snprintf(err, errcap, "cannot make the firmware cache %s: %s", fw.cache,
                        strerror(errno)),
               -1;
    return 0;
}

/* value in single quotes for /bin/sh (a ' becomes '\''). */
static size_t quote(const char *v, char *out, size_t cap)
{
    size_t o = 0;

    if (cap < 3)
        return cap;
    out[o++] = '\'';
    for (; *v && o + 5 < cap; v++) {
        if (*v == '\'') {
            memcpy(out + o, "'\\''", 4);
            o += 4;
        } else {
            out[o++] = *v;
        }
    }
    out[o++] = '\'';
    out[o] = '\0';
    return o;
}

/* tmpl with each {key} replaced by its value, quoted; -1 when it does not fit. */
static int expand(const char *tmpl, const char *const kv[][2], int n, char *out, size_t cap)
{
    size_t o = 0;

    while (*tmpl && o + 1 < cap) {
        int hit = -1;
        for (int k = 0; k < n && hit < 0; k++)
            if (*tmpl == '{' && !strncmp(tmpl + 1, kv[k][0], strlen(kv[k][0])) &&
                tmpl[1 + strlen(kv[k][0])] == '}')
                hit = k;
        if (hit < 0) {
            out[o++] = *tmpl++;
            continue;
        }
        o += quote(kv[hit][1], out + o, cap - o);
        tmpl += strlen(kv[hit][0]) + 2;
    }
    if (o + 1 >= cap)
        return -1;
    out[o] = '\0';
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Run cmd with /bin/sh -c, its output (stdout and stderr) line by line into
 * the trace; 0 when it exits 0, else -1 with why: what it was, its exit
 * status and its last lines.
 */
static int run_cmd(const char *what, const char *cmd, char *why, size_t cap)
{
    char full[DUT_PROFILE_MAX_CMD * 2 + 16], line[LINE_MAX_], last[LAST_LINES][LINE_MAX_];
    int nlast = 0, status;
    FILE *f;

    char path[PATH_MAX * 2];
    const char *old = getenv("PATH");

    /* The suite's own programs (ota-image) come first, so a profile names them bare. */
    snprintf(path, sizeof(path), "%s%s%s", fw.bindir, fw.bindir[0] ? ":" : "",
             old ? old : "/usr/bin:/bin");
    setenv("PATH", path, 1);
    snprintf(full, sizeof(full), "( %s ) 2>&1 </dev/null", cmd);
    f = popen(full, "r");
    if (!f)
        return snprintf(why, cap, "%s could not be started: %s", what, strerror(errno)), -1;
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (ct.cloud)
            mc_trace_add(ct.cloud, OTA_TR_CLOUD, ct.dev.dn, NULL, NULL, 0, "%s: %s", what, line);
        snprintf(last[nlast++ % LAST_LINES], LINE_MAX_, "%s", line);
    }
    status = pclose(f);
    if (old)
        setenv("PATH", old, 1);
    if (status == 0)
        return 0;
    {
        size_t o = (size_t)snprintf(why, cap, "%s failed (%s %d)", what,
                                    WIFEXITED(status) ? "exit status" : "signal",
                                    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
        int from = nlast > LAST_LINES ? nlast - LAST_LINES : 0;
        for (int i = from; i < nlast && o < cap; i++)
            o += (size_t)snprintf(why + o, cap - o, "%s %s", i == from ? "; its last lines:" : " |",
                                  last[i % LAST_LINES]);
    }
    return -1;
}

static long long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) ? (long long)st.st_size : -1;
}

/*
 * Build version's image into path (the cache) unless it is there already.
 * The terminal shows the run's first build as it runs; after a first build
 * under a second, only a build that is slow or fails (a run of the whole
 * catalogue builds a hundred images); the trace has every one.
 */
static int build(const char *version, const char *module, size_t want, const char *path, char *why,
                 size_t cap)
{
    char tmp[PATH_MAX + 32], size[32], cmd[DUT_PROFILE_MAX_CMD * 2], what[128];
    static int builds, fast; /* builds so far; the first one took under a second */
    double t0, took;
    int rc, ahead = !fw.quiet && (builds == 0 || !fast);

    if (file_size(path) > 0)
        return 0;
    snprintf(size, sizeof(size), "%zu", want);
    snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid());
    const char *const kv[][2] = {
        {"version", version}, {"out", tmp}, {"module", module}, {"size", size}};
    if (expand(fw.cfg.build, kv, 4, cmd, sizeof(cmd)) != 0)
        return snprintf(why, cap, "firmware.build is too long once filled in"), -1;
    snprintf(what, sizeof(what), "firmware build of %.64s", version);
    if (ahead) {
        printf("building %s ...", version);
        fflush(stdout);
    }
    t0 = now_s();
    rc = run_cmd(what, cmd, why, cap);
    if (rc == 0 && file_size(tmp) <= 0)
        rc = (snprintf(why, cap, "%s exited 0 but wrote no image to {out} (%s)", what, tmp), -1);
    if (rc == 0 && rename(tmp, path) != 0)
        rc = (snprintf(why, cap, "cannot keep the image %s: %s", path, strerror(errno)), -1);
    if (rc != 0)
        unlink(tmp);
    took = now_s() - t0;
    if (builds++ == 0)
        fast = took < 1.0;
    if (ahead || (!fw.quiet && (rc != 0 || took >= 1.0))) {
        printf("%s%s%s %s in %.1f s\n", ahead ? "" : "building ", ahead ? "" : version,
               ahead ? "" : " ...", rc ? "FAILED" : "done", took);
        fflush(stdout);
    }
    if (ct.cloud)
        mc_trace_add(ct.cloud, OTA_TR_CLOUD, ct.dev.dn, NULL, NULL, 0, "%s: %s in %.1f s", what,
                     rc ? "failed" : "done", now_s() - t0);
    return rc;
}

static const dut_fw_file *find_file(const char *version, const char *module)
{
    const dut_fw_file *any = NULL;

    for (int i = 0; i < fw.cfg.nfiles; i++) {
        const dut_fw_file *f = &fw.cfg.files[i];
        if (strcmp(f->version, version))
            continue;
        if (!strcmp(f->module[0] ? f->module : fw.module, module))
            return f;
        any = any ? any : f;
    }
    return any;
}

int ct_fw_image(const char *version, const char *module, size_t want, char *path, size_t cap,
                char *why, size_t whycap)
{
    char dir[PATH_MAX];
    const char *m = module && *module ? module : "default";

    if (!fw.cfg.build[0]) {
        const dut_fw_file *f = find_file(version, m);
        /*
         * A version no file holds is one the test does not mean to install (a push for the
         * factory version the device runs, PUSH-6): any file stands in for its bytes.
         */
        if (!f && fw.cfg.nfiles && ct.cloud)
            mc_trace_add(ct.cloud, OTA_TR_CLOUD, ct.dev.dn, NULL, NULL, 0,
                         "no firmware file holds version %s: the push carries the file of %s",
                         version, fw.cfg.files[0].version);
        if (!f && !fw.cfg.nfiles)
            return snprintf(why, whycap, "no firmware file for version %s", version), -1;
        snprintf(path, cap, "%s", f ? f->file : fw.cfg.files[0].file);
        return 0;
    }
    snprintf(dir, sizeof(dir), "%.3000s/%.64s", fw.cache, m);
    if (mkdirs(dir) != 0)
        return snprintf(why, whycap, "cannot make %s: %s", dir, strerror(errno)), -1;
    if (strstr(fw.cfg.build, "{size}"))
        snprintf(path, cap, "%.3500s/%.64s-%zu.bin", dir, version, want);
    else
        snprintf(path, cap, "%.3500s/%.64s.bin", dir, version);
    return build(version, m, want, path, why, whycap);
}

static int is_ours(const dut_fw_file *f)
{
    return !f->module[0] || !strcmp(f->module, fw.module);
}

/* alternate: the next file in turn that is neither running nor the one handed out last. */
static const char *pick_alternate(const char *running)
{
    for (int pass = 0; pass < 2; pass++)
        for (int k = 0; k < fw.cfg.nfiles; k++) {
            int i = (fw.next + k) % fw.cfg.nfiles;
            const dut_fw_file *f = &fw.cfg.files[i];
            if (!is_ours(f) || !strcmp(f->version, running) ||
                (pass == 0 && !strcmp(f->version, fw.last)))
                continue;
            fw.next = i + 1;
            return f->version;
        }
    return NULL;
}

/* upward: the lowest file version above the running one and the last handed out. */
static const char *pick_upward(const char *running)
{
    const char *best = NULL;

    for (int i = 0; i < fw.cfg.nfiles; i++) {
        const char *v = fw.cfg.files[i].version;
        if (is_ours(&fw.cfg.files[i]) && strverscmp(v, running) > 0 &&
            (!fw.last[0] || strverscmp(v, fw.last) > 0) && (!best || strverscmp(v, best) < 0))
            best = v;
    }
    return best;
}

int ct_fw_pick(char *v, size_t cap, const char *running, char *why, size_t whycap)
{
    const char *got;

    if (!fw.cfg.present || !fw.cfg.nfiles)
        return 0;
    got = !strcmp(dut_fw_versions_name(&fw.cfg), "upward") ? pick_upward(running)
                                                           : pick_alternate(running);
    if (!got)
        return snprintf(why, whycap,
                        "no firmware file is left to push (versions %s, the device runs %s): "
                        "give more files, or \"versions\": \"alternate\"",
                        dut_fw_versions_name(&fw.cfg), running),
               -1;
    snprintf(fw.last, sizeof(fw.last), "%s", got);
    snprintf(v, cap, "%s", got);
    return 1;
}

static int flip_first_byte(const char *src, const char *dst, char *why, size_t cap)
{
    FILE *in = fopen(src, "rb"), *out = in ? fopen(dst, "wb") : NULL;
    unsigned char buf[16384];
    size_t n, total = 0;
    int rc = 0;

    if (!in || !out)
        rc = (snprintf(why, cap, "cannot copy %s to %s: %s", src, dst, strerror(errno)), -1);
    while (rc == 0 && (n = fread(buf, 1, sizeof(buf), in)) > 0) {
        if (total == 0)
            buf[0] ^= 0xFF;
        total += n;
        if (fwrite(buf, 1, n, out) != n)
            rc = (snprintf(why, cap, "cannot write %s", dst), -1);
    }
    if (in)
        fclose(in);
    if (out && fclose(out) != 0)
        rc = -1;
    return rc;
}

int ct_fw_variant(ct_fw_variant_kind kind, const char *from, const char *version, char *path,
                  size_t cap, char *why, size_t whycap)
{
    static const char *const names[] = {"header", "foreign", "diff"};
    char src[PATH_MAX], base[PATH_MAX], cmd[DUT_PROFILE_MAX_CMD * 2], what[160];
    const char *m = fw.module;

    snprintf(path, cap, "%.3000s/%.64s-%s%s%.64s.bin", fw.cache, version, names[kind],
             from ? "-from-" : "", from ? from : "");
    if (kind == CT_FW_HEADER)
        return ct_fw_image(version, m, ct.image_size, src, sizeof(src), why, whycap) != 0
                   ? -1
                   : flip_first_byte(src, path, why, whycap);
    if (kind == CT_FW_FOREIGN) {
        const char *const kv[][2] = {{"version", version}, {"out", path}, {"module", m}};
        if (!fw.cfg.foreign[0])
            return snprintf(why, whycap, "the profile's firmware section has no 'foreign' command"),
                   -1;
        snprintf(what, sizeof(what), "firmware.foreign for %.64s", version);
        return expand(fw.cfg.foreign, kv, 3, cmd, sizeof(cmd)) != 0
                   ? -1
                   : run_cmd(what, cmd, why, whycap);
    }
    if (!fw.cfg.diff[0])
        return snprintf(why, whycap, "the profile's firmware section has no 'diff' command"), -1;
    if (ct_fw_image(from, m, ct.image_size, base, sizeof(base), why, whycap) != 0 ||
        ct_fw_image(version, m, ct.image_size, src, sizeof(src), why, whycap) != 0)
        return -1;
    const char *const kv[][2] = {{"from", from},   {"to", version}, {"from_file", base},
                                 {"to_file", src}, {"out", path},   {"module", m}};
    snprintf(what, sizeof(what), "firmware.diff %.64s to %.64s", from, version);
    return expand(fw.cfg.diff, kv, 6, cmd, sizeof(cmd)) != 0 ? -1 : run_cmd(what, cmd, why, whycap);
}

/* The version a reflash puts on the board: firmwareVersion, or the first file without its file. */
static const char *known_version(void)
{
    if (!fw.cfg.build[0] && !find_file(fw.first_version, fw.module))
        return fw.cfg.files[0].version;
    return fw.first_version;
}

/* flashCommand with the image of known_version(). */
static int reflash(char *err, size_t errcap)
{
    char path[PATH_MAX], cmd[DUT_PROFILE_MAX_CMD * 2];
    const char *v = known_version();

    if (!fw.flash_cmd[0])
        return snprintf(err, errcap, "the profile has no flashCommand"), -1;
    if (ct_fw_image(v, fw.module, ct.image_size, path, sizeof(path), err, errcap) != 0)
        return -1;
    const char *const kv[][2] = {{"file", path}, {"version", v}, {"state_dir", fw.state_dir}};
    if (expand(fw.flash_cmd, kv, 3, cmd, sizeof(cmd)) != 0)
        return snprintf(err, errcap, "flashCommand is too long once filled in"), -1;
    return run_cmd("flashCommand", cmd, err, errcap);
}

int ct_fw_start(const char *first_version, char *err, size_t errcap)
{
    char path[PATH_MAX];

    if (!fw.cfg.present)
        return 0;
    if (first_version)
        return fw.cfg.build[0] ? ct_fw_image(first_version, fw.module, ct.image_size, path,
                                             sizeof(path), err, errcap)
                               : 0;
    if (!fw.cfg.reflash)
        return 0;
    if (!fw.flash_cmd[0])
        return snprintf(err, errcap, "firmware.reflash needs the profile's flashCommand"), -1;
    return reflash(err, errcap);
}

int ct_fw_can_flash(void)
{
    return fw.cfg.present && fw.flash_cmd[0];
}

int ct_fw_recover(const char *reason)
{
    char why[700];
    int rc;

    if (!fw.cfg.present || !fw.flash_cmd[0])
        return -1;
    fw.last[0] = '\0'; /* upward starts again from the bottom */
    mc_trace_add(ct.cloud, OTA_TR_CLOUD, ct.dev.dn, NULL, NULL, 0,
                 "%s: flashCommand puts version %s back on it", reason, known_version());
    if (!fw.quiet) {
        printf("%s: flashing %s ...\n", reason, known_version());
        fflush(stdout);
    }
    rc = reflash(why, sizeof(why));
    if (rc != 0)
        mc_trace_add(ct.cloud, OTA_TR_CLOUD, ct.dev.dn, NULL, NULL, 0, "%s", why);
    return rc;
}

/* The step and desc of the device's failure step for job id (its push onwards); "" when none. */
static void last_fail_desc(int id, char *desc, size_t cap)
{
    mc_job_info j;

    desc[0] = '\0';
    if (mc_job_get(ct.cloud, id, &j) != MC_OK)
        return;
    for (long i = ct_scan(j.trace_at, mc_trace_count(ct.cloud), ct_is_fail_step, NULL); i >= 0;
         i = -1) {
        const ota_trace_rec *r = mc_trace_at(ct.cloud, (size_t)i);
        ota_progress pr;
        if (r && r->payload &&
            ota_progress_parse((const char *)r->payload, r->payload_len, &pr) == OTA_OK &&
            pr.has_desc)
            snprintf(desc, cap, "%.150s", pr.desc);
    }
}

/*
 * The probe's target: as ct_spec_init picks one (the next generated version,
 * or the next of the user's files), without a test to make N/A; -1 when no
 * file is left to push.
 */
static int probe_version(char *v, size_t cap)
{
    mc_device_info d;
    char why[300];

    snprintf(v, cap, "%d.0.%d", ct.version_major ? ct.version_major : 9, ++ct.version_seq);
    if (!fw.cfg.present || !fw.cfg.nfiles)
        return 0;
    if (mc_device_get(ct.cloud, ct.dev.dn, &d) != MC_OK)
        return -1;
    return ct_fw_pick(v, cap, d.reported_version[0] ? d.reported_version : fw.first_version, why,
                      sizeof(why)) < 0
               ? -1
               : 0;
}

int ct_fw_probe(int quiet, char *err, size_t errcap)
{
    mc_job_spec s;
    mc_job_info j = {0};
    char v[OTA_MAX_VERSION + 1], desc[200] = "", path[PATH_MAX], why[700];
    int id = 0;
    double bound, end;

    if (!fw.cfg.present && !dut_has_cap(ct.dut, "image-check"))
        return 0;
    if (probe_version(v, sizeof(v)) != 0)
        return 0; /* no file left: the tests say N/A with the reason */
    memset(&s, 0, sizeof(s));
    s.dn = ct.dev.dn;
    s.version = v;
    s.module = ct.dev.module;
    s.image_size = ct.image_size;
    s.digest = OTA_DIGEST_MD5;
    s.envelope = OTA_ENVELOPE_LIVE;
    if (fw.cfg.present) {
        /* The user's own image of the first target, no fault: it must install. */
        if (ct_fw_image(v, s.module, ct.image_size, path, sizeof(path), why, sizeof(why)) != 0)
            return snprintf(err, errcap, "%s", why), -1;
        s.image_path = path;
        s.image_size = (size_t)file_size(path);
    }
    if (mc_job_create(ct.cloud, &s, &id) != MC_OK)
        return 0;
    bound = fw.cfg.present ? CT_S(FAILURE) + CT_S(FINAL) : CT_S(FAILURE);
    end = mc_now(ct.cloud) + ct_secs(bound);
    while (mc_job_get(ct.cloud, id, &j) == MC_OK &&
           (j.state == MC_JOB_PENDING || j.state == MC_JOB_UPGRADING) && mc_now(ct.cloud) < end)
        mc_trace_wait(ct.cloud, mc_trace_count(ct.cloud), mc_now(ct.cloud) + 0.2);
    mc_jobs_cancel(ct.cloud, ct.dev.dn);
    if (j.state == MC_JOB_FAILED)
        last_fail_desc(id, desc, sizeof(desc));
    if (fw.cfg.present) {
        const char *fix = fw.cfg.build[0] ? "check firmware.build" : "check the firmware files";
        if (j.state == MC_JOB_SUCCEEDED) {
            mc_trace_add(ct.cloud, OTA_TR_CLOUD, ct.dev.dn, NULL, NULL, 0,
                         "the device installed your own image %s with no fault injected: the "
                         "images are good",
                         v);
            return 0;
        }
        if (j.state != MC_JOB_FAILED) {
            /*
             * No answer is no proof that the image is bad: a device that never
             * reports its new version has a bug the tests name (FINAL-1), so
             * the run goes on, saying so.
             */
            snprintf(why, sizeof(why),
                     "the device did not install your own image %s within %.0f s with no fault "
                     "injected (the job is %s): the tests go on and judge it",
                     v, ct_secs(bound), mc_job_state_name(j.state));
            mc_trace_add(ct.cloud, OTA_TR_CLOUD, ct.dev.dn, NULL, NULL, 0, "%s", why);
            if (!quiet)
                printf("%s\n", why);
            return 0;
        }
        snprintf(err, errcap,
                 "the device refused your own image %s with no fault injected: step "
                 "\"%d\"%s%s%s: %s (docs/device-profiles.md, \"firmware\")",
                 v, j.fail_code, desc[0] ? " \"" : "", desc, desc[0] ? "\"" : "", fix);
        mc_trace_add(ct.cloud, OTA_TR_CLOUD, ct.dev.dn, NULL, NULL, 0, "%s", err);
        return -1;
    }
    if (j.state != MC_JOB_FAILED || j.fail_code != -3)
        return 0;
    snprintf(fw.refused, sizeof(fw.refused),
             "the device checks its images (capability image-check) and refuses the generated "
             "ones (it reported -3%s%s%s at the first push): give its profile a firmware "
             "section with its own images (docs/device-profiles.md, \"firmware\")",
             desc[0] ? " \"" : "", desc, desc[0] ? "\"" : "");
    mc_trace_add(ct.cloud, OTA_TR_CLOUD, ct.dev.dn, NULL, NULL, 0, "%s", fw.refused);
    if (!quiet)
        printf("%s\n", fw.refused);
    return 0;
}

void ct_fw_apply(mc_job_spec *s, char *path, size_t cap)
{
    char why[700];
    long long real = -1;
    size_t want = s->image_size ? s->image_size : ct.image_size;

    if (!fw.cfg.present || s->image_path)
        return;
    if (ct_fw_image(s->version, s->module, want, path, cap, why, sizeof(why)) != 0 ||
        (real = file_size(path)) <= 0) {
        snprintf(fw.fatal, sizeof(fw.fatal), "%s", why);
        ct_inconclusive("the image of %s could not be made: %s", s->version, why);
        return;
    }
    s->image_path = path;
    s->image_size = (size_t)real;
    if (s->mqtt && ct.block_size > 0 && real <= ct.block_size)
        mc_trace_add(ct.cloud, OTA_TR_CLOUD, ct.dev.dn, NULL, NULL, 0,
                     "the image of %s (%lld bytes) fits in one of the device's %lld-byte blocks: "
                     "a fault meant for a later block cannot reach it, and the test is weaker",
                     s->version, real, ct.block_size);
    if ((size_t)real != want && s->fault.at > 0) {
        /* The plan's byte offsets were chosen for `want` bytes: the same place in this image. */
        long long at = (long long)((double)s->fault.at * (double)real / (double)want);
        s->fault.at = at >= real ? real - 1 : at > 0 ? at : 1;
        mc_trace_add(ct.cloud, OTA_TR_CLOUD, ct.dev.dn, NULL, NULL, 0,
                     "the image of %s is %lld bytes, not the %zu the test would like: the fault "
                     "moves to byte %lld",
                     s->version, real, want, s->fault.at);
    }
}
