// SPDX-License-Identifier: Apache-2.0
#include "store/sqlite/sqlite_jobs.hpp"

#include <nlohmann/json.hpp>

namespace patching::controller {

namespace {

using nlohmann::json;

std::string settings_of(const StoredJob& j) {
    return json{{"description", j.description},
                {"start", j.start},
                {"time_zone", j.time_zone},
                {"rule", j.rule},
                {"hosts", j.hosts},
                {"operation", j.operation},
                {"max_concurrency", j.max_concurrency},
                {"max_errors", j.max_errors},
                {"force", j.force},
                {"retry_intervals", j.retry_intervals},
                {"window_seconds", j.window_seconds},
                {"overlap_policy", j.overlap_policy},
                {"paused", j.paused},
                {"skip_count", j.skip_count},
                {"next_slot", j.next_slot},
                {"anchor_local", j.anchor_local},
                {"anchor_index", j.anchor_index},
                {"queued_run", j.queued_run},
                {"last_work_request", j.last_work_request},
                {"last_fired_at", j.last_fired_at},
                {"created_by", j.created_by},
                {"created_at", j.created_at},
                {"updated_at", j.updated_at}}
        .dump();
}

StoredJob read_job(const Statement& q) {
    StoredJob j;
    j.name = q.column_text(0);
    j.target_kind = q.column_text(1);
    j.group = q.column_text(2);
    const json s = json::parse(q.column_text(3));
    j.revision = q.column_int(4);
    j.description = s.at("description");
    j.start = s.at("start");
    j.time_zone = s.at("time_zone");
    j.rule = s.at("rule");
    j.hosts = s.at("hosts").get<std::vector<std::string>>();
    j.operation = s.at("operation");
    j.max_concurrency = s.at("max_concurrency");
    j.max_errors = s.at("max_errors");
    j.force = s.at("force");
    j.retry_intervals = s.at("retry_intervals").get<std::vector<int>>();
    j.window_seconds = s.at("window_seconds");
    j.overlap_policy = s.at("overlap_policy");
    j.paused = s.at("paused");
    j.skip_count = s.at("skip_count");
    j.next_slot = s.at("next_slot");
    j.anchor_local = s.value("anchor_local", std::string());
    j.anchor_index = s.value("anchor_index", 0);
    j.queued_run = s.at("queued_run");
    j.last_work_request = s.at("last_work_request");
    j.last_fired_at = s.at("last_fired_at");
    j.created_by = s.at("created_by");
    j.created_at = s.at("created_at");
    j.updated_at = s.at("updated_at");
    return j;
}

constexpr const char* JOB_COLUMNS = "name, target_kind, group_name, settings, revision";
constexpr const char* RUN_COLUMNS = "id, job, slot, recorded_at, result, reason, message, work_request_id";

JobRun read_run(const Statement& q) {
    JobRun r;
    r.id = q.column_int(0);
    r.job = q.column_text(1);
    r.slot = q.column_int(2);
    r.recorded_at = q.column_int(3);
    r.result = q.column_text(4);
    r.reason = q.column_text(5);
    r.message = q.column_text(6);
    r.work_request_id = q.column_int(7);
    return r;
}

}  // namespace

void SqliteJobTables::put_job(const StoredJob& j) {
    db_.prepare(std::string("INSERT OR REPLACE INTO jobs(") + JOB_COLUMNS + ") VALUES (?, ?, ?, ?, ?)")
        .bind(1, j.name)
        .bind(2, j.target_kind)
        .bind(3, j.group)
        .bind(4, settings_of(j))
        .bind(5, j.revision)
        .run();
}

void SqliteJobTables::delete_job(const std::string& name) {
    db_.prepare("DELETE FROM jobs WHERE name = ?").bind(1, name).run();
}

std::int64_t SqliteJobTables::put_job_run(const JobRun& r) {
    Statement s = db_.prepare(std::string("INSERT OR REPLACE INTO job_runs(") + RUN_COLUMNS +
                              ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    if (r.id == 0) {
        s.bind_null(1);
    } else {
        s.bind(1, r.id);
    }
    s.bind(2, r.job).bind(3, r.slot).bind(4, r.recorded_at).bind(5, r.result).bind(6, r.reason).bind(7, r.message);
    s.bind(8, r.work_request_id);
    s.run();
    if (r.id != 0) {
        return r.id;
    }
    Statement q = db_.prepare("SELECT last_insert_rowid()");
    q.step();
    return q.column_int(0);
}

std::optional<StoredJob> SqliteJobQueries::job(const std::string& name) {
    std::lock_guard lock(mutex_);
    Statement q = db_.prepare(std::string("SELECT ") + JOB_COLUMNS + " FROM jobs WHERE name = ?");
    q.bind(1, name);
    if (!q.step()) {
        return std::nullopt;
    }
    return read_job(q);
}

std::vector<StoredJob> SqliteJobQueries::list_jobs(const JobFilter& f) {
    std::lock_guard lock(mutex_);
    Statement q = db_.prepare(std::string("SELECT ") + JOB_COLUMNS +
                              " FROM jobs WHERE name > ? AND (? = '' OR target_kind = ?) AND "
                              "(? = '' OR group_name = ?) ORDER BY name LIMIT ?");
    q.bind(1, f.after_name).bind(2, f.target_kind).bind(3, f.target_kind).bind(4, f.group).bind(5, f.group);
    q.bind(6, std::int64_t{f.limit});
    std::vector<StoredJob> out;
    while (q.step()) {
        out.push_back(read_job(q));
    }
    return out;
}

std::vector<StoredJob> SqliteJobQueries::load_jobs() {
    std::lock_guard lock(mutex_);
    Statement q = db_.prepare(std::string("SELECT ") + JOB_COLUMNS + " FROM jobs ORDER BY name");
    std::vector<StoredJob> out;
    while (q.step()) {
        out.push_back(read_job(q));
    }
    return out;
}

std::vector<JobRun> SqliteJobQueries::job_runs(const std::string& job, std::int64_t before_id, int limit) {
    std::lock_guard lock(mutex_);
    Statement q = db_.prepare(std::string("SELECT ") + RUN_COLUMNS +
                              " FROM job_runs WHERE job = ? AND (? = 0 OR id < ?) ORDER BY id DESC LIMIT ?");
    q.bind(1, job).bind(2, before_id).bind(3, before_id).bind(4, std::int64_t{limit});
    std::vector<JobRun> out;
    while (q.step()) {
        out.push_back(read_run(q));
    }
    return out;
}

std::optional<JobRun> SqliteJobQueries::job_run(std::int64_t id) {
    std::lock_guard lock(mutex_);
    Statement q = db_.prepare(std::string("SELECT ") + RUN_COLUMNS + " FROM job_runs WHERE id = ?");
    q.bind(1, id);
    if (!q.step()) {
        return std::nullopt;
    }
    return read_run(q);
}

}  // namespace patching::controller
