// SPDX-License-Identifier: Apache-2.0
#include "hosts/host_service.hpp"

#include <patch_core/errors.hpp>

#include <algorithm>
#include <shared_mutex>

namespace patching::controller {

namespace {

template <class Map>
auto find_host(Map& hosts, const std::string& host) {
    return std::find_if(hosts.begin(), hosts.end(), [&](const auto& kv) {
        return kv.second.hostname == host || kv.second.ip == host || kv.first == host;
    });
}

}  // namespace

bool HostService::is_stale(const HostRecord& h, std::int64_t now) const {
    return !h.reported || now - h.last_seen > config_.agent_stale_seconds;
}

void HostService::check_install_locked(const std::string& host, std::int64_t now) const {
    auto it = find_host(state_.hosts, host);
    if (it == state_.hosts.end()) {
        throw NotFound("Unknown host specified: " + core::escape_unprintable(host));
    }
    const HostRecord& h = it->second;
    if (is_stale(h, now)) {
        throw Conflict("Host " + h.hostname + " is stale: its agent has not been heard from for " +
                       std::to_string(now - h.last_seen) +
                       " s. Check that patch-agent runs on it and can reach this controller.");
    }
    if (h.state == "installing") {
        throw Conflict("Host " + h.hostname + " is already installing; wait for it to finish");
    }
}

void HostService::check_install(const std::string& host) const {
    std::shared_lock data(state_.mutex);
    check_install_locked(host, clock_.now_seconds());
}

std::string HostService::start_install(const std::string& host, const std::string& request_id, bool force) {
    std::string hostname;
    {
        std::unique_lock data(state_.mutex);
        const std::int64_t now = clock_.now_seconds();
        check_install_locked(host, now);
        HostRecord& h = find_host(state_.hosts, host)->second;
        // As in the reference: when every applied patch installs in service, force is implied.
        core::protocol::InstallCommand command;
        command.request_id =
            request_id.empty() ? std::to_string(now) + "-" + std::to_string(++state_.install_request_seq) : request_id;
        command.force = force || state_.tracker.is_insvc_patching_allowed();
        h.install_request = command;
        h.install_acked = false;
        h.install_pending = true;
        h.install_status.clear();
        h.install_reason.clear();
        hostname = h.hostname;
    }
    notifier_.notify(hostname);
    return hostname;
}

OpReport HostService::install(const std::string& host, bool force) {
    const std::string hostname = start_install(host, "", force);
    OpReport report;
    report.add_info("Patch installation request sent to " + hostname + ".");
    return report;
}

void HostService::drop(const std::string& host) {
    std::lock_guard op(state_.operation_mutex);
    std::string key;
    {
        std::shared_lock data(state_.mutex);
        auto it = find_host(state_.hosts, host);
        if (it == state_.hosts.end()) {
            throw NotFound("Unknown host specified: " + core::escape_unprintable(host));
        }
        key = it->first;
    }
    store_.write([&](WriteTransaction& tx) { tx.delete_host(key); });
    std::unique_lock data(state_.mutex);
    state_.tracker.drop_host(key);
    state_.hosts.erase(key);
}

std::vector<HostView> HostService::list() const {
    std::shared_lock data(state_.mutex);
    const std::int64_t now = clock_.now_seconds();
    const bool insvc = state_.tracker.is_insvc_patching_allowed();
    std::vector<HostView> out;
    out.reserve(state_.hosts.size());
    for (const auto& [id, h] : state_.hosts) {
        HostView v;
        // A host not heard from since the start is never shown as current.
        const bool out_of_date = h.report.out_of_date || !h.reported;
        v.hostname = h.hostname;
        v.ip = h.ip;
        v.state = h.state;
        v.patch_current = !out_of_date;
        v.requires_reboot = h.reported && out_of_date && !insvc ? true : h.requires_reboot;
        v.allow_insvc_patching = insvc;
        v.secs_since_ack = now - h.last_seen;
        v.patch_failed = h.patch_failed;
        v.install_pending = h.install_pending;
        v.install_status = h.install_status;
        v.install_reject_reason = h.install_status == "rejected" ? h.install_reason : std::string();
        v.interim_state = state_.tracker.is_host_in_interim(id);
        v.stale = is_stale(h, now);
        v.report.host_id = h.report.host_id;
        v.report.out_of_date = h.report.out_of_date;
        v.report.sw_version = h.report.sw_version;
        v.report.nodetype = h.report.nodetype;
        v.report.subfunctions = h.report.subfunctions;
        v.agent = h.agent;
        v.report_revision = h.report_revision;
        out.push_back(std::move(v));
    }
    return out;
}

HostService::AgentNews HostService::agent_news(const std::string& hostname, const std::string& report_id) const {
    AgentNews news;
    news.op_counter = state_.published_counter.load();
    std::shared_lock data(state_.mutex);
    auto it = state_.hosts.find(hostname);
    if (it == state_.hosts.end() || !it->second.agent || it->second.agent->report_id != report_id) {
        news.send_report = true;
        return news;
    }
    if (!it->second.install_acked) {
        news.install = it->second.install_request;
    }
    return news;
}

void HostService::agent_seen(const std::string& hostname, const std::string& remote_ip) {
    std::unique_lock data(state_.mutex);
    auto it = state_.hosts.find(hostname);
    if (it != state_.hosts.end()) {
        it->second.last_seen = clock_.now_seconds();
        it->second.ip = remote_ip;
    }
}

void HostService::agent_report(const core::protocol::AgentReport& report, const std::string& remote_ip) {
    core::HostReport r;
    r.host_id = report.hostname;
    r.out_of_date = report.out_of_date;
    r.sw_version = report.sw_version;
    r.subfunctions = report.subfunctions;
    r.nodetype = report.nodetype;
    r.installed = report.installed;
    r.to_remove = report.to_remove;
    r.missing_pkgs = report.missing_pkgs;
    const std::int64_t now = clock_.now_seconds();
    const StoredHost identity{report.hostname, remote_ip, now, report.sw_version, report.nodetype,
                              report.personality, report.subfunctions};
    // The store learns of a host when it first reports after a start and when who it is
    // changes, not at every report: a report must not cost a synchronous commit.
    bool persist = true;
    {
        std::shared_lock data(state_.mutex);
        auto it = state_.hosts.find(report.hostname);
        if (it != state_.hosts.end() && it->second.reported) {
            StoredHost known = it->second.to_stored();
            known.last_seen = now;
            persist = !(known == identity);
        }
    }
    if (persist) {
        store_.write([&](WriteTransaction& tx) { tx.put_host(identity); });
    }
    auto shared = std::make_shared<const core::protocol::AgentReport>(report);
    std::unique_lock data(state_.mutex);
    HostRecord& h = state_.hosts[report.hostname];
    h.hostname = report.hostname;
    h.ip = remote_ip;
    h.last_seen = now;
    h.reported = true;
    h.state = report.state;
    h.patch_failed = report.patch_failed;
    h.requires_reboot = report.requires_reboot;
    h.personality = report.personality;
    if (report.install && h.install_request && report.install->request_id == h.install_request->request_id) {
        // The agent has the request; stop repeating it once it has an outcome.
        h.install_status = report.install->status;
        h.install_reason = report.install->reason;
        h.install_acked = true;
        if (report.install->status != "running") {
            h.install_last_id = h.install_request->request_id;
            h.install_request.reset();
            h.install_pending = false;
        }
    } else if (h.install_request && h.install_acked) {
        // The agent had started this request and now reports without it: it restarted in the
        // middle (crash, kill, reboot). The request is over; its report says how the host is.
        h.install_status = "failed";
        h.install_reason =
            report.failure_reason.empty() ? "the agent restarted during the install" : report.failure_reason;
        h.install_last_id = h.install_request->request_id;
        h.install_request.reset();
        h.install_pending = false;
    }
    h.report = r;
    h.agent = std::move(shared);
    ++h.report_revision;
    // A report computed before the last apply/remove was published says nothing about it: it
    // updates the host but does not take the host out of the interim lists.
    if (report.op_counter >= state_.interim_counter) {
        state_.tracker.host_reported(std::move(r));
    } else {
        state_.tracker.update_host(std::move(r));
    }
}

}  // namespace patching::controller
