/*
 * Who holds a TCP port, from /proc/net/tcp{,6} (the listening socket's
 * inode) and /proc/PID/fd (the process that has it open). A process of
 * another user is not visible without privileges: the caller says so.
 */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "otaproto/porthold.h"

/* The inode of the listening TCP socket on port, from /proc/net/tcp or tcp6; 0 when none. */
static unsigned long listener_inode(int port)
{
    static const char *const files[] = {"/proc/net/tcp", "/proc/net/tcp6"};
    char line[512];

    for (size_t f = 0; f < 2; f++) {
        FILE *in = fopen(files[f], "r");
        while (in && fgets(line, sizeof(line), in)) {
            char local[64];
            unsigned st, lport;
            unsigned long inode;
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

/* 1 when process pid has the socket `want` ("socket:[inode]") open. */
static int has_socket(const char *pid, const char *want)
{
    char dir[300], link[600], target[64];
    DIR *fds;
    struct dirent *fd;
    int found = 0;

    snprintf(dir, sizeof(dir), "/proc/%s/fd", pid);
    fds = opendir(dir);
    while (fds && !found && (fd = readdir(fds)) != NULL) {
        ssize_t n;
        snprintf(link, sizeof(link), "%s/%s", dir, fd->d_name);
        n = readlink(link, target, sizeof(target) - 1);
        if (n <= 0)
            continue;
        target[n] = '\0';
        found = !strcmp(target, want);
    }
    if (fds)
        closedir(fds);
    return found;
}

/* The first `cap - 1` bytes of /proc/PID/NAME, NULs as spaces, the last newline cut. */
static void proc_text(const char *pid, const char *name, char *buf, size_t cap)
{
    char path[300];
    size_t n = 0;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%s/%s", pid, name);
    f = fopen(path, "r");
    if (f) {
        n = fread(buf, 1, cap - 1, f);
        fclose(f);
    }
    for (size_t i = 0; i < n; i++)
        buf[i] = buf[i] ? buf[i] : ' ';
    buf[n] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
}

int ota_port_holder(int port, char *who, size_t cap)
{
    unsigned long inode = listener_inode(port);
    DIR *procs = inode ? opendir("/proc") : NULL;
    struct dirent *e;
    char want[64];
    int rc = -1;

    who[0] = '\0';
    snprintf(want, sizeof(want), "socket:[%lu]", inode);
    while (procs && rc < 0 && (e = readdir(procs)) != NULL) {
        char comm[64] = "?", cmd[512];
        if (e->d_name[0] < '1' || e->d_name[0] > '9' || !has_socket(e->d_name, want))
            continue;
        proc_text(e->d_name, "comm", comm, sizeof(comm));
        proc_text(e->d_name, "cmdline", cmd, sizeof(cmd));
        snprintf(who, cap, "pid %.20s (%.32s)", e->d_name, comm);
        rc = !strcmp(comm, "mosquitto") && strstr(cmd, "/etc/mosquitto/") != NULL;
    }
    if (procs)
        closedir(procs);
    return rc;
}
