// SPDX-License-Identifier: Apache-2.0
#include "store/sqlite/sqlite_work.hpp"

#include "store/store.hpp"

#include <nlohmann/json.hpp>

namespace patching::controller {

namespace {

constexpr const char* WR_COLUMNS =
    "id, parent_id, root_id, operation, state, outcome, host, target_kind, target, params, sw_version, target_set, "
    "initiator, created_by, retry_of, rerun_of, attempt, command_id, message, failure_kind, retryable, time_accepted, time_started, "
    "time_finished, time_scheduled, cancel_requested, canceled_by, total, waiting, in_progress, succeeded, failed, "
    "skipped, canceled, percent_complete, revision";

template <class T>
T parse_stored(std::optional<T> value, const std::string& text, const char* what) {
    if (!value) {
        throw StoreError("the state database holds an unknown " + std::string(what) + " '" + text +
                         "': it was written by a newer controller");
    }
    return *value;
}

std::vector<std::string> json_list(const std::string& text) {
    return text.empty() ? std::vector<std::string>{} : nlohmann::json::parse(text).get<std::vector<std::string>>();
}

StoredWorkRequest read_wr(const Statement& q) {
    StoredWorkRequest wr;
    int c = 0;
    wr.id = q.column_int(c++);
    wr.parent_id = q.column_int(c++);
    wr.root_id = q.column_int(c++);
    std::string text = q.column_text(c++);
    wr.operation = parse_stored(parse_work_operation(text), text, "operation");
    text = q.column_text(c++);
    wr.state = parse_stored(parse_work_state(text), text, "work request state");
    text = q.column_text(c++);
    wr.outcome = parse_stored(parse_work_outcome(text), text, "work request outcome");
    wr.host = q.column_text(c++);
    wr.target_kind = q.column_text(c++);
    wr.target = q.column_text(c++);
    wr.params = q.column_text(c++);
    wr.sw_version = q.column_text(c++);
    wr.target_set = json_list(q.column_text(c++));
    text = q.column_text(c++);
    wr.initiator = parse_stored(parse_initiator(text), text, "initiator");
    wr.created_by = q.column_text(c++);
    wr.retry_of = q.column_int(c++);
    wr.rerun_of = q.column_int(c++);
    wr.attempt = static_cast<int>(q.column_int(c++));
    wr.command_id = q.column_text(c++);
    wr.message = q.column_text(c++);
    wr.failure_kind = q.column_text(c++);
    wr.retryable = q.column_int(c++) != 0;
    wr.time_accepted = q.column_int(c++);
    wr.time_started = q.column_int(c++);
    wr.time_finished = q.column_int(c++);
    wr.time_scheduled = q.column_int(c++);
    wr.cancel_requested = q.column_int(c++) != 0;
    wr.canceled_by = q.column_text(c++);
    for (int* counter : {&wr.total, &wr.waiting, &wr.in_progress, &wr.succeeded, &wr.failed, &wr.skipped,
                         &wr.canceled, &wr.percent_complete}) {
        *counter = static_cast<int>(q.column_int(c++));
    }
    wr.revision = q.column_int(c++);
    return wr;
}

}  // namespace

void SqliteWorkTables::put_work_request(const StoredWorkRequest& wr) {
    db_.prepare("DELETE FROM work_request WHERE id = ?").bind(1, wr.id).run();
    Statement s = db_.prepare(std::string("INSERT INTO work_request(") + WR_COLUMNS +
                              ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                              "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    int c = 1;
    auto text = [&](std::string_view v) { s.bind(c++, v); };
    auto number = [&](std::int64_t v) { s.bind(c++, v); };
    number(wr.id);
    number(wr.parent_id);
    number(wr.root_id);
    text(to_string(wr.operation));
    text(to_string(wr.state));
    text(to_string(wr.outcome));
    text(wr.host);
    text(wr.target_kind);
    text(wr.target);
    text(wr.params);
    text(wr.sw_version);
    text(nlohmann::json(wr.target_set).dump());
    text(to_string(wr.initiator));
    text(wr.created_by);
    number(wr.retry_of);
    number(wr.rerun_of);
    number(wr.attempt);
    text(wr.command_id);
    text(wr.message);
    text(wr.failure_kind);
    number(wr.retryable ? 1 : 0);
    number(wr.time_accepted);
    number(wr.time_started);
    number(wr.time_finished);
    number(wr.time_scheduled);
    number(wr.cancel_requested ? 1 : 0);
    text(wr.canceled_by);
    for (int counter : {wr.total, wr.waiting, wr.in_progress, wr.succeeded, wr.failed, wr.skipped, wr.canceled,
                        wr.percent_complete}) {
        number(counter);
    }
    number(wr.revision);
    s.run();
}

void SqliteWorkTables::add_work_log(const WorkLogEntry& e) {
    db_.prepare("INSERT INTO work_request_log(wr_id, root_id, time, host, phase, message) VALUES (?, ?, ?, ?, ?, ?)")
        .bind(1, e.wr_id)
        .bind(2, e.root_id)
        .bind(3, e.time)
        .bind(4, e.host)
        .bind(5, e.phase)
        .bind(6, e.message)
        .run();
}

void SqliteWorkTables::add_work_error(const WorkError& e) {
    db_.prepare(
           "INSERT INTO work_request_error(wr_id, root_id, time, host, code, message, retryable) "
           "VALUES (?, ?, ?, ?, ?, ?, ?)")
        .bind(1, e.wr_id)
        .bind(2, e.root_id)
        .bind(3, e.time)
        .bind(4, e.host)
        .bind(5, e.code)
        .bind(6, e.message)
        .bind(7, std::int64_t{e.retryable ? 1 : 0})
        .run();
}

int SqliteWorkTables::delete_finished_work_requests(std::int64_t before) {
    const std::string roots =
        "SELECT id FROM work_request WHERE parent_id = 0 AND state IN ('SUCCEEDED', 'FAILED', 'CANCELED', "
        "'SKIPPED') AND time_finished < ?";
    Statement count = db_.prepare("SELECT COUNT(*) FROM (" + roots + ") AS r");
    count.bind(1, before);
    const int n = count.step() ? static_cast<int>(count.column_int(0)) : 0;
    if (n == 0) {
        return 0;
    }
    for (const char* table : {"work_request_log", "work_request_error", "work_request"}) {
        db_.prepare(std::string("DELETE FROM ") + table + " WHERE root_id IN (" + roots + ")").bind(1, before).run();
    }
    return n;
}

void SqliteWorkTables::put_group(const StoredGroup& g) {
    delete_group(g.name);
    db_.prepare(
           "INSERT INTO host_group(name, description, rule_personality, rule_labels, created_at, revision, "
           "sw_version) VALUES (?, ?, ?, ?, ?, ?, ?)")
        .bind(1, g.name)
        .bind(2, g.description)
        .bind(3, g.rule_personality)
        .bind(4, nlohmann::json(g.rule_labels).dump())
        .bind(5, g.created_at)
        .bind(6, g.revision)
        .bind(7, g.sw_version)
        .run();
    for (const auto& host : g.members) {
        db_.prepare("INSERT INTO host_group_member(group_name, host) VALUES (?, ?)").bind(1, g.name).bind(2, host).run();
    }
}

void SqliteWorkTables::delete_group(const std::string& name) {
    db_.prepare("DELETE FROM host_group_member WHERE group_name = ?").bind(1, name).run();
    db_.prepare("DELETE FROM host_group WHERE name = ?").bind(1, name).run();
}

void SqliteWorkTables::set_host_labels(const std::string& host, const std::map<std::string, std::string>& labels) {
    replace_labels("host_label", host, labels);
}

void SqliteWorkTables::set_reported_labels(const std::string& host, const std::map<std::string, std::string>& labels) {
    replace_labels("host_reported_label", host, labels);
}

void SqliteWorkTables::replace_labels(const std::string& table, const std::string& host,
                                      const std::map<std::string, std::string>& labels) {
    db_.prepare("DELETE FROM " + table + " WHERE host = ?").bind(1, host).run();
    for (const auto& [name, value] : labels) {
        db_.prepare("INSERT INTO " + table + "(host, name, value) VALUES (?, ?, ?)")
            .bind(1, host)
            .bind(2, name)
            .bind(3, value)
            .run();
    }
}

void SqliteWorkTables::put_idempotency(const IdempotencyRecord& r) {
    db_.prepare("DELETE FROM idempotency WHERE caller = ? AND idem_key = ?").bind(1, r.caller).bind(2, r.key).run();
    db_.prepare(
           "INSERT INTO idempotency(caller, idem_key, fingerprint, status, body, created_at) VALUES (?, ?, ?, ?, ?, ?)")
        .bind(1, r.caller)
        .bind(2, r.key)
        .bind(3, r.fingerprint)
        .bind(4, std::int64_t{r.status})
        .bind(5, r.body)
        .bind(6, r.created_at)
        .run();
}

void SqliteWorkTables::prune_idempotency(std::int64_t before) {
    db_.prepare("DELETE FROM idempotency WHERE created_at < ?").bind(1, before).run();
}

std::optional<StoredWorkRequest> SqliteWorkQueries::work_request(std::int64_t id) {
    std::lock_guard lock(mutex_);
    Statement q = db_.prepare(std::string("SELECT ") + WR_COLUMNS + " FROM work_request WHERE id = ?");
    q.bind(1, id);
    return q.step() ? std::optional(read_wr(q)) : std::nullopt;
}

std::vector<StoredWorkRequest> SqliteWorkQueries::list_work_requests(const WorkRequestFilter& f) {
    std::string sql = std::string("SELECT ") + WR_COLUMNS + " FROM work_request WHERE 1 = 1";
    if (f.before_id != 0) {
        sql += " AND id < ?";
    }
    if (!f.states.empty()) {
        sql += " AND state IN (?";
        for (size_t i = 1; i < f.states.size(); ++i) {
            sql += ", ?";
        }
        sql += ")";
    }
    if (f.operation) {
        sql += " AND operation = ?";
    }
    if (!f.host.empty()) {
        sql += " AND host = ?";
    }
    if (f.parent_id) {
        sql += " AND parent_id = ?";
    }
    sql += " ORDER BY id DESC LIMIT ?";
    std::lock_guard lock(mutex_);
    Statement q = db_.prepare(sql);
    int c = 1;
    if (f.before_id != 0) {
        q.bind(c++, f.before_id);
    }
    for (WorkState s : f.states) {
        q.bind(c++, to_string(s));
    }
    if (f.operation) {
        q.bind(c++, to_string(*f.operation));
    }
    if (!f.host.empty()) {
        q.bind(c++, f.host);
    }
    if (f.parent_id) {
        q.bind(c++, *f.parent_id);
    }
    q.bind(c++, std::int64_t{f.limit});
    std::vector<StoredWorkRequest> out;
    while (q.step()) {
        out.push_back(read_wr(q));
    }
    return out;
}

std::vector<StoredWorkRequest> SqliteWorkQueries::unfinished_work_requests() {
    std::lock_guard lock(mutex_);
    Statement q = db_.prepare(std::string("SELECT ") + WR_COLUMNS +
                              " FROM work_request WHERE root_id IN (SELECT id FROM work_request WHERE parent_id = 0 "
                              "AND state IN ('ACCEPTED', 'WAITING', 'IN_PROGRESS', 'CANCELING')) ORDER BY id");
    std::vector<StoredWorkRequest> out;
    while (q.step()) {
        out.push_back(read_wr(q));
    }
    return out;
}

std::map<std::pair<std::string, std::string>, std::uint64_t> SqliteWorkQueries::count_work_requests() {
    std::lock_guard lock(mutex_);
    Statement q = db_.prepare(
        "SELECT operation, state, COUNT(*) FROM work_request WHERE parent_id = 0 GROUP BY operation, state");
    std::map<std::pair<std::string, std::string>, std::uint64_t> out;
    while (q.step()) {
        out[{q.column_text(0), q.column_text(1)}] = static_cast<std::uint64_t>(q.column_int(2));
    }
    return out;
}

std::int64_t SqliteWorkQueries::max_work_request_id() {
    std::lock_guard lock(mutex_);
    Statement q = db_.prepare("SELECT MAX(id) FROM work_request");
    return q.step() && !q.column_is_null(0) ? q.column_int(0) : 0;
}

std::vector<WorkLogEntry> SqliteWorkQueries::work_logs(std::int64_t id, std::int64_t after_seq, int limit) {
    std::lock_guard lock(mutex_);
    Statement q = db_.prepare(
        "SELECT seq, wr_id, root_id, time, host, phase, message FROM work_request_log "
        "WHERE (wr_id = ? OR root_id = ?) AND seq > ? ORDER BY seq LIMIT ?");
    q.bind(1, id).bind(2, id).bind(3, after_seq).bind(4, std::int64_t{limit});
    std::vector<WorkLogEntry> out;
    while (q.step()) {
        out.push_back({q.column_int(0), q.column_int(1), q.column_int(2), q.column_int(3), q.column_text(4),
                       q.column_text(5), q.column_text(6)});
    }
    return out;
}

std::vector<WorkError> SqliteWorkQueries::work_errors(std::int64_t id, std::int64_t after_seq, int limit) {
    std::lock_guard lock(mutex_);
    Statement q = db_.prepare(
        "SELECT seq, wr_id, root_id, time, host, code, message, retryable FROM work_request_error "
        "WHERE (wr_id = ? OR root_id = ?) AND seq > ? ORDER BY seq LIMIT ?");
    q.bind(1, id).bind(2, id).bind(3, after_seq).bind(4, std::int64_t{limit});
    std::vector<WorkError> out;
    while (q.step()) {
        out.push_back({q.column_int(0), q.column_int(1), q.column_int(2), q.column_int(3), q.column_text(4),
                       q.column_text(5), q.column_text(6), q.column_int(7) != 0});
    }
    return out;
}

std::vector<StoredGroup> SqliteWorkQueries::load_groups() {
    std::lock_guard lock(mutex_);
    std::vector<StoredGroup> out;
    std::map<std::string, size_t> index;
    Statement q = db_.prepare(
        "SELECT name, description, rule_personality, rule_labels, created_at, revision, sw_version FROM host_group "
        "ORDER BY name");
    while (q.step()) {
        StoredGroup g;
        g.name = q.column_text(0);
        g.description = q.column_text(1);
        g.rule_personality = q.column_text(2);
        g.rule_labels = nlohmann::json::parse(q.column_text(3)).get<std::map<std::string, std::string>>();
        g.created_at = q.column_int(4);
        g.revision = q.column_int(5);
        g.sw_version = q.column_text(6);
        index[g.name] = out.size();
        out.push_back(std::move(g));
    }
    Statement m = db_.prepare("SELECT group_name, host FROM host_group_member ORDER BY group_name, host");
    while (m.step()) {
        auto it = index.find(m.column_text(0));
        if (it != index.end()) {
            out[it->second].members.push_back(m.column_text(1));
        }
    }
    return out;
}

std::map<std::string, std::map<std::string, std::string>> SqliteWorkQueries::load_host_labels() {
    return load_labels("host_label");
}

std::map<std::string, std::map<std::string, std::string>> SqliteWorkQueries::load_reported_labels() {
    return load_labels("host_reported_label");
}

std::map<std::string, std::map<std::string, std::string>> SqliteWorkQueries::load_labels(const std::string& table) {
    std::lock_guard lock(mutex_);
    std::map<std::string, std::map<std::string, std::string>> out;
    Statement q = db_.prepare("SELECT host, name, value FROM " + table);
    while (q.step()) {
        out[q.column_text(0)][q.column_text(1)] = q.column_text(2);
    }
    return out;
}

std::optional<IdempotencyRecord> SqliteWorkQueries::idempotency(const std::string& caller, const std::string& key) {
    std::lock_guard lock(mutex_);
    Statement q = db_.prepare(
        "SELECT fingerprint, status, body, created_at FROM idempotency WHERE caller = ? AND idem_key = ?");
    q.bind(1, caller).bind(2, key);
    if (!q.step()) {
        return std::nullopt;
    }
    return IdempotencyRecord{caller, key, q.column_text(0), static_cast<int>(q.column_int(1)), q.column_text(2),
                             q.column_int(3)};
}

}  // namespace patching::controller
