/*
 * Helpers shared by the libFuzzer targets: NUL-terminated copies of the
 * input, splitting one input into several fields, and a path that reads back
 * the input for the loaders that take a file name. Each target includes this
 * once; nothing here is part of the product.
 */
#ifndef OTA_FUZZ_H
#define OTA_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A heap copy with a NUL after it (embedded NULs stay; C-string users stop there). */
static inline char *fz_strndup(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        abort();
    memcpy(s, data, size);
    s[size] = 0;
    return s;
}

/*
 * Cut a NUL-terminated copy of the input at its first n-1 newlines into n
 * fields; missing fields are empty strings. Returns the buffer the fields
 * point into (free it).
 */
static inline char *fz_fields(const uint8_t *data, size_t size, char **field, int n)
{
    char *s = fz_strndup(data, size), *p = s;
    static char empty[1];

    for (int i = 0; i < n; i++) {
        char *nl = (p && i < n - 1) ? strchr(p, '\n') : NULL;
        field[i] = p ? p : empty;
        if (nl)
            *nl = 0;
        p = nl ? nl + 1 : NULL;
    }
    return s;
}

/*
 * The input as a file: an anonymous memory file and its /proc/self/fd path,
 * for loaders that take a path. Returns the descriptor (close it), or -1.
 */
static inline int fz_memfile(const uint8_t *data, size_t size, char *path, size_t cap)
{
    int fd = memfd_create("fuzz-input", 0);

    if (fd < 0)
        return -1;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return -1;
    }
    snprintf(path, cap, "/proc/self/fd/%d", fd);
    return fd;
}

#endif
