/*
 * --netns: each device instance (its device, broker and file server) in a
 * network namespace of its own, with nothing but its own loopback, so that
 * firmware built for 127.0.0.1:1883 and port 80 runs N times side by side.
 * As root a new network namespace is enough; otherwise a user namespace
 * comes with it (mapping us to root inside it, which may then bind port 80
 * in its own network namespace). It changes the calling process only:
 * everything it starts afterwards inherits the namespace.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run_priv.h"

static int write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return -1;
    n = write(fd, text, strlen(text));
    close(fd);
    return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* Inside a new user namespace: our uid and gid become 0 there (setgroups denied first). */
static int map_ids(uid_t uid, gid_t gid)
{
    char map[64];

    snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)uid);
    if (write_file("/proc/self/uid_map", map) != 0)
        return -1;
    if (write_file("/proc/self/setgroups", "deny") != 0 && errno != ENOENT)
        return -1;
    snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)gid);
    return write_file("/proc/self/gid_map", map);
}

/* A new namespace's loopback exists but is down. */
static int loopback_up(void)
{
    struct ifreq ifr;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = -1;

    if (fd < 0)
        return -1;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
    }
    close(fd);
    return rc;
}

int ct_netns_enter(char *err, size_t cap)
{
    uid_t uid = getuid();
    gid_t gid = getgid();
    int e;

    if (unshare(CLONE_NEWNET) != 0) {
        e = errno;
        if ((e != EPERM && e != EINVAL) || unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0 ||
            map_ids(uid, gid) != 0) {
            snprintf(err, cap,
                     "--netns needs root, or unprivileged user namespaces (sysctl "
                     "kernel.unprivileged_userns_clone=1 and user.max_user_namespaces > 0), "
                     "and neither is available here (%s)",
                     strerror(e == EPERM || e == EINVAL ? errno : e));
            return -1;
        }
    }
    if (loopback_up() != 0) {
        snprintf(err, cap, "--netns: cannot bring up the loopback of the new network namespace: %s",
                 strerror(errno));
        return -1;
    }
    return 0;
}

/* Try it in a child, so that the run can stop with the reason before it starts anything. */
int ct_netns_check(char *err, size_t cap)
{
    int pipefd[2], status = 0;
    ssize_t n = 0;
    pid_t pid;

    if (pipe2(pipefd, O_CLOEXEC) != 0) {
        snprintf(err, cap, "--netns: %s", strerror(errno));
        return -1;
    }
    fflush(NULL);
    pid = fork();
    if (pid == 0) {
        char why[512] = "";
        int rc = ct_netns_enter(why, sizeof(why));
        if (rc != 0)
            (void)!write(pipefd[1], why, strlen(why));
        _exit(rc != 0);
    }
    close(pipefd[1]);
    if (pid > 0) {
        n = read(pipefd[0], err, cap - 1);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
    }
    close(pipefd[0]);
    err[n > 0 ? n : 0] = '\0';
    if (pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (!err[0])
        snprintf(err, cap, "--netns: cannot make a network namespace");
    return -1;
}
