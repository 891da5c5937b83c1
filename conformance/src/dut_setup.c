/*
 * The device under test for one run: its profile with the command line's
 * overrides, the cloud endpoints the profile fixes, the adapter that meets
 * it, and the first boot (a device that never comes up stops the run with
 * one sentence instead of failing every test with a cloud error).
 */
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dut_setup.h"
#include "otaproto/clock.h"
#include "otaproto/porthold.h"

/*
 * --firmware FILE@VERSION, --firmware-build and --firmware-cache over the
 * profile's firmware section. The command line wins: either image option
 * replaces the profile's whole source of images, its files and its build
 * (docs/device-profiles.md). Whether images are given at all is judged after
 * this, by dut_profile_check.
 */
static int apply_firmware(const ct_overrides *o, dut_firmware *fw, char *err, size_t errcap)
{
    if (o->nfw_files || o->fw_build) {
        fw->nfiles = 0;
        fw->build[0] = '\0';
    }
    for (int i = 0; i < o->nfw_files; i++) {
        const char *at = strrchr(o->fw_files[i], '@');
        dut_fw_file *f = &fw->files[fw->nfiles++];
        memset(f, 0, sizeof(*f));
        if (!at || at == o->fw_files[i] || !at[1] || strlen(at + 1) >= sizeof(f->version) ||
            (size_t)(at - o->fw_files[i]) >= sizeof(f->file)) {
            snprintf(err, errcap, "--firmware wants FILE@VERSION, got '%s'", o->fw_files[i]);
            return -1;
        }
        snprintf(f->file, sizeof(f->file), "%.*s", (int)(at - o->fw_files[i]), o->fw_files[i]);
        snprintf(f->version, sizeof(f->version), "%s", at + 1);
    }
    if (o->fw_build && strlen(o->fw_build) >= sizeof(fw->build)) {
        snprintf(err, errcap, "--firmware-build is longer than %zu characters",
                 sizeof(fw->build) - 1);
        return -1;
    }
    if (o->fw_build)
        snprintf(fw->build, sizeof(fw->build), "%s", o->fw_build);
    if (o->fw_cache)
        snprintf(fw->cache, sizeof(fw->cache), "%s", o->fw_cache);
    if (o->nfw_files || o->fw_build)
        fw->present = 1;
    if (o->fw_cache && !fw->present) {
        snprintf(err, errcap, "--firmware-cache needs a firmware section (or --firmware-build)");
        return -1;
    }
    return 0;
}

int ct_device_prepare(const char *path, const ct_overrides *o, dut_profile *p, char *err,
                      size_t errcap)
{
    if (dut_profile_load(path, p, err, errcap) != DUT_OK)
        return -1;
    if (o->adapter && dut_adapter_kind_parse(o->adapter, &p->adapter) != DUT_OK) {
        snprintf(err, errcap, "--adapter wants reference, process, serial or network, got '%s'",
                 o->adapter);
        return -1;
    }
    if (o->dut_cmd) {
        if (strlen(o->dut_cmd) >= sizeof(p->command)) {
            snprintf(err, errcap, "--dut-cmd is longer than %zu characters",
                     sizeof(p->command) - 1);
            return -1;
        }
        snprintf(p->command, sizeof(p->command), "%s", o->dut_cmd);
        if (!o->adapter && p->adapter == DUT_ADAPTER_REFERENCE)
            p->adapter = DUT_ADAPTER_PROCESS;
    }
    if (o->serial_port)
        snprintf(p->serial_port, sizeof(p->serial_port), "%s", o->serial_port);
    if (o->pk)
        snprintf(p->pk, sizeof(p->pk), "%s", o->pk);
    if (o->dn)
        snprintf(p->dn, sizeof(p->dn), "%s", o->dn);
    if (o->secret)
        snprintf(p->secret, sizeof(p->secret), "%s", o->secret);
    if (o->listen)
        snprintf(p->listen, sizeof(p->listen), "%s", o->listen);
    if (o->url_host)
        snprintf(p->url_host, sizeof(p->url_host), "%s", o->url_host);
    p->mqtt_port = o->mqtt_port ? o->mqtt_port : p->mqtt_port;
    p->mqtts_port = o->mqtts_port ? o->mqtts_port : p->mqtts_port;
    p->http_port = o->http_port ? o->http_port : p->http_port;
    p->https_port = o->https_port ? o->https_port : p->https_port;
    if (o->url_no_port)
        p->url_port = 0;
    if (o->tls)
        p->tls = 1;
    if (o->scale > 0)
        p->time_scale = o->scale;
    if (apply_firmware(o, &p->fw, err, errcap) != 0)
        return -1;
    return dut_profile_check(p, path, err, errcap) == DUT_OK ? 0 : -1;
}

int ct_device_fixes_ports(const dut_profile *p)
{
    return p->mqtt_port || p->mqtts_port || p->http_port || p->https_port;
}

void ct_device_endpoints(const dut_profile *p, mc_config *cfg)
{
    cfg->listen_addr = p->listen[0] ? p->listen : NULL;
    cfg->mqtt_port = p->mqtt_port;
    cfg->mqtts_port = p->mqtts_port;
    cfg->http_port = p->http_port;
    cfg->https_port = p->https_port;
    cfg->url_host = p->url_host[0] ? p->url_host : NULL;
    cfg->url_no_port = !p->url_port;
}

/* 0 when port can be bound on every address now; else errno. */
static int bind_errno(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), rc = 0, one = 1;

    if (fd < 0)
        return errno;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    a.sin_addr.s_addr = htonl(INADDR_ANY);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
        rc = errno;
    close(fd);
    return rc;
}

/*
 * Where a fixed port came from, for a message: "--mqtt-port asks for" or
 * "the device profile FILE fixes (endpoints.mqttPort)"; and how to change it.
 */
static void port_origin(const char *what, const char *option, const char *field, int given,
                        const char *profile, char *from, size_t fcap, char *fix, size_t xcap)
{
    if (given) {
        snprintf(from, fcap, "%s asks for the %s port", option, what);
        snprintf(fix, xcap, "or give %s another port", option);
    } else {
        snprintf(from, fcap, "the device profile %s fixes (endpoints.%s) the %s port", profile,
                 field, what);
        snprintf(fix, xcap, "or, when the device can use another port, override it with %s N",
                 option);
    }
}

int ct_device_ports_free(const dut_profile *p, const ct_overrides *o, const char *profile,
                         char *err, size_t errcap)
{
    const struct {
        const char *what, *option, *field;
        int port, given;
    } ports[] = {{"MQTT", "--mqtt-port", "mqttPort", p->mqtt_port, o && o->mqtt_port},
                 {"MQTTS", "--mqtts-port", "mqttsPort", p->mqtts_port, o && o->mqtts_port},
                 {"HTTP", "--http-port", "httpPort", p->http_port, o && o->http_port},
                 {"HTTPS", "--https-port", "httpsPort", p->https_port, o && o->https_port}};

    for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
        char who[128] = "", from[PATH_MAX + 128], fix[128];
        int service, e = ports[i].port ? bind_errno(ports[i].port) : 0;
        if (!e)
            continue;
        port_origin(ports[i].what, ports[i].option, ports[i].field, ports[i].given,
                    profile ? profile : "", from, sizeof(from), fix, sizeof(fix));
        if (e == EACCES) {
            snprintf(err, errcap,
                     "%s %d, and binding a port below 1024 needs root or CAP_NET_BIND_SERVICE "
                     "(sudo setcap cap_net_bind_service=+ep on ota-conformance%s), %s",
                     from, ports[i].port,
                     i < 2 ? " and on /usr/sbin/mosquitto, which binds the MQTT ports" : "", fix);
            return -1;
        }
        service = ota_port_holder(ports[i].port, who, sizeof(who));
        snprintf(
            err, errcap, "%s %d, but it is taken%s%s: stop that process%s, %s", from, ports[i].port,
            who[0] ? " by " : "", who[0] ? who : " (by a process this user cannot see)",
            service > 0 ? " (Debian's mosquitto service: " OTA_PORT_MOSQUITTO_FIX ")" : "", fix);
        return -1;
    }
    return 0;
}

/* ---- the adapter ---- */

int ct_device_open(const dut_profile *p, const char *cmd, const char *const *envp,
                   const dut_callbacks *cb, dut_adapter **out, char *err, size_t errcap)
{
    dut_process_config pc;
    dut_serial_config sc;

    switch (p->adapter) {
    case DUT_ADAPTER_NETWORK:
        if (!p->command[0])
            return dut_network_open(cb, out) == DUT_OK ? 0 : -1;
        /* One the suite starts (--netns): kept running as its own bootloader loop would, and
         * still met only by its MQTT connection (no channel, no reset). */
        pc = (dut_process_config){p->command, envp};
        if (dut_process_open(&pc, cb, out) != DUT_OK) {
            snprintf(err, errcap, "cannot start the device: %.300s", p->command);
            return -1;
        }
        return 0;
    case DUT_ADAPTER_SERIAL:
        memset(&sc, 0, sizeof(sc));
        sc.path = p->serial_port;
        sc.baud = p->baud;
        sc.framing = p->framing;
        sc.reset = p->reset;
        sc.reset_seq = p->reset_seq;
        sc.reset_cmd = p->power_cmd[0] && p->reset == DUT_RESET_COMMAND && !p->reset_cmd[0]
                           ? p->power_cmd
                           : p->reset_cmd;
        sc.reopen_window_s = p->reopen_window;
        sc.ready_timeout_s = p->ready_timeout;
        return dut_serial_open(&sc, cb, out, err, errcap) == DUT_OK ? 0 : -1;
    default:
        pc = (dut_process_config){cmd, envp};
        if (dut_process_open(&pc, cb, out) != DUT_OK) {
            snprintf(err, errcap, "cannot start the device: %.300s", cmd);
            return -1;
        }
        return 0;
    }
}

/* ---- a board's control channel ---- */

/* Up to `seconds` for the board's !READY; 1 when it came. */
static int await_ready(dut_adapter *dut, double seconds)
{
    double end = ota_clock_now() + seconds;

    while (!dut_has_channel(dut) && ota_clock_now() < end)
        ota_sleep(0.05);
    return dut_has_channel(dut);
}

#define CT_BOARD_LINES 32 /* distinct log lines a message names */

/*
 * The board's last log lines for a message, each distinct line once, in the
 * order it first came, with how many times it came: a board that restarts
 * on the same error (a setting missing in its build) prints it at every boot.
 */
static void board_last_lines(dut_adapter *dut, char *out, size_t cap)
{
    char log[2048], *save = NULL, *line[CT_BOARD_LINES];
    int times[CT_BOARD_LINES], n = 0;
    size_t o = 0;

    dut_last_log(dut, log, sizeof(log));
    for (char *l = strtok_r(log, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        int k = 0;
        while (k < n && strcmp(line[k], l))
            k++;
        if (k < n)
            times[k]++;
        else if (n < CT_BOARD_LINES)
            line[n] = l, times[n++] = 1;
    }
    out[0] = '\0';
    for (int k = 0; k < n && o < cap; k++) {
        int w = times[k] > 1 ? snprintf(out + o, cap - o, "\n  %s (%d times)", line[k], times[k])
                             : snprintf(out + o, cap - o, "\n  %s", line[k]);
        o += w > 0 ? (size_t)w : 0;
    }
}

int ct_device_board_ready(const dut_profile *p, dut_adapter *dut, double scale, char *err,
                          size_t errcap)
{
    int wants_channel = p->reset == DUT_RESET_CHANNEL || p->caps[0];
    char lines[600];

    if (p->adapter != DUT_ADAPTER_SERIAL || await_ready(dut, CT_S(READY) * scale))
        return 0;
    /* Its !READY went by before we opened the port (or never comes): a fresh boot tells. */
    if (p->reset != DUT_RESET_NONE && dut_restart(dut) == DUT_OK &&
        await_ready(dut, p->ready_timeout * scale))
        return 0;
    if (!wants_channel)
        return 0; /* a board without the channel: judged from what it sends */
    board_last_lines(dut, lines, sizeof(lines));
    snprintf(err, errcap,
             "the board on %s never printed !READY (within %.0f s%s), but its profile says it "
             "takes commands (reset.method %s%s%s): check the speed (%d baud) and framing (%s), "
             "and that its test build links the control channel; or set reset.method to none, "
             "dtr-rts or command and drop capabilities%s%s",
             p->serial_port, p->ready_timeout * scale,
             p->reset != DUT_RESET_NONE ? " of a reset" : "", dut_reset_method_name(p->reset),
             p->caps[0] ? ", capabilities " : "", p->caps, p->baud, p->framing,
             lines[0] ? ". Its last log lines:" : ". It printed nothing", lines);
    return -1;
}
