// SPDX-License-Identifier: Apache-2.0
#include "store/memory/memory_work.hpp"

#include <algorithm>
#include <set>

namespace patching::controller {

void MemoryWorkTables::put_work_request(const StoredWorkRequest& wr) { s_.work_requests[wr.id] = wr; }

void MemoryWorkTables::add_work_log(const WorkLogEntry& entry) {
    s_.logs.push_back(entry);
    s_.logs.back().seq = ++s_.log_seq;
}

void MemoryWorkTables::add_work_error(const WorkError& error) {
    s_.errors.push_back(error);
    s_.errors.back().seq = ++s_.error_seq;
}

int MemoryWorkTables::delete_finished_work_requests(std::int64_t before) {
    std::set<std::int64_t> roots;
    for (const auto& [id, wr] : s_.work_requests) {
        if (wr.parent_id == 0 && is_terminal(wr.state) && wr.time_finished < before) {
            roots.insert(id);
        }
    }
    std::erase_if(s_.work_requests, [&](const auto& kv) { return roots.contains(kv.second.root_id); });
    std::erase_if(s_.logs, [&](const WorkLogEntry& e) { return roots.contains(e.root_id); });
    std::erase_if(s_.errors, [&](const WorkError& e) { return roots.contains(e.root_id); });
    return static_cast<int>(roots.size());
}

void MemoryWorkTables::put_group(const StoredGroup& group) { s_.groups[group.name] = group; }

void MemoryWorkTables::delete_group(const std::string& name) { s_.groups.erase(name); }

void MemoryWorkTables::set_host_labels(const std::string& host, const std::map<std::string, std::string>& labels) {
    if (labels.empty()) {
        s_.host_labels.erase(host);
    } else {
        s_.host_labels[host] = labels;
    }
}

void MemoryWorkTables::set_reported_labels(const std::string& host, const std::map<std::string, std::string>& labels) {
    if (labels.empty()) {
        s_.reported_labels.erase(host);
    } else {
        s_.reported_labels[host] = labels;
    }
}

void MemoryWorkTables::put_idempotency(const IdempotencyRecord& record) {
    s_.idempotency[{record.caller, record.key}] = record;
}

void MemoryWorkTables::prune_idempotency(std::int64_t before) {
    std::erase_if(s_.idempotency, [&](const auto& kv) { return kv.second.created_at < before; });
}

std::optional<StoredWorkRequest> MemoryWorkQueries::work_request(std::int64_t id) {
    std::lock_guard lock(mutex_);
    auto it = s_.work_requests.find(id);
    return it == s_.work_requests.end() ? std::nullopt : std::optional(it->second);
}

std::vector<StoredWorkRequest> MemoryWorkQueries::list_work_requests(const WorkRequestFilter& f) {
    std::lock_guard lock(mutex_);
    std::vector<StoredWorkRequest> out;
    for (auto it = s_.work_requests.rbegin(); it != s_.work_requests.rend() && std::ssize(out) < f.limit; ++it) {
        const StoredWorkRequest& wr = it->second;
        if (f.before_id != 0 && wr.id >= f.before_id) {
            continue;
        }
        if (!f.states.empty() && std::find(f.states.begin(), f.states.end(), wr.state) == f.states.end()) {
            continue;
        }
        if ((f.operation && wr.operation != *f.operation) || (!f.host.empty() && wr.host != f.host) ||
            (f.parent_id && wr.parent_id != *f.parent_id)) {
            continue;
        }
        out.push_back(wr);
    }
    return out;
}

std::vector<StoredWorkRequest> MemoryWorkQueries::unfinished_work_requests() {
    std::lock_guard lock(mutex_);
    std::set<std::int64_t> roots;
    for (const auto& [id, wr] : s_.work_requests) {
        if (wr.parent_id == 0 && !is_terminal(wr.state)) {
            roots.insert(id);
        }
    }
    std::vector<StoredWorkRequest> out;
    for (const auto& [id, wr] : s_.work_requests) {
        if (roots.contains(wr.root_id)) {
            out.push_back(wr);
        }
    }
    return out;
}

std::map<std::pair<std::string, std::string>, std::uint64_t> MemoryWorkQueries::count_work_requests() {
    std::lock_guard lock(mutex_);
    std::map<std::pair<std::string, std::string>, std::uint64_t> out;
    for (const auto& [id, wr] : s_.work_requests) {
        if (wr.parent_id == 0) {
            ++out[{std::string(to_string(wr.operation)), std::string(to_string(wr.state))}];
        }
    }
    return out;
}

std::int64_t MemoryWorkQueries::max_work_request_id() {
    std::lock_guard lock(mutex_);
    return s_.work_requests.empty() ? 0 : s_.work_requests.rbegin()->first;
}

namespace {

template <class Entry>
std::vector<Entry> entries_of(const std::vector<Entry>& all, std::int64_t id, std::int64_t after_seq, int limit) {
    std::vector<Entry> out;
    for (const auto& e : all) {
        if (e.seq > after_seq && (e.wr_id == id || e.root_id == id) && std::ssize(out) < limit) {
            out.push_back(e);
        }
    }
    return out;
}

}  // namespace

std::vector<WorkLogEntry> MemoryWorkQueries::work_logs(std::int64_t id, std::int64_t after_seq, int limit) {
    std::lock_guard lock(mutex_);
    return entries_of(s_.logs, id, after_seq, limit);
}

std::vector<WorkError> MemoryWorkQueries::work_errors(std::int64_t id, std::int64_t after_seq, int limit) {
    std::lock_guard lock(mutex_);
    return entries_of(s_.errors, id, after_seq, limit);
}

std::vector<StoredGroup> MemoryWorkQueries::load_groups() {
    std::lock_guard lock(mutex_);
    std::vector<StoredGroup> out;
    for (const auto& [name, g] : s_.groups) {
        out.push_back(g);
    }
    return out;
}

std::map<std::string, std::map<std::string, std::string>> MemoryWorkQueries::load_host_labels() {
    std::lock_guard lock(mutex_);
    return s_.host_labels;
}

std::map<std::string, std::map<std::string, std::string>> MemoryWorkQueries::load_reported_labels() {
    std::lock_guard lock(mutex_);
    return s_.reported_labels;
}

std::optional<IdempotencyRecord> MemoryWorkQueries::idempotency(const std::string& caller, const std::string& key) {
    std::lock_guard lock(mutex_);
    auto it = s_.idempotency.find({caller, key});
    return it == s_.idempotency.end() ? std::nullopt : std::optional(it->second);
}

}  // namespace patching::controller
