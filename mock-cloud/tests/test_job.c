/* The job state machine, as a pure table: the real cloud's success rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mock_priv.h"

static void progress_100_alone_is_not_success(void **state)
{
    mc_job_action a;
    mc_job_state s = MC_JOB_PENDING;
    (void)state;
    s = mc_job_next(s, MC_EV_PROGRESS, &a);
    assert_int_equal(s, MC_JOB_UPGRADING);
    assert_int_equal(a, MC_ACT_NOTE_START);
    s = mc_job_next(s, MC_EV_PROGRESS, &a);
    assert_int_equal(s, MC_JOB_UPGRADING);
    s = mc_job_next(s, MC_EV_INFORM_OTHER, &a);
    assert_int_equal(s, MC_JOB_UPGRADING);
    s = mc_job_next(s, MC_EV_INFORM_TARGET, &a);
    assert_int_equal(s, MC_JOB_SUCCEEDED);
    assert_int_equal(a, MC_ACT_RECORD_SUCCESS);
}

static void negative_step_fails_and_terminal_states_stay(void **state)
{
    mc_job_action a;
    (void)state;
    assert_int_equal(mc_job_next(MC_JOB_PENDING, MC_EV_FAIL_STEP, &a), MC_JOB_FAILED);
    assert_int_equal(a, MC_ACT_RECORD_FAIL);
    assert_int_equal(mc_job_next(MC_JOB_FAILED, MC_EV_INFORM_TARGET, &a), MC_JOB_FAILED);
    assert_int_equal(a, MC_ACT_NONE);
    assert_int_equal(mc_job_next(MC_JOB_SUCCEEDED, MC_EV_FAIL_STEP, &a), MC_JOB_SUCCEEDED);
    assert_int_equal(mc_job_next(MC_JOB_UPGRADING, MC_EV_SUPERSEDE, &a), MC_JOB_CANCELED);
    assert_int_equal(mc_job_next(MC_JOB_CANCELED, MC_EV_PROGRESS, &a), MC_JOB_CANCELED);
    assert_int_equal(mc_job_next(MC_JOB_PENDING, MC_EV__COUNT, &a), MC_JOB_PENDING);
}

static void fault_countdown(void **state)
{
    mc_fault f = {.kind = MC_FAULT_HTTP_STATUS, .value = 404, .skip = 1, .count = 2};
    int seen = 0;
    (void)state;
    assert_false(mc_fault_fires(&f, &seen));
    assert_true(mc_fault_fires(&f, &seen));
    assert_true(mc_fault_fires(&f, &seen));
    assert_false(mc_fault_fires(&f, &seen));
    f.count = -1;
    assert_true(mc_fault_fires(&f, &seen));
    assert_string_equal(mc_job_state_name(MC_JOB_FAILED), "FAILED");
    assert_string_equal(mc_fault_kind_name(MC_FAULT_HTTP_STATUS), "http-status");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(progress_100_alone_is_not_success),
        cmocka_unit_test(negative_step_fails_and_terminal_states_stay),
        cmocka_unit_test(fault_countdown),
    };
    return cmocka_run_group_tests_name("job", tests, NULL, NULL);
}
