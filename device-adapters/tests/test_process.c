/*
 * The process adapter with real processes: a small shell device that speaks
 * the control channel, exits 0 to reboot, and crashes on request.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "otadut/dut.h"
#include "otaproto/clock.h"

#define SHELL_DEVICE                                                                               \
    "echo \"!READY fw=$FW caps=reset\"; echo \"booted with $FW\"; "                                \
    "while read seq verb rest; do case $verb in "                                                  \
    "PING) echo \"$seq OK\";; "                                                                    \
    "STATUS) echo \"$seq OK version=$FW state=idle\";; "                                           \
    "REBOOT) echo \"$seq OK\"; exit 0;; "                                                          \
    "CRASH) echo 'about to crash'; kill -SEGV $$;; "                                               \
    "FAIL) exit 3;; "                                                                              \
    "*) echo \"$seq ERR unknown-verb\";; esac; done"

typedef struct {
    pthread_mutex_t lock;
    int counts[DUT_EV__COUNT];
    char last_crash[8192];
    char last_log[256];
} seen;

static void on_event(void *ud, dut_event_kind k, const char *text)
{
    seen *s = ud;
    pthread_mutex_lock(&s->lock);
    s->counts[k]++;
    if (k == DUT_EV_CRASH)
        snprintf(s->last_crash, sizeof(s->last_crash), "%s", text);
    if (k == DUT_EV_LOG)
        snprintf(s->last_log, sizeof(s->last_log), "%s", text);
    pthread_mutex_unlock(&s->lock);
}

/* Wait (bounded) until the event kind was seen n times. */
static int wait_count(seen *s, dut_event_kind k, int n)
{
    for (int i = 0; i < 500; i++) {
        int c;
        pthread_mutex_lock(&s->lock);
        c = s->counts[k];
        pthread_mutex_unlock(&s->lock);
        if (c >= n)
            return 1;
        ota_sleep(0.01);
    }
    return 0;
}

static dut_adapter *open_shell(seen *s)
{
    const char *env[] = {"FW=1.2.3", NULL};
    dut_process_config cfg = {SHELL_DEVICE, env};
    dut_callbacks cb = {on_event, s};
    dut_adapter *a = NULL;

    memset(s, 0, sizeof(*s));
    pthread_mutex_init(&s->lock, NULL);
    assert_int_equal(dut_process_open(&cfg, &cb, &a), DUT_OK);
    assert_true(wait_count(s, DUT_EV_READY, 1));
    return a;
}

static void commands_get_replies(void **state)
{
    seen s;
    dut_adapter *a = open_shell(&s);
    char reply[128];
    (void)state;

    assert_true(dut_has_channel(a));
    assert_true(dut_has_cap(a, "reset"));
    assert_false(dut_has_cap(a, "inject-flash"));
    assert_int_equal(dut_command(a, "PING", reply, sizeof(reply), 2), DUT_OK);
    assert_int_equal(dut_command(a, "STATUS", reply, sizeof(reply), 2), DUT_OK);
    assert_string_equal(reply, "version=1.2.3 state=idle");
    assert_int_equal(dut_command(a, "NOPE", reply, sizeof(reply), 2), DUT_ERR_REFUSED);
    assert_true(wait_count(&s, DUT_EV_LOG, 1));
    assert_string_equal(s.last_log, "booted with 1.2.3");
    dut_close(a);
}

static void exit_zero_is_a_reboot(void **state)
{
    seen s;
    dut_adapter *a = open_shell(&s);
    (void)state;

    dut_command(a, "REBOOT", NULL, 0, 2);
    assert_true(wait_count(&s, DUT_EV_EXIT, 1));
    assert_true(wait_count(&s, DUT_EV_READY, 2));
    assert_int_equal(s.counts[DUT_EV_CRASH], 0);
    assert_int_equal(dut_starts(a), 2);
    dut_close(a);
}

static void crashes_are_reported_with_status_and_log(void **state)
{
    seen s;
    dut_adapter *a = open_shell(&s);
    char log[1024];
    (void)state;

    assert_int_equal(dut_command(a, "CRASH", NULL, 0, 2), DUT_ERR_CLOSED);
    assert_true(wait_count(&s, DUT_EV_CRASH, 1));
    assert_non_null(strstr(s.last_crash, "signal 11"));
    dut_last_log(a, log, sizeof(log));
    assert_non_null(strstr(log, "about to crash"));
    assert_true(wait_count(&s, DUT_EV_READY, 2));
    dut_command(a, "FAIL", NULL, 0, 2);
    assert_true(wait_count(&s, DUT_EV_CRASH, 2));
    assert_non_null(strstr(s.last_crash, "exit status 3; last log lines:"));
    dut_close(a);
}

static void restart_is_not_a_crash(void **state)
{
    seen s;
    dut_adapter *a = open_shell(&s);
    (void)state;

    dut_restart(a);
    assert_true(wait_count(&s, DUT_EV_KILLED, 1));
    assert_true(wait_count(&s, DUT_EV_READY, 2));
    assert_int_equal(s.counts[DUT_EV_CRASH], 0);
    dut_close(a);
}

static void silent_device_times_out(void **state)
{
    const char *env[] = {NULL};
    dut_process_config cfg = {"echo '!READY fw=1'; sleep 30", env};
    seen s = {0};
    dut_callbacks cb = {on_event, &s};
    dut_adapter *a = NULL;
    (void)state;

    pthread_mutex_init(&s.lock, NULL);
    assert_int_equal(dut_process_open(&cfg, &cb, &a), DUT_OK);
    assert_true(wait_count(&s, DUT_EV_READY, 1));
    assert_int_equal(dut_command(a, "PING", NULL, 0, 0.2), DUT_ERR_TIMEOUT);
    dut_close(a);
    cfg.cmd = "";
    assert_int_equal(dut_process_open(&cfg, &cb, &a), DUT_ERR_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(commands_get_replies),
        cmocka_unit_test(exit_zero_is_a_reboot),
        cmocka_unit_test(crashes_are_reported_with_status_and_log),
        cmocka_unit_test(restart_is_not_a_crash),
        cmocka_unit_test(silent_device_times_out),
    };
    return cmocka_run_group_tests_name("process", tests, NULL, NULL);
}
