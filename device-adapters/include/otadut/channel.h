/*
 * The control-channel codec of the DUT contract (docs/dut-contract.md):
 * "@<seq> VERB k=v" commands, "@<seq> OK|ERR ..." replies, "!EVENT k=v"
 * events, and everything else as log. Values are percent-encoded. Pure.
 */
#ifndef OTADUT_CHANNEL_H
#define OTADUT_CHANNEL_H

#include <stddef.h>

#define DUT_MAX_LINE 256
#define DUT_MAX_ARGS 16

typedef enum {
    DUT_LINE_LOG = 0, /* anything that is not channel syntax */
    DUT_LINE_OK,      /* @seq OK k=v ... */
    DUT_LINE_ERR,     /* @seq ERR code [msg=...] */
    DUT_LINE_EVENT,   /* !EVENT k=v ... */
    DUT_LINE_COMMAND, /* @seq VERB k=v ... (host to device) */
} dut_line_kind;

typedef struct {
    char key[32];
    char value[DUT_MAX_LINE];
} dut_kv;

typedef struct {
    dut_line_kind kind;
    unsigned seq;
    char word[32]; /* the verb, the event name, or the ERR code */
    dut_kv args[DUT_MAX_ARGS];
    int nargs;
} dut_line;

/* Parse one line (without its LF; a trailing CR is ignored). Never fails: odd lines are logs. */
void dut_line_parse(const char *line, dut_line *out);
/* The decoded value of key, or NULL. */
const char *dut_line_arg(const dut_line *l, const char *key);
/*
 * Format "@seq WORD k=v ..." (or "!WORD ..." when seq_prefix is '!'), values
 * percent-encoded. Returns 0, or -1 when it would exceed DUT_MAX_LINE.
 */
int dut_line_format(char prefix, unsigned seq, const char *word, const dut_kv *args, int nargs,
                    char *buf, size_t cap);
/* Percent-encode spaces, '=', '%' and control characters. -1 when it does not fit. */
int dut_pct_encode(const char *in, char *out, size_t cap);

#endif
