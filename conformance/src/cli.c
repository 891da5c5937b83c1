/*
 * ota-conformance's command line: its options and --help, and what it can
 * say without running anything: --list, --requirements and the check that
 * every rule has a test and every test cites known rules. It starts nothing.
 */
#include <ctype.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine.h"
#include "workers.h"
#include "otaproto/datadir.h"
#include "otaproto/version.h"
#include "run_priv.h"

/* The catalogue (catalogue.c): the groups' tables and the scenario files with an expect block. */
#define NGROUPS   ct_catalogue_ngroups()
#define groups(g) ct_catalogue_group(g)

static void usage(FILE *f)
{
    fprintf(
        f, "usage: ota-conformance [options]\n"
           "Runs the Aliyun OTA conformance suite against one device under test.\n\n"
           "  --device FILE      device profile: identity, adapter, endpoints, reset, time\n"
           "                     bounds, serial settings (docs/device-profiles.md); default:\n"
           "                     devices/ref-device.json of the fixtures folder; given\n"
           "                     several times: several boards share the tests, each\n"
           "                     with its own broker and cloud\n"
           "  --lab FILE         the boards of a lab (each with its profile, port and\n"
           "                     identity), sharing the tests as several --device do\n"
           "  --dut-cmd CMD      run CMD (with /bin/sh) as the device (adapter process); default:\n"
           "                     the reference device next to this program\n"
           "  --adapter KIND     reference, process, serial or network (overrides the profile)\n"
           "  --serial-port PATH the board's serial port (adapter serial)\n"
           "  --mqtt-port N, --mqtts-port N, --http-port N, --https-port N\n"
           "                     fixed ports, as firmware with compiled-in endpoints needs\n"
           "                     (below 1024: root or CAP_NET_BIND_SERVICE)\n"
           "  --listen ADDR      address of every port (default 127.0.0.1)\n"
           "  --url-host HOST    host named in download URLs (the address the device reaches)\n"
           "  --url-no-port      download URLs without a port (Alibaba's SDKs add their own)\n"
           "  --broker HOST:PORT join this MQTT broker instead of starting one\n"
           "  --cloud HOST:PORT  join the running ota-mock-cloud whose control API is there\n"
           "  --junit FILE       write JUnit XML\n"
           "  --html FILE        write the single-file HTML report\n"
           "  --trace FILE       write the JSONL trace of every message and event\n"
           "  --baseline TRACE   compare this run with an earlier one of the same device\n"
           "                     (the file its --trace wrote): per test the verdict,\n"
           "                     messages, bytes downloaded, requests, retries and time\n"
           "                     from push to final report; changes are printed and in\n"
           "                     the reports (docs/baseline.md)\n"
           "  --baseline-strict  a test worse than the baseline fails (exit status 1)\n"
           "  --baseline-threshold NAME=VALUE\n"
           "                     how far a figure may move: messages=5, bytes=25 (percent\n"
           "                     of the image), requests=2, retries=2, time=10 (seconds)\n"
           "  --waivers FILE     known failures that do not fail the run: a JSON array of\n"
           "                     {\"test\" or \"rule\", \"reason\", \"until\": \"YYYY-MM-DD\"};\n"
           "                     a failure one names is shown as waived in every report;\n"
           "                     past its date a waiver is said and waives nothing\n"
           "                     (docs/waivers.md)\n"
           "  --only PATTERN     run only the tests PATTERN names, in any case: a group or\n"
           "                     rule ID exactly (--only version, --only FAIL-3), else a\n"
           "                     part of test names; group:G, rule:R or test:T say which;\n"
           "                     a glob with * ? [ matches names, groups and rule IDs\n"
           "  --strict           every SHOULD rule fails like a MUST rule\n"
           "  --time-scale X     multiply every deadline by X (slow devices)\n"
           "  --auth on|off      off: the broker accepts the device's login without checking\n"
           "                     its signature (bring-up; SEC-1 is N/A); default on\n"
           "  --dialect NAME     the device's platform: aliyun (default) or thingspanel;\n"
           "                     rules that do not apply in it are N/A with the reason\n"
           "  --tls              the device meets the broker over TLS (MQTTS) and downloads\n"
           "                     by HTTPS, trusting the test CA (OTA_CA_FILE); SEC-3 runs\n"
           "  --certs DIR        the test certificates (default: the build's certs/; an\n"
           "                     installed copy makes them on first use in\n"
           "                     $XDG_CACHE_HOME/ota-conformance/certs, else\n"
           "                     ~/.cache/ota-conformance/certs)\n"
           "  --jobs N           test N instances of the device side by side, each with\n"
           "                     its own broker and cloud (process devices only; 1..16;\n"
           "                     default 1)\n"
           "  --netns            each device instance (device, broker, file server) in a\n"
           "                     network namespace of its own: firmware with fixed ports\n"
           "                     (127.0.0.1:1883, port 80) runs with --jobs N; needs root\n"
           "                     or unprivileged user namespaces\n"
           "  --fixtures DIR     fixtures folder (default: $OTA_FIXTURES, else\n"
           "                     ../share/ota-conformance next to this program when\n"
           "                     installed, else the source tree's fixtures/)\n"
           "  --list             list the tests and the rules they check\n"
           "  --requirements     print the rule catalogue with the tests covering each rule\n"
           "  --quiet            print only the summary and the failures\n"
           "  --firmware FILE@VERSION\n"
           "                     push this image of VERSION (repeat for each version, at\n"
           "                     least two; replaces the profile's files and build)\n"
           "  --firmware-build CMD\n"
           "                     make the image of a version with CMD (/bin/sh; {version},\n"
           "                     {out}, {module}, {size} filled in), once per version\n"
           "                     (replaces the profile's files and build)\n"
           "  --firmware-cache DIR\n"
           "                     keep built images in DIR between runs\n"
           "  --version          print the version and exit\n"
           "  --help, -h         this text\n\n"
           "Exit status: 0 all tests passed, 1 a test failed, 2 bad usage or no test\n"
           "selected, 3 the run could not be set up or stopped (the device never came\n"
           "up), 130 interrupted (SIGINT, SIGTERM, SIGHUP). The last line printed is the\n"
           "summary; its first word (PASSED, FAILED, STOPPED, INTERRUPTED) says which.\n\n");
    ota_data_paths d;
    ota_data_locate(&d);
    fprintf(f, "This copy looks for (without options):\n");
    ota_data_describe(&d, f);
}

/* --mqtt-port and the like: 1 when argv[*i] is one (taken, or -1 when bad), else 0. */
static int take_port(ct_options *o, int argc, char **argv, int *i)
{
    const struct {
        const char *name;
        int *port;
    } ports[] = {{"--mqtt-port", &o->dev.mqtt_port},
                 {"--mqtts-port", &o->dev.mqtts_port},
                 {"--http-port", &o->dev.http_port},
                 {"--https-port", &o->dev.https_port}};

    for (size_t k = 0; k < sizeof(ports) / sizeof(ports[0]); k++) {
        char *end;
        long n;
        if (strcmp(argv[*i], ports[k].name) || *i + 1 >= argc)
            continue;
        n = strtol(argv[++*i], &end, 10);
        if (*end || n < 1 || n > 65535) {
            fprintf(stderr, "ota-conformance: %s wants a port from 1 to 65535\n", ports[k].name);
            return -1;
        }
        *ports[k].port = (int)n;
        return 1;
    }
    return 0;
}

/* --time-scale, --jobs and --baseline-threshold: 1 when argv[*i] is one (taken, or -1 when
 * bad), else 0. */
static int take_number(ct_options *o, int argc, char **argv, int *i)
{
    char *end;

    if (*i + 1 >= argc)
        return 0;
    if (!strcmp(argv[*i], "--baseline-threshold")) {
        if (rp_thresholds_set(&o->thresholds, argv[++*i]) != RP_OK) {
            fprintf(stderr, "ota-conformance: --baseline-threshold wants NAME=VALUE, NAME one of "
                            "messages, bytes, requests, retries, time, VALUE a number >= 0\n");
            return -1;
        }
        o->thresholds_set = 1;
        return 1;
    }
    if (!strcmp(argv[*i], "--time-scale")) {
        o->scale = strtod(argv[++*i], &end);
        if (*end || o->scale <= 0 || o->scale > 100) {
            fprintf(stderr, "ota-conformance: --time-scale wants a number in (0, 100]\n");
            return -1;
        }
        return 1;
    }
    if (!strcmp(argv[*i], "--jobs")) {
        long n = strtol(argv[++*i], &end, 10);
        if (*end || n < 1 || n > CT_MAX_WORKERS) {
            fprintf(stderr, "ota-conformance: --jobs wants a number from 1 to %d\n",
                    CT_MAX_WORKERS);
            return -1;
        }
        o->jobs = (int)n;
        return 1;
    }
    return 0;
}

/* A flag or an option with a text value; 1 taken, -1 bad (said why). */
static int take_other(ct_options *o, int argc, char **argv, int *i)
{
    const struct {
        const char *name;
        const char **str;
        int *flag;
    } table[] = {
        {"--dut-cmd", &o->dut_cmd, NULL},
        {"--junit", &o->junit, NULL},
        {"--html", &o->html, NULL},
        {"--auth", &o->auth, NULL},
        {"--dialect", &o->dialect, NULL},
        {"--trace", &o->trace, NULL},
        {"--baseline", &o->baseline, NULL},
        {"--waivers", &o->waivers, NULL},
        {"--baseline-strict", NULL, &o->baseline_strict},
        {"--only", &o->only, NULL},
        {"--device", &o->device, NULL},
        {"--lab", &o->lab, NULL},
        {"--fixtures", &o->fixtures, NULL},
        {"--broker", &o->broker, NULL},
        {"--cloud", &o->cloud, NULL}, /* the API of a running ota-mock-cloud */
        {"--list", NULL, &o->list},
        {"--requirements", NULL, &o->requirements},
        {"--quiet", NULL, &o->quiet},
        {"--strict", NULL, &o->strict},
        {"--tls", NULL, &o->tls},
        {"--netns", NULL, &o->netns},
        {"--certs", &o->certs, NULL},
        {"--adapter", &o->dev.adapter, NULL},
        {"--serial-port", &o->dev.serial_port, NULL},
        {"--listen", &o->dev.listen, NULL},
        {"--url-host", &o->dev.url_host, NULL},
        {"--url-no-port", NULL, &o->dev.url_no_port},
        {"--firmware-build", &o->dev.fw_build, NULL},
        {"--firmware-cache", &o->dev.fw_cache, NULL},
    };

    if (!strcmp(argv[*i], "--firmware") && *i + 1 < argc) {
        if (o->dev.nfw_files >= DUT_FW_MAX_FILES) {
            fprintf(stderr, "ota-conformance: at most %d --firmware files\n", DUT_FW_MAX_FILES);
            return -1;
        }
        o->dev.fw_files[o->dev.nfw_files++] = argv[++*i];
        return 1;
    }

    /* Every --device is kept: several are several boards (boards.c). */
    if (!strcmp(argv[*i], "--device") && *i + 1 < argc) {
        if (o->ndevices == CT_MAX_BOARDS) {
            fprintf(stderr, "ota-conformance: at most %d boards (--device)\n", CT_MAX_BOARDS);
            return -1;
        }
        o->devices[o->ndevices++] = argv[*i + 1];
    }
    for (size_t k = 0; k < sizeof(table) / sizeof(table[0]); k++) {
        if (strcmp(argv[*i], table[k].name))
            continue;
        if (table[k].flag) {
            *table[k].flag = 1;
        } else if (*i + 1 < argc) {
            *table[k].str = argv[++*i];
        } else {
            fprintf(stderr, "ota-conformance: %s needs a value\n", argv[*i]);
            return -1;
        }
        return 1;
    }
    fprintf(stderr, "ota-conformance: unknown option '%s' (see --help)\n", argv[*i]);
    return -1;
}

/* Options that do not go together. */
static int check_combinations(const ct_options *o)
{
    if (o->dialect && !ota_dialect_find(o->dialect)) {
        fprintf(stderr, "ota-conformance: unknown dialect '%s' (aliyun or thingspanel)\n",
                o->dialect);
        return -1;
    }
    if ((o->baseline_strict || o->thresholds_set) && !o->baseline) {
        fprintf(stderr, "ota-conformance: --baseline-strict and --baseline-threshold need "
                        "--baseline TRACE\n");
        return -1;
    }
    if (o->tls && o->broker) {
        fprintf(stderr, "ota-conformance: --tls needs the embedded broker (it gets the TLS "
                        "listener); drop --broker or --tls\n");
        return -1;
    }
    if (o->cloud && (o->broker || o->tls || o->jobs > 1)) {
        fprintf(stderr, "ota-conformance: --cloud goes with neither --broker, --tls nor --jobs\n");
        return -1;
    }
    if (o->netns && (o->broker || o->cloud)) {
        fprintf(stderr, "ota-conformance: --netns gives each device instance nothing but its own "
                        "loopback: drop --broker and --cloud\n");
        return -1;
    }
    if (o->jobs > 1 && o->broker) {
        fprintf(stderr, "ota-conformance: --jobs needs the embedded broker (each device instance "
                        "gets its own); drop --broker or --jobs\n");
        return -1;
    }
    return 0;
}

int ct_cli_parse(ct_options *o, int argc, char **argv)
{
    o->scale = 0; /* unset: the profile's, else 1 */
    o->jobs = 1;
    rp_thresholds_default(&o->thresholds);
    for (int i = 1; i < argc; i++) {
        int rc;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return CT_CLI_HELP;
        }
        if (!strcmp(argv[i], "--version")) {
            printf("ota-conformance %s\n", OTA_VERSION);
            return CT_CLI_HELP;
        }
        rc = take_port(o, argc, argv, &i);
        if (!rc)
            rc = take_number(o, argc, argv, &i);
        if (!rc)
            rc = take_other(o, argc, argv, &i);
        if (rc < 0)
            return CT_CLI_BAD;
    }
    return check_combinations(o) ? CT_CLI_BAD : CT_CLI_RUN;
}

/*
 * --only PATTERN, case-insensitive. "group:G", "rule:R" and "test:T" say
 * which a pattern names; a glob (* ? [) matches names, groups and rule IDs.
 * A bare word is a group or a rule ID when one has that name exactly, else
 * a part of test names ("version" is the group, not every test with
 * "version" in its name).
 */
typedef enum { ONLY_ANY, ONLY_GROUP, ONLY_RULE, ONLY_TEST } only_kind;

static const struct {
    const char *prefix;
    only_kind kind;
} only_prefixes[] = {{"group:", ONLY_GROUP}, {"rule:", ONLY_RULE}, {"test:", ONLY_TEST}};

static only_kind only_split(const char *only, const char **pat)
{
    for (size_t k = 0; k < sizeof(only_prefixes) / sizeof(only_prefixes[0]); k++)
        if (!strncasecmp(only, only_prefixes[k].prefix, strlen(only_prefixes[k].prefix))) {
            *pat = only + strlen(only_prefixes[k].prefix);
            return only_prefixes[k].kind;
        }
    *pat = only;
    return ONLY_ANY;
}

static int is_glob(const char *pat)
{
    return strpbrk(pat, "*?[") != NULL;
}

/* One word against a pattern: a glob, or (exact) equal, or (!exact) a part of it. */
static int word_matches(const char *pat, const char *word, int exact)
{
    if (is_glob(pat))
        return !fnmatch(pat, word, FNM_CASEFOLD);
    return exact ? !strcasecmp(pat, word) : strcasestr(word, pat) != NULL;
}

static int rule_matches(const ct_case *c, const char *pat)
{
    char rules[128], *tok, *save = NULL;

    snprintf(rules, sizeof(rules), "%s", c->rules);
    for (tok = strtok_r(rules, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
        if (word_matches(pat, tok, 1))
            return 1;
    return 0;
}

/* Is a bare word the exact name of a group or of a rule some test cites? */
static int names_group_or_rule(const char *word)
{
    for (size_t g = 0; g < NGROUPS; g++)
        for (size_t i = 0; i < groups(g)->ncases; i++) {
            const ct_case *c = &groups(g)->cases[i];
            if (!strcasecmp(c->group, word) || rule_matches(c, word))
                return 1;
        }
    return 0;
}

static int matches(const ct_options *o, const ct_case *c)
{
    const char *pat;
    only_kind kind;

    if (!o->only)
        return 1;
    kind = only_split(o->only, &pat);
    switch (kind) {
    case ONLY_GROUP:
        return word_matches(pat, c->group, 1);
    case ONLY_RULE:
        return rule_matches(c, pat);
    case ONLY_TEST:
        return word_matches(pat, c->name, 0);
    case ONLY_ANY:
        break;
    }
    if (is_glob(pat))
        return word_matches(pat, c->name, 1) || word_matches(pat, c->group, 1) ||
               rule_matches(c, pat);
    if (names_group_or_rule(pat))
        return !strcasecmp(c->group, pat) || rule_matches(c, pat);
    return word_matches(pat, c->name, 0);
}

/* Levenshtein distance of a and b, case-insensitive, for "did you mean" (short words only). */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), row[97];

    if (la > 96 || lb > 96)
        return (size_t)-1;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j],
                   cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
            size_t best = diag + cost;
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* Keep word among the (at most 3) nearest names seen so far. */
static void consider(const char *pat, const char *word, const char *best[3], size_t dist[3])
{
    size_t d = distance(pat, word);

    for (int k = 0; k < 3; k++)
        if (best[k] && !strcmp(best[k], word))
            return;
    for (int k = 0; k < 3; k++) {
        if (d < dist[k]) {
            for (int m = 2; m > k; m--) {
                best[m] = best[m - 1];
                dist[m] = dist[m - 1];
            }
            best[k] = word;
            dist[k] = d;
            return;
        }
    }
}

/* A pattern that selects nothing: what it may have meant (test names, groups, rule IDs). */
static void did_you_mean(const char *only)
{
    const char *pat, *best[3] = {NULL, NULL, NULL};
    size_t dist[3] = {(size_t)-1, (size_t)-1, (size_t)-1}, limit;

    only_split(only, &pat);
    limit = strlen(pat) / 4 + 1 > 2 ? strlen(pat) / 4 + 1 : 2;
    for (size_t g = 0; g < NGROUPS; g++)
        for (size_t i = 0; i < groups(g)->ncases; i++) {
            const ct_case *c = &groups(g)->cases[i];
            char rules[128], *tok, *save = NULL;
            consider(pat, c->name, best, dist);
            consider(pat, c->group, best, dist);
            snprintf(rules, sizeof(rules), "%s", c->rules);
            for (tok = strtok_r(rules, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
                const ct_rule *rule = ct_rule_find(tok); /* its ID outlives the token */
                if (rule)
                    consider(pat, rule->id, best, dist);
            }
        }
    fprintf(stderr, "ota-conformance: no test matches '%s'", only);
    for (int k = 0, n = 0; k < 3; k++)
        if (best[k] && dist[k] <= limit)
            fprintf(stderr, "%s'%s'", n++ ? ", " : "; did you mean ", best[k]);
    fprintf(stderr, " (see --list; a group or rule ID exactly, group:, rule: or test: to say "
                    "which, or a glob such as 'PROG-*')\n");
}

/* Does test c cite rule id? */
static int cites(const ct_case *c, const char *id)
{
    size_t n = strlen(id);
    for (const char *p = strstr(c->rules, id); p; p = strstr(p + 1, id))
        if ((p == c->rules || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
            return 1;
    return 0;
}

static size_t tests_citing(const char *id, char *names, size_t cap)
{
    size_t n = 0, used = 0;
    if (cap)
        names[0] = '\0';
    for (size_t g = 0; g < NGROUPS; g++)
        for (size_t i = 0; i < groups(g)->ncases; i++) {
            const ct_case *c = &groups(g)->cases[i];
            if (!cites(c, id))
                continue;
            if (used < cap)
                used += (size_t)snprintf(names + used, cap - used, "%s%s/%s", n ? ", " : "",
                                         c->group, c->name);
            n++;
        }
    return n;
}

/* --requirements: every rule with its tier, source and the tests that judge it. */
void ct_cli_requirements(void)
{
    size_t covered = 0, total = 0;
    char names[4096];

    for (const ct_rule *r; (r = ct_rule_at(total)) != NULL; total++) {
        size_t n = tests_citing(r->id, names, sizeof(names));
        covered += n > 0;
        printf("%-8s %-6s%s %s\n         source: %s\n         tests (%zu): %s%s%s%s\n", r->id,
               ct_tier_name(r->tier), r->compat ? " (compat)" : "", r->text,
               r->source ? r->source : "-", n, n ? names : "NONE", r->needs ? " (judged in --" : "",
               r->needs ? r->needs : "", r->needs ? " runs only)" : "");
        if (ct_rule_na(r->id))
            printf("         N/A in the %s dialect: %s\n", ota_dialect_name(ct.dialect),
                   ct_rule_na(r->id));
    }
    printf("coverage: %zu of %zu rules have a test\n", covered, total);
    printf("verdicts: PASS; FAIL (a MUST broken, or any rule under --strict); WARN (a SHOULD "
           "broken); N/A (the rule does not apply: the reason is given); INCONCLUSIVE (the test "
           "could not create its situation for a reason that is not the device's fault, such as "
           "a push that never reached it: the reason is given, JUnit shows an error, the run "
           "does not fail)\n");
}

/* Every rule has a test (or needs a run feature), and every cited rule exists. */
/* --fixtures, $OTA_FIXTURES, else this copy's own (installed, or the source tree's). */
const char *ct_cli_fixtures(const ct_options *o)
{
    static ota_data_paths d;
    const char *fx = o->fixtures ? o->fixtures : getenv("OTA_FIXTURES");

    if (fx)
        return fx;
    if (!d.fixtures[0])
        ota_data_locate(&d);
    return d.fixtures;
}

int ct_cli_profile_dialect(ct_options *o)
{
    static dut_profile prof;
    char err[512];

    if (o->dialect || !o->device)
        return 0;
    /* A profile that does not load is reported where the run sets up, as before. */
    if (dut_profile_load(o->device, &prof, err, sizeof(err)) == DUT_OK)
        o->dialect = prof.dialect;
    return 0;
}

int ct_cli_check_catalogue(const ct_options *o)
{
    int bad = 0;
    char err[512];

    snprintf(ct.scenarios, sizeof(ct.scenarios), "%.4000s/scenarios", ct_cli_fixtures(o));
    ct.dialect = ota_dialect_find(o->dialect);
    if (ct_rules_load(err, sizeof(err)) != 0 ||
        ct_rules_load_dialect(ct.dialect, err, sizeof(err)) != 0 ||
        ct_catalogue_load(ct.scenarios, err, sizeof(err)) != 0) {
        fprintf(stderr, "ota-conformance: %s\n", err);
        return -1;
    }
    for (size_t k = 0; ct_rule_at(k); k++) {
        const ct_rule *r = ct_rule_at(k);
        if (!tests_citing(r->id, NULL, 0) && !r->needs && !ct_rule_of_dialect(r->id)) {
            fprintf(stderr, "ota-conformance: rule %s has no test\n", r->id);
            bad = 1;
        }
    }
    for (size_t g = 0; g < NGROUPS; g++) {
        for (size_t i = 0; i < groups(g)->ncases; i++) {
            char rules[128], *tok, *save = NULL;
            snprintf(rules, sizeof(rules), "%s", groups(g)->cases[i].rules);
            for (tok = strtok_r(rules, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
                if (!ct_rule_find(tok)) {
                    fprintf(stderr, "ota-conformance: test %s cites unknown rule %s\n",
                            groups(g)->cases[i].name, tok);
                    bad = 1;
                }
            }
        }
    }
    return bad ? -1 : 0;
}

void ct_cli_list(const ct_options *o)
{
    for (size_t g = 0; g < NGROUPS; g++)
        for (size_t i = 0; i < groups(g)->ncases; i++) {
            const ct_case *c = &groups(g)->cases[i];
            if (matches(o, c))
                printf("%-10s %-40s %s\n", c->group, c->name, c->rules);
        }
}

void ct_cli_select(ct_run *r)
{
    r->nsel = 0;
    for (size_t g = 0; g < NGROUPS; g++)
        for (size_t i = 0; i < groups(g)->ncases && r->nsel < CT_MAX_TESTS; i++)
            if (matches(&r->opt, &groups(g)->cases[i]))
                r->sel[r->nsel++] = &groups(g)->cases[i];
    if (!r->nsel && r->opt.only)
        did_you_mean(r->opt.only);
}

const ct_case *ct_cli_ver1_case(const ct_run *r)
{
    for (size_t i = 0; i < r->nsel; i++)
        if (cites(r->sel[i], "VER-1"))
            return r->sel[i];
    for (size_t g = 0; g < NGROUPS; g++)
        for (size_t i = 0; i < groups(g)->ncases; i++)
            if (cites(&groups(g)->cases[i], "VER-1"))
                return &groups(g)->cases[i];
    return NULL;
}
