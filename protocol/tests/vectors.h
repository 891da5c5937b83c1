/* Loads fixtures/vectors/vectors.json and siblings (copied from the specs) for the unit tests. */
#ifndef PROTO_TEST_VECTORS_H
#define PROTO_TEST_VECTORS_H

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>

static inline cJSON *vectors_load_file(const char *name)
{
    const char *dir = getenv("OTA_FIXTURES");
    char path[1024];
    FILE *f;
    long n;
    char *buf;
    cJSON *root;

    snprintf(path, sizeof(path), "%s/vectors/%s", dir ? dir : OTA_SOURCE_DIR "/fixtures", name);
    f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(buf);
        return NULL;
    }
    buf[n] = 0;
    fclose(f);
    root = cJSON_Parse(buf);
    free(buf);
    return root;
}

static inline cJSON *vectors_load(void)
{
    return vectors_load_file("vectors.json");
}

static inline const char *vstr(const cJSON *o, const char *k)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(j) ? j->valuestring : NULL;
}

/* The spec's sample image: byte i = (i*31+7) mod 251. */
static inline void sample_image(unsigned char *buf, size_t n)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = (unsigned char)((i * 31 + 7) % 251);
}

static inline size_t hex_to_bytes(const char *h, unsigned char *out, size_t cap)
{
    size_t n = 0;
    for (; h[0] && h[1] && n < cap; h += 2) {
        unsigned v;
        sscanf(h, "%2x", &v);
        out[n++] = (unsigned char)v;
    }
    return n;
}

#endif
