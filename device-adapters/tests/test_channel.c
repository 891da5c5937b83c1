/* The control-channel codec: every line kind, percent-encoding, caps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "otadut/channel.h"

static void line_kinds(void **state)
{
    dut_line l;
    (void)state;
    dut_line_parse("@12 OK version=1.0%201 state=idle\r", &l);
    assert_int_equal(l.kind, DUT_LINE_OK);
    assert_int_equal(l.seq, 12);
    assert_string_equal(dut_line_arg(&l, "version"), "1.0 1");
    assert_string_equal(dut_line_arg(&l, "state"), "idle");
    dut_line_parse("@3 ERR unsupported msg=no%3Dway", &l);
    assert_int_equal(l.kind, DUT_LINE_ERR);
    assert_string_equal(l.word, "unsupported");
    assert_string_equal(dut_line_arg(&l, "msg"), "no=way");
    dut_line_parse("!READY fw=2.0 caps=reset,inject-flash", &l);
    assert_int_equal(l.kind, DUT_LINE_EVENT);
    assert_string_equal(l.word, "READY");
    assert_string_equal(dut_line_arg(&l, "caps"), "reset,inject-flash");
    dut_line_parse("@7 INJECT fault=flash-write", &l);
    assert_int_equal(l.kind, DUT_LINE_COMMAND);
    assert_string_equal(l.word, "INJECT");
    dut_line_parse("I (123) ota: downloading", &l);
    assert_int_equal(l.kind, DUT_LINE_LOG);
    dut_line_parse("@x OK", &l);
    assert_int_equal(l.kind, DUT_LINE_LOG);
    dut_line_parse("!", &l);
    assert_int_equal(l.kind, DUT_LINE_LOG);
    dut_line_parse("@1 OK bad=%zz%4", &l);
    assert_string_equal(dut_line_arg(&l, "bad"), "%zz%4");
    assert_null(dut_line_arg(&l, "missing"));
}

static void over_long_lines_are_logs(void **state)
{
    char big[DUT_MAX_LINE + 10];
    dut_line l;
    (void)state;
    memset(big, 'a', sizeof(big) - 1);
    big[0] = '!';
    big[sizeof(big) - 1] = 0;
    dut_line_parse(big, &l);
    assert_int_equal(l.kind, DUT_LINE_LOG);
}

static void format_round_trips(void **state)
{
    dut_kv kv[2] = {{"v", "1.0 beta=2"}, {"x", "100%"}};
    char buf[DUT_MAX_LINE + 1], big[DUT_MAX_LINE];
    dut_line l;
    (void)state;
    assert_int_equal(dut_line_format('@', 5, "SET-VERSION", kv, 2, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "@5 SET-VERSION v=1.0%20beta%3D2 x=100%25");
    dut_line_parse(buf, &l);
    assert_string_equal(dut_line_arg(&l, "v"), "1.0 beta=2");
    assert_string_equal(dut_line_arg(&l, "x"), "100%");
    memset(big, ' ', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    snprintf(kv[0].value, sizeof(kv[0].value), "%s", big);
    assert_int_equal(dut_line_format('@', 5, "SET", kv, 1, buf, sizeof(buf)), -1);
    assert_int_equal(dut_line_format('!', 0, "READY", NULL, 0, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "!READY");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(line_kinds),
        cmocka_unit_test(over_long_lines_are_logs),
        cmocka_unit_test(format_round_trips),
    };
    return cmocka_run_group_tests_name("channel", tests, NULL, NULL);
}
