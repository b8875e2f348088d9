// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "work/work_types.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace patching::controller {

/// The work tables' changes inside one write transaction (WriteTransaction::work()): work
/// requests with their logs and errors, host groups, host labels and idempotency records.
class WorkTables {
public:
    virtual ~WorkTables() = default;

    /// Inserts a work request or replaces every field of the stored one.
    virtual void put_work_request(const StoredWorkRequest& wr) = 0;
    /// Appends a log line (its seq is assigned).
    virtual void add_work_log(const WorkLogEntry& entry) = 0;
    /// Appends an error (its seq is assigned).
    virtual void add_work_error(const WorkError& error) = 0;
    /// Retention: deletes every finished parent whose time_finished is before `before`, with its
    /// children, logs and errors. Unfinished work requests are never deleted. Returns how many
    /// parents went.
    virtual int delete_finished_work_requests(std::int64_t before) = 0;

    /// Inserts a group or replaces it (members and rules included).
    virtual void put_group(const StoredGroup& group) = 0;
    /// Deletes a group; no-op if it does not exist.
    virtual void delete_group(const std::string& name) = 0;
    /// Replaces the labels an operator set on a host; an empty map forgets them.
    virtual void set_host_labels(const std::string& host, const std::map<std::string, std::string>& labels) = 0;
    /// Replaces the labels in effect that a host's agent reported; an empty map forgets them.
    virtual void set_reported_labels(const std::string& host, const std::map<std::string, std::string>& labels) = 0;

    /// Records the first answer to an Idempotency-Key.
    virtual void put_idempotency(const IdempotencyRecord& record) = 0;
    /// Forgets records created before `before`.
    virtual void prune_idempotency(std::int64_t before) = 0;
};

/// Reads of the work tables (Store::work_queries()). Thread-safe.
class WorkQueries {
public:
    virtual ~WorkQueries() = default;

    virtual std::optional<StoredWorkRequest> work_request(std::int64_t id) = 0;
    /// A page of work requests matching `filter`, newest (highest id) first.
    virtual std::vector<StoredWorkRequest> list_work_requests(const WorkRequestFilter& filter) = 0;
    /// Every unfinished parent with all its children (what the engine resumes after a restart).
    virtual std::vector<StoredWorkRequest> unfinished_work_requests() = 0;
    /// The highest id ever stored (0 if none).
    virtual std::int64_t max_work_request_id() = 0;
    /// How many parent work requests there are of each (operation, state), as the enums spell
    /// them (what /metrics shows).
    virtual std::map<std::pair<std::string, std::string>, std::uint64_t> count_work_requests() = 0;
    /// Log lines of a work request and, for a parent, of its children; seq > after_seq, in order.
    virtual std::vector<WorkLogEntry> work_logs(std::int64_t id, std::int64_t after_seq, int limit) = 0;
    /// Errors of a work request and, for a parent, of its children; seq > after_seq, in order.
    virtual std::vector<WorkError> work_errors(std::int64_t id, std::int64_t after_seq, int limit) = 0;

    virtual std::vector<StoredGroup> load_groups() = 0;
    /// The labels operators set, by host.
    virtual std::map<std::string, std::map<std::string, std::string>> load_host_labels() = 0;
    /// The agent-reported labels in effect, by host.
    virtual std::map<std::string, std::map<std::string, std::string>> load_reported_labels() = 0;
    virtual std::optional<IdempotencyRecord> idempotency(const std::string& caller, const std::string& key) = 0;
};

}  // namespace patching::controller
