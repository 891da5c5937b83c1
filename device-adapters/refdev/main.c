/*
 * ota-ref-device: boot (state folder, version, MQTT link), then serve the
 * control channel on stdin until a reboot is due. Exit status 0 is a reboot
 * by contract; anything else is a crash.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "otadut/channel.h"
#include "otaproto/version.h"
#include "appimage.h"
#include "refdev.h"

rd_dev rd;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

void rd_log(const char *fmt, ...)
{
    va_list ap;
    pthread_mutex_lock(&out_lock);
    fputs("[ref] ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    pthread_mutex_unlock(&out_lock);
}

void rd_chan(const char *fmt, ...)
{
    va_list ap;
    pthread_mutex_lock(&out_lock);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
    pthread_mutex_unlock(&out_lock);
}

void rd_state_path(const char *name, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/%s", rd.state_dir, name);
}

int rd_state_write(const char *name, const char *text)
{
    char path[600], tmp[610];
    FILE *f;

    rd_state_path(name, path, sizeof(path));
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    f = fopen(tmp, "w");
    if (!f)
        return -1;
    /* Written whole, synced, then renamed over the old one: a cut leaves one or the other. */
    if (fputs(text, f) < 0 || fflush(f) != 0 || fsync(fileno(f)) != 0) {
        fclose(f);
        return -1;
    }
    if (fclose(f) != 0 || rename(tmp, path) != 0)
        return -1;
    rd_state_sync();
    return 0;
}

void rd_state_sync(void)
{
    int fd = open(rd.state_dir, O_RDONLY | O_DIRECTORY);

    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int rd_state_read(const char *name, char *buf, size_t cap)
{
    char path[600];
    FILE *f;
    size_t n;

    rd_state_path(name, path, sizeof(path));
    f = fopen(path, "r");
    if (!f)
        return -1;
    n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    return 0;
}

static int env_copy(const char *key, char *dst, size_t cap, int required)
{
    const char *v = getenv(key);
    if (!v || !*v) {
        if (required)
            fprintf(stderr, "ota-ref-device: %s is not set (see docs/dut-contract.md)\n", key);
        dst[0] = '\0';
        return required ? -1 : 0;
    }
    if (strlen(v) >= cap) {
        fprintf(stderr, "ota-ref-device: %s is longer than %zu characters\n", key, cap - 1);
        return -1;
    }
    memcpy(dst, v, strlen(v) + 1);
    return 0;
}

/*
 * The state folder (the board's flash) is made as `mkdir -p` would, 0700
 * for a new one, so that a path that does not exist yet works as the
 * contract says; one that cannot be made or written stops the device at
 * start with one sentence, not at every download with a write error.
 */
static int state_dir_make(void)
{
    char path[sizeof(rd.state_dir)];
    struct stat st;

    snprintf(path, sizeof(path), "%s", rd.state_dir);
    for (char *c = path + 1;; c++) {
        char was = *c;
        if (was && was != '/')
            continue;
        *c = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST)
            goto fail;
        *c = was;
        if (!was)
            break;
    }
    if (stat(rd.state_dir, &st) != 0)
        goto fail;
    errno = ENOTDIR;
    if (!S_ISDIR(st.st_mode) || access(rd.state_dir, W_OK | X_OK) != 0)
        goto fail;
    return 0;
fail:
    fprintf(stderr,
            "ota-ref-device: the state folder %s (OTA_STATE_DIR, --state-dir) cannot be made or "
            "written: %s\n",
            rd.state_dir, strerror(errno));
    return -1;
}

/*
 * The identity: Aliyun's product key, device name and secret; in a token
 * dialect (ThingsPanel) the contract's OTA_ACCESS_TOKEN and OTA_DEVICE_NUMBER,
 * or, when those are unset, the Aliyun names for the same two values.
 */
static int read_identity(void)
{
    if (rd.dialect->auth != OTA_AUTH_TOKEN)
        return env_copy("OTA_PRODUCT_KEY", rd.pk, sizeof(rd.pk), 1) |
               env_copy("OTA_DEVICE_NAME", rd.dn, sizeof(rd.dn), 1) |
               env_copy("OTA_DEVICE_SECRET", rd.secret, sizeof(rd.secret), 1);
    if (env_copy("OTA_PRODUCT_KEY", rd.pk, sizeof(rd.pk), 0) ||
        env_copy("OTA_DEVICE_NUMBER", rd.dn, sizeof(rd.dn), 0) ||
        env_copy("OTA_ACCESS_TOKEN", rd.secret, sizeof(rd.secret), 0))
        return -1;
    if (!rd.dn[0] && env_copy("OTA_DEVICE_NAME", rd.dn, sizeof(rd.dn), 0))
        return -1;
    if (!rd.secret[0] && env_copy("OTA_DEVICE_SECRET", rd.secret, sizeof(rd.secret), 0))
        return -1;
    if (!rd.dn[0] || !rd.secret[0]) {
        fprintf(stderr,
                "ota-ref-device: OTA_ACCESS_TOKEN and OTA_DEVICE_NUMBER must be set in "
                "the %s dialect (see docs/dut-contract.md)\n",
                rd.dialect->name);
        return -1;
    }
    return 0;
}

static int read_env(void)
{
    char port[16], tls[8], fw[OTA_MAX_VERSION + 1], dialect[32], why[300];
    int bad = env_copy("OTA_MQTT_HOST", rd.host, sizeof(rd.host), 1) |
              env_copy("OTA_MQTT_PORT", port, sizeof(port), 1) |
              env_copy("OTA_STATE_DIR", rd.state_dir, sizeof(rd.state_dir), 1) |
              env_copy("OTA_FIRMWARE_VERSION", fw, sizeof(fw), 1) |
              env_copy("OTA_MODULE", rd.module, sizeof(rd.module), 0) |
              env_copy("OTA_CA_FILE", rd.ca_file, sizeof(rd.ca_file), 0) |
              env_copy("OTA_MQTT_TLS", tls, sizeof(tls), 0) |
              env_copy("OTA_DIALECT", dialect, sizeof(dialect), 0);
    if (bad || state_dir_make() != 0)
        return -1;
    rd.dialect = ota_dialect_find(dialect);
    if (!rd.dialect) {
        fprintf(stderr, "ota-ref-device: OTA_DIALECT '%s' is not aliyun or thingspanel\n", dialect);
        return -1;
    }
    if (read_identity() != 0)
        return -1;
    rd.port = atoi(port);
    rd.tls = !strcmp(tls, "1");
    if (!strcmp(rd.module, "default"))
        rd.module[0] = '\0';
    if (rd.port <= 0 || rd.port > 65535) {
        fprintf(stderr, "ota-ref-device: OTA_MQTT_PORT '%s' is not a port\n", port);
        return -1;
    }
    if (rd_flash_boot(why, sizeof(why)) != 0) {
        /* A real board would hang or reset forever here; this one crashes at every boot. */
        rd_log("bootloader: %s; the device cannot start", why);
        abort();
    }
    if (rd.stock_version[0]) /* --stock-version-first: the factory version */
        snprintf(rd.stock_version, sizeof(rd.stock_version), "%s", fw);
    /* A device that checks its images runs the version its image's header names. */
    if (rd_image_boot_version(rd.version, sizeof(rd.version)) != 0 &&
        (rd_state_read("version", rd.version, sizeof(rd.version)) != 0 || !rd.version[0]))
        snprintf(rd.version, sizeof(rd.version), "%s", fw);
    rd.just_upgraded = rd_state_read("just-upgraded", fw, sizeof(fw)) == 0;
    if (rd.just_upgraded) {
        char path[600];
        rd_state_path("just-upgraded", path, sizeof(path));
        unlink(path);
    }
    return 0;
}

/* Options that set what a host build would read from its environment. */
static const struct {
    const char *option, *env;
} settings[] = {
    {"--host", "OTA_MQTT_HOST"},
    {"--port", "OTA_MQTT_PORT"},
    {"--tls", "OTA_MQTT_TLS"},
    {"--ca-file", "OTA_CA_FILE"},
    {"--product-key", "OTA_PRODUCT_KEY"},
    {"--device-name", "OTA_DEVICE_NAME"},
    {"--device-secret", "OTA_DEVICE_SECRET"},
    {"--module", "OTA_MODULE"},
    {"--firmware-version", "OTA_FIRMWARE_VERSION"},
    {"--state-dir", "OTA_STATE_DIR"},
    {"--dialect", "OTA_DIALECT"},
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ota-ref-device [--bug NAME]... [--no-channel] [--block-size N]\n"
            "                      [SETTING VALUE]... | --list-bugs | --version | --help\n"
            "A correct Aliyun OTA device (or ThingsPanel's, with OTA_DIALECT or\n"
            "--dialect thingspanel), configured by the OTA_* environment of\n"
            "docs/dut-contract.md. Each --bug makes it break one rule; --no-channel\n"
            "makes it a device without the optional control channel; --block-size\n"
            "sets the bytes it asks for per MQTT block (%d..%d, default %d);\n"
            "--short-body-fails makes it report -2 at once for a complete response\n"
            "shorter than the pushed size (correct too: judging.md DL-2, FAIL-3S);\n"
            "--no-subscribe subscribes to nothing: the real Aliyun cloud\n"
            "delivers its downlinks anyway (correct there; ThingsPanel's broker\n"
            "does not, so it breaks TP-SUB-1); --slow-resume reports no\n"
            "step 0 before its blocks and asks again for a block lost with the\n"
            "connection only after a 10 s block timeout (correct too);\n"
            "--resume-aligned resumes an HTTP download where its last whole 2 KiB\n"
            "buffer ends, dropping the rest (correct too); --http-only\n"
            "has no MQTT block download and ignores such pushes (correct too);\n"
            "--http-only-refuses has none either and answers such a push with\n"
            "\"-1\" (correct too: FAIL-1);\n"
            "--redownload-once downloads the image once more a second after a\n"
            "digest mismatch and installs that copy if it verifies (correct too:\n"
            "judging.md FAIL-3T, FAIL-B);\n"
            "--reboot-after-failure SECS reboots SECS after reporting a failure,\n"
            "losing a push that arrives meanwhile (correct too); --persistent-session\n"
            "connects with clean session off, as the 3.x device SDK does, so the\n"
            "broker keeps its session and QoS 1 messages across reboots (correct too);\n"
            "--stock-version-first reports the factory version at every boot, then the\n"
            "running one at once, as a 3.x build's HAL did (only VER-7 warns);\n"
            "--detached-retries leaves a thread behind a failed HTTP download that\n"
            "fetches its URL again every 2 s for 30 s, from 10 s on, as Link SDK 4.x's\n"
            "detached download threads (correct too: it takes every new push);\n"
            "--deaf-after-report loses a push that arrives within 0.5 s of its own\n"
            "failure report (correct too: a cloud waits 1 s after it); --image-check\n"
            "takes only app images for its product (ota-image(1)): it checks the\n"
            "header and the body's SHA-256 (-3 when they are wrong), reports the\n"
            "version the image's header names, and applies diffs (isDiff 1) to\n"
            "the image it runs (correct too; needs a firmware section in its profile);\n"
            "its bootloader does not start an image whose header or body is broken.\n"
            "--swupdate CERT makes it an embedded-Linux gateway: each verified\n"
            "download is handed to SWUpdate (swupdate -i, run in the state folder),\n"
            "which checks the bundle's signature against CERT and installs it into\n"
            "the inactive one of two slot files there (slotA.img, slotB.img); the\n"
            "device then boots that slot and reports the version its root file\n"
            "system names. SWUpdate's refusal is reported as -3. Its bundles are\n"
            "made by fixtures/swupdate/make-swu.sh (correct too; needs a firmware\n"
            "section in its profile).\n"
            "--program FILE VERSION writes FILE into the flash (OTA_STATE_DIR or\n"
            "--state-dir) as VERSION and exits, as a flashing tool does: a profile's\n"
            "flashCommand.\n"
            "--list-bugs prints every bug switch with the rule it breaks.\n"
            "Settings given as options win over the environment, so the device can\n"
            "behave like firmware with compiled-in settings:\n",
            RD_BLOCK_MIN, RD_BLOCK_MAX, RD_BLOCK);
    for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++)
        fprintf(f, "  %-20s %s\n", settings[i].option, settings[i].env);
}

/* An option that stands for one OTA_* setting; 1 when argv[i] was one. */
static int take_setting(int argc, char **argv, int *i)
{
    for (size_t k = 0; k < sizeof(settings) / sizeof(settings[0]); k++) {
        if (strcmp(argv[*i], settings[k].option))
            continue;
        if (*i + 1 >= argc)
            return -1;
        setenv(settings[k].env, argv[++*i], 1);
        return 1;
    }
    return 0;
}

/* --block-size N: the bytes each MQTT block request asks for, within DL-5's bounds. */
static int parse_block_size(const char *text)
{
    char *end;
    long long n = strtoll(text, &end, 10);

    if (end == text || *end || n < RD_BLOCK_MIN || n > RD_BLOCK_MAX) {
        fprintf(stderr, "ota-ref-device: --block-size wants a number from %d to %d, got '%s'\n",
                RD_BLOCK_MIN, RD_BLOCK_MAX, text);
        return -1;
    }
    rd.block_size = n;
    return 0;
}

/* --reboot-after-failure SECS: the delay from a failure report to a reboot. */
static int parse_reboot_delay(const char *text)
{
    char *end;
    double s = strtod(text, &end);

    if (end == text || *end || !(s >= 0.1 && s <= 60)) {
        fprintf(stderr,
                "ota-ref-device: --reboot-after-failure wants seconds from 0.1 to 60, got '%s'\n",
                text);
        return -1;
    }
    rd.reboot_after_failure = s;
    return 0;
}

/* --swupdate CERT: the certificate SWUpdate checks bundles against, as an absolute path. */
static int parse_swu_cert(const char *path)
{
    char real[PATH_MAX];

    errno = 0;
    if (!realpath(path, real) || strlen(real) >= sizeof(rd.swu_cert)) {
        fprintf(stderr, "ota-ref-device: --swupdate: %s: %s\n", path,
                errno ? strerror(errno) : "too long");
        return -1;
    }
    memcpy(rd.swu_cert, real, strlen(real) + 1); /* fits: checked above */
    return 0;
}

/* --program FILE VERSION: write an image to the flash (the state folder) and exit. */
static const char *program_file, *program_version;

/*
 * What a flashing tool does to a board (esptool, st-flash): the image and its
 * version go into the flash, committed as an upgrade commits them, whatever
 * is there now, a broken image included. A profile's flashCommand uses it
 * to bring the reference device back on a known image.
 */
static int program(void)
{
    char part[600], why[300] = "";
    size_t n = 0;
    unsigned char *img;

    if (env_copy("OTA_STATE_DIR", rd.state_dir, sizeof(rd.state_dir), 1) != 0 ||
        state_dir_make() != 0)
        return 2;
    if (!program_version[0] || strlen(program_version) > OTA_MAX_VERSION) {
        fprintf(stderr, "ota-ref-device: --program wants a version of 1 to %d characters\n",
                OTA_MAX_VERSION);
        return 2;
    }
    rd_state_path("download.part", part, sizeof(part));
    img = rd_img_load(program_file, &n, why, sizeof(why));
    if (!img || rd_img_save(part, img, n, why, sizeof(why)) != 0 ||
        rd_flash_write(part, program_version, why, sizeof(why)) != 0) {
        fprintf(stderr, "ota-ref-device: --program: %s\n", why);
        free(img);
        return 1;
    }
    free(img);
    printf("programmed %s (%zu bytes) as version %s into %s\n", program_file, n, program_version,
           rd.state_dir);
    return 0;
}

static int parse_args(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        rd_bug b;
        int taken = take_setting(argc, argv, &i);
        if (taken < 0) {
            fprintf(stderr, "ota-ref-device: %s needs a value\n", argv[i]);
            return 2;
        }
        if (taken)
            continue;
        if (!strcmp(argv[i], "--bug") && i + 1 < argc) {
            if (rd_bug_parse(argv[++i], &b) != 0) {
                fprintf(stderr, "ota-ref-device: unknown bug '%s' (see --list-bugs)\n", argv[i]);
                return 2;
            }
            rd.bugs[b / 64] |= 1ULL << (b % 64);
        } else if (!strcmp(argv[i], "--block-size") && i + 1 < argc) {
            if (parse_block_size(argv[++i]) != 0)
                return 2;
        } else if (!strcmp(argv[i], "--no-channel")) {
            rd.no_channel = 1;
        } else if (!strcmp(argv[i], "--short-body-fails")) {
            rd.short_fails = 1;
        } else if (!strcmp(argv[i], "--no-subscribe")) {
            rd.no_subscribe = 1;
        } else if (!strcmp(argv[i], "--slow-resume")) {
            rd.slow_resume = 1;
        } else if (!strcmp(argv[i], "--resume-aligned")) {
            rd.resume_aligned = 1;
        } else if (!strcmp(argv[i], "--redownload-once")) {
            rd.redownload_once = 1;
        } else if (!strcmp(argv[i], "--http-only-refuses")) {
            rd.http_only = RD_HTTP_ONLY_REFUSES;
        } else if (!strcmp(argv[i], "--http-only")) {
            rd.http_only = 1;
        } else if (!strcmp(argv[i], "--image-check")) {
            rd.image_check = 1;
        } else if (!strcmp(argv[i], "--swupdate") && i + 1 < argc) {
            if (parse_swu_cert(argv[++i]) != 0)
                return 2;
        } else if (!strcmp(argv[i], "--program") && i + 2 < argc) {
            program_file = argv[++i];
            program_version = argv[++i];
        } else if (!strcmp(argv[i], "--deaf-after-report")) {
            rd.deaf_after_report = 1;
        } else if (!strcmp(argv[i], "--detached-retries")) {
            rd.detached_retries = 1;
        } else if (!strcmp(argv[i], "--persistent-session")) {
            rd.persistent = 1;
        } else if (!strcmp(argv[i], "--stock-version-first")) {
            rd.stock_version[0] = '-'; /* on; read_env sets the factory version */
        } else if (!strcmp(argv[i], "--reboot-after-failure") && i + 1 < argc) {
            if (parse_reboot_delay(argv[++i]) != 0)
                return 2;
        } else if (!strcmp(argv[i], "--list-bugs")) {
            int wname = 0, wrule = 0; /* columns as wide as their widest entry */
            for (int k = 0; k < BUG__COUNT; k++) {
                int n = (int)strlen(rd_bugs[k].name), r = (int)strlen(rd_bugs[k].rule);
                wname = n > wname ? n : wname;
                wrule = r > wrule ? r : wrule;
            }
            for (int k = 0; k < BUG__COUNT; k++)
                printf("%-*s  %-*s  %s\n", wname, rd_bugs[k].name, wrule, rd_bugs[k].rule,
                       rd_bugs[k].what);
            return 0;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--version")) {
            printf("ota-ref-device %s\n", OTA_VERSION);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    return -1;
}

/* One control-channel command; returns 1 when the device must reboot. */
static int on_command(const dut_line *l)
{
    const char *v;

    if (!strcmp(l->word, "PING")) {
        rd_chan("@%u OK", l->seq);
    } else if (!strcmp(l->word, "STATUS")) {
        char ver[3 * OTA_MAX_VERSION + 1];
        pthread_mutex_lock(&rd.lock);
        dut_pct_encode(rd.version, ver, sizeof(ver));
        rd_chan("@%u OK version=%s state=%s%s%s", l->seq, ver, rd_state_name(rd.state),
                rd.image_sha256[0] ? " image=" : "", rd.image_sha256);
        pthread_mutex_unlock(&rd.lock);
    } else if (!strcmp(l->word, "INJECT")) {
        v = dut_line_arg(l, "fault");
        if (!v || strcmp(v, "flash-write")) {
            rd_chan("@%u ERR unsupported msg=only%%20fault=flash-write", l->seq);
            return 0;
        }
        pthread_mutex_lock(&rd.lock);
        rd.inject_flash = 1;
        pthread_mutex_unlock(&rd.lock);
        rd_chan("@%u OK", l->seq);
    } else if (!strcmp(l->word, "CLEAR")) {
        pthread_mutex_lock(&rd.lock);
        rd.inject_flash = 0;
        pthread_mutex_unlock(&rd.lock);
        rd_chan("@%u OK", l->seq);
    } else if (!strcmp(l->word, "RESET")) {
        rd_chan("@%u OK", l->seq);
        return 1;
    } else if (!strcmp(l->word, "SET-VERSION")) {
        v = dut_line_arg(l, "v");
        if (!v || !*v || strlen(v) > OTA_MAX_VERSION || rd_state_write("version", v) != 0) {
            rd_chan("@%u ERR bad-version", l->seq);
            return 0;
        }
        pthread_mutex_lock(&rd.lock);
        snprintf(rd.version, sizeof(rd.version), "%s", v);
        pthread_mutex_unlock(&rd.lock);
        rd_chan("@%u OK version=%s", l->seq, v);
    } else {
        rd_chan("@%u ERR unknown-verb", l->seq);
    }
    return 0;
}

/* Serve stdin until a reboot is due; stdin closing only ends the channel. */
static void serve(void)
{
    char line[DUT_MAX_LINE + 2];
    size_t len = 0;
    int open_in = 1, ticks = 0;

    for (;;) {
        struct pollfd pfd = {.fd = 0, .events = POLLIN};
        int r, done;
        pthread_mutex_lock(&rd.lock);
        done = rd.exit_requested;
        pthread_mutex_unlock(&rd.lock);
        if (done)
            return;
        if (rd_has_bug(BUG_PERIODIC_INFORM) && ++ticks % 20 == 0) {
            char v[OTA_MAX_VERSION + 1];
            pthread_mutex_lock(&rd.lock);
            snprintf(v, sizeof(v), "%s", rd.version);
            pthread_mutex_unlock(&rd.lock);
            rd_report_version(v); /* every second, whatever happened */
        }
        r = poll(&pfd, open_in && !rd.no_channel ? 1 : 0, 50);
        if (r <= 0)
            continue;
        ssize_t n = read(0, line + len, 1);
        if (n <= 0) {
            open_in = 0;
            continue;
        }
        if (line[len] != '\n' && len < DUT_MAX_LINE) {
            len++;
            continue;
        }
        line[len] = '\0';
        len = 0;
        dut_line l;
        dut_line_parse(line, &l);
        if (l.kind == DUT_LINE_COMMAND && on_command(&l))
            return;
    }
}

int main(int argc, char **argv)
{
    int rc = parse_args(argc, argv);

    if (rc >= 0)
        return rc;
    if (program_file)
        return program();
    setvbuf(stdout, NULL, _IOLBF, 0);
    pthread_mutex_init(&rd.lock, NULL);
    ota_cond_init_mono(&rd.pub_cond); /* both are waited on with monotonic deadlines */
    ota_cond_init_mono(&rd.blk_cond);
    if (read_env() != 0)
        return 2;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    rd_log("boot: version %s, module %s%s", rd.version, rd.module[0] ? rd.module : "default",
           rd.bugs[0] || rd.bugs[1] ? ", with bug switches" : "");
    if (rd_link_start() != 0) {
        rd_link_stop();
        curl_global_cleanup();
        return 3;
    }
    if (!rd.no_channel)
        rd_chan("!READY fw=%s caps=inject-flash,reset,set-version,image-digest%s", rd.version,
                rd.image_check || rd.swu_cert[0] ? ",image-check" : "");
    serve();
    rd_log("rebooting");
    rd_upgrade_join();
    rd_link_stop();
    curl_global_cleanup();
    pthread_cond_destroy(&rd.pub_cond);
    pthread_cond_destroy(&rd.blk_cond);
    pthread_mutex_destroy(&rd.lock);
    return 0;
}
