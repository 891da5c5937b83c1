/*
 * libFuzzer target: one control-channel line from a device (dut_line_parse),
 * its arguments looked up, and a parsed command or event formatted again and
 * re-parsed: what we format from it must parse to the same kind and word.
 */
#include "fuzz.h"
#include "otadut/channel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *line = fz_strndup(data, size);
    char out[DUT_MAX_LINE + 1];
    dut_line l, again;

    dut_line_parse(line, &l);
    if (l.nargs < 0 || l.nargs > DUT_MAX_ARGS)
        abort();
    for (int i = 0; i < l.nargs; i++)
        if (!dut_line_arg(&l, l.args[i].key))
            abort();
    if ((l.kind == DUT_LINE_COMMAND || l.kind == DUT_LINE_EVENT) && l.word[0] &&
        dut_line_format(l.kind == DUT_LINE_EVENT ? '!' : '@', l.seq, l.word, l.args, l.nargs, out,
                        sizeof(out)) == 0) {
        dut_line_parse(out, &again);
        if (again.kind != l.kind || strcmp(again.word, l.word))
            abort();
    }
    free(line);
    return 0;
}
