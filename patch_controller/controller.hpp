// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "alarms/alarm_service.hpp"
#include "catalog/controller_state.hpp"
#include "catalog/import_service.hpp"
#include "catalog/lifecycle_service.hpp"
#include "catalog/patch_files.hpp"
#include "catalog/publishing.hpp"
#include "catalog/recovery.hpp"
#include "config.hpp"
#include "jobs/job_service.hpp"
#include "hosts/agent_notifier.hpp"
#include "hosts/host_admin.hpp"
#include "hosts/host_service.hpp"
#include "queries/query_service.hpp"
#include "releases/release_service.hpp"
#include "store/store.hpp"
#include "work/group_service.hpp"
#include "work/host_service_commands.hpp"
#include "work/work_engine.hpp"

#include <patch_core/clock.hpp>
#include <signing/trust_store.hpp>

#include <algorithm>

namespace patching::controller {

/// The controller's services wired to one model, store, publisher and clock: what the daemon
/// serves and what unit tests drive (with a MemoryStore, a recording publisher and a
/// ManualClock). The referenced objects must outlive it.
class Controller {
public:
    Controller(const ControllerConfig& config, Store& store, signing::TrustStore trust, RepoPublisher& publisher,
               const core::Clock& clock = core::process_clock())
        : config_(config), store_(store), trust_(std::move(trust)), files_(config),
          publishing_(config, state_, files_, publisher), imports_(config, state_, store, files_, publishing_, trust_, clock),
          lifecycle_(config, state_, store, files_, publishing_, notifier_), releases_(config, state_, store, files_, publishing_),
          hosts_(config, state_, store, notifier_, clock), queries_(state_),
          host_commands_(config, state_, hosts_, clock),
          work_(store, host_commands_, clock, work_policy(config)), groups_(store, host_commands_, clock),
          jobs_(store, work_, groups_, host_commands_, clock, job_policy(config)),
          alarms_(store, clock), admin_(config, store, hosts_, alarms_, clock) {
        hosts_.set_labels_listener(
            [this](const std::string& host, const std::map<std::string, std::string>& labels) {
                groups_.reported(host, labels);
            });
        host_commands_.attach(admin_, alarms_);
        admin_.set_busy_lookup([this](const std::string& host) { return work_.busy_with(host); });
    }
    Controller(const Controller&) = delete;
    Controller& operator=(const Controller&) = delete;

    /// See recover() in catalog/recovery.hpp. Call once before serving.
    void recover() {
        controller::recover(config_, state_, store_, files_, publishing_);
        work_.load();
        groups_.load();
        jobs_.load();
        alarms_.load();
        admin_.load();
    }

    ImportService& imports() { return imports_; }
    LifecycleService& lifecycle() { return lifecycle_; }
    ReleaseService& releases() { return releases_; }
    HostService& hosts() { return hosts_; }
    QueryService& queries() { return queries_; }
    WorkEngine& work() { return work_; }
    GroupService& groups() { return groups_; }
    JobService& jobs() { return jobs_; }
    AlarmService& alarms() { return alarms_; }
    HostAdmin& host_admin() { return admin_; }
    /// Where services send "agents have news"; the daemon connects AgentApi::notify.
    AgentNotifier& notifier() { return notifier_; }
    Store& store() { return store_; }

private:
    static WorkPolicy work_policy(const ControllerConfig& c) {
        WorkPolicy p;
        p.retention_seconds = std::int64_t{c.work_retention_days} * 86400;
        p.install_timeout_seconds = c.work_install_timeout_seconds;
        // After a start every host is "not yet reported"; agents retry within seconds.
        p.resume_grace_seconds = std::max(c.agent_stale_seconds, 60);
        p.flow.reboot_timeout_seconds = c.host_reboot_timeout_seconds;
        p.flow.command_timeout_seconds = c.work_install_timeout_seconds;
        p.flow.hook_retries = c.host_hook_retries;
        p.flow.hook_retry_seconds = c.host_hook_retry_seconds;
        p.flow.verify_timeout_seconds = c.host_verify_timeout_seconds;
        return p;
    }

    static JobPolicy job_policy(const ControllerConfig& c) {
        JobPolicy p;
        p.misfire_grace_seconds = c.job_misfire_grace_seconds;
        p.start_hold_seconds = c.agent_stale_seconds;  // agents report again within it
        return p;
    }

    const ControllerConfig& config_;
    Store& store_;
    signing::TrustStore trust_;
    ControllerState state_;
    PatchFiles files_;
    Publishing publishing_;
    AgentNotifier notifier_;
    ImportService imports_;
    LifecycleService lifecycle_;
    ReleaseService releases_;
    HostService hosts_;
    QueryService queries_;
    HostServiceCommands host_commands_;
    WorkEngine work_;
    GroupService groups_;
    JobService jobs_;
    AlarmService alarms_;
    HostAdmin admin_;
};

}  // namespace patching::controller
