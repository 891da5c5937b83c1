/* The table of time bounds and the failure step names: complete, found by name, judged values sane.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "otaproto/base.h"
#include "otaproto/limits.h"

static void every_bound_is_named_once(void **state)
{
    (void)state;
    for (int i = 0; i < OTA_BOUND__COUNT; i++) {
        const ota_bound *b = ota_bound_at((ota_bound_id)i);
        ota_bound_id back;
        assert_non_null(b);
        assert_non_null(b->name);
        assert_non_null(b->what);
        assert_true(b->seconds > 0);
        assert_true(b->judged > 0 && b->judged <= b->seconds);
        assert_int_equal(ota_bound_find(b->name, &back), OTA_OK);
        assert_int_equal(back, i);
    }
    assert_null(ota_bound_at(OTA_BOUND__COUNT));
    assert_true(ota_bound_s(OTA_BOUND__COUNT) == 0);
}

static void rule_bounds_match_judging(void **state)
{
    ota_bound_id id;
    (void)state;
    assert_true(ota_bound_s(OTA_BOUND_INFORM) == 10);
    assert_true(ota_bound_s(OTA_BOUND_FAILURE) == 60);
    assert_true(ota_bound_s(OTA_BOUND_FINAL) == 60);
    assert_true(ota_bound_s(OTA_BOUND_PROGRESS_GAP) == 3);
    assert_int_equal(ota_bound_find("FAIL-2", &id), OTA_OK);
    assert_int_equal(id, OTA_BOUND_FAILURE);
    assert_int_equal(ota_bound_find("NO-SUCH", &id), OTA_ERR_ARG);
    assert_int_equal(ota_bound_find(NULL, &id), OTA_ERR_ARG);
}

static void step_names(void **state)
{
    (void)state;
    assert_string_equal(ota_step_name(OTA_STEP_UPGRADE_FAILED), "upgrade failed");
    assert_string_equal(ota_step_name(-2), "download failed");
    assert_string_equal(ota_step_name(-3), "verify failed");
    assert_string_equal(ota_step_name(OTA_STEP_FLASH_FAILED), "flash failed");
    assert_null(ota_step_name(0));
    assert_null(ota_step_name(-5));
    assert_null(ota_step_name(100));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_bound_is_named_once),
        cmocka_unit_test(rule_bounds_match_judging),
        cmocka_unit_test(step_names),
    };
    return cmocka_run_group_tests_name("limits", tests, NULL, NULL);
}
