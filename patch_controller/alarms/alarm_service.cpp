// SPDX-License-Identifier: Apache-2.0
#include "alarms/alarm_service.hpp"

#include <algorithm>
#include <cctype>

namespace patching::controller {

namespace {

struct OwnAlarm {
    const char* id;
    const char* severity;
    bool mgmt_affecting;
};

constexpr OwnAlarm OWN_ALARMS[] = {
    {ALARM_HOST_LOCKED, "warning", false},   {ALARM_HOST_STALE, "major", true},
    {ALARM_INSTALL_FAILED, "major", true},   {ALARM_HOOK_FAILED, "major", true},
    {ALARM_REBOOT_TIMEOUT, "critical", true}, {ALARM_LOCK_DRIFT, "major", true},
    {ALARM_HEALTH_FAILING, "minor", false},
};

bool valid_alarm_id(const std::string& id) {
    if (id.size() != 7 || id[3] != '.') {
        return false;
    }
    for (std::size_t i = 0; i < id.size(); ++i) {
        if (i != 3 && std::isdigit(static_cast<unsigned char>(id[i])) == 0) {
            return false;
        }
    }
    return true;
}

bool printable(const std::string& text) {
    return std::none_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; });
}

}  // namespace

std::string host_entity(const std::string& hostname) { return "host=" + hostname; }

void AlarmService::load() {
    std::lock_guard lock(mutex_);
    alarms_.clear();
    for (auto& a : store_.load_alarms()) {
        alarms_[{a.alarm_id, a.entity}] = std::move(a);
    }
}

StoredAlarm AlarmService::raise(StoredAlarm a) {
    if (!valid_alarm_id(a.alarm_id)) {
        throw InvalidField("alarm_id", "alarm_id '" + core::escape_unprintable(a.alarm_id) +
                                           "' is not an alarm id of the form NNN.NNN (e.g. 100.101)");
    }
    if (a.severity != "critical" && a.severity != "major" && a.severity != "minor" && a.severity != "warning") {
        throw InvalidField("severity", "severity '" + core::escape_unprintable(a.severity) +
                                           "' is not one of critical, major, minor, warning");
    }
    if (a.entity.empty() || a.entity.size() > 255 || !printable(a.entity) ||
        (a.entity != "system" && a.entity.find('=') == std::string::npos)) {
        throw InvalidField("entity", "entity '" + core::escape_unprintable(a.entity) +
                                         "' must be \"system\" or kind=name (e.g. host=controller-0), at most 255 "
                                         "characters");
    }
    if (a.reason.empty() || a.reason.size() > 4096 || !printable(a.reason)) {
        throw InvalidField("reason", "reason must be 1 to 4096 printable characters");
    }
    std::lock_guard lock(mutex_);
    auto it = alarms_.find({a.alarm_id, a.entity});
    a.raised_at = it != alarms_.end() ? it->second.raised_at : clock_.now_seconds();
    store_.write([&](WriteTransaction& tx) { tx.put_alarm(a); });
    alarms_[{a.alarm_id, a.entity}] = a;
    return a;
}

void AlarmService::clear(const std::string& alarm_id, const std::string& entity) {
    std::lock_guard lock(mutex_);
    if (!alarms_.contains({alarm_id, entity})) {
        throw NotFound("no alarm " + core::escape_unprintable(alarm_id) + " is raised on entity '" +
                       core::escape_unprintable(entity) + "' (sw-manager alarm list shows them)");
    }
    store_.write([&](WriteTransaction& tx) { tx.delete_alarm(alarm_id, entity); });
    alarms_.erase({alarm_id, entity});
}

std::vector<StoredAlarm> AlarmService::list() const {
    std::lock_guard lock(mutex_);
    std::vector<StoredAlarm> out;
    for (const auto& [key, a] : alarms_) {
        out.push_back(a);
    }
    std::stable_sort(out.begin(), out.end(), [](const auto& x, const auto& y) { return x.raised_at < y.raised_at; });
    return out;
}

std::vector<StoredAlarm> AlarmService::affecting_host(const std::string& hostname) const {
    std::vector<StoredAlarm> out;
    for (auto& a : list()) {
        if (a.entity == host_entity(hostname) || a.entity.rfind("host=", 0) != 0) {
            out.push_back(std::move(a));
        }
    }
    return out;
}

void AlarmService::ensure(const std::string& alarm_id, const std::string& entity, bool raised,
                          const std::string& reason) {
    std::lock_guard lock(mutex_);
    auto it = alarms_.find({alarm_id, entity});
    if (!raised) {
        if (it != alarms_.end()) {
            store_.write([&](WriteTransaction& tx) { tx.delete_alarm(alarm_id, entity); });
            alarms_.erase(it);
        }
        return;
    }
    if (it != alarms_.end() && it->second.reason == reason) {
        return;
    }
    StoredAlarm a{alarm_id, entity, "major", reason, clock_.now_seconds(), true, "controller"};
    for (const auto& own : OWN_ALARMS) {
        if (alarm_id == own.id) {
            a.severity = own.severity;
            a.mgmt_affecting = own.mgmt_affecting;
        }
    }
    if (it != alarms_.end()) {
        a.raised_at = it->second.raised_at;
    }
    store_.write([&](WriteTransaction& tx) { tx.put_alarm(a); });
    alarms_[{alarm_id, entity}] = a;
}

void refuse_if_alarmed(const AlarmService& alarms, const std::vector<std::string>& hosts,
                       const std::vector<std::string>& ignore) {
    std::vector<StoredAlarm> raised;
    for (const auto& host : hosts) {
        for (auto& a : alarms.affecting_host(host)) {
            if (std::find(raised.begin(), raised.end(), a) == raised.end()) {
                raised.push_back(std::move(a));
            }
        }
    }
    const auto blocking = blocking_alarms(raised, AlarmRestrictions::RELAXED, ignore);
    if (blocking.empty()) {
        return;
    }
    std::string detail;
    for (const auto& a : blocking) {
        detail += "; " + a.alarm_id + " " + a.severity + " on " + a.entity + ": " + a.reason;
    }
    throw Conflict("alarms " + alarm_id_list(blocking) +
                   " are present (management-affecting, on a target host or system-wide)" + detail +
                   ". Clear them (sw-manager alarm clear ID --entity E) before a full-flow install");
}

}  // namespace patching::controller
