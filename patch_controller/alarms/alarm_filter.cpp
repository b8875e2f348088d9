// SPDX-License-Identifier: Apache-2.0
#include "alarms/alarm_filter.hpp"

#include <algorithm>

namespace patching::controller {

const std::vector<std::string>& always_ignored_alarms() {
    static const std::vector<std::string> ids = {"900.001", "900.005", "900.101", "200.001",
                                                 "700.004", "280.002", "100.119", "900.701"};
    return ids;
}

std::vector<StoredAlarm> blocking_alarms(const std::vector<StoredAlarm>& alarms, AlarmRestrictions restrictions,
                                         const std::vector<std::string>& ignore, AlarmCheck check, std::int64_t now) {
    auto listed = [](const std::vector<std::string>& ids, const std::string& id) {
        return std::find(ids.begin(), ids.end(), id) != ids.end();
    };
    std::vector<StoredAlarm> out;
    for (const auto& a : alarms) {
        if (listed(always_ignored_alarms(), a.alarm_id) || listed(ignore, a.alarm_id)) {
            continue;
        }
        if (restrictions == AlarmRestrictions::RELAXED && !a.mgmt_affecting) {
            continue;
        }
        if (a.alarm_id == "750.006" && (check == AlarmCheck::QUERY || now - a.raised_at > 1800)) {
            continue;
        }
        out.push_back(a);
    }
    return out;
}

std::string alarm_id_list(const std::vector<StoredAlarm>& alarms) {
    std::string out = "[";
    for (const auto& a : alarms) {
        out += (out.size() > 1 ? ", '" : "'") + a.alarm_id + "'";
    }
    return out + "]";
}

}  // namespace patching::controller
