/*
 * The HTML report: one self-contained file (inline CSS and SVG, a few lines
 * of vanilla script for the filters) that shows a person which rule a
 * device broke and the messages that show it. Header, failures first, the
 * requirement table, then each test with its progress chart and timeline.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otaproto/otaproto.h"
#include "report_priv.h"

#define MAX_ROWS    1500 /* timeline rows per test; the JUnit slice has the rest */
#define MAX_PAYLOAD 1500 /* characters of one payload shown */
#define CHART_W     640
#define CHART_H     170

/* Escape at most max bytes of s (cut on a character boundary), marking the cut. */
static void esc_cut(FILE *f, const char *s, size_t max)
{
    size_t n = strlen(s);
    char *copy;

    if (n <= max) {
        rp_xml_put(f, s);
        return;
    }
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    copy = malloc(max + 1);
    if (!copy)
        return;
    memcpy(copy, s, max);
    copy[max] = '\0';
    rp_xml_put(f, copy);
    fprintf(f, "… <i>(%zu more bytes)</i>", n - max);
    free(copy);
}

static const char css[] =
    "body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}"
    "header,main,nav{padding:12px 24px}header{background:#fff;border-bottom:1px solid #dde}"
    "h1{font-size:20px;margin:4px 0 8px}h2{font-size:17px;margin:18px 0 8px}"
    "h3{font-size:15px;margin:0 0 6px}.badge{padding:2px 8px;border-radius:4px;color:#fff}"
    ".b-pass{background:#2e7d32}.b-fail{background:#c62828}.b-unfinished{background:#ef6c00}"
    "article.v-not{border-left-color:#cfd8dc;opacity:.8}"
    "table{border-collapse:collapse}td,th{padding:3px 8px;text-align:left;vertical-align:top}"
    ".meta td:first-child{color:#667}.rules tr:nth-child(even){background:#fafafc}"
    ".rules th{background:#eef}.counts span{font-weight:600}"
    "nav{position:sticky;top:0;background:#eef1f6;border-bottom:1px solid #dde;z-index:2}"
    "nav label,nav select,nav input{margin-right:16px}"
    "article{background:#fff;border:1px solid #dde;border-left:6px solid #2e7d32;"
    "border-radius:4px;margin:10px 0;padding:10px 14px}"
    "article.v-fail,article.v-unfinished{border-left-color:#c62828}"
    "article.v-n\\/"
    "a,article.v-inconclusive{border-left-color:#90a4ae}article.warned{border-left-color:#f9a825}"
    ".why{background:#fdecea;padding:6px 10px;border-radius:4px;white-space:pre-wrap}"
    ".na{background:#eceff1;padding:6px 10px;border-radius:4px}"
    ".warn{background:#fff8e1;padding:4px 10px;border-radius:4px;margin:4px 0}"
    ".timeline{font:12px/1.35 ui-monospace,monospace;width:100%;table-layout:fixed}"
    ".timeline td{overflow-wrap:anywhere}"
    ".timeline td{border-top:1px solid #eee}.timeline .t{color:#667;white-space:nowrap}"
    ".timeline .dir{white-space:nowrap}.timeline code{white-space:pre-wrap;word-break:break-all}"
    ".k-mqtt-in .dir{color:#1565c0}.k-mqtt-out .dir{color:#6a1b9a}.k-fault{background:#fff3e0}"
    ".k-error{background:#fdecea}.k-log{color:#555}.k-dut .dir{color:#ef6c00}"
    ".offending{outline:2px solid #c62828;background:#ffebee}"
    ".v{font-weight:600}.v-fail .v,.rv-fail{color:#c62828}.rv-pass{color:#2e7d32}"
    ".rv-warning{color:#b26a00}.rv-na,.rv-untested{color:#78909c}"
    "article.v-waived{border-left-color:#8e24aa}.v-waived .v,.rv-waived{color:#8e24aa}"
    ".waived{background:#f3e5f5;padding:6px 10px;border-radius:4px}"
    "tr.r-fail td{background:#fdecea}tr.r-fail td:first-child{border-left:4px solid #c62828;"
    "font-weight:600}.groups{margin:4px 0 10px;padding-left:18px}"
    ".b-warn{background:#f9a825;color:#1d2330;font-size:12px}"
    "svg.chart{background:#fbfcfe;border:1px solid #e3e6ee;margin:6px 0}"
    ".cost{color:#455a64;margin:4px 0}.baseline td.changed{background:#fff8e1}"
    ".baseline td.worse{background:#fdecea;color:#c62828;font-weight:600}"
    ".hidden{display:none}";

static const char script[] =
    "(function(){var tests=[].slice.call(document.querySelectorAll('article.test'));"
    "var rules=[].slice.call(document.querySelectorAll('tr.rule'));"
    "var fo=document.getElementById('f-failed'),fg=document.getElementById('f-group'),"
    "fr=document.getElementById('f-rule');"
    "function apply(){var id=fr.value.trim().toUpperCase(),shown=0;"
    "tests.forEach(function(t){var ok=(!fo.checked||t.dataset.verdict==='fail'||"
    "t.dataset.verdict==='unfinished')&&(!fg.value||t.dataset.group===fg.value)&&"
    "(!id||(' '+t.dataset.rules+' ').indexOf(id)>=0);t.classList.toggle('hidden',!ok);"
    "if(ok)shown++;});"
    "rules.forEach(function(r){r.classList.toggle('hidden',(!!id&&r.dataset.rule.indexOf(id)<0)||"
    "(fo.checked&&r.dataset.verdict!=='fail'));});"
    "document.body.dataset.visible=shown;}"
    "[fo,fg,fr].forEach(function(e){e.addEventListener('input',apply);"
    "e.addEventListener('change',apply);});apply();"
    "var c=function(s){return document.querySelectorAll(s).length;};"
    "document.body.dataset.tests=tests.length;"
    "document.body.dataset.failed=c('article.test[data-verdict=fail]')+"
    "c('article.test[data-verdict=unfinished]');"
    "document.body.dataset.passed=c('article.test[data-verdict=pass]');"
    "document.body.dataset.points=c('svg.chart circle');"
    "document.body.dataset.rendered='1';})();";

static void test_anchor(FILE *f, const rp_test *t)
{
    fputs("t-", f);
    rp_xml_put(f, t->group);
    fputc('-', f);
    rp_xml_put(f, t->name);
}

static void meta_row(FILE *f, const char *k, const char *v)
{
    fprintf(f, "<tr><td>%s</td><td>", k);
    rp_xml_put(f, v && *v ? v : "–");
    fputs("</td></tr>\n", f);
}

/* Under --baseline-strict a test worse than the baseline fails the run. */
static int worse(const rp_report *r)
{
    return r->cmp && r->cmp->strict && r->cmp->worse;
}

/* The counts line, the same figures as the terminal's summary and JUnit's totals. */
static void counts_line(FILE *f, const rp_counts *c)
{
    fputs("<p class=\"counts\">", f);
    if (c->not_run)
        fprintf(f, "<span id=\"n-ran\">%d</span> of ", c->ran);
    fprintf(f,
            "<span id=\"n-tests\">%d</span> test%s%s: <span id=\"n-passed\">%d</span> passed, "
            "<span id=\"n-failed\">%d</span> failed",
            c->total, c->total == 1 ? "" : "s", c->not_run ? " ran" : "", c->pass,
            c->fail + c->unfinished);
    if (c->unfinished)
        fprintf(f, " (%d unfinished)", c->unfinished);
    fprintf(f,
            ", <span id=\"n-na\">%d</span> N/A, <span id=\"n-inconclusive\">%d</span> "
            "inconclusive, ",
            c->na, c->inconclusive);
    if (c->not_run)
        fprintf(f, "<span id=\"n-not-run\">%d</span> not run, ", c->not_run);
    if (c->waived)
        fprintf(f, "<span id=\"n-waived\">%d</span> waived, ", c->waived);
    fprintf(f, "<span id=\"n-warnings\">%d</span> warning%s</p>\n", c->warnings,
            c->warnings == 1 ? "" : "s");
}

/* What the firmware row's two versions are. */
static void firmware_row(FILE *f, const rp_report *r)
{
    fputs("<tr><td>firmware</td><td>", f);
    rp_xml_put(f, r->info.fw_before[0] ? r->info.fw_before : "?");
    fputs(" → ", f);
    rp_xml_put(f, r->info.fw_after[0] ? r->info.fw_after : "?");
    fputs(" <small>(the version the device ran at the start → the last version it reported "
          "at the end: the tests upgrade it to made-up versions counting up from 9.0.1, so "
          "a device that passes ends on the last one; with several device instances "
          "(<code>--jobs</code>, boards), the instance that ran the catalogue's last "
          "test)</small></td></tr>\n",
          f);
}

static void header(FILE *f, const rp_report *r, const rp_counts *c)
{
    const char *outcome = rp_report_outcome(r, worse(r));
    char dur[64], mode[64];

    fputs("<header>", f);
    if (r->info.auth_off)
        fputs("<p class=\"warn\"><b>Auth off:</b> device logins were not checked in this run "
              "(ota-conformance --auth off); SEC-1 is N/A.</p>\n",
              f);
    fputs("<h1>OTA conformance: ", f);
    rp_xml_put(f, r->info.device);
    fprintf(f, " <span class=\"badge %s\">%s</span></h1>\n<table class=\"meta\">\n",
            !strcmp(outcome, "PASSED")   ? "b-pass"
            : !strcmp(outcome, "FAILED") ? "b-fail"
                                         : "b-unfinished",
            outcome);
    snprintf(dur, sizeof(dur), "%.1f s", r->seconds);
    snprintf(mode, sizeof(mode), "%s, time scale %.2g", r->info.strict ? "strict" : "normal",
             r->info.time_scale);
    meta_row(f, "device", r->info.device);
    meta_row(f, "dialect", r->info.dialect);
    meta_row(f, "adapter", r->info.adapter);
    meta_row(f, "command", r->info.dut_cmd);
    meta_row(f, "broker", r->info.broker);
    firmware_row(f, r);
    meta_row(f, "date (UTC)", r->info.started);
    meta_row(f, "duration", dur);
    meta_row(f, "judging", mode);
    fputs("</table>\n", f);
    counts_line(f, c);
    if (r->stopped[0]) {
        fputs("<p class=\"why\"><b>The run stopped before its tests</b>: ", f);
        rp_xml_put(f, r->stopped);
        fputs("</p>\n", f);
    }
    if (r->interrupted)
        fprintf(f,
                "<p class=\"warn\">This run was interrupted: %d of %d tests ran; the others are "
                "listed as not run, and a rule without a finished test is not tested.</p>\n",
                c->ran, c->total);
    if (!r->complete)
        fputs("<p class=\"warn\">This run did not finish: the report was rebuilt from its "
              "trace, the last test is marked unfinished and the tests after it not run.</p>\n",
              f);
    if (r->not_loaded)
        fprintf(f,
                "<p class=\"warn\">The trace holds more records than a report loads: %zu "
                "message and event records past that were left out (every test's verdict is "
                "here; the trace file has them all).</p>\n",
                r->not_loaded);
    if (r->bad_lines)
        fprintf(f, "<p class=\"warn\">%d trace line(s) could not be read.</p>\n", r->bad_lines);
    for (int e = 0; e < r->info.nexpired; e++) {
        fputs("<p class=\"warn waiver-expired\"><b>Expired waiver</b>: ", f);
        rp_xml_put(f, r->info.expired[e]);
        fputs("</p>\n", f);
    }
    fputs("</header>\n", f);
}

static void filters(FILE *f, const rp_report *r)
{
    fputs("<nav><label><input type=\"checkbox\" id=\"f-failed\"> failed only</label>"
          "<select id=\"f-group\"><option value=\"\">all groups</option>",
          f);
    for (int i = 0; i < r->ntests; i++) {
        int seen = 0;
        for (int k = 0; k < i; k++)
            seen |= !strcmp(r->tests[k].group, r->tests[i].group);
        if (seen)
            continue;
        fputs("<option>", f);
        rp_xml_put(f, r->tests[i].group);
        fputs("</option>", f);
    }
    fputs("</select><input id=\"f-rule\" placeholder=\"requirement ID, e.g. FAIL-3\" "
          "size=\"28\"></nav>\n",
          f);
}

static int cites(const rp_test *t, const char *id)
{
    char buf[sizeof(t->rules) + 2];
    char want[24];
    snprintf(buf, sizeof(buf), " %s ", t->rules);
    snprintf(want, sizeof(want), " %s ", id);
    return strstr(buf, want) != NULL;
}

/* A rule's verdict from the tests that cite it. */
static const char *rule_verdict(const rp_report *r, const char *id)
{
    int tests = 0, fail = 0, warn = 0, na = 0, inconclusive = 0, waived = 0;

    for (int i = 0; i < r->ntests; i++) {
        const rp_test *t = &r->tests[i];
        /* A test that did not finish judged nothing: its rules may be "not tested". */
        if (!cites(t, id) || t->verdict == RP_UNFINISHED || t->verdict == RP_NOT_RUN)
            continue;
        tests++;
        fail += t->verdict == RP_FAIL && !strcmp(t->failed_rule, id);
        waived += t->verdict == RP_WAIVED && !strcmp(t->failed_rule, id);
        na += t->verdict == RP_NA;
        inconclusive += t->verdict == RP_INCONCLUSIVE;
        for (int w = 0; w < t->nwarnings; w++)
            warn += !strcmp(t->warnings[w].rule, id);
    }
    return !tests                       ? "untested"
           : fail                       ? "fail"
           : waived                     ? "waived"
           : warn                       ? "warning"
           : na == tests                ? "na"
           : na + inconclusive == tests ? "inconclusive"
                                        : "pass";
}

static void rule_table(FILE *f, const rp_report *r)
{
    fputs("<section id=\"requirements\"><h2>Requirements</h2>\n<table class=\"rules\">"
          "<tr><th>ID</th><th>tier</th><th>rule</th><th>tests</th><th>verdict</th></tr>\n",
          f);
    for (int k = 0; k < r->info.nrules; k++) {
        const rp_rule *x = &r->info.rules[k];
        const char *v = rule_verdict(r, x->id);
        fprintf(f, "<tr class=\"rule r-%s\" data-verdict=\"%s\" data-rule=\"", v, v);
        rp_xml_put(f, x->id);
        fputs("\"><td>", f);
        rp_xml_put(f, x->id);
        fprintf(f, "</td><td>%s%s</td><td>", x->tier, x->compat ? " (compat)" : "");
        rp_xml_put(f, x->text);
        fputs("</td><td>", f);
        for (int i = 0; i < r->ntests; i++) {
            if (!cites(&r->tests[i], x->id))
                continue;
            fputs("<a href=\"#", f);
            test_anchor(f, &r->tests[i]);
            fputs("\">", f);
            rp_xml_put(f, r->tests[i].name);
            fputs("</a> ", f);
        }
        fprintf(f, "</td><td class=\"rv-%s\">%s</td></tr>\n", v,
                !strcmp(v, "na")         ? "N/A"
                : !strcmp(v, "untested") ? "not tested"
                                         : v);
    }
    fputs("</table></section>\n", f);
}

/*
 * Two failures have the same reason when they break the same rule with the
 * same message once every number is set aside (versions, job ids, offsets,
 * times and signed URLs differ from test to test; the cause does not).
 */
static int same_reason(const rp_test *a, const rp_test *b)
{
    const char *x = a->message, *y = b->message;

    if (strcmp(a->failed_rule, b->failed_rule) || a->verdict != b->verdict)
        return 0;
    for (;;) {
        int dx = *x >= '0' && *x <= '9', dy = *y >= '0' && *y <= '9';
        if (dx || dy) {
            if (!dx || !dy)
                return 0;
            while (*x >= '0' && *x <= '9')
                x++;
            while (*y >= '0' && *y <= '9')
                y++;
            continue;
        }
        if (*x != *y)
            return 0;
        if (!*x)
            return 1;
        x++;
        y++;
    }
}

static int is_failure(const rp_test *t)
{
    return t->verdict == RP_FAIL || t->verdict == RP_UNFINISHED;
}

static void failure_link(FILE *f, const rp_test *t)
{
    fputs("<a href=\"#", f);
    test_anchor(f, t);
    fputs("\">", f);
    rp_xml_put(f, t->group);
    fputs("/", f);
    rp_xml_put(f, t->name);
    fputs("</a>", f);
}

/*
 * The failures, those with the same reason as one entry ("39 tests failed
 * for the same reason: ..."), so that one stuck state reads as one cause.
 */
static void failures(FILE *f, const rp_report *r)
{
    int any = 0;

    for (int i = 0; i < r->ntests; i++) {
        const rp_test *t = &r->tests[i];
        int same = 0, earlier = 0;
        if (!is_failure(t))
            continue;
        for (int k = 0; k < r->ntests; k++)
            if (k != i && is_failure(&r->tests[k]) && same_reason(t, &r->tests[k])) {
                same++;
                earlier |= k < i;
            }
        if (earlier)
            continue; /* listed with the first test of its reason */
        if (!any++)
            fputs("<section id=\"failures\"><h2>Failures</h2><ol>\n", f);
        fprintf(f, "<li data-same=\"%d\">", same + 1);
        if (same)
            fprintf(f, "<b>%d tests failed for the same reason</b>: ", same + 1);
        fputs("<b>", f);
        rp_xml_put(f, t->failed_rule);
        fputs("</b> ", f);
        if (!same) {
            failure_link(f, t);
            fputs(": ", f);
        }
        esc_cut(f, t->message, 400);
        if (same) {
            fputs("<ul class=\"groups\">", f);
            for (int k = i; k < r->ntests; k++)
                if (k == i || (is_failure(&r->tests[k]) && same_reason(t, &r->tests[k]))) {
                    fputs("<li>", f);
                    failure_link(f, &r->tests[k]);
                    fputs("</li>", f);
                }
            fputs("</ul>", f);
        }
        fputs("</li>\n", f);
    }
    if (any)
        fputs("</ol></section>\n", f);
}

/* ---- per test: chart and timeline ---- */
static int is_progress(const ota_trace_rec *rec)
{
    return rec->kind == OTA_TR_MQTT_IN && strstr(rec->topic, "/ota/device/progress/") == rec->topic;
}

static int is_push(const ota_trace_rec *rec)
{
    return rec->kind == OTA_TR_MQTT_OUT &&
           (strstr(rec->topic, "/ota/device/upgrade/") == rec->topic ||
            strstr(rec->topic, "/firmware/get_reply"));
}

static int step_of(const ota_trace_rec *rec, int *step)
{
    ota_progress p;
    int rc = ota_progress_parse((const char *)rec->payload, rec->payload_len, &p);
    *step = p.step;
    return rc == OTA_OK || rc == OTA_ERR_RANGE;
}

static const char *const colors[] = {"#1565c0", "#6a1b9a", "#00838f", "#2e7d32", "#ad1457"};

static double chart_x(double t, double span)
{
    return 40 + (CHART_W - 50) * (span > 0 ? t / span : 0);
}

/* 0..100 on the main scale; failure steps in their own band below it. */
static double chart_y(int step)
{
    double zero = CHART_H - 44;
    if (step < 0)
        return zero + 10 + (-step - 1) * 6.0;
    return 10 + (zero - 10) * (100.0 - step) / 100.0;
}

static void chart_axes(FILE *f, double span)
{
    fprintf(f,
            "<svg class=\"chart\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
            "role=\"img\" aria-label=\"progress over time\">",
            CHART_W, CHART_H, CHART_W, CHART_H);
    for (int s = 0; s <= 100; s += 50)
        fprintf(f,
                "<line x1=\"40\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#e3e6ee\"/>"
                "<text x=\"34\" y=\"%.1f\" font-size=\"10\" text-anchor=\"end\">%d</text>",
                CHART_W - 10, chart_y(s), chart_y(s), chart_y(s) + 3, s);
    fprintf(f,
            "<text x=\"34\" y=\"%.1f\" font-size=\"10\" text-anchor=\"end\" "
            "fill=\"#c62828\">-1..-4</text>",
            chart_y(-2) + 3);
    fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"10\" text-anchor=\"end\">%.2f s</text>",
            CHART_W - 10, CHART_H - 4, span);
}

/* Progress steps over time, one colour per attempt (a push starts one); faults marked. */
static void chart(FILE *f, const rp_report *r, const rp_test *t)
{
    double t0 = r->recs[t->rec_begin].t, span = 0;
    int points = 0, attempt = 0;

    for (size_t i = t->rec_begin; i < t->rec_end; i++) {
        int step;
        if (is_progress(&r->recs[i]) && step_of(&r->recs[i], &step))
            points++;
        span = r->recs[i].t - t0;
    }
    if (!points)
        return;
    chart_axes(f, span);
    for (size_t i = t->rec_begin; i < t->rec_end; i++) {
        const ota_trace_rec *rec = &r->recs[i];
        double x = chart_x(rec->t - t0, span);
        int step;
        if (is_push(rec)) {
            attempt++;
            fprintf(f,
                    "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"10\" y2=\"%d\" stroke=\"%s\" "
                    "stroke-dasharray=\"2,3\"><title>push %d</title></line>",
                    x, x, CHART_H - 20, colors[attempt % 5], attempt);
        } else if (rec->kind == OTA_TR_FAULT) {
            fprintf(f,
                    "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"10\" y2=\"%d\" stroke=\"#ef6c00\" "
                    "stroke-width=\"2\"><title>fault: ",
                    x, x, CHART_H - 20);
            rp_xml_put(f, rec->info);
            fputs("</title></line>", f);
        } else if (is_progress(rec) && step_of(rec, &step)) {
            fprintf(f,
                    "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"><title>+%.3f s: "
                    "step %d (attempt %d)</title></circle>",
                    x, chart_y(step), step < 0 ? "#c62828" : colors[attempt % 5], rec->t - t0, step,
                    attempt);
        }
    }
    fputs("</svg>\n", f);
}

static const char *direction(ota_trace_kind k)
{
    static const char *const d[OTA_TR__COUNT] = {
        [OTA_TR_MQTT_IN] = "device → cloud",
        [OTA_TR_MQTT_OUT] = "cloud → device",
        [OTA_TR_HTTP] = "HTTP",
        [OTA_TR_FAULT] = "fault injected",
        [OTA_TR_LOG] = "device log",
        [OTA_TR_DUT] = "device",
        [OTA_TR_TEST] = "test",
        [OTA_TR_CLOUD] = "cloud",
        [OTA_TR_ERROR] = "refused input",
        [OTA_TR_BROKER] = "broker",
    };
    return (unsigned)k < OTA_TR__COUNT ? d[k] : "?";
}

/* A binary block frame, decoded: never shown as bytes. */
static void frame_cell(FILE *f, const ota_trace_rec *rec)
{
    ota_frame fr;
    ota_block_header h;

    if (ota_frame_decode(rec->payload, rec->payload_len, &fr) != OTA_OK) {
        fprintf(f, "<code>undecodable frame of %zu bytes</code>", rec->payload_len);
        return;
    }
    if (ota_block_header_parse(fr.header, fr.header_len, &h) != OTA_OK) {
        fprintf(f, "<code>frame with an unreadable header, %zu data bytes</code>", fr.data_len);
        return;
    }
    fprintf(f,
            "<code>block: code %d, offset %lld, size %lld (%zu bytes carried), CRC %s "
            "(0x%04X)</code>",
            h.code, h.b_offset, h.b_size, fr.data_len, fr.crc_ok ? "ok" : "BAD", fr.crc_sent);
}

/* Is record i the one a failure cites as its evidence (by its place in the trace)? */
static int offending(const rp_test *t, size_t i)
{
    return (t->verdict == RP_FAIL || t->verdict == RP_WAIVED) && t->has_evidence &&
           (long long)i - (long long)t->rec_begin == t->evidence;
}

static void timeline(FILE *f, const rp_report *r, const rp_test *t)
{
    double t0 = r->recs[t->rec_begin].t;
    size_t n = t->rec_end - t->rec_begin;

    fprintf(f,
            "<details%s><summary>Timeline: %zu events</summary>\n<table class=\"timeline\">"
            "<colgroup><col style=\"width:64px\"><col style=\"width:112px\">"
            "<col style=\"width:26%%\"><col></colgroup>\n",
            t->verdict == RP_PASS ? "" : " open", n);
    for (size_t i = t->rec_begin; i < t->rec_end && i - t->rec_begin < MAX_ROWS; i++) {
        const ota_trace_rec *rec = &r->recs[i];
        fprintf(f, "<tr class=\"k-%s%s\"><td class=\"t\">+%.3f</td><td class=\"dir\">%s</td><td>",
                ota_trace_kind_name(rec->kind), offending(t, i) ? " offending" : "", rec->t - t0,
                direction(rec->kind));
        rp_xml_put(f, rec->topic);
        fputs("</td><td>", f);
        if (rec->binary && rec->payload)
            frame_cell(f, rec);
        else if (rec->payload && rec->kind == OTA_TR_BROKER && rec->info[0] &&
                 rec->payload_len <= MAX_PAYLOAD) {
            /* The plugin's event says in words what its JSON holds: the JSON on hover. */
            fputs("<span title=\"", f);
            rp_xml_put(f, (const char *)rec->payload);
            fputs("\">", f);
            rp_xml_put(f, rec->info);
            fputs("</span></td></tr>\n", f);
            continue;
        } else if (rec->payload && rec->kind != OTA_TR_TEST) {
            fputs("<code>", f);
            esc_cut(f, (const char *)rec->payload, MAX_PAYLOAD);
            fputs("</code> ", f);
        }
        rp_xml_put(f, rec->info);
        fputs("</td></tr>\n", f);
    }
    if (n > MAX_ROWS)
        fprintf(f, "<tr><td colspan=\"4\">… %zu more events: see the trace</td></tr>\n",
                n - MAX_ROWS);
    fputs("</table></details>\n", f);
}

static void test_article(FILE *f, const rp_report *r, const rp_test *t)
{
    const char *v = rp_verdict_name(t->verdict);
    static const char *const label[] = {"PASS",         "FAIL",    "N/A",   "UNFINISHED",
                                        "INCONCLUSIVE", "NOT RUN", "WAIVED"};

    fputs("<article class=\"test v-", f);
    fputs(v, f);
    fputs(t->nwarnings && t->verdict == RP_PASS ? " warned" : "", f);
    fputs("\" id=\"", f);
    test_anchor(f, t);
    fprintf(f, "\" data-verdict=\"%s\" data-group=\"", v);
    rp_xml_put(f, t->group);
    fputs("\" data-rules=\"", f);
    rp_xml_put(f, t->rules);
    fprintf(f, "\">\n<h3><span class=\"v\">%s</span> ", label[t->verdict]);
    if (t->verdict == RP_PASS && t->nwarnings)
        fprintf(f, "<span class=\"badge b-warn\">%d warning%s</span> ", t->nwarnings,
                t->nwarnings == 1 ? "" : "s");
    rp_xml_put(f, t->group);
    fputs(" / ", f);
    rp_xml_put(f, t->name);
    fputs(" <small>[", f);
    rp_xml_put(f, t->rules);
    fputs(" · ", f);
    rp_xml_put(f, t->tiers);
    fprintf(f, "] %.2f s", t->seconds);
    if (t->board[0]) {
        fputs(" · board ", f);
        rp_xml_put(f, t->board);
    }
    fputs("</small></h3>\n", f);
    if (t->verdict == RP_FAIL || t->verdict == RP_UNFINISHED) {
        fputs("<p class=\"why\"><b>", f);
        rp_xml_put(f, t->failed_rule);
        fputs("</b>: ", f);
        rp_xml_put(f, t->message);
        fputs("</p>\n", f);
    } else if (t->verdict == RP_WAIVED) {
        fputs("<p class=\"waived\"><b>waived</b>: ", f);
        rp_xml_put(f, t->waiver);
        fputs("</p>\n<p class=\"why\">the failure it waives, <b>", f);
        rp_xml_put(f, t->failed_rule);
        fputs("</b>: ", f);
        rp_xml_put(f, t->message);
        fputs("</p>\n", f);
    } else if (t->verdict == RP_NA || t->verdict == RP_INCONCLUSIVE || t->verdict == RP_NOT_RUN) {
        fputs(t->verdict == RP_INCONCLUSIVE ? "<p class=\"na\"><b>inconclusive</b>: "
                                            : "<p class=\"na\">",
              f);
        rp_xml_put(f, t->message);
        fputs("</p>\n", f);
    }
    for (int w = 0; w < t->nwarnings; w++) {
        fputs("<p class=\"warn\">warning <b>", f);
        rp_xml_put(f, t->warnings[w].rule);
        fputs("</b>: ", f);
        rp_xml_put(f, t->warnings[w].text);
        fputs("</p>\n", f);
    }
    rp_html_cost_line(f, t);
    if (t->rec_end > t->rec_begin && t->rec_begin < r->nrecs) {
        chart(f, r, t);
        timeline(f, r, t);
    }
    fputs("</article>\n", f);
}

int rp_html_write(const rp_report *r, const char *path)
{
    FILE *f;
    rp_counts c;

    if (!r || !path)
        return RP_ERR_ARG;
    f = fopen(path, "w");
    if (!f)
        return RP_ERR_IO;
    c = rp_report_counts(r);
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
          "<meta name=\"viewport\" content=\"width=device-width\"><title>OTA conformance: ",
          f);
    rp_xml_put(f, r->info.device);
    fprintf(f, " %s</title><style>%s</style></head>\n<body data-rendered=\"0\">\n",
            rp_report_outcome(r, worse(r)), css);
    header(f, r, &c);
    filters(f, r);
    fputs("<main>\n", f);
    failures(f, r);
    rp_html_baseline(f, r);
    rule_table(f, r);
    rp_html_cost(f, r);
    fputs("<section id=\"tests\"><h2>Tests</h2>\n", f);
    for (int i = 0; i < r->ntests; i++)
        test_article(f, r, &r->tests[i]);
    fprintf(f, "</section></main>\n<script>%s</script>\n</body></html>\n", script);
    return fclose(f) == 0 ? RP_OK : RP_ERR_IO;
}
