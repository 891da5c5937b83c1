/*
 * Who holds a TCP port: what the programs say when a fixed port is taken
 * (ota-conformance before its run, ota-mock-cloud's broker and file
 * server). Read from /proc; Linux only. Not part of the stable API
 * (docs/api-stability.md).
 */
#ifndef OTAPROTO_PORTHOLD_H
#define OTAPROTO_PORTHOLD_H

#include <stddef.h>

/*
 * The process listening on TCP port `port` (any address), as "pid N (name)"
 * in who (at least 128 bytes make room for any). Returns 1 when it is
 * Debian's mosquitto service (its configuration under /etc/mosquitto, which
 * the package's dependency on mosquitto starts on port 1883), 0 for another
 * process, and -1 with who "" when no listener this user can see was found.
 */
int ota_port_holder(int port, char *who, size_t cap);

/* What stops Debian's mosquitto service, for messages. */
#define OTA_PORT_MOSQUITTO_FIX "sudo systemctl disable --now mosquitto"

#endif
