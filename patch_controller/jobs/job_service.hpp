// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "jobs/job_types.hpp"
#include "jobs/recurrence.hpp"
#include "store/store.hpp"
#include "work/group_service.hpp"
#include "work/host_commands.hpp"
#include "work/work_engine.hpp"

#include <patch_core/clock.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace patching::controller {

/// The service's knobs (ControllerConfig's job_* keys).
struct JobPolicy {
    /// A slot late by at most this fires (once, however many were missed); later ones are MISSED.
    std::int64_t misfire_grace_seconds = 600;
    /// After a start, slots missed while the controller was down are handled only once agents
    /// have had this long to report again (agent_stale_seconds): fired at once, the run would find
    /// every host unreachable. Slots after the start fire on time.
    std::int64_t start_hold_seconds = 0;
};

/// A job as shown: the stored job, its state and its next runs.
struct JobView {
    StoredJob job;
    std::string state;                 ///< ACTIVE, PAUSED or INACTIVE (nothing left to run).
    std::vector<std::int64_t> next;    ///< The next slots (UTC), skip-next ones included.
    std::vector<std::string> next_local;  ///< The same in the job's zone.
};

/// Scheduled jobs (fleet-ops-spec §2, §9.6): creates, changes and deletes them, and fires their
/// slots as work requests (initiator SCHEDULE, created_by "job:<name>") through the WorkEngine.
///
/// Every nominal slot gets a job_runs row: FIRED (with its work request), SKIPPED (PAUSED,
/// OVERLAP, SKIP_NEXT), MISSED (later than the grace: the controller was down) or QUEUED (behind
/// an unfinished run, under the QUEUE policy; it becomes FIRED when that run finishes), or
/// FAILED when the work request was refused (unknown host, empty group, busy host).
/// A fired slot's row and the job's next slot are written in the transaction that creates the
/// work request (WorkEngine's OnAccept), so after a kill -9 a slot has fired once or not at all.
///
/// Idle cost: the next slot of every job sits in an ordered index; the Scheduler waits for the
/// earliest and run_due() looks only at jobs that are due (and at queued ones).
/// Thread-safe: every method takes the service's lock.
class JobService {
public:
    JobService(Store& store, WorkEngine& work, GroupService& groups, HostCommands& hosts, const core::Clock& clock,
               JobPolicy policy = {});

    /// Loads the jobs and indexes their next slots (call once after a start, after the engine's
    /// load(), before the Scheduler).
    void load();

    /// Creates a job from `job` (name, description, start, time_zone, rule, one target, the
    /// operation's parameters, window_seconds, overlap_policy, paused). Slots before now are not
    /// runs. `on_write` runs inside the creating transaction with the job as shown (e.g. to
    /// record an Idempotency-Key). @throws InvalidField naming the field; Conflict if the name is taken.
    JobView create(StoredJob job, const std::string& by,
                   const std::function<void(WorkTables&, const JobView&)>& on_write = {});
    /// Applies `changes` (anything but the name and the target kind) to the job as it is under the
    /// lock, validated as create does; the next slot is recomputed from now. A one-time job that
    /// already ran (or whose run run-now used) stays spent unless its start or zone changes. A
    /// slot that was due but not yet handled and that the update drops gets a row (SKIPPED,
    /// UPDATED). @throws NotFound, PreconditionFailed (revision), InvalidField.
    JobView update(const std::string& name, const JobChanges& changes, std::optional<std::int64_t> if_match);
    /// Replaces every field that may change with `changed`'s.
    JobView update(const std::string& name, const StoredJob& changed, std::optional<std::int64_t> if_match) {
        return update(name, JobChanges::all_of(changed), if_match);
    }
    /// Deletes a job; its history (job_runs) and its work requests stay. @throws NotFound,
    /// PreconditionFailed.
    void remove(const std::string& name, std::optional<std::int64_t> if_match);
    /// Slots falling while paused are recorded SKIPPED (PAUSED). @throws NotFound, PreconditionFailed.
    JobView pause(const std::string& name, std::optional<std::int64_t> if_match);
    JobView resume(const std::string& name, std::optional<std::int64_t> if_match);
    /// The next slot not yet skipped is skipped (SKIPPED, SKIP_NEXT) when it comes.
    /// @throws NotFound, PreconditionFailed, Conflict (no slot left).
    JobView skip_next(const std::string& name, std::optional<std::int64_t> if_match);
    /// Runs the job now; the schedule is unchanged, except that a one-time job's run is consumed.
    /// @throws NotFound, Conflict (its last run is unfinished, a one-time job already ran, or the
    ///         work engine refused: busy host), InvalidField (empty group, unknown host).
    /// `on_accept` runs in the transaction that creates the work request (as WorkEngine's).
    StoredWorkRequest run_now(const std::string& name, const std::string& by, const OnAccept& on_accept = {});

    /// A job as shown with its next `n` runs. @throws NotFound.
    JobView show(const std::string& name, int n = 5);
    /// A page of jobs by name (next runs: the first one only).
    std::vector<JobView> list(const JobFilter& filter);
    /// A job's runs, newest first; a deleted job's too (its history is kept; a job created again
    /// under the name continues it). @throws NotFound (no such job, and no run by that name).
    std::vector<JobRun> runs(const std::string& name, std::int64_t before_id, int limit);

    /// Handles every slot due at the clock's now and every queued slot whose run has finished
    /// (during the start hold, only slots after the start).
    void run_due();
    /// When run_due() has something to do next: the earliest slot, or about a second from now
    /// while a slot is queued; nullopt if nothing is scheduled.
    std::optional<std::int64_t> next_due();
    /// Called (without the lock) after every change of the index, e.g. to wake the Scheduler.
    void set_on_change(std::function<void()> on_change);
    /// How many jobs are indexed (benchmarks, tests).
    std::size_t indexed();
    /// Jobs by state (ACTIVE, PAUSED, INACTIVE): what /metrics shows.
    std::map<std::string, std::uint64_t> count_by_state();

private:
    struct Entry {
        StoredJob job;
        std::multimap<std::int64_t, std::string>::iterator due;
        bool indexed = false;
    };

    /// Checks and normalizes `job`, and sets its next slot after `now`. Reads no member but the
    /// services: called without mutex_ (expanding a rule takes time).
    /// `spent`: a one-time job whose run is used keeps next_slot 0 (its start may be past).
    void validate(StoredJob& job, std::int64_t now, bool spent = false);
    // REQUIRES (all below): mutex_ held.
    Entry& entry(const std::string& name);
    void check_revision(const Entry& e, std::optional<std::int64_t> if_match);
    void reindex(Entry& e);
    void save(Entry& e, StoredJob job, const std::vector<JobRun>& rows = {});
    JobView view(const StoredJob& job, int n);
    bool unfinished(std::int64_t work_request_id);
    void handle_due(Entry& e, std::int64_t now);
    /// Creates the work request of `run` (its slot, reason) and writes `rows`, `run` and `job`
    /// in its transaction; on a refusal writes them with run FAILED. Returns the work request.
    std::optional<StoredWorkRequest> fire(StoredJob& job, JobRun run, std::vector<JobRun> rows, std::int64_t now,
                                          bool rethrow, const OnAccept& on_accept = {});
    void write_rows(const StoredJob& job, const std::vector<JobRun>& rows);
    void notify();

    Store& store_;
    WorkEngine& work_;
    GroupService& groups_;
    HostCommands& hosts_;
    const core::Clock& clock_;
    JobPolicy policy_;
    std::mutex mutex_;
    std::map<std::string, Entry> jobs_;
    std::multimap<std::int64_t, std::string> due_;  ///< next_slot -> job
    std::set<std::string> queued_;                  ///< Jobs with a slot queued behind their last run.
    std::function<void()> on_change_;
    std::int64_t loaded_at_ = 0;   ///< When load() ran: slots before it were missed while down.
    std::int64_t hold_until_ = 0;  ///< Missed slots wait until then (JobPolicy::start_hold_seconds).
};

}  // namespace patching::controller
