// SPDX-License-Identifier: Apache-2.0
#include "store/memory/memory_jobs.hpp"

namespace patching::controller {

void MemoryJobTables::put_job(const StoredJob& job) { s_.jobs[job.name] = job; }

void MemoryJobTables::delete_job(const std::string& name) {
    s_.jobs.erase(name);
}

std::int64_t MemoryJobTables::put_job_run(const JobRun& run) {
    JobRun row = run;
    if (row.id == 0) {
        row.id = ++s_.run_seq;
    }
    s_.run_seq = std::max(s_.run_seq, row.id);
    s_.runs[row.id] = row;
    return row.id;
}

std::optional<StoredJob> MemoryJobQueries::job(const std::string& name) {
    std::lock_guard lock(mutex_);
    auto it = s_.jobs.find(name);
    return it == s_.jobs.end() ? std::nullopt : std::optional(it->second);
}

std::vector<StoredJob> MemoryJobQueries::list_jobs(const JobFilter& f) {
    std::lock_guard lock(mutex_);
    std::vector<StoredJob> out;
    for (auto it = s_.jobs.upper_bound(f.after_name); it != s_.jobs.end() && std::ssize(out) < f.limit; ++it) {
        if ((!f.target_kind.empty() && it->second.target_kind != f.target_kind) ||
            (!f.group.empty() && it->second.group != f.group)) {
            continue;
        }
        out.push_back(it->second);
    }
    return out;
}

std::vector<StoredJob> MemoryJobQueries::load_jobs() {
    std::lock_guard lock(mutex_);
    std::vector<StoredJob> out;
    for (const auto& [name, job] : s_.jobs) {
        out.push_back(job);
    }
    return out;
}

std::vector<JobRun> MemoryJobQueries::job_runs(const std::string& job, std::int64_t before_id, int limit) {
    std::lock_guard lock(mutex_);
    std::vector<JobRun> out;
    for (auto it = s_.runs.rbegin(); it != s_.runs.rend() && std::ssize(out) < limit; ++it) {
        if (it->second.job == job && (before_id == 0 || it->first < before_id)) {
            out.push_back(it->second);
        }
    }
    return out;
}

std::optional<JobRun> MemoryJobQueries::job_run(std::int64_t id) {
    std::lock_guard lock(mutex_);
    auto it = s_.runs.find(id);
    return it == s_.runs.end() ? std::nullopt : std::optional(it->second);
}

}  // namespace patching::controller
