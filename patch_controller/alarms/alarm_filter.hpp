// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "store/store.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace patching::controller {

/// How strictly raised alarms block orchestration (stx-orchestration-spec §8).
enum class AlarmRestrictions {
    STRICT,   ///< Every alarm blocks, except the ignored ones.
    RELAXED,  ///< As STRICT, and alarms that are not management-affecting never block.
};

/// Where the alarms are checked: a query at the start of a stage, or a wait for them to clear
/// (which treats the stale 750.006 differently, §8 "stale-alarm rule").
enum class AlarmCheck { QUERY, WAIT_CLEAR };

/// The alarm ids the patch strategy always ignores (§8): patch in progress, upgrade in
/// progress, auto-apply in progress, host locked, VM stopped, subcloud out of sync, PTP SyncE,
/// node tainted.
const std::vector<std::string>& always_ignored_alarms();

/// The alarms that block orchestration: `alarms` minus the always-ignored ids, minus `ignore`
/// (the caller's list, e.g. the configuration's ignore_alarms), minus the alarms that are not
/// management-affecting under RELAXED. 750.006 (application reapply pending) never blocks a
/// QUERY and blocks a WAIT_CLEAR until it is older than 1800 s (`now` - raised_at). Order kept.
std::vector<StoredAlarm> blocking_alarms(const std::vector<StoredAlarm>& alarms, AlarmRestrictions restrictions,
                                         const std::vector<std::string>& ignore, AlarmCheck check = AlarmCheck::QUERY,
                                         std::int64_t now = 0);

/// "['900.205', '200.011']" as StarlingX names alarms in its reasons.
std::string alarm_id_list(const std::vector<StoredAlarm>& alarms);

}  // namespace patching::controller
