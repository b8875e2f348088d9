// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace patching::controller {

// The vocabulary of scheduled jobs (fleet-ops-spec §2, §9.6): what the store keeps, the
// scheduler fires and the API shows.

/// A scheduled job: when (a first local time in a zone, and an RRULE for a recurring one), on
/// what (exactly one target: hosts or a group, resolved when it fires) and what it does (an
/// install across the hosts, with the work-request rate controls).
struct StoredJob {
    std::string name;  ///< The key: [a-z0-9][a-z0-9._-]{0,62}.
    std::string description;
    std::string start;      ///< The first slot, local wall time "YYYY-MM-DDTHH:MM:SS".
    std::string time_zone;  ///< IANA zone the start and the rule are read in.
    std::string rule;       ///< RRULE; "" = a one-time job.
    std::string target_kind;  ///< HOSTS or GROUP (never changes).
    std::vector<std::string> hosts;  ///< HOSTS: the hosts.
    std::string group;               ///< GROUP: the group (its members when it fires).
    std::string operation = "INSTALL";
    std::string max_concurrency = "10%";
    std::string max_errors = "0";
    bool force = false;
    std::vector<int> retry_intervals;
    std::int64_t window_seconds = 0;      ///< 0 = no window; else no host starts after slot + this.
    std::string overlap_policy = "SKIP";  ///< SKIP or QUEUE: a slot whose previous run is unfinished.
    bool paused = false;
    int skip_count = 0;             ///< Slots still to skip (skip-next).
    std::int64_t next_slot = 0;     ///< The next nominal slot not yet handled (UTC); 0 = none left.
    /// Where the rule resumes (next_slot's Recurrence::Anchor): an old job's slots are computed
    /// from its last one, not by expanding the rule from its start each time.
    std::string anchor_local;
    int anchor_index = 0;
    std::int64_t queued_run = 0;    ///< The job_runs id of a slot queued behind a run; 0 = none.
    std::int64_t last_work_request = 0;  ///< The latest run's work request; 0 = never fired.
    std::int64_t last_fired_at = 0;
    std::string created_by;
    std::int64_t created_at = 0;
    std::int64_t updated_at = 0;
    std::int64_t revision = 1;  ///< Bumped on every change: the ETag.

    bool operator==(const StoredJob&) const = default;
};

/// What an update changes (PATCH: the body's fields); unset = as the job is when the update is
/// applied, under the service's lock, so a change made meanwhile (a pause) is not undone.
struct JobChanges {
    std::optional<std::string> description;
    std::optional<std::string> start;
    std::optional<std::string> time_zone;
    std::optional<std::string> rule;
    /// The target: set both (one of them empty) or neither.
    std::optional<std::vector<std::string>> hosts;
    std::optional<std::string> group;
    std::optional<std::string> operation;
    std::optional<std::string> max_concurrency;
    std::optional<std::string> max_errors;
    std::optional<bool> force;
    std::optional<std::vector<int>> retry_intervals;
    std::optional<std::int64_t> window_seconds;
    std::optional<std::string> overlap_policy;
    std::optional<bool> paused;

    /// Every field a job's update may change, as `job` has it.
    static JobChanges all_of(const StoredJob& job) {
        return {job.description, job.start,          job.time_zone,       job.rule,
                job.hosts,       job.group,          job.operation,       job.max_concurrency,
                job.max_errors,  job.force,          job.retry_intervals, job.window_seconds,
                job.overlap_policy, job.paused};
    }
    void apply_to(StoredJob& job) const {
        auto set = [](auto& field, const auto& value) {
            if (value) {
                field = *value;
            }
        };
        set(job.description, description);
        set(job.start, start);
        set(job.time_zone, time_zone);
        set(job.rule, rule);
        set(job.hosts, hosts);
        set(job.group, group);
        set(job.operation, operation);
        set(job.max_concurrency, max_concurrency);
        set(job.max_errors, max_errors);
        set(job.force, force);
        set(job.retry_intervals, retry_intervals);
        set(job.window_seconds, window_seconds);
        set(job.overlap_policy, overlap_policy);
        set(job.paused, paused);
    }
};

/// One slot of a job's history (job_runs): every nominal slot gets one, and so does each run-now.
struct JobRun {
    std::int64_t id = 0;  ///< Assigned by the store when 0.
    std::string job;
    std::int64_t slot = 0;         ///< The nominal time (UTC); for a recurring job's run-now, when it was asked.
    std::int64_t recorded_at = 0;  ///< When the result was written (fired_at for FIRED).
    std::string result;            ///< FIRED, SKIPPED, MISSED, QUEUED or FAILED.
    std::string reason;            ///< PAUSED, OVERLAP, SKIP_NEXT, RUN_NOW, CONTROLLER_DOWN, COALESCED, ...
    std::string message;           ///< For people (FAILED: why the work request was refused).
    std::int64_t work_request_id = 0;

    bool operator==(const JobRun&) const = default;
};

/// A page of jobs (by name) or of one job's runs (newest first).
struct JobFilter {
    std::string after_name;  ///< Names after this one ("" = from the first).
    std::string target_kind;  ///< "" = any.
    std::string group;        ///< Jobs on this group.
    int limit = 50;
};

}  // namespace patching::controller
