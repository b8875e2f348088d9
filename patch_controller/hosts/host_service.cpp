// SPDX-License-Identifier: Apache-2.0
#include "hosts/host_service.hpp"

#include <patch_core/errors.hpp>

#include <signing/mac.hpp>

#include <algorithm>
#include <cctype>
#include <shared_mutex>

namespace patching::controller {

namespace proto = core::protocol;

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

void HostService::drop(const std::string& host) {
    std::lock_guard op(state_.operation_mutex);
    std::lock_guard commands(command_mutex_);
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
    auto it = state_.hosts.find(key);
    if (it != state_.hosts.end()) {
        for (const auto* ids : {&it->second.queue, &it->second.history}) {
            for (const auto& id : *ids) {
                state_.commands.erase(id);
            }
        }
        state_.hosts.erase(it);
    }
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
        v.install_pending = std::any_of(h.queue.begin(), h.queue.end(), [&](const std::string& command_id) {
            return state_.commands.at(command_id).kind == proto::CommandKind::INSTALL;
        });
        if (auto last = state_.commands.find(h.last_install); last != state_.commands.end()) {
            const StoredCommand& c = last->second;
            const bool waiting = c.status == proto::CommandStatus::QUEUED || c.status == proto::CommandStatus::SENT;
            v.install_status = waiting ? std::string() : std::string(proto::to_string(c.status));
            v.install_reject_reason = c.status == proto::CommandStatus::REJECTED ? c.reason : std::string();
        }
        v.interim_state = state_.tracker.is_host_in_interim(id);
        v.stale = is_stale(h, now);
        v.report.host_id = h.report.host_id;
        v.report.out_of_date = h.report.out_of_date;
        v.report.sw_version = h.report.sw_version;
        v.report.nodetype = h.report.nodetype;
        v.report.subfunctions = h.report.subfunctions;
        v.agent = h.agent;
        v.report_revision = h.report_revision;
        v.boot_id = h.boot_id;
        out.push_back(std::move(v));
    }
    return out;
}

void HostService::agent_seen(const std::string& hostname, const std::string& remote_ip) {
    std::unique_lock data(state_.mutex);
    auto it = state_.hosts.find(hostname);
    if (it != state_.hosts.end()) {
        it->second.last_seen = clock_.now_seconds();
        it->second.ip = remote_ip;
    }
}

void HostService::agent_report(const proto::AgentReport& report, const std::string& remote_ip) {
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
    StoredHost identity{report.hostname, remote_ip,           now,
                        report.sw_version, report.nodetype,   report.personality,
                        report.subfunctions, std::string()};
    CommandChanges changes;
    std::unique_lock commands(command_mutex_);
    {
        // The store learns of a host when it first reports after a start and when who it is
        // changes, not at every report: a report must not cost a synchronous commit.
        std::shared_lock data(state_.mutex);
        auto it = state_.hosts.find(report.hostname);
        bool persist = true;
        if (it != state_.hosts.end()) {
            identity.boot_id = it->second.boot_id;
            if (it->second.reported) {
                StoredHost known = it->second.to_stored();
                known.last_seen = now;
                persist = !(known == identity);
            }
        } else if (auto hello = hello_boot_ids_.find(report.hostname); hello != hello_boot_ids_.end()) {
            identity.boot_id = hello->second;
        }
        if (persist) {
            changes.host = identity;
        }
        if (it != state_.hosts.end()) {
            const HostRecord& h = it->second;
            const StoredCommand* head = h.queue.empty() ? nullptr : &state_.commands.at(h.queue.front());
            if (report.command) {
                auto c = state_.commands.find(report.command->id);
                if (c != state_.commands.end() && c->second.hostname == report.hostname &&
                    !proto::is_finished(c->second.status) && c->second.status != report.command->status) {
                    if (proto::is_finished(report.command->status)) {
                        StoredCommand done = c->second;
                        done.exit_code = static_cast<std::int64_t>(report.command->exit_code);
                        finish(h, std::move(done), report.command->status, report.command->reason, changes,
                               report.command->output);
                    } else {
                        StoredCommand running = c->second;
                        running.status = report.command->status;
                        changes.put.push_back(std::move(running));
                    }
                }
            }
            if (head != nullptr && head->status == proto::CommandStatus::RUNNING &&
                (!report.command || report.command->id != head->id)) {
                // The agent had started the head and now reports without it: it restarted in the
                // middle and lost its record (agents keep one; see PROTOCOL.md). The command is
                // over; the report says how the host is.
                finish(h, *head, proto::CommandStatus::FAILED,
                       report.failure_reason.empty() ? "the agent restarted during the install" : report.failure_reason,
                       changes);
            }
        }
    }
    if (!changes.empty()) {
        commit(changes);
    }
    auto shared = std::make_shared<const proto::AgentReport>(report);
    {
        std::unique_lock data(state_.mutex);
        HostRecord& h = state_.hosts[report.hostname];
        h.hostname = report.hostname;
        h.ip = remote_ip;
        h.last_seen = now;
        h.reported = true;
        h.boot_id = identity.boot_id;
        h.state = report.state;
        h.patch_failed = report.patch_failed;
        h.requires_reboot = report.requires_reboot;
        h.personality = report.personality;
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
    hello_boot_ids_.erase(report.hostname);
    commands.unlock();
    tell(changes.put);
    if (labels_listener_) {
        labels_listener_(report.hostname, report.labels);
    }
}

const HostRecord& HostService::check_install_locked(const std::string& host, bool force, bool& covered) const {
    auto it = find_host(state_.hosts, host);
    if (it == state_.hosts.end()) {
        throw NotFound("Unknown host specified: " + core::escape_unprintable(host));
    }
    const HostRecord& h = it->second;
    const std::int64_t now = clock_.now_seconds();
    if (is_stale(h, now)) {
        throw Conflict("Host " + h.hostname + " is stale: its agent has not been heard from for " +
                       std::to_string(now - h.last_seen) +
                       " s. Check that patch-agent runs on it and can reach this controller.");
    }
    if (h.state == proto::HostState::INSTALLING) {
        throw Conflict("Host " + h.hostname + " is already installing; wait for it to finish");
    }
    covered = false;
    for (const auto& id : h.queue) {
        const StoredCommand& c = state_.commands.at(id);
        if (c.kind == proto::CommandKind::INSTALL) {
            if (c.status != proto::CommandStatus::QUEUED && c.status != proto::CommandStatus::SENT) {
                throw Conflict("Host " + h.hostname + " is already installing; wait for it to finish");
            }
            covered = covered || c.force || !force;  // a waiting request covers this one
        }
    }
    return h;
}

HostCommand HostService::install_command(const std::string& host, bool force) const {
    std::shared_lock data(state_.mutex);
    // As in the reference: when every applied patch installs in service, force is implied.
    force = force || state_.tracker.is_insvc_patching_allowed();
    bool covered = false;
    check_install_locked(host, force, covered);
    return HostCommand{proto::CommandKind::INSTALL, force, {}};
}

OpReport HostService::install(const std::string& host, bool force) {
    std::unique_lock commands(command_mutex_);  // the check and the enqueue are one step
    std::string hostname;
    bool waiting = false;
    {
        std::shared_lock data(state_.mutex);
        // As in the reference: when every applied patch installs in service, force is implied.
        force = force || state_.tracker.is_insvc_patching_allowed();
        hostname = check_install_locked(host, force, waiting).hostname;
    }
    std::optional<StoredCommand> queued;
    if (!waiting) {  // else the request already waits for the agent: one is enough, unless it lacks force
        queued = enqueue_locked(hostname, HostCommand{proto::CommandKind::INSTALL, force, {}});
    }
    commands.unlock();
    if (queued) {
        notifier_.notify(hostname);
        tell({*queued});
    }
    OpReport report;
    report.add_info("Patch installation request sent to " + hostname + ".");
    return report;
}

CommandId HostService::enqueue(const std::string& host, const HostCommand& command) {
    if (!command.id.empty() &&
        (command.id.size() > 64 || !std::all_of(command.id.begin(), command.id.end(), [](char ch) {
             return std::isalnum(static_cast<unsigned char>(ch)) != 0 || ch == '.' || ch == '_' || ch == '-';
         }))) {
        throw InvalidField("id", "command id '" + core::escape_unprintable(command.id) +
                                     "' must be 1 to 64 characters of A-Z a-z 0-9 . _ -");
    }
    std::unique_lock commands(command_mutex_);
    if (!command.id.empty()) {
        // Idempotent on the caller's id: the queue holds it already (also after a restart: the
        // commands are loaded from the store, where the id is the primary key).
        std::shared_lock data(state_.mutex);
        auto known = state_.commands.find(command.id);
        if (known != state_.commands.end()) {
            auto it = find_host(state_.hosts, host);
            if (it == state_.hosts.end() || it->second.hostname != known->second.hostname) {
                throw InvalidField("id", "command id " + command.id + " is already used on host " +
                                             known->second.hostname);
            }
            return known->second.id;
        }
    }
    const StoredCommand c = enqueue_locked(host, command);
    commands.unlock();
    notifier_.notify(c.hostname);
    tell({c});
    return c.id;
}

StoredCommand HostService::enqueue_locked(const std::string& host, const HostCommand& command) {
    StoredCommand c;
    {
        std::shared_lock data(state_.mutex);
        auto it = find_host(state_.hosts, host);
        if (it == state_.hosts.end()) {
            throw NotFound("Unknown host specified: " + core::escape_unprintable(host));
        }
        c.seq = state_.command_seq + 1;
        c.hostname = it->second.hostname;
        c.boot_id = it->second.boot_id;
    }
    // The random part keeps ids unique should the database be recreated: an agent acknowledges
    // an id it ran without running it again.
    c.id = command.id.empty() ? std::to_string(c.seq) + "-" + proto::to_hex(signing::random_bytes(4)) : command.id;
    c.kind = command.kind;
    c.force = command.force;
    c.hook = command.hook;
    c.created_at = clock_.now_seconds();
    CommandChanges changes;
    changes.put.push_back(c);
    commit(changes);
    return c;
}

std::optional<CommandRecord> HostService::command(const CommandId& id) const {
    std::shared_lock data(state_.mutex);
    auto it = state_.commands.find(id);
    return it == state_.commands.end() ? std::nullopt : std::optional<CommandRecord>(it->second);
}

std::vector<CommandRecord> HostService::commands(const std::string& hostname) const {
    std::shared_lock data(state_.mutex);
    std::vector<CommandRecord> out;
    auto it = state_.hosts.find(hostname);
    if (it != state_.hosts.end()) {
        for (const auto* ids : {&it->second.history, &it->second.queue}) {
            for (const auto& id : *ids) {
                out.push_back(state_.commands.at(id));
            }
        }
    }
    return out;
}

void HostService::abandon(const CommandId& id, const std::string& reason) {
    std::unique_lock commands(command_mutex_);
    CommandChanges changes;
    {
        std::shared_lock data(state_.mutex);
        auto c = state_.commands.find(id);
        if (c == state_.commands.end() || proto::is_finished(c->second.status)) {
            return;
        }
        auto h = state_.hosts.find(c->second.hostname);
        if (h == state_.hosts.end()) {
            return;
        }
        finish(h->second, c->second, proto::CommandStatus::FAILED, reason, changes);
    }
    commit(changes);
    commands.unlock();
    tell(changes.put);
}

std::vector<CommandRecord> HostService::queue(const std::string& hostname) const {
    std::shared_lock data(state_.mutex);
    std::vector<CommandRecord> out;
    if (auto it = state_.hosts.find(hostname); it != state_.hosts.end()) {
        for (const auto& id : it->second.queue) {
            out.push_back(state_.commands.at(id));
        }
    }
    return out;
}

void HostService::add_observer(CommandObserver& observer) {
    std::lock_guard lock(observers_mutex_);
    observers_.push_back(&observer);
}

void HostService::remove_observer(CommandObserver& observer) {
    std::lock_guard lock(observers_mutex_);
    std::erase(observers_, &observer);
}

void HostService::tell(const std::vector<StoredCommand>& changed) {
    if (changed.empty()) {
        return;
    }
    std::vector<CommandObserver*> observers;
    {
        std::lock_guard lock(observers_mutex_);
        observers = observers_;
    }
    for (const auto& c : changed) {
        for (auto* o : observers) {
            o->on_command(c);
        }
    }
}

void HostService::finish(const HostRecord& h, StoredCommand c, proto::CommandStatus status, std::string reason,
                         CommandChanges& changes, std::string output) const {
    c.status = status;
    c.reason = std::move(reason);
    c.output = std::move(output);
    c.finished_at = clock_.now_seconds();
    changes.put.push_back(std::move(c));
    // The history keeps the newest; this one joins it, so the oldest beyond the limit go, except
    // those the guard keeps (their reader has not seen them yet).
    const std::size_t limit = static_cast<std::size_t>(config_.host_command_history);
    const std::size_t finished = h.history.size() + 1;
    std::size_t excess = finished > limit ? finished - limit : 0;
    for (std::size_t i = 0; excess > 0 && i < h.history.size(); ++i) {
        if (prune_guard_ && prune_guard_(h.history[i])) {
            continue;
        }
        changes.pruned.push_back(h.history[i]);
        --excess;
    }
}

void HostService::commit(const CommandChanges& changes) {
    store_.write([&](WriteTransaction& tx) {
        if (changes.host) {
            tx.put_host(*changes.host);
        }
        for (const auto& c : changes.put) {
            tx.put_command(c);
        }
        for (const auto& id : changes.pruned) {
            tx.delete_command(id);
        }
    });
    std::unique_lock data(state_.mutex);
    apply_locked(changes);
}

void HostService::apply_locked(const CommandChanges& changes) {
    for (const auto& id : changes.pruned) {
        auto c = state_.commands.find(id);
        if (c == state_.commands.end()) {
            continue;
        }
        if (auto h = state_.hosts.find(c->second.hostname); h != state_.hosts.end()) {
            std::erase(h->second.history, id);
        }
        state_.commands.erase(c);
    }
    for (const auto& c : changes.put) {
        auto h = state_.hosts.find(c.hostname);
        if (h == state_.hosts.end()) {
            continue;  // dropped meanwhile
        }
        state_.command_seq = std::max(state_.command_seq, c.seq);
        const bool known = state_.commands.contains(c.id);
        state_.commands[c.id] = c;
        HostRecord& host = h->second;
        if (proto::is_finished(c.status)) {
            std::erase(host.queue, c.id);
            host.history.push_back(c.id);
        } else if (!known) {
            host.queue.push_back(c.id);
        }
        if (c.kind == proto::CommandKind::INSTALL) {
            host.last_install = c.id;
        }
    }
}

HostService::AgentNews HostService::agent_news(const std::string& hostname, const std::string& report_id) {
    AgentNews news;
    news.op_counter = state_.published_counter.load();
    bool first_time = false;
    {
        std::shared_lock data(state_.mutex);
        auto it = state_.hosts.find(hostname);
        if (it == state_.hosts.end() || !it->second.agent || it->second.agent->report_id != report_id) {
            news.send_report = true;
            return news;
        }
        if (it->second.queue.empty()) {
            return news;
        }
        const StoredCommand& head = state_.commands.at(it->second.queue.front());
        if (head.status == proto::CommandStatus::QUEUED || head.status == proto::CommandStatus::SENT) {
            news.command = proto::Command{head.id, head.kind, head.force, head.hook};
            first_time = head.status == proto::CommandStatus::QUEUED;
        }
    }
    if (first_time) {
        std::unique_lock commands(command_mutex_);
        CommandChanges changes;
        {
            std::shared_lock data(state_.mutex);
            auto c = state_.commands.find(news.command->id);
            auto h = state_.hosts.find(hostname);
            if (c != state_.commands.end() && h != state_.hosts.end() &&
                c->second.status == proto::CommandStatus::QUEUED) {
                StoredCommand sent = c->second;
                sent.status = proto::CommandStatus::SENT;
                sent.boot_id = h->second.boot_id;  // the boot a REBOOT must end
                changes.put.push_back(std::move(sent));
            }
        }
        if (!changes.empty()) {
            commit(changes);
        }
        commands.unlock();
        tell(changes.put);
    }
    return news;
}

void HostService::agent_hello(const std::string& hostname, const std::string& boot_id, const std::string& remote_ip) {
    agent_seen(hostname, remote_ip);
    std::unique_lock commands(command_mutex_);
    CommandChanges changes;
    {
        std::shared_lock data(state_.mutex);
        auto it = state_.hosts.find(hostname);
        if (it == state_.hosts.end()) {
            hello_boot_ids_[hostname] = boot_id;  // its first report creates it
            return;
        }
        const HostRecord& h = it->second;
        if (h.boot_id == boot_id) {
            return;
        }
        StoredHost row = h.to_stored();
        row.boot_id = boot_id;
        changes.host = row;
        for (const auto& id : h.queue) {
            const StoredCommand& c = state_.commands.at(id);
            const bool handed_out = c.status == proto::CommandStatus::SENT || c.status == proto::CommandStatus::RUNNING;
            if (c.kind == proto::CommandKind::REBOOT && handed_out && c.boot_id != boot_id) {
                finish(h, c, proto::CommandStatus::OK,
                       "the host rebooted (boot id " + (c.boot_id.empty() ? "unknown" : c.boot_id) + " -> " + boot_id +
                           ")",
                       changes);
            }
        }
    }
    commit(changes);
    {
        std::unique_lock data(state_.mutex);
        if (auto it = state_.hosts.find(hostname); it != state_.hosts.end()) {
            it->second.boot_id = boot_id;
        }
    }
    commands.unlock();
    tell(changes.put);
}

}  // namespace patching::controller
