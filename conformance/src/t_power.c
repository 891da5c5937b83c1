/*
 * Power loss (PWR-1..4): the device is cut off without warning at one point
 * of an upgrade after another, and boots again. The points come from a
 * first, uncut upgrade of an image of the same size (the table of cut
 * points): each change a process device makes to its state folder (watched
 * with inotify, cutter.c), each progress report, each PWR_KIB_STEP bytes
 * received over HTTP, each block request. A table longer than
 * CT_PWR_MAX_CUTS is sampled, keeping the last changes (the commit) whole.
 * After each cut: the version it reports (PWR-1), the image it runs
 * (PWR-2), the next upgrade (PWR-3), and what it did with a download it kept
 * (PWR-4). A process is cut by SIGKILL, a board by its profile's
 * powerCycleCommand; a device on the network only cannot be cut.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ct.h"
#include "cutter.h"
#include "otaproto/clock.h"

#define PWR_IMAGE    8192 /* bytes: a few writes, two blocks, three byte points */
#define PWR_KIB_STEP 2048 /* HTTP: a cut point each this many bytes received */
#define PWR_TAIL     8    /* the last changes of an upgrade (its commit) are all cut */
/* The download is held this long at a byte point: the cut falls in the pause. */
#define PWR_PAUSE_MS 3000
#define PWR_POINTS   64

typedef enum { CUT_STATE = 0, CUT_PROGRESS, CUT_BYTES, CUT_BLOCK } cut_kind;

typedef struct {
    cut_kind kind;
    int n;        /* the n-th change of its key, progress report or block request */
    long long at; /* CUT_BYTES: the byte offset */
    char key[48]; /* CUT_STATE: the change ("rename to version"); the n-th of these is cut */
} cut_point;

typedef struct {
    int mqtt;  /* upgrades by MQTT blocks */
    int state; /* cut at state-folder changes */
    cut_point pts[PWR_POINTS];
    char names[PWR_POINTS][48]; /* CUT_STATE: the changes of the uncut upgrade, in order */
    int npts, learned, cuts;
    int channel; /* the device spoke the control channel when the test began */
    double t0;
} pwr_run;

/* The watcher of the running test, stopped after it whatever way it ended. */
static ct_cutter *active;

void ct_power_teardown(void)
{
    ct_cutter_stop(active);
    active = NULL;
}

/* Why the suite cannot cut this device's power for these points; NULL when it can. */
static const char *cannot_cut(int state)
{
    if (!ct.power_cut)
        return ct.boot_by_connect && !ct.can_reset
                   ? "N/A: the suite can neither stop this device nor switch its power (it is met "
                     "on the network only): it cannot be cut off"
                   : "N/A: the device profile names no powerCycleCommand (with reset.method "
                     "command): a reset over the channel or by DTR/RTS is not a power cut";
    if (state && !ct.state_dir)
        return "N/A: cuts at flash writes watch a process device's OTA_STATE_DIR; a board's flash "
               "is its own (it is cut at its progress reports instead)";
    return NULL;
}

static void spec(const pwr_run *pr, mc_job_spec *s, char *v, size_t cap)
{
    ct_spec_init(s, v, cap);
    s->image_size = PWR_IMAGE;
    s->mqtt = pr->mqtt;
}

static int over(const ota_trace_rec *r, size_t i, const ct_attempt *a)
{
    return ct_is_inform(r, i, (void *)a->info.version) || ct_is_fail_step(r, i, NULL);
}

static int is_pause(const ota_trace_rec *r)
{
    return r->kind == OTA_TR_FAULT && r->event == OTA_EV_FAULT && r->offset >= 0 &&
           !strcmp(r->fault, "http-pause") && !strcmp(r->dev, ct.dev.dn);
}

typedef struct {
    const ct_attempt *a;
    cut_kind kind;
} trigger_arg;

static int trigger(const ota_trace_rec *r, size_t i, void *arg)
{
    const trigger_arg *t = arg;

    if (over(r, i, t->a))
        return 1;
    switch (t->kind) {
    case CUT_PROGRESS:
        return ct_is_progress(r, i, NULL);
    case CUT_BLOCK:
        return ct_is_uplink(r, i, (void *)"/thing/file/download");
    case CUT_BYTES:
        return is_pause(r);
    default:
        return 0;
    }
}

static const char *kind_words(cut_kind k)
{
    static const char *const w[] = {"change of the state folder", "progress report", "byte point",
                                    "block request"};
    return w[k];
}

/*
 * Wait for point c of attempt a and cut there. 1 when cut (what says
 * where, *mark is the trace count at the cut), 0 when the attempt ended
 * first or the point never came within FINAL-1's bound.
 */
static int cut_at(ct_attempt *a, const cut_point *c, char *what, size_t cap, size_t *mark)
{
    double end = mc_now(ct.cloud) + ct_secs(ct.bounds.final);
    trigger_arg t = {a, c->kind};
    size_t from = a->push_at;
    int seen = 0;

    for (;;) {
        double left = (end - mc_now(ct.cloud)) / ct.scale;
        long i;
        if (active && ct_cutter_fired(active, what, cap, mark))
            return 1;
        if (left <= 0)
            return 0;
        i = ct_find(from, active ? 0.05 : left, trigger, &t);
        if (i < 0)
            continue;
        from = (size_t)i + 1;
        if (over(mc_trace_at(ct.cloud, (size_t)i), (size_t)i, a)) {
            a->end_at = i;
            return active && ct_cutter_fired(active, what, cap, mark);
        }
        if (++seen < c->n)
            continue;
        *mark = mc_trace_count(ct.cloud);
        dut_restart(ct.dut);
        mc_jobs_cancel(ct.cloud, ct.dev.dn); /* before it boots again and asks for it */
        if (c->kind == CUT_BYTES)
            snprintf(what, cap, "byte %lld received", c->at);
        else
            snprintf(what, cap, "%s %d", kind_words(c->kind), seen);
        return 1;
    }
}

/* PWR-2 where the device tells the image it runs: that of the job it reports. */
static void check_image(const pwr_run *pr, const ct_attempt *a, const char *after)
{
    char image[DUT_MAX_LINE];

    if (!pr->channel)
        return;
    if (ct_status_image(image, sizeof(image)) != 0) {
        if (!dut_has_cap(ct.dut, "image-digest"))
            return;
        ct_inconclusive("%s the device reports version %s, but its control channel did not "
                        "answer STATUS within %.0f s: the image it runs is not known",
                        after, a->info.version, ct_secs(CT_S(READY)));
    }
    if (!dut_has_cap(ct.dut, "image-digest"))
        return;
    ct_check("PWR-2", !strcasecmp(image, a->info.sha256_hex),
             "%s the device reports version %s, so it must run that image (SHA-256 %s), but "
             "STATUS says image=%s",
             after, a->info.version, a->info.sha256_hex, image[0] ? image : "(none)");
}

/* The file offset of the first download request of attempt a's job; -1 when none came. */
static long long first_offset(const ct_attempt *a)
{
    size_t n = mc_trace_count(ct.cloud);

    for (size_t i = a->push_at; i < n; i++) {
        const ota_trace_rec *r = mc_trace_at(ct.cloud, i);
        ota_block_request q;
        int job;
        if (ct_is_get(r, i, NULL) && sscanf(r->topic, "/ota/%d/", &job) == 1 && job == a->job)
            return r->offset > 0 ? r->offset : 0;
        if (ct_is_uplink(r, i, (void *)"/thing/file/download") &&
            ota_block_request_parse((const char *)r->payload, r->payload_len, &q) == OTA_OK &&
            q.stream_id == a->info.stream_id)
            return q.offset;
    }
    return -1;
}

/* PWR-1: the version the device reports after the cut; the boot's start record in *boot. */
static void check_boot(const ct_attempt *a, size_t mark, const char *after, char *v, size_t cap)
{
    long s = ct_find(mark, ct.bounds.boot, ct_is_start, NULL), i;
    ota_inform in;
    const ota_trace_rec *r;
    char where[400];

    if (s < 0)
        ct_fail("PWR-1", "%s the device did not start again within %.0f s", after,
                ct_secs(ct.bounds.boot));
    i = ct_find((size_t)s, ct.bounds.inform, ct_is_inform, NULL);
    if (i < 0)
        ct_fail("PWR-1", "%s the device started but reported no version within %.0f s", after,
                ct_secs(ct.bounds.inform));
    r = mc_trace_at(ct.cloud, (size_t)i);
    ct_describe((size_t)i, where, sizeof(where));
    if (ota_inform_parse((const char *)r->payload, r->payload_len, &in) != OTA_OK)
        ct_fail("PWR-1", "%s the device's version report is unreadable %s", after, where);
    snprintf(v, cap, "%s", in.version);
    ct_check("PWR-1", !strcmp(v, a->from_version) || !strcmp(v, a->info.version),
             "%s the device must report %s (the version before) or %s (the target), it reported "
             "\"%s\" %s",
             after, a->from_version, a->info.version, v, where);
}

/*
 * PWR-3 (and PWR-4): the next push, a new image, must complete. A failure
 * after resuming a download kept from before the cut is PWR-4 (the kept
 * part was trusted without checking it is of this image); then one more
 * push. Without image-digest, a target reported after the cut is proven
 * here, citing PWR-2.
 */
static void next_upgrade(const pwr_run *pr, const char *after, int unproven)
{
    mc_job_spec s;
    char v[32];
    ct_attempt b;
    long long off;

    spec(pr, &s, v, sizeof(v));
    ct_upgrade(&b, &s, CT_S(FINAL));
    off = first_offset(&b);
    if (b.outcome != CT_UP_SUCCEEDED && off > 0) {
        ct_check("PWR-4", 0,
                 "%s the next push (%s, a new image) was resumed from byte %lld of a download kept "
                 "from before the cut, without checking that the kept part is of this image: %s",
                 after, v, off, ct_outcome_text(&b));
        spec(pr, &s, v, sizeof(v));
        ct_upgrade(&b, &s, CT_S(FINAL));
    }
    ct_check(unproven ? "PWR-2" : "PWR-3", b.outcome == CT_UP_SUCCEEDED,
             "%s the next upgrade (to %s) must succeed, got %s", after, v, ct_outcome_text(&b));
    check_image(pr, &b, "after an upgrade");
}

/* One upgrade cut at point c, then the checks; 0 when it completed uncut. */
static int cut_once(pwr_run *pr, const cut_point *c)
{
    mc_job_spec s;
    char v[32], what[80] = "", after[400], now[OTA_MAX_VERSION + 1];
    ct_attempt a;
    size_t mark = 0;
    int cut;

    spec(pr, &s, v, sizeof(v));
    if (c->kind == CUT_BYTES)
        s.fault = (mc_fault){MC_FAULT_HTTP_PAUSE, c->at, PWR_PAUSE_MS, 0, 1};
    if (c->kind == CUT_STATE && !(active = ct_cutter_start(ct.state_dir, c->key, c->n)))
        ct_inconclusive("cannot watch the device's state folder %s with inotify", ct.state_dir);
    ct_push(&a, &s);
    cut = cut_at(&a, c, what, sizeof(what), &mark);
    ct_power_teardown();
    if (!cut) {
        ct_await(&a, CT_S(FINAL)); /* the upgrade ran to its end uncut */
        return 0;
    }
    pr->cuts++;
    if (c->kind == CUT_STATE && c->n > 1)
        snprintf(what + strlen(what), sizeof(what) - strlen(what), " (number %d of them)", c->n);
    snprintf(after, sizeof(after), "after a power cut at the %s (%s to %s),", what, a.from_version,
             v);
    mc_trace_add(ct.cloud, OTA_TR_CLOUD, ct.dev.dn, NULL, NULL, 0,
                 "power: cut %d at the %s of the upgrade from %s to %s", pr->cuts, what,
                 a.from_version, v);
    check_boot(&a, mark, after, now, sizeof(now));
    if (!strcmp(now, v))
        check_image(pr, &a, after);
    next_upgrade(pr, after, !strcmp(now, v) && !dut_has_cap(ct.dut, "image-digest"));
    return 1;
}

/* The k-th point (from 1) of a table: for a change, its name and which of that name it is. */
static void add_point(pwr_run *pr, cut_kind kind, int k)
{
    cut_point *c = &pr->pts[pr->npts++];

    *c = (cut_point){kind, k, 0, ""};
    if (kind != CUT_STATE || k > PWR_POINTS)
        return;
    /* (not snprintf: -O2 cannot tell the table of names from the table of points) */
    size_t len = strnlen(pr->names[k - 1], sizeof(c->key) - 1);
    memcpy(c->key, pr->names[k - 1], len);
    c->key[len] = '\0';
    c->n = 0;
    for (int i = 0; i < k; i++)
        c->n += !strcmp(pr->names[i], c->key);
}

/*
 * The points of a table of `total` to cut: all of them when few; else the
 * last PWR_TAIL whole (an upgrade ends in its commit) and the rest sampled
 * evenly, CT_PWR_MAX_CUTS in all.
 */
static void sample(pwr_run *pr, cut_kind kind, int total)
{
    int head = total > CT_PWR_MAX_CUTS ? total - PWR_TAIL : total;
    int want = total > CT_PWR_MAX_CUTS ? CT_PWR_MAX_CUTS - PWR_TAIL : head;

    for (int k = 0; k < want && pr->npts < PWR_POINTS; k++)
        add_point(pr, kind,
                  want == head ? k + 1 : 1 + (int)((long long)k * (head - 1) / (want - 1)));
    for (int n = head + 1; n <= total && pr->npts < PWR_POINTS; n++)
        add_point(pr, kind, n);
}

static int count(size_t from, size_t to, ct_pred pred)
{
    int n = 0;
    for (long i = ct_scan(from, to, pred, NULL); i >= 0; i = ct_scan((size_t)i + 1, to, pred, NULL))
        n++;
    return n;
}

static int is_block_request(const ota_trace_rec *r, size_t i, void *arg)
{
    (void)arg;
    return ct_is_uplink(r, i, (void *)"/thing/file/download");
}

/* The uncut upgrade: the table of cut points, noted in the trace. */
static void learn(pwr_run *pr)
{
    mc_job_spec s;
    char v[32], names[1024] = "";
    ct_attempt a;
    size_t end;
    int progress, blocks;

    pr->t0 = mc_now(ct.cloud);
    if (pr->state && !(active = ct_cutter_start(ct.state_dir, NULL, 0)))
        ct_inconclusive("cannot watch the device's state folder %s with inotify", ct.state_dir);
    spec(pr, &s, v, sizeof(v));
    ct_upgrade(&a, &s, CT_S(FINAL));
    end = a.end_at >= 0 ? (size_t)a.end_at + 1 : mc_trace_count(ct.cloud);
    if (pr->state) {
        pr->learned = ct_cutter_events(active);
        if (pr->learned > PWR_POINTS)
            pr->learned = PWR_POINTS;
        for (int k = 1; k <= pr->learned; k++) {
            ct_cutter_name(active, k, pr->names[k - 1], sizeof(pr->names[0]));
            if (strlen(names) < sizeof(names) - 64)
                snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%d %s",
                         k > 1 ? ", " : "", k, pr->names[k - 1]);
        }
    }
    ct_power_teardown();
    if (a.outcome != CT_UP_SUCCEEDED)
        ct_inconclusive("the uncut upgrade that learns the cut points did not succeed (%s): cuts "
                        "are judged against a device that upgrades",
                        ct_outcome_text(&a));
    if (pr->state && !pr->learned)
        ct_na("N/A: the device changed nothing in its OTA_STATE_DIR (%s) during an upgrade: it "
              "keeps its flash elsewhere, and is cut at its progress reports instead",
              ct.state_dir);
    if (pr->state) {
        sample(pr, CUT_STATE, pr->learned);
    } else {
        progress = count(a.push_at, end, ct_is_progress);
        blocks = pr->mqtt ? count(a.push_at, end, is_block_request) : 0;
        pr->learned = progress + blocks + (pr->mqtt ? 0 : (PWR_IMAGE - 1) / PWR_KIB_STEP);
        sample(pr, CUT_PROGRESS, progress);
        sample(pr, CUT_BLOCK, blocks);
        for (long long at = PWR_KIB_STEP; !pr->mqtt && at < PWR_IMAGE; at += PWR_KIB_STEP)
            if (pr->npts < PWR_POINTS)
                pr->pts[pr->npts++] = (cut_point){CUT_BYTES, 1, at, ""};
    }
    mc_trace_add(ct.cloud, OTA_TR_CLOUD, ct.dev.dn, NULL, NULL, 0,
                 "power: the uncut upgrade of a %d-byte image has %d cut points%s%s; %d are cut "
                 "(at most %d per test)",
                 PWR_IMAGE, pr->learned, names[0] ? ": " : "", names, pr->npts, CT_PWR_MAX_CUTS);
}

static void run(pwr_run *pr)
{
    const char *na = cannot_cut(pr->state);

    if (na)
        ct_na("%s", na);
    pr->channel = dut_has_channel(ct.dut);
    learn(pr);
    for (int k = 0; k < pr->npts; k++)
        cut_once(pr, &pr->pts[k]); /* a point this upgrade did not reach: it ran uncut */
    mc_trace_add(ct.cloud, OTA_TR_CLOUD, ct.dev.dn, NULL, NULL, 0,
                 "power: %d cuts of %d cut points in %.1f s", pr->cuts, pr->learned,
                 mc_now(ct.cloud) - pr->t0);
}

static void cut_at_every_flash_write(void **state)
{
    pwr_run pr = {.state = 1};
    (void)state;
    run(&pr);
}

static void cut_at_every_transfer_step(void **state)
{
    pwr_run pr = {0};
    (void)state;
    run(&pr);
}

static void cut_at_every_block_request(void **state)
{
    pwr_run pr = {.mqtt = 1};
    (void)state;
    run(&pr);
}

static const ct_case cases[] = {
    {"cut_at_every_flash_write", "power", cut_at_every_flash_write, "PWR-1 PWR-2 PWR-3 PWR-4",
     NULL},
    {"cut_at_every_transfer_step", "power", cut_at_every_transfer_step, "PWR-1 PWR-2 PWR-3 PWR-4",
     NULL},
    {"cut_at_every_block_request", "power", cut_at_every_block_request, "PWR-1 PWR-2 PWR-3 PWR-4",
     NULL},
};

const ct_group ct_group_power = {"power", cases, sizeof(cases) / sizeof(cases[0])};
