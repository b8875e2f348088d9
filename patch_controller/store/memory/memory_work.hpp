// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "store/work_tables.hpp"

#include <mutex>
#include <utility>

namespace patching::controller {

/// The work tables of MemoryStore (part of its State, so they commit and roll back with it).
struct MemoryWorkState {
    std::map<std::int64_t, StoredWorkRequest> work_requests;
    std::vector<WorkLogEntry> logs;
    std::vector<WorkError> errors;
    std::int64_t log_seq = 0;
    std::int64_t error_seq = 0;
    std::map<std::string, StoredGroup> groups;
    std::map<std::string, std::map<std::string, std::string>> host_labels;
    std::map<std::string, std::map<std::string, std::string>> reported_labels;
    std::map<std::pair<std::string, std::string>, IdempotencyRecord> idempotency;
};

/// WorkTables on a MemoryWorkState (a transaction's copy).
class MemoryWorkTables final : public WorkTables {
public:
    explicit MemoryWorkTables(MemoryWorkState& state) : s_(state) {}
    void put_work_request(const StoredWorkRequest& wr) override;
    void add_work_log(const WorkLogEntry& entry) override;
    void add_work_error(const WorkError& error) override;
    int delete_finished_work_requests(std::int64_t before) override;
    void put_group(const StoredGroup& group) override;
    void delete_group(const std::string& name) override;
    void set_host_labels(const std::string& host, const std::map<std::string, std::string>& labels) override;
    void set_reported_labels(const std::string& host, const std::map<std::string, std::string>& labels) override;
    void put_idempotency(const IdempotencyRecord& record) override;
    void prune_idempotency(std::int64_t before) override;

private:
    MemoryWorkState& s_;
};

/// WorkQueries on MemoryStore's committed state, under its mutex.
class MemoryWorkQueries final : public WorkQueries {
public:
    MemoryWorkQueries(std::mutex& mutex, const MemoryWorkState& state) : mutex_(mutex), s_(state) {}
    std::optional<StoredWorkRequest> work_request(std::int64_t id) override;
    std::vector<StoredWorkRequest> list_work_requests(const WorkRequestFilter& filter) override;
    std::vector<StoredWorkRequest> unfinished_work_requests() override;
    std::map<std::pair<std::string, std::string>, std::uint64_t> count_work_requests() override;
    std::int64_t max_work_request_id() override;
    std::vector<WorkLogEntry> work_logs(std::int64_t id, std::int64_t after_seq, int limit) override;
    std::vector<WorkError> work_errors(std::int64_t id, std::int64_t after_seq, int limit) override;
    std::vector<StoredGroup> load_groups() override;
    std::map<std::string, std::map<std::string, std::string>> load_host_labels() override;
    std::map<std::string, std::map<std::string, std::string>> load_reported_labels() override;
    std::optional<IdempotencyRecord> idempotency(const std::string& caller, const std::string& key) override;

private:
    std::mutex& mutex_;
    const MemoryWorkState& s_;
};

}  // namespace patching::controller
