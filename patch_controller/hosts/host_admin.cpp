// SPDX-License-Identifier: Apache-2.0
#include "hosts/host_admin.hpp"

#include <algorithm>

namespace patching::controller {

namespace proto = core::protocol;

void HostAdmin::load() {
    std::lock_guard lock(mutex_);
    admin_.clear();
    for (auto& a : store_.load_host_admin()) {
        admin_[a.hostname] = std::move(a);
    }
    started_at_ = clock_.now_seconds();
}

StoredHostAdmin HostAdmin::admin(const std::string& hostname) const {
    std::lock_guard lock(mutex_);
    auto it = admin_.find(hostname);
    if (it != admin_.end()) {
        return it->second;
    }
    StoredHostAdmin a;
    a.hostname = hostname;
    return a;
}

void HostAdmin::set(const StoredHostAdmin& a) {
    std::lock_guard lock(mutex_);
    store_.write([&](WriteTransaction& tx) { tx.put_host_admin(a); });
    admin_[a.hostname] = a;
}

HostLifecycleView HostAdmin::view_of(const HostView& v, std::int64_t /*now*/) const {
    HostLifecycleView out;
    out.host = v;
    out.admin = admin(v.hostname);
    out.work_request = busy_with_ ? busy_with_(v.hostname) : 0;
    out.boot_id = v.boot_id;
    bool rebooting = false;
    bool lock_in_flight = false;
    for (const auto& c : hosts_.queue(v.hostname)) {
        const bool handed_out = c.status != proto::CommandStatus::QUEUED;
        rebooting = rebooting || (c.kind == proto::CommandKind::REBOOT && handed_out);
        lock_in_flight = lock_in_flight || c.kind == proto::CommandKind::LOCK || c.kind == proto::CommandKind::UNLOCK;
    }
    if (v.agent) {
        out.flag_locked = v.agent->locked;
        out.health = v.agent->health;
        out.health_output = v.agent->health_output;
        // While a lock or an unlock is on its way, the flag is allowed to lag behind.
        out.lock_drift = !lock_in_flight && out.flag_locked != out.admin.locked;
    }
    if (rebooting) {
        out.availability = "rebooting";
    } else if (v.stale) {
        out.availability = "offline";
    } else if (v.patch_failed) {
        out.availability = "failed";
    } else if (out.health == "failing") {
        out.availability = "degraded";
    } else {
        out.availability = "available";
    }
    return out;
}

std::vector<HostLifecycleView> HostAdmin::list() const {
    const std::int64_t now = clock_.now_seconds();
    std::vector<HostLifecycleView> out;
    for (const auto& v : hosts_.list()) {
        out.push_back(view_of(v, now));
    }
    return out;
}

HostLifecycleView HostAdmin::show(const std::string& host) const {
    const std::int64_t now = clock_.now_seconds();
    for (const auto& v : hosts_.list()) {
        if (v.hostname == host || v.ip == host) {
            return view_of(v, now);
        }
    }
    throw NotFound("Unknown host specified: " + core::escape_unprintable(host) +
                   " (sw-manager host-list shows the hosts)");
}

void HostAdmin::audit() {
    const std::int64_t now = clock_.now_seconds();
    // After a start every host is "not reported yet": give agents their stale period first.
    const bool settled = now - started_at_ > config_.agent_stale_seconds;
    for (const auto& v : list()) {
        const std::string& name = v.host.hostname;
        const std::string entity = host_entity(name);
        if (settled) {
            alarms_.ensure(ALARM_HOST_STALE, entity, v.host.stale && v.availability != "rebooting",
                           "patch-agent on host " + name +
                               " is silent: check that it runs and can reach the controller");
        }
        if (v.host.agent) {
            alarms_.ensure(ALARM_INSTALL_FAILED, entity, v.host.patch_failed,
                           "the last install on host " + name + " failed: " + v.host.agent->failure_reason);
            alarms_.ensure(ALARM_LOCK_DRIFT, entity, v.lock_drift,
                           "host " + name + ": its lock flag says " + (v.flag_locked ? "locked" : "unlocked") +
                               " but the controller's administrative state is " +
                               (v.admin.locked ? "locked" : "unlocked") +
                               "; the flag was changed outside the controller: use sw-manager host-lock or "
                               "host-unlock");
            alarms_.ensure(ALARM_HEALTH_FAILING, entity, v.health == "failing",
                           "the health hook of host " + name + " fails: " + v.health_output.substr(0, 512));
        }
        alarms_.ensure(ALARM_HOST_LOCKED, entity, v.admin.locked,
                       "host " + name + " is locked by " + v.admin.by + ": " + v.admin.reason);
    }
}

}  // namespace patching::controller
