// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "store/job_tables.hpp"

#include <map>
#include <mutex>

namespace patching::controller {

/// The job tables of MemoryStore (inside MemoryWorkState, so they commit and roll back with it).
struct MemoryJobState {
    std::map<std::string, StoredJob> jobs;
    std::map<std::int64_t, JobRun> runs;
    std::int64_t run_seq = 0;
};

/// JobTables on a MemoryJobState (a transaction's copy).
class MemoryJobTables final : public JobTables {
public:
    explicit MemoryJobTables(MemoryJobState& state) : s_(state) {}
    void put_job(const StoredJob& job) override;
    void delete_job(const std::string& name) override;
    std::int64_t put_job_run(const JobRun& run) override;

private:
    MemoryJobState& s_;
};

/// JobQueries on MemoryStore's committed state, under its mutex.
class MemoryJobQueries final : public JobQueries {
public:
    MemoryJobQueries(std::mutex& mutex, const MemoryJobState& state) : mutex_(mutex), s_(state) {}
    std::optional<StoredJob> job(const std::string& name) override;
    std::vector<StoredJob> list_jobs(const JobFilter& filter) override;
    std::vector<StoredJob> load_jobs() override;
    std::vector<JobRun> job_runs(const std::string& job, std::int64_t before_id, int limit) override;
    std::optional<JobRun> job_run(std::int64_t id) override;

private:
    std::mutex& mutex_;
    const MemoryJobState& s_;
};

}  // namespace patching::controller
