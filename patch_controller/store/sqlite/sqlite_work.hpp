// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "store/sqlite/database.hpp"
#include "store/work_tables.hpp"

#include <mutex>

namespace patching::controller {

/// Schema step 3 (SqliteStore's MIGRATIONS[2]): the work tables. Portable SQL only; the
/// indexes serve the list filters (parent, state, host, operation) newest first.
inline constexpr const char* WORK_TABLES_MIGRATION = R"sql(
CREATE TABLE work_request(
    id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL, root_id INTEGER NOT NULL,
    operation TEXT NOT NULL, state TEXT NOT NULL, outcome TEXT NOT NULL, host TEXT NOT NULL,
    target_kind TEXT NOT NULL, target TEXT NOT NULL, params TEXT NOT NULL, sw_version TEXT NOT NULL,
    target_set TEXT NOT NULL, initiator TEXT NOT NULL, created_by TEXT NOT NULL,
    retry_of INTEGER NOT NULL, rerun_of INTEGER NOT NULL, attempt INTEGER NOT NULL,
    command_id TEXT NOT NULL, message TEXT NOT NULL, failure_kind TEXT NOT NULL, retryable INTEGER NOT NULL,
    time_accepted INTEGER NOT NULL, time_started INTEGER NOT NULL, time_finished INTEGER NOT NULL,
    time_scheduled INTEGER NOT NULL, cancel_requested INTEGER NOT NULL, canceled_by TEXT NOT NULL,
    total INTEGER NOT NULL, waiting INTEGER NOT NULL, in_progress INTEGER NOT NULL,
    succeeded INTEGER NOT NULL, failed INTEGER NOT NULL, skipped INTEGER NOT NULL,
    canceled INTEGER NOT NULL, percent_complete INTEGER NOT NULL, revision INTEGER NOT NULL);
CREATE INDEX work_request_by_parent ON work_request(parent_id, id);
CREATE INDEX work_request_by_state ON work_request(state, id);
CREATE INDEX work_request_by_host ON work_request(host, id);
CREATE INDEX work_request_by_operation ON work_request(operation, id);
CREATE INDEX work_request_by_root ON work_request(root_id);
CREATE TABLE work_request_log(
    seq INTEGER PRIMARY KEY, wr_id INTEGER NOT NULL, root_id INTEGER NOT NULL, time INTEGER NOT NULL,
    host TEXT NOT NULL, phase TEXT NOT NULL, message TEXT NOT NULL);
CREATE INDEX work_request_log_by_wr ON work_request_log(wr_id, seq);
CREATE INDEX work_request_log_by_root ON work_request_log(root_id, seq);
CREATE TABLE work_request_error(
    seq INTEGER PRIMARY KEY, wr_id INTEGER NOT NULL, root_id INTEGER NOT NULL, time INTEGER NOT NULL,
    host TEXT NOT NULL, code TEXT NOT NULL, message TEXT NOT NULL, retryable INTEGER NOT NULL);
CREATE INDEX work_request_error_by_wr ON work_request_error(wr_id, seq);
CREATE INDEX work_request_error_by_root ON work_request_error(root_id, seq);
CREATE TABLE host_group(
    name TEXT PRIMARY KEY, description TEXT NOT NULL, rule_personality TEXT NOT NULL,
    rule_labels TEXT NOT NULL, created_at INTEGER NOT NULL, revision INTEGER NOT NULL);
CREATE TABLE host_group_member(group_name TEXT NOT NULL, host TEXT NOT NULL, PRIMARY KEY (group_name, host));
CREATE TABLE host_label(host TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (host, name));
CREATE TABLE idempotency(
    caller TEXT NOT NULL, idem_key TEXT NOT NULL, fingerprint TEXT NOT NULL, status INTEGER NOT NULL,
    body TEXT NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY (caller, idem_key));
CREATE INDEX idempotency_by_time ON idempotency(created_at);
)sql";

/// Migration 4: a group may require one release of its hosts; agents report labels of their own
/// (kept apart from those operators set); a finished host command keeps the log its agent sent.
inline constexpr const char* GROUP_RELEASE_AND_REPORTED_LABELS_MIGRATION = R"sql(
ALTER TABLE host_group ADD COLUMN sw_version TEXT NOT NULL DEFAULT '';
CREATE TABLE host_reported_label(host TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (host, name));
ALTER TABLE host_commands ADD COLUMN output TEXT NOT NULL DEFAULT '';
)sql";

/// WorkTables inside an open SQLite transaction.
class SqliteWorkTables final : public WorkTables {
public:
    explicit SqliteWorkTables(Database& db) : db_(db) {}
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
    void replace_labels(const std::string& table, const std::string& host,
                        const std::map<std::string, std::string>& labels);
    Database& db_;
};

/// WorkQueries on SqliteStore's connection, under its mutex.
class SqliteWorkQueries final : public WorkQueries {
public:
    SqliteWorkQueries(std::mutex& mutex, Database& db) : mutex_(mutex), db_(db) {}
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
    std::map<std::string, std::map<std::string, std::string>> load_labels(const std::string& table);
    std::mutex& mutex_;
    Database& db_;
};

}  // namespace patching::controller
