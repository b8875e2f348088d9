// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace patching::controller {

// The vocabulary of work requests (fleet-ops-spec §1, §9.3): what the store keeps, the engine
// moves between and the API shows. Spellings are OCI OS Management Hub's.

/// A work request's state. Parents and children share one machine (§9.3).
enum class WorkState { ACCEPTED, WAITING, IN_PROGRESS, SUCCEEDED, FAILED, CANCELING, CANCELED, SKIPPED };
/// How a finished parent ended (SSM's Incomplete is INCOMPLETE). NONE while it runs.
/// CUTOFF_REACHED: a job's window closed before every host had started (those never started
/// end CANCELED, reason WORK_CUTOFF_REASON).
enum class WorkOutcome { NONE, COMPLETE, INCOMPLETE, BUDGET_EXHAUSTED, CANCELED_BY_USER, CUTOFF_REACHED };
/// The reason of a child canceled because its parent's cutoff (a job's window end) came first.
inline constexpr const char* WORK_CUTOFF_REASON = "cutoff reached";
/// Who started it.
enum class Initiator { USER, SCHEDULE, RETRY, RERUN };
/// What it does. HOST_INSTALL: install the release's applied set on hosts (host-install; with
/// params flow "full", the full per-host flow of work/host_flow.hpp). HOST_LOCK, HOST_UNLOCK,
/// HOST_REBOOT: the host lifecycle actions (sw-manager host-lock, host-unlock, host-reboot).
enum class WorkOperation { HOST_INSTALL, HOST_LOCK, HOST_UNLOCK, HOST_REBOOT };

std::string_view to_string(WorkState s);
std::string_view to_string(WorkOutcome o);
std::string_view to_string(Initiator i);
std::string_view to_string(WorkOperation o);
/// Parsers accept the exact spellings (and CANCELLING, spec §1.2); nullopt otherwise.
std::optional<WorkState> parse_work_state(std::string_view text);
std::optional<WorkOutcome> parse_work_outcome(std::string_view text);
std::optional<Initiator> parse_initiator(std::string_view text);
std::optional<WorkOperation> parse_work_operation(std::string_view text);
/// SUCCEEDED, FAILED, CANCELED and SKIPPED.
bool is_terminal(WorkState s);

/// One work request row: a parent (parent_id 0, one per operation) or a child (one host).
/// Everything a rerun or a restart needs is frozen here at accept.
struct StoredWorkRequest {
    std::int64_t id = 0;
    std::int64_t parent_id = 0;  ///< 0 for a parent.
    std::int64_t root_id = 0;    ///< The parent's id (its own for a parent).
    WorkOperation operation = WorkOperation::HOST_INSTALL;
    WorkState state = WorkState::ACCEPTED;
    WorkOutcome outcome = WorkOutcome::NONE;
    std::string host;         ///< Child: the host it runs on. Parent: "".
    std::string target_kind;  ///< Parent: HOST, HOSTS or GROUP.
    std::string target;       ///< Parent: the group's name or the hosts, comma-separated.
    /// Parent: the frozen parameters as JSON (force, max_concurrency, max_errors, retry_intervals).
    std::string params;
    std::string sw_version;               ///< Child: the host's release at accept.
    std::vector<std::string> target_set;  ///< Child: the patches the host is to end up with.
    Initiator initiator = Initiator::USER;
    std::string created_by;
    std::int64_t retry_of = 0;
    std::int64_t rerun_of = 0;
    int attempt = 0;          ///< Automatic retries before this one.
    std::string command_id;   ///< Child: the install command sent to the host (set before sending).
    std::string message;      ///< The latest reason or progress text.
    std::string failure_kind; ///< Child that FAILED: its error code (INSTALL_FAILED, STALL, ...).
    bool retryable = false;   ///< Child that FAILED: an automatic retry may help.
    std::int64_t time_accepted = 0;
    std::int64_t time_started = 0;
    std::int64_t time_finished = 0;
    std::int64_t time_scheduled = 0;  ///< Not before (automatic retries).
    bool cancel_requested = false;
    std::string canceled_by;
    // Parent counters (§9.3), kept current by the engine.
    int total = 0;
    int waiting = 0;
    int in_progress = 0;
    int succeeded = 0;
    int failed = 0;
    int skipped = 0;
    int canceled = 0;
    int percent_complete = 0;
    std::int64_t revision = 1;  ///< Bumped on every change: the ETag.

    bool operator==(const StoredWorkRequest&) const = default;
};

/// A timestamped log line of a work request (per phase and host).
struct WorkLogEntry {
    std::int64_t seq = 0;  ///< Assigned by the store.
    std::int64_t wr_id = 0;
    std::int64_t root_id = 0;
    std::int64_t time = 0;
    std::string host;
    std::string phase;
    std::string message;
};

/// A typed error of a work request.
struct WorkError {
    std::int64_t seq = 0;  ///< Assigned by the store.
    std::int64_t wr_id = 0;
    std::int64_t root_id = 0;
    std::int64_t time = 0;
    std::string host;
    std::string code;  ///< INSTALL_FAILED, INSTALL_REJECTED, TARGET_CHANGED, STALL, HOST_UNKNOWN, ...
    std::string message;
    bool retryable = false;
};

/// A host group: static members plus an optional rule (personality, labels), and optionally the
/// one release its hosts must run.
struct StoredGroup {
    std::string name;
    std::string description;
    std::vector<std::string> members;  ///< Static members, sorted.
    std::string rule_personality;      ///< "" = no personality rule.
    std::map<std::string, std::string> rule_labels;  ///< All must match; empty = no label rule.
    std::int64_t created_at = 0;
    std::int64_t revision = 1;
    std::string sw_version;  ///< "" = any release; else every host must run this one.

    bool operator==(const StoredGroup&) const = default;
};

/// The first answer to a request sent with an Idempotency-Key (kept 24 h).
struct IdempotencyRecord {
    std::string caller;
    std::string key;
    std::string fingerprint;  ///< Of method, path and body: another body with the key is refused.
    int status = 0;
    std::string body;
    std::int64_t created_at = 0;
};

/// Which work requests a list returns: newest first, `limit` of them, ids below `before_id`.
struct WorkRequestFilter {
    std::vector<WorkState> states;           ///< Any of them; empty = all.
    std::optional<WorkOperation> operation;
    std::string host;                        ///< Children on this host.
    std::optional<std::int64_t> parent_id;   ///< 0 = parents only.
    std::int64_t before_id = 0;              ///< 0 = from the newest.
    int limit = 50;
};

}  // namespace patching::controller
