/*
 * The device under test for one run: profile plus command-line overrides,
 * the endpoints the profile fixes, and the adapter that meets the device.
 *
 * Returns as in ct.h: 0, or -1 with err naming the file, field or port;
 * ct_device_fixes_ports answers a question (1 or 0).
 */
#ifndef CT_DUT_SETUP_H
#define CT_DUT_SETUP_H

#include "ct.h"
#include "otadut/profile.h"

/* What the command line says about the device; NULL / 0 leaves the profile's value. */
typedef struct {
    const char *adapter, *dut_cmd, *serial_port, *listen, *url_host;
    const char *pk, *dn, *secret; /* a board's identity in a lab file */
    int mqtt_port, mqtts_port, http_port, https_port, url_no_port, tls;
    double scale;
    /* --firmware FILE@VERSION (repeatable), --firmware-build CMD, --firmware-cache DIR */
    const char *fw_files[DUT_FW_MAX_FILES];
    int nfw_files;
    const char *fw_build, *fw_cache;
} ct_overrides;

/* Load the profile and apply the overrides; -1 with err naming file and field. */
int ct_device_prepare(const char *path, const ct_overrides *o, dut_profile *p, char *err,
                      size_t errcap);
/* 1 when the profile fixes any port. */
int ct_device_fixes_ports(const dut_profile *p);
/* The cloud's ports, listen address and URL form from the profile. */
void ct_device_endpoints(const dut_profile *p, mc_config *cfg);
/*
 * Every port the profile (or the command line, o) fixes can be bound now;
 * else -1 and err names the port, where it came from (the option, or the
 * field of the profile file `profile`), who holds it (pid and name, when it
 * can be learned) and the fix, or says that a port below 1024 needs root or
 * CAP_NET_BIND_SERVICE.
 */
int ct_device_ports_free(const dut_profile *p, const ct_overrides *o, const char *profile,
                         char *err, size_t errcap);
/* Open the profile's adapter (cmd and envp for a process); -1 with err. */
int ct_device_open(const dut_profile *p, const char *cmd, const char *const *envp,
                   const dut_callbacks *cb, dut_adapter **out, char *err, size_t errcap);

/*
 * A board on a serial port: wait a moment for its !READY; when it does not
 * come, reset it once and wait readyTimeout. -1 with err when the profile
 * says it takes commands but it never announced the channel.
 */
int ct_device_board_ready(const dut_profile *p, dut_adapter *dut, double scale, char *err,
                          size_t errcap);

#endif
