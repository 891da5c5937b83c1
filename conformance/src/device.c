/*
 * The device under test for one run: its profile with the command line's
 * overrides, the cloud endpoints the profile fixes, the adapter that meets
 * it, and the first boot (a device that never comes up stops the run with
 * one sentence instead of failing every test with a cloud error).
 */
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "device.h"
#include "otaproto/clock.h"

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

/* ---- who holds a port ---- */

/* The inode of the listening TCP socket on port, from /proc/net/tcp or tcp6; 0 when none. */
static unsigned long listener_inode(int port)
{
    static const char *const files[] = {"/proc/net/tcp", "/proc/net/tcp6"};
    char line[512];

    for (size_t f = 0; f < 2; f++) {
        FILE *in = fopen(files[f], "r");
        while (in && fgets(line, sizeof(line), in)) {
            char local[64];
            unsigned st;
            unsigned long inode;
            unsigned lport;
            const char *colon;
            if (sscanf(line, " %*d: %63s %*s %x %*s %*s %*s %*s %*s %lu", local, &st, &inode) != 3)
                continue;
            colon = strrchr(local, ':');
            if (st == 0x0A && colon && sscanf(colon + 1, "%x", &lport) == 1 && (int)lport == port) {
                fclose(in);
                return inode;
            }
        }
        if (in)
            fclose(in);
    }
    return 0;
}

/* The process with socket inode open: "pid N (name)"; "" when it cannot be learned. */
static void inode_owner(unsigned long inode, char *buf, size_t cap)
{
    DIR *procs = opendir("/proc");
    struct dirent *e;
    char want[64];

    buf[0] = '\0';
    snprintf(want, sizeof(want), "socket:[%lu]", inode);
    while (procs && !buf[0] && (e = readdir(procs)) != NULL) {
        char dir[300], link[600], target[64], comm[64] = "?";
        DIR *fds;
        struct dirent *fd;
        if (e->d_name[0] < '1' || e->d_name[0] > '9')
            continue;
        snprintf(dir, sizeof(dir), "/proc/%s/fd", e->d_name);
        fds = opendir(dir);
        while (fds && !buf[0] && (fd = readdir(fds)) != NULL) {
            ssize_t n;
            snprintf(link, sizeof(link), "%s/%s", dir, fd->d_name);
            n = readlink(link, target, sizeof(target) - 1);
            if (n <= 0)
                continue;
            target[n] = '\0';
            if (!strcmp(target, want)) {
                FILE *c;
                snprintf(link, sizeof(link), "/proc/%s/comm", e->d_name);
                c = fopen(link, "r");
                if (c && fgets(comm, sizeof(comm), c))
                    comm[strcspn(comm, "\n")] = '\0';
                if (c)
                    fclose(c);
                snprintf(buf, cap, "pid %.20s (%.32s)", e->d_name, comm);
            }
        }
        if (fds)
            closedir(fds);
    }
    if (procs)
        closedir(procs);
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

int ct_device_ports_free(const dut_profile *p, char *err, size_t errcap)
{
    const struct {
        const char *what;
        int port;
    } ports[] = {{"MQTT", p->mqtt_port},
                 {"MQTTS", p->mqtts_port},
                 {"HTTP", p->http_port},
                 {"HTTPS", p->https_port}};

    for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
        char who[128] = "";
        unsigned long inode;
        int e = ports[i].port ? bind_errno(ports[i].port) : 0;
        if (!e)
            continue;
        if (e == EACCES) {
            snprintf(err, errcap,
                     "the device profile fixes the %s port %d, and binding a port below 1024 "
                     "needs root or CAP_NET_BIND_SERVICE (sudo setcap "
                     "cap_net_bind_service=+ep on ota-conformance%s)",
                     ports[i].what, ports[i].port,
                     i < 2 ? " and on /usr/sbin/mosquitto, which binds the MQTT ports" : "");
            return -1;
        }
        inode = listener_inode(ports[i].port);
        if (inode)
            inode_owner(inode, who, sizeof(who));
        snprintf(err, errcap, "the device profile fixes the %s port %d, but it is taken%s%s",
                 ports[i].what, ports[i].port, who[0] ? " by " : "",
                 who[0] ? who : " (by a process this user cannot see)");
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

int ct_device_board_ready(const dut_profile *p, dut_adapter *dut, double scale, char *err,
                          size_t errcap)
{
    int wants_channel = p->reset == DUT_RESET_CHANNEL || p->caps[0];

    if (p->adapter != DUT_ADAPTER_SERIAL || await_ready(dut, CT_S(READY) * scale))
        return 0;
    /* Its !READY went by before we opened the port (or never comes): a fresh boot tells. */
    if (p->reset != DUT_RESET_NONE && dut_restart(dut) == DUT_OK &&
        await_ready(dut, p->ready_timeout * scale))
        return 0;
    if (!wants_channel)
        return 0; /* a board without the channel: judged from what it sends */
    snprintf(err, errcap,
             "the board on %s never printed !READY (within %.0f s%s), but its profile says it "
             "takes commands (reset.method %s%s%s): check the speed (%d baud) and framing (%s), "
             "and that its test build links the control channel; or set reset.method to none, "
             "dtr-rts or command and drop capabilities",
             p->serial_port, p->ready_timeout * scale,
             p->reset != DUT_RESET_NONE ? " of a reset" : "", dut_reset_method_name(p->reset),
             p->caps[0] ? ", capabilities " : "", p->caps, p->baud, p->framing);
    return -1;
}
