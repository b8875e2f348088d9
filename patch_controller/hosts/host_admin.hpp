// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "alarms/alarm_service.hpp"
#include "config.hpp"
#include "hosts/host_service.hpp"
#include "store/store.hpp"

#include <patch_core/clock.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace patching::controller {

/// A host as `sw-manager host-list` and GET /v1/hosts show it: its administrative state (owned
/// by the controller), its derived availability and what its agent says.
struct HostLifecycleView {
    HostView host;
    StoredHostAdmin admin;     ///< hostname set; unlocked with no `by` if never locked.
    std::string availability;  ///< available, degraded, offline, rebooting, failed
    bool flag_locked = false;  ///< The host's lock flag, as its agent last reported it.
    bool lock_drift = false;   ///< The flag disagrees with the administrative state.
    std::string health;        ///< "" (no health hook), "ok", "failing"
    std::string health_output;
    std::string boot_id;
    std::int64_t work_request = 0;  ///< The unfinished work request child holding the host (0: none).
};

/// The administrative state of hosts (unlocked / locked, with who, why, when), persisted, and
/// what derives from it: availability, lock drift and the controller's own host alarms
/// (stale, install failed, lock drift, locked, health failing), kept in step by audit().
/// The lock itself is a work request (HOST_LOCK, work/host_flow.hpp), which calls set() when
/// the host's agent has written the flag. Thread-safe.
class HostAdmin {
public:
    /// `busy_with(host)` names the unfinished work request child holding a host (0: none).
    HostAdmin(const ControllerConfig& config, Store& store, HostService& hosts, AlarmService& alarms,
              const core::Clock& clock)
        : config_(config), store_(store), hosts_(hosts), alarms_(alarms), clock_(clock) {}

    void load();
    void set_busy_lookup(std::function<std::int64_t(const std::string&)> busy_with) { busy_with_ = std::move(busy_with); }

    /// The administrative state of `hostname` (unlocked if never changed).
    StoredHostAdmin admin(const std::string& hostname) const;
    /// Records a new administrative state (one transaction).
    void set(const StoredHostAdmin& admin);

    std::vector<HostLifecycleView> list() const;
    /// One host, by name or address. @throws NotFound.
    HostLifecycleView show(const std::string& host) const;

    /// Raises and clears the controller's own host alarms from the host table.
    void audit();

private:
    HostLifecycleView view_of(const HostView& v, std::int64_t now) const;

    const ControllerConfig& config_;
    Store& store_;
    HostService& hosts_;
    AlarmService& alarms_;
    const core::Clock& clock_;
    std::function<std::int64_t(const std::string&)> busy_with_;
    mutable std::mutex mutex_;
    std::map<std::string, StoredHostAdmin> admin_;
    std::int64_t started_at_ = 0;
};

}  // namespace patching::controller
