/*
 * libFuzzer target: the trace as ota-report reads it. Every line goes through
 * the record decoder (ota_trace_decode); the whole input is then loaded as a
 * trace file (rp_report_load) and, when it makes a report, written as JUnit
 * XML and HTML to /dev/null.
 */
#include "fuzz.h"
#include "otaproto/trace.h"
#include "otareport/report.h"

static void decode_lines(const uint8_t *data, size_t size)
{
    size_t start = 0;

    for (size_t i = 0; i <= size; i++) {
        if (i < size && data[i] != '\n')
            continue;
        ota_trace_rec r;
        char *line = fz_strndup(data + start, i - start);
        if (ota_trace_decode(line, i - start, &r) == OTA_OK)
            ota_trace_rec_clear(&r);
        free(line);
        start = i + 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rp_report *rep = NULL;
    char err[512], path[64];
    int fd;

    decode_lines(data, size);
    fd = fz_memfile(data, size, path, sizeof(path));
    if (fd < 0)
        return 0;
    if (rp_report_load(path, &rep, err, sizeof(err)) == RP_OK) {
        (void)rp_report_junit(rep, "/dev/null");
        (void)rp_html_write(rep, "/dev/null");
        rp_report_free(rep);
    }
    close(fd);
    return 0;
}
