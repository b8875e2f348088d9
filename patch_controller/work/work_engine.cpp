// SPDX-License-Identifier: Apache-2.0
#include "work/work_engine.hpp"

#include "alarms/alarm_service.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>

namespace patching::controller {

namespace {

std::string list_text(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& item : items) {
        out += (out.empty() ? "" : ",") + item;
    }
    return out.empty() ? "(none)" : out;
}

bool in_flight(WorkState s) { return s == WorkState::IN_PROGRESS || s == WorkState::CANCELING; }

/// A fleet install with params flow "full" (not a lock, unlock or reboot).
bool is_full_flow(const StoredWorkRequest& parent) {
    return parent.operation == WorkOperation::HOST_INSTALL && HostFlow::handles(parent);
}

}  // namespace

WorkEngine::WorkEngine(Store& store, HostCommands& hosts, const core::Clock& clock, WorkPolicy policy)
    : store_(store), hosts_(hosts), clock_(clock), policy_(policy) {}

void WorkEngine::load() {
    std::lock_guard lock(mutex_);
    trees_.clear();
    busy_.clear();
    for (auto& wr : store_.work_queries().unfinished_work_requests()) {
        Tree& tree = trees_[wr.root_id];
        if (wr.parent_id == 0) {
            tree.parent = std::move(wr);
        } else {
            if (!is_terminal(wr.state)) {
                busy_[wr.host] = wr.id;
                if (!wr.command_id.empty()) {
                    hosts_.track(wr.command_id);  // its outcome must outlive the host's history
                }
            }
            tree.children[wr.id] = std::move(wr);
        }
    }
    next_id_ = store_.work_queries().max_work_request_id() + 1;
    started_at_ = clock_.now_seconds();
}

WorkEngine::Limits WorkEngine::limits_of(const StoredWorkRequest& parent) {
    Limits limits;
    const auto params = nlohmann::json::parse(parent.params.empty() ? "{}" : parent.params);
    const int total = parent.total;
    const auto concurrency = parse_max_concurrency(params.value("max_concurrency", std::string("10%")));
    const auto errors = parse_max_errors(params.value("max_errors", std::string("0")));
    limits.max_concurrency = resolve_max_concurrency(concurrency.value_or(RateLimit{1, false}), total);
    limits.max_errors = resolve_max_errors(errors.value_or(RateLimit{0, false}), total);
    limits.force = params.value("force", false);
    limits.retry_intervals = params.value("retry_intervals", std::vector<int>{});
    limits.cutoff = params.value("cutoff", std::int64_t{0});
    return limits;
}

WorkEngine::Tree WorkEngine::new_tree(const std::string& target_kind, const std::string& target,
                                      const std::string& params, Initiator initiator, const std::string& created_by) {
    Tree tree;
    StoredWorkRequest& p = tree.parent;
    p.id = next_id_++;
    p.root_id = p.id;
    p.operation = WorkOperation::HOST_INSTALL;
    p.state = WorkState::ACCEPTED;
    p.target_kind = target_kind;
    p.target = target;
    p.params = params;
    p.initiator = initiator;
    p.created_by = created_by;
    p.time_accepted = clock_.now_seconds();
    p.revision = 0;
    return tree;
}

StoredWorkRequest& WorkEngine::add_child(Tree& tree, const std::string& host, const std::string& sw_version,
                                         std::vector<std::string> target_set) {
    StoredWorkRequest c;
    c.id = next_id_++;
    c.parent_id = tree.parent.id;
    c.root_id = tree.parent.id;
    c.operation = tree.parent.operation;
    c.state = WorkState::WAITING;
    c.host = host;
    c.sw_version = sw_version;
    c.target_set = std::move(target_set);
    c.initiator = tree.parent.initiator;
    c.created_by = tree.parent.created_by;
    c.retry_of = tree.parent.retry_of;
    c.rerun_of = tree.parent.rerun_of;
    c.attempt = tree.parent.attempt;
    c.time_accepted = tree.parent.time_accepted;
    c.time_scheduled = tree.parent.time_scheduled;
    c.revision = 0;
    return tree.children[c.id] = std::move(c);
}

void WorkEngine::refuse_busy(const std::vector<std::string>& hosts) {
    for (const auto& host : hosts) {
        if (!busy_.contains(host)) {
            continue;
        }
        for (auto tree = trees_.begin(); tree != trees_.end(); ++tree) {
            if (!tree->second.children.contains(busy_.at(host))) {
                continue;
            }
            // The outcome may have arrived since the last tick: look before refusing.
            tick_tree(tree->second, clock_.now_seconds());
            const WorkState state = tree->second.parent.state;
            const std::int64_t root = tree->first;
            if (is_terminal(state)) {
                trees_.erase(tree);
            }
            if (busy_.contains(host)) {
                throw Conflict("host " + host + " is already in work request " + std::to_string(root) + " (" +
                               std::string(to_string(state)) +
                               "); one host runs one operation at a time: wait for it to finish or cancel it "
                               "(sw-manager work-request cancel " + std::to_string(root) + ")");
            }
            break;
        }
    }
}

std::int64_t WorkEngine::accept(Tree tree, const OnAccept& on_accept) {
    const std::int64_t now = clock_.now_seconds();
    tree.parent.total = static_cast<int>(tree.children.size());
    Batch batch;
    log(batch, tree.parent, "ACCEPT",
        std::string(to_string(tree.parent.operation)) + " accepted for " + std::to_string(tree.parent.total) +
            " host(s) by " + tree.parent.created_by + " (" + std::string(to_string(tree.parent.initiator)) + ")",
        now);
    for (auto& [id, child] : tree.children) {
        if (child.state == WorkState::SKIPPED) {
            log(batch, child, "ACCEPT", child.message, now);
        } else {
            log(batch, child, "ACCEPT",
                "waiting; target frozen: release " + child.sw_version + ", patches " + list_text(child.target_set), now);
        }
        stage(batch, child);
    }
    std::vector<StoredWorkRequest> children;
    for (const auto& [id, c] : tree.children) {
        children.push_back(c);
    }
    derive_parent(tree.parent, children, limits_of(tree.parent).max_errors, now);
    stage(batch, tree.parent);
    commit(batch, on_accept, &tree.parent);
    const std::int64_t id = tree.parent.id;
    for (const auto& [cid, c] : tree.children) {
        if (!is_terminal(c.state)) {
            busy_[c.host] = cid;
        }
    }
    if (!is_terminal(tree.parent.state)) {
        trees_[id] = std::move(tree);
    }
    return id;
}

StoredWorkRequest WorkEngine::submit_install(const InstallRequest& request, const OnAccept& on_accept) {
    const auto concurrency = parse_max_concurrency(request.max_concurrency);
    if (!concurrency) {
        throw InvalidField("max_concurrency", "max-concurrency '" + request.max_concurrency +
                                                  "' is not a number from 1 or a percentage from 1% to 100%");
    }
    const auto errors = parse_max_errors(request.max_errors);
    if (!errors) {
        throw InvalidField("max_errors", "max-errors '" + request.max_errors +
                                             "' is not a number from 0 or a percentage from 0% to 100%");
    }
    for (int minutes : request.retry_intervals) {
        if (minutes < 1 || minutes > 10080) {
            throw InvalidField("retry_intervals", "retry intervals are minutes from 1 to 10080, not " +
                                                      std::to_string(minutes));
        }
    }
    if (request.hosts.empty()) {
        throw InvalidField("hosts", "no hosts given: name at least one host");
    }
    std::vector<HostFacts> facts;
    std::set<std::string> seen;
    for (const auto& name : request.hosts) {
        HostFacts f = hosts_.facts(name);
        if (!f.known) {
            throw InvalidField("hosts", "unknown host '" + core::escape_unprintable(name) +
                                            "': it is not in the host table (sw-patch query-hosts lists them)");
        }
        if (seen.insert(f.hostname).second) {
            facts.push_back(std::move(f));
        }
    }
    nlohmann::json params = {{"force", request.force},
                             {"max_concurrency", concurrency->text()},
                             {"max_errors", errors->text()},
                             {"retry_intervals", request.retry_intervals}};
    if (request.cutoff != 0) {
        params["cutoff"] = request.cutoff;
    }
    if (!request.flow.empty()) {
        if (request.flow != "full") {
            throw InvalidField("flow", "flow '" + core::escape_unprintable(request.flow) +
                                           "' is not \"full\" (leave it out for the plain install)");
        }
        params["flow"] = request.flow;
        params["lock"] = request.lock;
        // The gate on the canonical names: a host given by address has its alarms on host=<name>.
        hosts_.refuse_if_alarmed(std::vector<std::string>(seen.begin(), seen.end()), {});
    }
    std::lock_guard lock(mutex_);
    refuse_busy(std::vector<std::string>(seen.begin(), seen.end()));
    Tree tree = new_tree(request.target_kind, request.target.empty() ? list_text(std::vector(seen.begin(), seen.end()))
                                                                     : request.target,
                         params.dump(), request.initiator, request.created_by);
    for (const auto& f : facts) {
        StoredWorkRequest& c = add_child(tree, f.hostname, f.sw_version, hosts_.desired_set(f.sw_version));
        if (!f.reachable) {
            finish(c, WorkState::SKIPPED,
                   "UNREACHABLE: host " + f.hostname + " was not reachable when the work request was accepted",
                   clock_.now_seconds());
        }
    }
    const std::int64_t id = accept(std::move(tree), on_accept);
    return *store_.work_queries().work_request(id);
}

StoredWorkRequest WorkEngine::install_now(const std::string& host, bool force, const std::string& created_by) {
    hosts_.check_install(host);
    const HostFacts f = hosts_.facts(host);
    std::lock_guard lock(mutex_);
    refuse_busy({f.hostname});
    nlohmann::json params = {
        {"force", force}, {"max_concurrency", "1"}, {"max_errors", "0"}, {"retry_intervals", std::vector<int>{}}};
    Tree tree = new_tree("HOST", f.hostname, params.dump(), Initiator::USER, created_by);
    add_child(tree, f.hostname, f.sw_version, hosts_.desired_set(f.sw_version));
    const std::int64_t id = accept(std::move(tree), {});
    auto it = trees_.find(id);
    if (it != trees_.end()) {
        tick_tree(it->second, clock_.now_seconds());
        if (is_terminal(it->second.parent.state)) {
            trees_.erase(it);
        }
    }
    return *store_.work_queries().work_request(id);
}

StoredWorkRequest WorkEngine::submit_host_action(WorkOperation operation, const std::string& host,
                                                 const std::string& reason, const std::string& created_by,
                                                 const OnAccept& on_accept) {
    const HostFacts f = hosts_.facts(host);
    if (!f.known) {
        throw NotFound("Unknown host specified: " + core::escape_unprintable(host) +
                       " (sw-manager host-list shows the hosts)");
    }
    std::lock_guard lock(mutex_);
    refuse_busy({f.hostname});
    nlohmann::json params = {{"max_concurrency", "1"}, {"max_errors", "0"}, {"reason", reason}};
    Tree tree = new_tree("HOST", f.hostname, params.dump(), Initiator::USER, created_by);
    tree.parent.operation = operation;
    add_child(tree, f.hostname, f.sw_version, hosts_.desired_set(f.sw_version));
    const std::int64_t id = accept(std::move(tree), on_accept);
    auto it = trees_.find(id);
    if (it != trees_.end()) {
        tick_tree(it->second, clock_.now_seconds());
        if (is_terminal(it->second.parent.state)) {
            trees_.erase(it);
        }
    }
    return *store_.work_queries().work_request(id);
}

StoredWorkRequest WorkEngine::cancel(std::int64_t id, const std::string& by) {
    std::lock_guard lock(mutex_);
    auto it = trees_.find(id);
    if (it == trees_.end()) {
        auto stored = store_.work_queries().work_request(id);
        if (!stored) {
            throw NotFound("no work request " + std::to_string(id) + " (sw-manager work-request list shows them)");
        }
        if (stored->parent_id != 0) {
            throw Conflict("work request " + std::to_string(id) + " is a child of " +
                           std::to_string(stored->parent_id) + ": cancel the parent");
        }
        throw Conflict("work request " + std::to_string(id) + " has already finished (" +
                       std::string(to_string(stored->state)) + "); nothing to cancel");
    }
    Tree& tree = it->second;
    const std::int64_t now = clock_.now_seconds();
    if (!tree.parent.cancel_requested) {
        tree.parent.cancel_requested = true;
        tree.parent.canceled_by = by;
        Batch batch;
        log(batch, tree.parent, "CANCEL", "cancel requested by " + by + "; running hosts finish their install", now);
        stop_waiting(tree, batch, "canceled by " + by, now);
        for (auto& [cid, c] : tree.children) {
            if (c.state == WorkState::IN_PROGRESS) {
                c.state = WorkState::CANCELING;  // runs on to its real outcome: never a half-installed host
                log(batch, c, "CANCEL", "host " + c.host + ": inside its install; it finishes and reports", now);
                stage(batch, c);
            }
        }
        std::vector<StoredWorkRequest> children;
        for (const auto& [cid, c] : tree.children) {
            children.push_back(c);
        }
        derive_parent(tree.parent, children, limits_of(tree.parent).max_errors, now);
        stage(batch, tree.parent);
        commit(batch);
    }
    StoredWorkRequest result = tree.parent;
    if (is_terminal(tree.parent.state)) {
        trees_.erase(it);
    }
    return result;
}

StoredWorkRequest WorkEngine::rerun(std::int64_t id, const std::string& by, const OnAccept& on_accept) {
    std::lock_guard lock(mutex_);
    auto stored = store_.work_queries().work_request(id);
    if (!stored) {
        throw NotFound("no work request " + std::to_string(id) + " (sw-manager work-request list shows them)");
    }
    if (stored->parent_id != 0) {
        throw Conflict("work request " + std::to_string(id) + " is a child of " + std::to_string(stored->parent_id) +
                       ": rerun the parent");
    }
    if (!is_terminal(stored->state)) {
        throw Conflict("work request " + std::to_string(id) + " is still " + std::string(to_string(stored->state)) +
                       "; rerun it once it has finished");
    }
    WorkRequestFilter filter;
    filter.parent_id = id;
    filter.states = {WorkState::FAILED};
    filter.limit = 1'000'000;
    auto failed = store_.work_queries().list_work_requests(filter);
    if (failed.empty()) {
        throw Conflict("work request " + std::to_string(id) + " has no FAILED children: nothing to rerun");
    }
    std::vector<std::string> hosts;
    for (const auto& c : failed) {
        hosts.push_back(c.host);
    }
    refuse_busy(hosts);
    if (is_full_flow(*stored)) {
        hosts_.refuse_if_alarmed(hosts, {});  // a rerun of a full flow passes the same alarm gate
    }
    Tree tree = new_tree(stored->target_kind, stored->target, stored->params, Initiator::RERUN, by);
    tree.parent.rerun_of = id;
    std::sort(failed.begin(), failed.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    for (const auto& c : failed) {
        add_child(tree, c.host, c.sw_version, c.target_set);  // the frozen target, never today's
    }
    return *store_.work_queries().work_request(accept(std::move(tree), on_accept));
}

std::int64_t WorkEngine::busy_with(const std::string& host) {
    std::lock_guard lock(mutex_);
    auto it = busy_.find(host);
    return it == busy_.end() ? 0 : it->second;
}

void WorkEngine::tick() {
    std::lock_guard lock(mutex_);
    const std::int64_t now = clock_.now_seconds();
    for (auto it = trees_.begin(); it != trees_.end();) {
        tick_tree(it->second, now);
        it = is_terminal(it->second.parent.state) ? trees_.erase(it) : std::next(it);
    }
    if (now - last_purge_ >= 3600) {
        purge_locked(now);
    }
}

int WorkEngine::purge() {
    std::lock_guard lock(mutex_);
    return purge_locked(clock_.now_seconds());
}

int WorkEngine::purge_locked(std::int64_t now) {
    int gone = 0;
    store_.write([&](WriteTransaction& tx) {
        gone = tx.work().delete_finished_work_requests(now - policy_.retention_seconds);
        tx.work().prune_idempotency(now - policy_.idempotency_seconds);
    });
    last_purge_ = now;
    return gone;
}

int WorkEngine::failed_count(const Tree& tree) {
    return static_cast<int>(std::count_if(tree.children.begin(), tree.children.end(),
                                          [](const auto& kv) { return kv.second.state == WorkState::FAILED; }));
}

void WorkEngine::tick_tree(Tree& tree, std::int64_t now) {
    if (tree.parent.time_scheduled > now) {
        return;  // an automatic retry waiting for its time
    }
    const Limits limits = limits_of(tree.parent);
    Batch batch;
    check_outcomes(tree, batch, now);
    dispatch(tree, limits, batch, now);
    std::vector<StoredWorkRequest> children;
    for (const auto& [id, c] : tree.children) {
        children.push_back(c);
    }
    StoredWorkRequest before = tree.parent;
    derive_parent(tree.parent, children, limits.max_errors, now);
    if (!(before == tree.parent)) {
        if (is_terminal(tree.parent.state) && !is_terminal(before.state)) {
            const int over = tree.parent.failed - limits.max_errors - 1;
            std::string summary = "finished " + std::string(to_string(tree.parent.state)) + " (" +
                                  std::string(to_string(tree.parent.outcome)) + "): " +
                                  std::to_string(tree.parent.succeeded) + " succeeded, " +
                                  std::to_string(tree.parent.failed) + " failed, " +
                                  std::to_string(tree.parent.skipped) + " skipped, " +
                                  std::to_string(tree.parent.canceled) + " canceled";
            if (tree.parent.outcome == WorkOutcome::BUDGET_EXHAUSTED && over > 0) {
                summary += "; " + std::to_string(over) + " failure(s) beyond the budget came from hosts already "
                                                         "running when it was exhausted (overshoot)";
            }
            tree.parent.message = summary;
            log(batch, tree.parent, "FINISH", summary, now);
            spawn_retry(tree, limits, batch, now);
        }
        stage(batch, tree.parent);
    }
    commit(batch);
}

void WorkEngine::check_outcomes(Tree& tree, Batch& batch, std::int64_t now) {
    for (auto& [id, c] : tree.children) {
        if (!in_flight(c.state)) {
            continue;
        }
        if (HostFlow::handles(tree.parent)) {
            apply_flow(batch, c, flow_.advance(tree.parent, c, now), now);
            continue;
        }
        const CommandOutcome o = hosts_.install_outcome(c.host, c.command_id);
        log_output(batch, c, o.output, now);
        switch (o.progress) {
            case CommandProgress::SUCCEEDED:
                finish(c, WorkState::SUCCEEDED, "installed", now);
                log(batch, c, "INSTALL", "host " + c.host + ": install succeeded", now);
                stage(batch, c);
                continue;
            case CommandProgress::FAILED:
                fail(batch, c, "INSTALL_FAILED", "host " + c.host + ": install failed: " + o.reason, true, now);
                continue;
            case CommandProgress::REJECTED:
                fail(batch, c, "INSTALL_REJECTED", "host " + c.host + ": install rejected: " + o.reason, false, now);
                continue;
            case CommandProgress::NOT_DELIVERED:
                if (!hosts_.facts(c.host).reachable) {
                    break;  // after a restart: send it when the host is back (the timeout bounds the wait)
                }
                try {
                    hosts_.start_install(c.host, c.command_id, limits_of(tree.parent).force);
                    log(batch, c, "INSTALL", "command " + c.command_id + " sent again (the host never received it)",
                        now);
                } catch (const ServiceError& e) {
                    fail(batch, c, "DISPATCH_FAILED", "host " + c.host + ": " + e.what(), true, now);
                    continue;
                }
                break;
            case CommandProgress::RUNNING:
            case CommandProgress::UNKNOWN: break;
        }
        if (now - c.time_started > policy_.install_timeout_seconds) {
            fail(batch, c, "STALL",
                 "host " + c.host + " gave no outcome for command " + c.command_id + " within " +
                     std::to_string(policy_.install_timeout_seconds) + " s",
                 true, now);
        }
    }
}

void WorkEngine::log_output(Batch& batch, const StoredWorkRequest& c, const std::string& output, std::int64_t now) {
    // The host's log of the command (transaction steps, scriptlet and script output), a line each.
    std::size_t start = 0;
    while (start < output.size()) {
        std::size_t end = output.find('\n', start);
        if (end == std::string::npos) {
            end = output.size();
        }
        if (end > start) {
            log(batch, c, "OUTPUT", output.substr(start, end - start), now);
        }
        start = end + 1;
    }
}

void WorkEngine::dispatch(Tree& tree, const Limits& limits, Batch& batch, std::int64_t now) {
    auto exhausted = [&] { return failed_count(tree) > limits.max_errors; };
    const bool cutoff = limits.cutoff != 0 && now >= limits.cutoff;
    std::vector<StoredWorkRequest*> to_send;
    if (!tree.parent.cancel_requested && !exhausted() && !cutoff) {
        int running = static_cast<int>(std::count_if(tree.children.begin(), tree.children.end(),
                                                     [](const auto& kv) { return in_flight(kv.second.state); }));
        for (auto& [id, c] : tree.children) {
            if (running >= limits.max_concurrency || exhausted()) {
                break;
            }
            if (c.state != WorkState::WAITING) {
                continue;
            }
            const HostFacts f = hosts_.facts(c.host);
            if (!f.known) {
                fail(batch, c, "HOST_UNKNOWN", "host " + c.host + " was dropped from the host table", false, now);
                continue;
            }
            if (!f.reachable) {
                if (now - started_at_ >= policy_.resume_grace_seconds) {
                    finish(c, WorkState::SKIPPED, "UNREACHABLE: host " + c.host + " was not reachable at its start",
                           now);
                    log(batch, c, "PRECHECK", c.message, now);
                    stage(batch, c);
                }
                continue;
            }
            const auto desired = hosts_.desired_set(f.sw_version);
            if (tree.parent.operation == WorkOperation::HOST_INSTALL &&
                (f.sw_version != c.sw_version || desired != c.target_set)) {
                fail(batch, c, "TARGET_CHANGED",
                     "host " + c.host + ": target changed since accept: frozen release " + c.sw_version +
                         " patches " + list_text(c.target_set) + ", now release " + f.sw_version + " patches " +
                         list_text(desired) + "; start a new work request to install the new set",
                     false, now);
                continue;
            }
            if (is_full_flow(tree.parent) && tree.parent.initiator == Initiator::RETRY) {
                // An automatic retry of a full flow starts long after its accept: the alarm gate
                // applies when each host starts, and an alarmed host is skipped with the alarms named.
                // The install-failed and hook-failed alarms are the failure being retried: they do
                // not block it (an operator's rerun must clear them first).
                try {
                    hosts_.refuse_if_alarmed({c.host}, {ALARM_INSTALL_FAILED, ALARM_HOOK_FAILED});
                } catch (const Conflict& e) {
                    finish(c, WorkState::SKIPPED, std::string("ALARMED: ") + e.what(), now);
                    log(batch, c, "PRECHECK", "host " + c.host + ": not started: " + c.message, now);
                    stage(batch, c);
                    continue;
                }
            }
            c.state = WorkState::IN_PROGRESS;
            c.time_started = now;
            if (HostFlow::handles(tree.parent)) {
                apply_flow(batch, c, flow_.start(tree.parent, c, now), now);
                to_send.push_back(&c);
                ++running;
                continue;
            }
            // Unique even if retention ever lets ids start again: agents run an id once.
            c.command_id = "wr-" + std::to_string(c.id) + "-" + std::to_string(c.time_accepted);
            c.message = "installing";
            log(batch, c, "INSTALL", "host " + c.host + ": install started (command " + c.command_id + ")", now);
            stage(batch, c);
            to_send.push_back(&c);
            ++running;
        }
    }
    if (exhausted()) {
        stop_waiting(tree, batch,
                     "TERMINATED: the error budget is exhausted (max-errors " + std::to_string(limits.max_errors) +
                         ", " + std::to_string(failed_count(tree)) + " failed)",
                     now);
    } else if (tree.parent.cancel_requested) {
        stop_waiting(tree, batch, "canceled by " + tree.parent.canceled_by, now);
    } else if (cutoff) {
        stop_waiting(tree, batch, WORK_CUTOFF_REASON, now);  // in-flight hosts finish
    }
    if (to_send.empty()) {
        return;
    }
    commit(batch);  // IN_PROGRESS and the command id are durable before the host hears of them
    for (StoredWorkRequest* c : to_send) {
        try {
            if (HostFlow::handles(tree.parent)) {
                flow_.send(tree.parent, *c);
            } else {
                hosts_.start_install(c->host, c->command_id, limits.force);
            }
        } catch (const ServiceError& e) {
            fail(batch, *c, "DISPATCH_FAILED", "host " + c->host + ": " + e.what(), true, now);
        }
    }
}

void WorkEngine::stop_waiting(Tree& tree, Batch& batch, const std::string& reason, std::int64_t now) {
    for (auto& [id, c] : tree.children) {
        if (c.state == WorkState::WAITING || c.state == WorkState::ACCEPTED) {
            finish(c, WorkState::CANCELED, reason, now);
            log(batch, c, "CANCEL", "host " + c.host + ": not started: " + reason, now);
            stage(batch, c);
        }
    }
}

void WorkEngine::spawn_retry(const Tree& tree, const Limits& limits, Batch& batch, std::int64_t now) {
    const auto attempt = static_cast<size_t>(tree.parent.attempt);
    if (tree.parent.cancel_requested || attempt >= limits.retry_intervals.size()) {
        return;
    }
    std::vector<const StoredWorkRequest*> retry;
    for (const auto& [id, c] : tree.children) {
        if (c.state == WorkState::FAILED && c.retryable) {
            retry.push_back(&c);
        }
    }
    if (retry.empty()) {
        return;
    }
    Tree next = new_tree(tree.parent.target_kind, tree.parent.target, tree.parent.params, Initiator::RETRY,
                         tree.parent.created_by);
    next.parent.retry_of = tree.parent.id;
    next.parent.attempt = tree.parent.attempt + 1;
    next.parent.time_scheduled = now + 60LL * limits.retry_intervals[attempt];
    for (const StoredWorkRequest* c : retry) {
        add_child(next, c->host, c->sw_version, c->target_set);
    }
    next.parent.total = static_cast<int>(next.children.size());
    log(batch, tree.parent, "RETRY",
        "automatic retry " + std::to_string(next.parent.attempt) + " of " + std::to_string(retry.size()) +
            " host(s) as work request " + std::to_string(next.parent.id) + " in " +
            std::to_string(limits.retry_intervals[attempt]) + " min",
        now);
    for (auto& [id, c] : next.children) {
        busy_[c.host] = id;
        stage(batch, c);
    }
    std::vector<StoredWorkRequest> children;
    for (const auto& [id, c] : next.children) {
        children.push_back(c);
    }
    derive_parent(next.parent, children, limits.max_errors, now);
    stage(batch, next.parent);
    trees_[next.parent.id] = std::move(next);  // the caller's iterator stays valid (std::map)
}

void WorkEngine::derive_parent(StoredWorkRequest& p, const std::vector<StoredWorkRequest>& children, int max_errors,
                               std::int64_t now) {
    p.total = static_cast<int>(children.size());
    p.waiting = p.in_progress = p.succeeded = p.failed = p.skipped = p.canceled = 0;
    std::int64_t first_start = 0;
    for (const auto& c : children) {
        switch (c.state) {
            case WorkState::ACCEPTED:
            case WorkState::WAITING: ++p.waiting; break;
            case WorkState::IN_PROGRESS:
            case WorkState::CANCELING: ++p.in_progress; break;
            case WorkState::SUCCEEDED: ++p.succeeded; break;
            case WorkState::FAILED: ++p.failed; break;
            case WorkState::SKIPPED: ++p.skipped; break;
            case WorkState::CANCELED: ++p.canceled; break;
        }
        if (c.time_started != 0 && (first_start == 0 || c.time_started < first_start)) {
            first_start = c.time_started;
        }
    }
    const int finished = p.succeeded + p.failed + p.skipped + p.canceled;
    p.percent_complete = p.total == 0 ? 100 : finished * 100 / p.total;
    if (first_start != 0 && p.time_started == 0) {
        p.time_started = first_start;
    }
    if (finished < p.total) {
        if (p.cancel_requested) {
            p.state = WorkState::CANCELING;
        } else {
            p.state = p.in_progress + finished > 0 ? WorkState::IN_PROGRESS : WorkState::WAITING;
        }
        p.outcome = WorkOutcome::NONE;
        return;
    }
    if (p.time_finished == 0) {
        p.time_finished = now;
    }
    if (p.cancel_requested) {
        p.state = WorkState::CANCELED;
        p.outcome = WorkOutcome::CANCELED_BY_USER;
    } else if (p.failed == 0 && p.canceled == 0) {
        p.state = WorkState::SUCCEEDED;
        p.outcome = WorkOutcome::COMPLETE;
    } else {
        p.state = WorkState::FAILED;
        const bool cut = std::any_of(children.begin(), children.end(), [](const StoredWorkRequest& c) {
            return c.state == WorkState::CANCELED && c.message == WORK_CUTOFF_REASON;
        });
        p.outcome = p.failed > max_errors ? WorkOutcome::BUDGET_EXHAUSTED
                    : cut                 ? WorkOutcome::CUTOFF_REACHED
                                          : WorkOutcome::INCOMPLETE;
    }
}

void WorkEngine::log(Batch& batch, const StoredWorkRequest& wr, const std::string& phase, const std::string& message,
                     std::int64_t now) {
    batch.logs.push_back({0, wr.id, wr.root_id, now, wr.host, phase, message});
}

void WorkEngine::finish(StoredWorkRequest& c, WorkState state, const std::string& message, std::int64_t now) {
    c.state = state;
    c.message = message;
    c.time_finished = now;
    auto it = busy_.find(c.host);
    if (it != busy_.end() && it->second == c.id) {
        busy_.erase(it);
    }
    if (!c.command_id.empty()) {
        release_after_commit_.push_back(c.command_id);
    }
}

void WorkEngine::fail(Batch& batch, StoredWorkRequest& c, const std::string& code, const std::string& message,
                      bool retryable, std::int64_t now, const std::string& phase) {
    finish(c, WorkState::FAILED, message, now);
    c.failure_kind = code;
    c.retryable = retryable;
    log(batch, c, phase, message, now);
    batch.errors.push_back({0, c.id, c.root_id, now, c.host, code, message, retryable});
    stage(batch, c);
}

void WorkEngine::apply_flow(Batch& batch, StoredWorkRequest& c, const FlowResult& r, std::int64_t now) {
    for (const auto& [phase, message] : r.logs) {
        log(batch, c, phase, message, now);
    }
    if (r.final_state == WorkState::FAILED) {
        fail(batch, c, r.failure_kind, r.message, r.retryable, now, "FAILED");
    } else if (r.final_state) {
        finish(c, *r.final_state, r.message, now);
        stage(batch, c);
    } else if (r.changed) {
        stage(batch, c);
    }
}

void WorkEngine::stage(Batch& batch, StoredWorkRequest& row) {
    ++row.revision;
    batch.rows.push_back(row);
}

void WorkEngine::commit(Batch& batch, const OnAccept& on_accept, const StoredWorkRequest* parent) {
    if (batch.rows.empty() && batch.logs.empty() && batch.errors.empty()) {
        release_finished_commands();
        return;
    }
    store_.write([&](WriteTransaction& tx) {
        for (const auto& row : batch.rows) {
            tx.work().put_work_request(row);
        }
        for (const auto& entry : batch.logs) {
            tx.work().add_work_log(entry);
        }
        for (const auto& error : batch.errors) {
            tx.work().add_work_error(error);
        }
        if (on_accept && parent != nullptr) {
            on_accept(tx.work(), *parent);
        }
    });
    batch = {};
    release_finished_commands();
}

void WorkEngine::release_finished_commands() {
    // The store has the finished children (if it failed, they go with the next commit).
    for (const auto& id : release_after_commit_) {
        hosts_.release(id);
    }
    release_after_commit_.clear();
}

}  // namespace patching::controller
