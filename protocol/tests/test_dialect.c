/* The dialect tables: Aliyun unchanged through them, ThingsPanel's vectors from its spec. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "otaproto/dialect.h"
#include "vectors.h"

static cJSON *tp_vectors;

static const char *tpv(const char *key)
{
    const char *s = vstr(tp_vectors, key);
    assert_non_null(s);
    return s;
}

static void names_select_dialects(void **state)
{
    (void)state;
    assert_ptr_equal(ota_dialect_find(NULL), ota_dialect_get(OTA_DIALECT_ALIYUN));
    assert_ptr_equal(ota_dialect_find(""), ota_dialect_get(OTA_DIALECT_ALIYUN));
    assert_ptr_equal(ota_dialect_find("thingspanel"), ota_dialect_get(OTA_DIALECT_THINGSPANEL));
    assert_null(ota_dialect_find("ThingsPanel"));
    assert_null(ota_dialect_get(OTA_DIALECT__COUNT));
    assert_string_equal(ota_dialect_name(NULL), "aliyun");
}

/* Through the table, every Aliyun topic and message is what the Aliyun functions make. */
static void aliyun_is_byte_identical(void **state)
{
    const ota_dialect *d = ota_dialect_get(OTA_DIALECT_ALIYUN);
    char a[OTA_MAX_TOPIC + 1], b[OTA_MAX_TOPIC + 1], pk[OTA_MAX_NAME + 1], dn[OTA_MAX_NAME + 1];
    char ja[512], jb[512];
    ota_topic_kind k;
    ota_push p;
    (void)state;
    for (int i = 0; i < OTA_TOPIC__COUNT; i++) {
        assert_int_equal(ota_topic_build((ota_topic_kind)i, "pk1", "dn1", a, sizeof(a)), OTA_OK);
        assert_int_equal(
            ota_dialect_topic_build(d, (ota_topic_kind)i, 0, "pk1", "dn1", b, sizeof(b)), OTA_OK);
        assert_string_equal(a, b);
        assert_int_equal(ota_dialect_topic_filter(d, (ota_topic_kind)i, 0, b, sizeof(b)), OTA_OK);
        assert_string_equal(ota_topic_filter((ota_topic_kind)i), b);
        assert_int_equal(ota_dialect_topic_parse(d, a, &k, pk, dn, NULL), OTA_OK);
        assert_int_equal(k, i);
    }
    ota_push_init(&p);
    p.id = 1700000000000ULL;
    p.has_version = 1;
    strcpy(p.version, "2.0.0");
    p.size = 4096;
    assert_int_equal(ota_push_build(&p, ja, sizeof(ja)), OTA_OK);
    assert_int_equal(ota_dialect_push_build(d, &p, OTA_VALUES_DOC, jb, sizeof(jb)), OTA_OK);
    assert_string_equal(ja, jb);
    assert_int_equal(ota_progress_build("7", 50, 0, "half", NULL, ja, sizeof(ja)), OTA_OK);
    assert_int_equal(ota_dialect_progress_build(d, "7", 50, 0, "half", NULL, jb, sizeof(jb)),
                     OTA_OK);
    assert_string_equal(ja, jb);
    assert_int_equal(ota_dialect_upgrade_succeeded(d, 100, NULL, "2.0.0"), 0);
    assert_int_equal(ota_dialect_upgrade_succeeded(d, 100, "2.0.0", "2.0.0"), 1);
}

static void thingspanel_topics(void **state)
{
    const ota_dialect *d = ota_dialect_find("thingspanel");
    char buf[OTA_MAX_TOPIC + 1], pk[OTA_MAX_NAME + 1], dn[OTA_MAX_NAME + 1];
    ota_topic_kind k;
    int alt = -1;
    (void)state;
    assert_int_equal(
        ota_dialect_topic_build(d, OTA_TOPIC_UPGRADE, 0, NULL, "dev7", buf, sizeof(buf)), OTA_OK);
    assert_string_equal(buf, "ota/devices/inform/dev7");
    assert_int_equal(
        ota_dialect_topic_build(d, OTA_TOPIC_UPGRADE, 1, NULL, "dev7", buf, sizeof(buf)), OTA_OK);
    assert_string_equal(buf, "ota/devices/infrom/dev7");
    assert_int_equal(ota_dialect_topic_parse(d, buf, &k, pk, dn, &alt), OTA_OK);
    assert_int_equal(k, OTA_TOPIC_UPGRADE);
    assert_int_equal(alt, 1);
    assert_string_equal(dn, "dev7");
    assert_int_equal(
        ota_dialect_topic_build(d, OTA_TOPIC_PROGRESS, 0, NULL, NULL, buf, sizeof(buf)), OTA_OK);
    assert_string_equal(buf, "ota/devices/progress");
    assert_int_equal(ota_dialect_topic_parse(d, buf, &k, pk, dn, &alt), OTA_OK);
    assert_int_equal(k, OTA_TOPIC_PROGRESS);
    assert_string_equal(dn, "");
    assert_int_equal(ota_dialect_topic_filter(d, OTA_TOPIC_UPGRADE, 0, buf, sizeof(buf)), OTA_OK);
    assert_string_equal(buf, "ota/devices/inform/+");
    /* No inform, no firmware/get, no block download in this dialect. */
    assert_false(ota_dialect_has(d, OTA_TOPIC_INFORM));
    assert_int_equal(ota_dialect_topic_build(d, OTA_TOPIC_INFORM, 0, "p", "d", buf, sizeof(buf)),
                     OTA_ERR_TOPIC);
    assert_int_equal(ota_dialect_topic_parse(d, "/ota/device/upgrade/p/d", &k, pk, dn, NULL),
                     OTA_ERR_TOPIC);
    assert_int_equal(
        ota_dialect_topic_build(d, OTA_TOPIC_UPGRADE, 0, NULL, "a/b", buf, sizeof(buf)),
        OTA_ERR_ARG);
}

/* The stock server's push: code and size strings, an empty sign meaning no signature. */
static void thingspanel_push_as_the_code_sends_it(void **state)
{
    const ota_dialect *d = ota_dialect_find("thingspanel");
    const char *v = tpv("push_code");
    ota_values values;
    ota_push p;
    (void)state;
    assert_int_equal(ota_dialect_push_parse(d, v, strlen(v), &p, &values), OTA_OK);
    assert_int_equal(values, OTA_VALUES_CODE);
    assert_int_equal(p.id, 482913576ULL);
    assert_string_equal(p.version, "2.0.0");
    assert_int_equal(p.size, 0);
    assert_true(d->size_zero_unknown);
    assert_string_equal(p.sign, "");
    assert_string_equal(p.sign_method, "MD5");
    assert_string_equal(p.module, "MCU");
    v = tpv("push_null_extdata");
    assert_int_equal(ota_dialect_push_parse(d, v, strlen(v), &p, NULL), OTA_OK);
    /* An Aliyun push (data, not params) is not a ThingsPanel push. */
    v = "{\"code\":\"1000\",\"data\":{\"version\":\"2\"},\"id\":1,\"message\":\"success\"}";
    assert_int_equal(ota_dialect_push_parse(d, v, strlen(v), &p, NULL), OTA_ERR_MISSING);
    v = "{\"id\":\"1\",\"code\":\"200\",\"params\":{\"size\":\"12x\"}}";
    assert_int_equal(ota_dialect_push_parse(d, v, strlen(v), &p, NULL), OTA_ERR_TYPE);
}

static void thingspanel_push_as_the_docs_show_it(void **state)
{
    const ota_dialect *d = ota_dialect_find("thingspanel");
    const char *v = tpv("push_doc");
    ota_values values;
    ota_push p;
    (void)state;
    assert_int_equal(ota_dialect_push_parse(d, v, strlen(v), &p, &values), OTA_OK);
    assert_int_equal(values, OTA_VALUES_DOC);
    assert_int_equal(p.size, 432945);
    assert_string_equal(p.sign, "9e107d9d372bb6826bd81d3542a419d6");
    assert_string_equal(p.sign_method, "Md5");
}

/* Built pushes parse back to the same package, in both value types. */
static void thingspanel_push_round_trips(void **state)
{
    const ota_dialect *d = ota_dialect_find("thingspanel");
    char buf[1024];
    ota_push p, q;
    ota_values v;
    (void)state;
    ota_push_init(&p);
    p.id = 482913576;
    p.has_version = 1;
    strcpy(p.version, "2.0.0");
    p.size = 0;
    p.has_url = 1;
    strcpy(p.url, "http://127.0.0.1:8080/files/ota/fw.bin");
    p.has_sign_method = 1;
    strcpy(p.sign_method, "MD5");
    p.has_module = 1;
    strcpy(p.module, "MCU");
    assert_int_equal(ota_dialect_push_build(d, &p, OTA_VALUES_CODE, buf, sizeof(buf)), OTA_OK);
    assert_string_equal(buf,
                        "{\"id\":\"482913576\",\"code\":\"200\",\"params\":{\"version\":\"2.0.0\","
                        "\"size\":\"0\",\"url\":\"http://127.0.0.1:8080/files/ota/fw.bin\","
                        "\"signMethod\":\"MD5\",\"sign\":\"\",\"module\":\"MCU\",\"extData\":{}}}");
    p.size = 432945;
    strcpy(p.sign, "9e107d9d372bb6826bd81d3542a419d6");
    assert_int_equal(ota_dialect_push_build(d, &p, OTA_VALUES_DOC, buf, sizeof(buf)), OTA_OK);
    assert_non_null(strstr(buf, "\"code\":200,"));
    assert_int_equal(ota_dialect_push_parse(d, buf, strlen(buf), &q, &v), OTA_OK);
    assert_int_equal(v, OTA_VALUES_DOC);
    assert_int_equal(q.size, 432945);
    assert_string_equal(q.sign, p.sign);
}

/* Progress is the bare object; a params wrapper carries no step. Success is step 100 alone. */
static void thingspanel_progress_is_bare(void **state)
{
    const ota_dialect *d = ota_dialect_find("thingspanel");
    const char *v = tpv("progress");
    char buf[256];
    ota_progress pr;
    (void)state;
    assert_int_equal(ota_dialect_progress_parse(d, v, strlen(v), &pr), OTA_OK);
    assert_int_equal(pr.step, 100);
    assert_true(pr.step_is_string);
    assert_int_equal(pr.id.kind, OTA_ID_ABSENT);
    assert_string_equal(pr.module, "MCU");
    v = tpv("progress_number");
    assert_int_equal(ota_dialect_progress_parse(d, v, strlen(v), &pr), OTA_OK);
    assert_int_equal(pr.step, 42);
    assert_false(pr.step_is_string);
    v = tpv("progress_wrapped");
    assert_int_equal(ota_dialect_progress_parse(d, v, strlen(v), &pr), OTA_ERR_MISSING);
    assert_int_equal(
        ota_dialect_progress_build(d, "9", -3, 0, "bad digest", "MCU", buf, sizeof(buf)), OTA_OK);
    assert_string_equal(buf, "{\"step\":\"-3\",\"desc\":\"bad digest\",\"module\":\"MCU\"}");
    assert_int_equal(ota_dialect_upgrade_succeeded(d, 100, NULL, "2.0.0"), 1);
    assert_int_equal(ota_dialect_upgrade_succeeded(d, 99, "2.0.0", "2.0.0"), 0);
}

static void option_names(void **state)
{
    ota_values v;
    ota_push_on p;
    (void)state;
    assert_int_equal(ota_values_from_name("code", &v), OTA_OK);
    assert_int_equal(v, OTA_VALUES_CODE);
    assert_int_equal(ota_push_on_from_name("infrom", &p), OTA_OK);
    assert_int_equal(p, OTA_PUSH_ON_ALT);
    assert_string_equal(ota_push_on_name(OTA_PUSH_ON_BOTH), "both");
    assert_int_equal(ota_push_on_from_name("inf", &p), OTA_ERR_ARG);
}

static int setup(void **state)
{
    (void)state;
    tp_vectors = vectors_load_file("thingspanel.json");
    return tp_vectors ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    cJSON_Delete(tp_vectors);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names_select_dialects),
        cmocka_unit_test(aliyun_is_byte_identical),
        cmocka_unit_test(thingspanel_topics),
        cmocka_unit_test(thingspanel_push_as_the_code_sends_it),
        cmocka_unit_test(thingspanel_push_as_the_docs_show_it),
        cmocka_unit_test(thingspanel_push_round_trips),
        cmocka_unit_test(thingspanel_progress_is_bare),
        cmocka_unit_test(option_names),
    };
    return cmocka_run_group_tests_name("dialect", tests, setup, teardown);
}
