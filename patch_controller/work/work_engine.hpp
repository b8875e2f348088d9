// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "service/errors.hpp"
#include "store/store.hpp"
#include "work/host_commands.hpp"
#include "work/host_flow.hpp"
#include "work/rate_limits.hpp"
#include "work/work_types.hpp"

#include <patch_core/clock.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace patching::controller {

/// The engine's knobs (ControllerConfig's work_* keys).
struct WorkPolicy {
    /// Finished work requests older than this are deleted; unfinished ones never.
    std::int64_t retention_seconds = 180LL * 86400;
    /// A child with no outcome from its host for this long after it was sent fails (STALL).
    std::int64_t install_timeout_seconds = 3600;
    /// After a start, hosts get this long to report before a waiting child of a silent host is
    /// SKIPPED (they are all "not yet reported" at first).
    std::int64_t resume_grace_seconds = 90;
    /// Idempotency records are kept this long.
    std::int64_t idempotency_seconds = 86400;
    /// The host lifecycle's timers (lock, unlock, reboot, hooks, the full flow).
    FlowPolicy flow{};
};

/// An install across hosts, as accepted (hosts resolved by the caller: names or addresses).
struct InstallRequest {
    std::vector<std::string> hosts;
    std::string target_kind = "HOSTS";  ///< HOST, HOSTS or GROUP
    std::string target;                 ///< The group's name; "" = the hosts.
    bool force = false;
    std::string max_concurrency = "10%";
    std::string max_errors = "0";
    std::vector<int> retry_intervals;  ///< Minutes between automatic retries of retryable failures.
    std::string created_by;
    Initiator initiator = Initiator::USER;  ///< SCHEDULE for a job's run.
    /// A job's window end (UTC seconds): from then on no host starts; 0 = none. Kept in params.
    std::int64_t cutoff = 0;
    std::string flow;   ///< "" (the plain install) or "full" (work/host_flow.hpp).
    bool lock = false;  ///< flow "full": lock every host, even if its delta installs in service.
};

/// Runs inside the transaction that creates a work request (e.g. to record an idempotency key).
using OnAccept = std::function<void(WorkTables&, const StoredWorkRequest& parent)>;

/// Work requests (fleet-ops-spec §1, §9.3, §9.5): accepts operations as a parent with one child
/// per host, freezes what each host is to end up with, dispatches children through
/// HostCommands under max-concurrency and max-errors, derives the parent from its children,
/// cancels, reruns, retries and forgets old ones.
///
/// Everything is in the store before it acts: a child is written IN_PROGRESS with its command
/// id before the command is sent, and the host runs a command id once, so after a kill -9 the
/// engine resumes from the store (load()) and nothing is lost or runs twice; a child whose host
/// never answers fails after install_timeout_seconds, so nothing stays IN_PROGRESS forever.
///
/// One host, one operation: a host with an unfinished child refuses a new operation naming the
/// blocking work request (it does not wait), whatever the order.
/// Thread-safe: every method takes the engine's lock; tick() is driven by the daemon's thread.
class WorkEngine {
public:
    WorkEngine(Store& store, HostCommands& hosts, const core::Clock& clock, WorkPolicy policy = {});

    /// Loads the unfinished work requests (call once after a start, before tick()).
    void load();

    /// Accepts an install across hosts (one transaction). Unreachable hosts are SKIPPED at once.
    /// @throws InvalidField (no or unknown hosts, bad limits), Conflict (a host is busy).
    StoredWorkRequest submit_install(const InstallRequest& request, const OnAccept& on_accept = {});
    /// host-install-async: host-install's checks and errors, then a one-host work request sent
    /// at once. @throws NotFound, Conflict as host-install, Conflict if the host is busy.
    StoredWorkRequest install_now(const std::string& host, bool force, const std::string& created_by);
    /// A host lifecycle action (HOST_LOCK, HOST_UNLOCK, HOST_REBOOT) on one host, run by
    /// work/host_flow.hpp; `reason` is recorded with the administrative state.
    /// @throws InvalidField (unknown host), Conflict (the host is busy).
    StoredWorkRequest submit_host_action(WorkOperation operation, const std::string& host, const std::string& reason,
                                         const std::string& created_by, const OnAccept& on_accept = {});
    /// Cancels a parent: children not started end CANCELED; those running finish and report.
    /// @throws NotFound, Conflict (a child, or already finished).
    StoredWorkRequest cancel(std::int64_t id, const std::string& by);
    /// Runs a finished parent's FAILED children again (frozen targets; initiator RERUN).
    /// @throws NotFound, Conflict (unfinished, nothing failed, a host busy).
    StoredWorkRequest rerun(std::int64_t id, const std::string& by, const OnAccept& on_accept = {});

    /// One pass over the unfinished work requests: outcomes, stops, dispatch, parents, retries,
    /// retention (hourly).
    void tick();
    /// Deletes finished work requests older than the retention and old idempotency records.
    /// Returns how many parents went.
    int purge();

    /// The engine's clock, in seconds.
    std::int64_t now() const { return clock_.now_seconds(); }
    /// The unfinished child (id) holding `host`, or 0.
    std::int64_t busy_with(const std::string& host);

    /// Derives a parent's state, counters, percent and outcome from its children (§9.3).
    static void derive_parent(StoredWorkRequest& parent, const std::vector<StoredWorkRequest>& children,
                              int max_errors, std::int64_t now);

private:
    struct Tree {
        StoredWorkRequest parent;
        std::map<std::int64_t, StoredWorkRequest> children;
    };
    struct Limits {
        int max_concurrency = 1;
        int max_errors = 0;
        bool force = false;
        std::vector<int> retry_intervals;
        std::int64_t cutoff = 0;
    };
    /// Rows, log lines and errors written in one transaction.
    struct Batch {
        std::vector<StoredWorkRequest> rows;
        std::vector<WorkLogEntry> logs;
        std::vector<WorkError> errors;
    };

    // REQUIRES (all below): mutex_ held.
    static Limits limits_of(const StoredWorkRequest& parent);
    std::int64_t accept(Tree tree, const OnAccept& on_accept);
    Tree new_tree(const std::string& target_kind, const std::string& target, const std::string& params,
                  Initiator initiator, const std::string& created_by);
    StoredWorkRequest& add_child(Tree& tree, const std::string& host, const std::string& sw_version,
                                 std::vector<std::string> target_set);
    void refuse_busy(const std::vector<std::string>& hosts);
    void tick_tree(Tree& tree, std::int64_t now);
    void check_outcomes(Tree& tree, Batch& batch, std::int64_t now);
    void dispatch(Tree& tree, const Limits& limits, Batch& batch, std::int64_t now);
    void stop_waiting(Tree& tree, Batch& batch, const std::string& reason, std::int64_t now);
    void spawn_retry(const Tree& tree, const Limits& limits, Batch& batch, std::int64_t now);
    void log(Batch& batch, const StoredWorkRequest& wr, const std::string& phase, const std::string& message,
             std::int64_t now);
    /// Logs a finished command's output from its host, a line each (phase OUTPUT).
    void log_output(Batch& batch, const StoredWorkRequest& c, const std::string& output, std::int64_t now);
    void finish(StoredWorkRequest& child, WorkState state, const std::string& message, std::int64_t now);
    void fail(Batch& batch, StoredWorkRequest& child, const std::string& code, const std::string& message,
              bool retryable, std::int64_t now, const std::string& phase = "INSTALL");
    /// Records what a step of the host flow did.
    void apply_flow(Batch& batch, StoredWorkRequest& child, const FlowResult& result, std::int64_t now);
    void stage(Batch& batch, StoredWorkRequest& row);
    void commit(Batch& batch, const OnAccept& on_accept = {}, const StoredWorkRequest* parent = nullptr);
    /// Lets the host queue prune the commands of children finished and committed.
    void release_finished_commands();
    static int failed_count(const Tree& tree);
    int purge_locked(std::int64_t now);

    Store& store_;
    HostCommands& hosts_;
    const core::Clock& clock_;
    WorkPolicy policy_;
    HostFlow flow_{hosts_, policy_.flow};
    std::mutex mutex_;
    std::map<std::int64_t, Tree> trees_;      ///< Unfinished parents (with all their children).
    std::map<std::string, std::int64_t> busy_;  ///< host -> its unfinished child
    std::vector<std::string> release_after_commit_;  ///< Commands of children just finished.
    std::int64_t next_id_ = 1;
    std::int64_t started_at_ = 0;
    std::int64_t last_purge_ = 0;
};

}  // namespace patching::controller
