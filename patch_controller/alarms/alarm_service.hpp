// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "alarms/alarm_filter.hpp"
#include "service/errors.hpp"
#include "store/store.hpp"

#include <patch_core/clock.hpp>

#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace patching::controller {

// The controller's own alarms (README "Host lifecycle", alarm ids). Entities: "host=<name>".
inline constexpr const char* ALARM_HOST_LOCKED = "200.001";     ///< warning: the host is locked (always ignored).
inline constexpr const char* ALARM_HOST_STALE = "900.201";      ///< major: its agent is silent.
inline constexpr const char* ALARM_INSTALL_FAILED = "900.202";  ///< major: the last install failed.
inline constexpr const char* ALARM_HOOK_FAILED = "900.203";     ///< major: a lifecycle hook failed.
inline constexpr const char* ALARM_REBOOT_TIMEOUT = "900.204";  ///< critical: a host did not come back.
inline constexpr const char* ALARM_LOCK_DRIFT = "900.205";      ///< major: its lock flag disagrees.
inline constexpr const char* ALARM_HEALTH_FAILING = "900.206";  ///< minor: its health hook fails.

/// "host=<name>": the entity of a host's alarms.
std::string host_entity(const std::string& hostname);

/// The alarm list (id, severity, entity, reason, raised at, management-affecting), persisted.
/// Monitoring raises and clears alarms through the API; the controller raises and clears its own
/// (ensure()). One alarm per (alarm_id, entity): raising it again updates it. Thread-safe.
class AlarmService {
public:
    AlarmService(Store& store, const core::Clock& clock) : store_(store), clock_(clock) {}

    /// Loads the raised alarms (once, at start).
    void load();
    /// Raises (or updates) an alarm from the API: alarm_id "NNN.NNN", severity critical, major,
    /// minor or warning, an entity ("system" or "kind=name"), a reason.
    /// @throws InvalidField naming the field.
    StoredAlarm raise(StoredAlarm alarm);
    /// Clears an alarm. @throws NotFound if it is not raised.
    void clear(const std::string& alarm_id, const std::string& entity);
    /// Every raised alarm, oldest first.
    std::vector<StoredAlarm> list() const;
    /// The alarms on `hostname`'s entity or system-wide (any entity not naming a host).
    std::vector<StoredAlarm> affecting_host(const std::string& hostname) const;

    /// The controller's own alarm `alarm_id` on `entity`: raised with `reason` when `raised`,
    /// cleared otherwise. Writes only on a change. Severity and management-affecting come from
    /// the table of own alarms.
    void ensure(const std::string& alarm_id, const std::string& entity, bool raised, const std::string& reason = "");

private:
    Store& store_;
    const core::Clock& clock_;
    mutable std::mutex mutex_;
    std::map<std::pair<std::string, std::string>, StoredAlarm> alarms_;
};

/// The gate of full-flow installs: refuses (Conflict naming the alarms, their entities and
/// reasons) when a management-affecting alarm (blocking_alarms, RELAXED) is raised on one of
/// `hosts` or system-wide; alarm ids in `ignore` do not block. `hosts` are canonical host names
/// (an address misses the host=<name> alarms).
void refuse_if_alarmed(const AlarmService& alarms, const std::vector<std::string>& hosts,
                       const std::vector<std::string>& ignore = {});

}  // namespace patching::controller
