/*
 * libotaproto: the Aliyun OTA wire format as pure functions, and the one
 * monotonic clock with its deadline waits (clock.h). This umbrella header
 * includes every module; include a single one where that is enough.
 */
#ifndef OTAPROTO_OTAPROTO_H
#define OTAPROTO_OTAPROTO_H

#include "otaproto/base.h"
#include "otaproto/clock.h"
#include "otaproto/crypto.h"
#include "otaproto/dialect.h"
#include "otaproto/frame.h"
#include "otaproto/limits.h"
#include "otaproto/msg.h"
#include "otaproto/topic.h"
#include "otaproto/trace.h"

#endif
