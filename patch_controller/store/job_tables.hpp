// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "jobs/job_types.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace patching::controller {

/// The job tables' changes inside one write transaction (WorkTables::jobs(), so that a run is
/// recorded in the transaction that creates its work request).
class JobTables {
public:
    virtual ~JobTables() = default;

    /// Inserts a job or replaces every field of the stored one.
    virtual void put_job(const StoredJob& job) = 0;
    /// Deletes a job; its runs stay (the history is kept). No-op if it does not exist.
    virtual void delete_job(const std::string& name) = 0;
    /// Inserts a run (id 0: a new id is assigned and returned) or replaces the one with its id.
    virtual std::int64_t put_job_run(const JobRun& run) = 0;
};

/// Reads of the job tables (Store::job_queries()). Thread-safe.
class JobQueries {
public:
    virtual ~JobQueries() = default;

    virtual std::optional<StoredJob> job(const std::string& name) = 0;
    /// A page of jobs by name.
    virtual std::vector<StoredJob> list_jobs(const JobFilter& filter) = 0;
    /// Every job (what the scheduler loads after a start).
    virtual std::vector<StoredJob> load_jobs() = 0;
    /// A job's runs, newest (highest id) first, ids below `before_id` (0 = from the newest).
    virtual std::vector<JobRun> job_runs(const std::string& job, std::int64_t before_id, int limit) = 0;
    virtual std::optional<JobRun> job_run(std::int64_t id) = 0;
};

}  // namespace patching::controller
