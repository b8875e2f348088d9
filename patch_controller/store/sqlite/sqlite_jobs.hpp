// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "store/job_tables.hpp"
#include "store/sqlite/database.hpp"

#include <mutex>

namespace patching::controller {

/// Schema step: scheduled jobs and their runs (one row per nominal slot). A job's settings are
/// one JSON document beside the columns the lists filter on.
inline constexpr const char* JOB_TABLES_MIGRATION = R"sql(
CREATE TABLE jobs(
    name TEXT PRIMARY KEY, target_kind TEXT NOT NULL, group_name TEXT NOT NULL, settings TEXT NOT NULL,
    revision INTEGER NOT NULL);
CREATE INDEX jobs_by_group ON jobs(group_name, name);
CREATE TABLE job_runs(
    id INTEGER PRIMARY KEY, job TEXT NOT NULL, slot INTEGER NOT NULL, recorded_at INTEGER NOT NULL,
    result TEXT NOT NULL, reason TEXT NOT NULL, message TEXT NOT NULL, work_request_id INTEGER NOT NULL);
CREATE INDEX job_runs_by_job ON job_runs(job, id);
)sql";

/// JobTables inside an open SQLite transaction.
class SqliteJobTables final : public JobTables {
public:
    explicit SqliteJobTables(Database& db) : db_(db) {}
    void put_job(const StoredJob& job) override;
    void delete_job(const std::string& name) override;
    std::int64_t put_job_run(const JobRun& run) override;

private:
    Database& db_;
};

/// JobQueries on SqliteStore's connection, under its mutex.
class SqliteJobQueries final : public JobQueries {
public:
    SqliteJobQueries(std::mutex& mutex, Database& db) : mutex_(mutex), db_(db) {}
    std::optional<StoredJob> job(const std::string& name) override;
    std::vector<StoredJob> list_jobs(const JobFilter& filter) override;
    std::vector<StoredJob> load_jobs() override;
    std::vector<JobRun> job_runs(const std::string& job, std::int64_t before_id, int limit) override;
    std::optional<JobRun> job_run(std::int64_t id) override;

private:
    std::mutex& mutex_;
    Database& db_;
};

}  // namespace patching::controller
