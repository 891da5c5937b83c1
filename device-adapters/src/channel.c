/* The control-channel line codec: parsing is total, formatting is capped. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otadut/channel.h"

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

static void pct_decode(const char *in, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < cap; i++) {
        int h, l;
        if (in[i] == '%' && i + 2 < n && (h = hexval(in[i + 1])) >= 0 &&
            (l = hexval(in[i + 2])) >= 0) {
            out[o++] = (char)(h * 16 + l);
            i += 2;
        } else {
            out[o++] = in[i];
        }
    }
    out[o] = '\0';
}

int dut_pct_encode(const char *in, char *out, size_t cap)
{
    size_t o = 0;
    for (; *in; in++) {
        unsigned char c = (unsigned char)*in;
        if (c <= ' ' || c == '=' || c == '%' || c == 0x7f) {
            if (o + 3 >= cap)
                return -1;
            snprintf(out + o, cap - o, "%%%02X", c);
            o += 3;
        } else {
            if (o + 1 >= cap)
                return -1;
            out[o++] = (char)c;
        }
    }
    if (o >= cap)
        return -1;
    out[o] = '\0';
    return 0;
}

/* Split "k=v k=v" into args; a bare word becomes the key with an empty value. */
static void parse_args(const char *p, dut_line *out)
{
    while (*p && out->nargs < DUT_MAX_ARGS) {
        const char *end, *eq;
        dut_kv *kv;
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        end = strchr(p, ' ');
        if (!end)
            end = p + strlen(p);
        eq = memchr(p, '=', (size_t)(end - p));
        kv = &out->args[out->nargs++];
        snprintf(kv->key, sizeof(kv->key), "%.*s", (int)((eq ? eq : end) - p), p);
        if (eq)
            pct_decode(eq + 1, (size_t)(end - eq - 1), kv->value, sizeof(kv->value));
        else
            kv->value[0] = '\0';
        p = end;
    }
}

static int word_at(const char *p, char *word, size_t cap, const char **rest)
{
    size_t n = strcspn(p, " ");
    if (n == 0 || n >= cap)
        return -1;
    memcpy(word, p, n);
    word[n] = '\0';
    *rest = p + n;
    return 0;
}

void dut_line_parse(const char *line, dut_line *out)
{
    char buf[DUT_MAX_LINE + 1];
    const char *rest;
    char *end;
    size_t n;

    memset(out, 0, sizeof(*out));
    out->kind = DUT_LINE_LOG;
    n = strcspn(line, "\r\n");
    if (n > DUT_MAX_LINE)
        return;
    memcpy(buf, line, n);
    buf[n] = '\0';
    if (buf[0] == '!') {
        if (word_at(buf + 1, out->word, sizeof(out->word), &rest) == 0) {
            out->kind = DUT_LINE_EVENT;
            parse_args(rest, out);
        }
        return;
    }
    if (buf[0] != '@' || !isdigit((unsigned char)buf[1]))
        return;
    out->seq = (unsigned)strtoul(buf + 1, &end, 10);
    if (*end != ' ' || word_at(end + 1, out->word, sizeof(out->word), &rest) != 0)
        return;
    if (!strcmp(out->word, "OK")) {
        out->kind = DUT_LINE_OK;
    } else if (!strcmp(out->word, "ERR")) {
        out->kind = DUT_LINE_ERR;
        while (*rest == ' ')
            rest++;
        if (word_at(rest, out->word, sizeof(out->word), &rest) != 0)
            snprintf(out->word, sizeof(out->word), "unknown");
    } else {
        out->kind = DUT_LINE_COMMAND;
    }
    parse_args(rest, out);
}

const char *dut_line_arg(const dut_line *l, const char *key)
{
    for (int i = 0; i < l->nargs; i++)
        if (!strcmp(l->args[i].key, key))
            return l->args[i].value;
    return NULL;
}

int dut_line_format(char prefix, unsigned seq, const char *word, const dut_kv *args, int nargs,
                    char *buf, size_t cap)
{
    char enc[DUT_MAX_LINE];
    size_t o;
    int n;

    if (cap > DUT_MAX_LINE + 1)
        cap = DUT_MAX_LINE + 1;
    n = prefix == '@' ? snprintf(buf, cap, "@%u %s", seq, word) : snprintf(buf, cap, "!%s", word);
    if (n < 0 || (size_t)n >= cap)
        return -1;
    o = (size_t)n;
    for (int i = 0; i < nargs; i++) {
        if (dut_pct_encode(args[i].value, enc, sizeof(enc)) != 0)
            return -1;
        n = snprintf(buf + o, cap - o, " %s=%s", args[i].key, enc);
        if (n < 0 || (size_t)n >= cap - o)
            return -1;
        o += (size_t)n;
    }
    return 0;
}
