/*
 * The files a run writes (JUnit, HTML, the trace): their parent folders are
 * made when missing, and whether they can be written is known before a run
 * starts, not after it. It writes no report itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report_priv.h"

/* Make every missing folder of dir, as mkdir -p does; 0, or -1 with errno set. */
static int make_dirs(char *dir)
{
    struct stat st;

    if (!dir[0] || stat(dir, &st) == 0)
        return !dir[0] || S_ISDIR(st.st_mode) ? 0 : (errno = ENOTDIR, -1);
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
            *p = '/';
            return -1;
        }
        *p = '/';
    }
    return mkdir(dir, 0777) != 0 && errno != EEXIST ? -1 : 0;
}

int rp_output_prepare(const char *what, const char *path, char *err, size_t errcap)
{
    char dir[4096];
    char *slash;
    int fd, made = 0;

    if (!path || !*path) {
        snprintf(err, errcap, "%s: no file named", what);
        return RP_ERR_ARG;
    }
    snprintf(dir, sizeof(dir), "%s", path);
    slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (make_dirs(dir) != 0) {
            snprintf(err, errcap, "cannot create the folder %s for the %s %s: %s", dir, what, path,
                     strerror(errno));
            return RP_ERR_IO;
        }
    }
    /* Opened without truncating: an existing file keeps its content until the run writes it. */
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0)
        made = 1;
    else if (errno == EEXIST)
        fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errcap, "cannot write the %s %s: %s", what, path, strerror(errno));
        return RP_ERR_IO;
    }
    close(fd);
    if (made)
        unlink(path); /* a run that never gets to write it leaves no empty report */
    return RP_OK;
}
