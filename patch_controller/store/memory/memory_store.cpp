// SPDX-License-Identifier: Apache-2.0
#include "store/memory/memory_store.hpp"

#include <algorithm>

namespace patching::controller {

namespace {

class MemoryTransaction final : public WriteTransaction {
public:
    explicit MemoryTransaction(MemoryStore::State& state) : s_(state), work_(state.work) {}

    void put_patch(const StoredPatch& patch) override { s_.patches[patch.id] = patch; }
    void set_repostate(const std::string& id, std::string_view repostate) override {
        auto it = s_.patches.find(id);
        if (it == s_.patches.end()) {
            throw StoreError("set_repostate: no patch " + id);
        }
        it->second.repostate = repostate;
    }
    void delete_patch(const std::string& id) override { s_.patches.erase(id); }
    void add_release(const std::string& release) override { s_.releases.insert(release); }
    void delete_release(const std::string& release) override {
        std::erase_if(s_.patches, [&](const auto& kv) { return kv.second.sw_version == release; });
        s_.releases.erase(release);
    }
    void set_app_dependencies(const std::string& app, const std::vector<std::string>& patch_ids) override {
        if (patch_ids.empty()) {
            s_.app_dependencies.erase(app);
            return;
        }
        std::vector<std::string> sorted = patch_ids;
        std::sort(sorted.begin(), sorted.end());
        sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
        s_.app_dependencies[app] = sorted;
    }
    void put_host(const StoredHost& host) override { s_.hosts[host.hostname] = host; }
    void delete_host(const std::string& hostname) override {
        s_.hosts.erase(hostname);
        std::erase_if(s_.commands, [&](const auto& kv) { return kv.second.hostname == hostname; });
    }
    void put_command(const StoredCommand& command) override { s_.commands[command.id] = command; }
    void delete_command(const std::string& id) override { s_.commands.erase(id); }
    std::int64_t bump_op_counter() override { return ++s_.op_counter; }
    void put_host_admin(const StoredHostAdmin& admin) override { s_.host_admin[admin.hostname] = admin; }
    void put_alarm(const StoredAlarm& alarm) override { s_.alarms[{alarm.alarm_id, alarm.entity}] = alarm; }
    void delete_alarm(const std::string& alarm_id, const std::string& entity) override {
        s_.alarms.erase({alarm_id, entity});
    }
    WorkTables& work() override { return work_; }

private:
    MemoryStore::State& s_;
    MemoryWorkTables work_;
};

}  // namespace

void MemoryStore::write(const std::function<void(WriteTransaction&)>& changes) {
    std::lock_guard lock(mutex_);
    State copy = state_;
    MemoryTransaction tx(copy);
    changes(tx);
    state_ = std::move(copy);
    ++commits_;
}

std::vector<StoredPatch> MemoryStore::load_patches() {
    std::lock_guard lock(mutex_);
    std::vector<StoredPatch> out;
    for (const auto& [id, p] : state_.patches) {
        out.push_back(p);
    }
    return out;
}

std::set<std::string> MemoryStore::load_releases() {
    std::lock_guard lock(mutex_);
    return state_.releases;
}

std::map<std::string, std::vector<std::string>> MemoryStore::load_app_dependencies() {
    std::lock_guard lock(mutex_);
    return state_.app_dependencies;
}

std::vector<StoredHost> MemoryStore::load_hosts() {
    std::lock_guard lock(mutex_);
    std::vector<StoredHost> out;
    for (const auto& [name, h] : state_.hosts) {
        out.push_back(h);
    }
    return out;
}

std::vector<StoredCommand> MemoryStore::load_commands() {
    std::lock_guard lock(mutex_);
    std::vector<StoredCommand> out;
    for (const auto& [id, c] : state_.commands) {
        out.push_back(c);
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.seq < b.seq; });
    return out;
}

std::int64_t MemoryStore::op_counter() {
    std::lock_guard lock(mutex_);
    return state_.op_counter;
}

std::optional<std::string> MemoryStore::host_key(const std::string& hostname) {
    std::lock_guard lock(mutex_);
    auto it = host_keys_.find(hostname);
    return it == host_keys_.end() ? std::nullopt : std::optional<std::string>(it->second);
}

bool MemoryStore::add_host_key(const std::string& hostname, const std::string& key_hex) {
    std::lock_guard lock(mutex_);
    return host_keys_.emplace(hostname, key_hex).second;
}

bool MemoryStore::remove_host_key(const std::string& hostname) {
    std::lock_guard lock(mutex_);
    return host_keys_.erase(hostname) > 0;
}

void MemoryStore::audit(const AuditRecord& record) {
    std::lock_guard lock(mutex_);
    AuditRecord r = record;
    r.seq = static_cast<std::int64_t>(audit_.size()) + 1;
    audit_.push_back(r);
}

std::vector<AuditRecord> MemoryStore::audit_log(std::int64_t after_seq, int limit) {
    std::lock_guard lock(mutex_);
    std::vector<AuditRecord> out;
    for (const auto& r : audit_) {
        if (r.seq > after_seq && static_cast<int>(out.size()) < limit) {
            out.push_back(r);
        }
    }
    return out;
}

int MemoryStore::commits() const {
    std::lock_guard lock(mutex_);
    return commits_;
}

std::vector<StoredHostAdmin> MemoryStore::load_host_admin() {
    std::lock_guard lock(mutex_);
    std::vector<StoredHostAdmin> out;
    for (const auto& [name, a] : state_.host_admin) {
        out.push_back(a);
    }
    return out;
}

std::vector<StoredAlarm> MemoryStore::load_alarms() {
    std::lock_guard lock(mutex_);
    std::vector<StoredAlarm> out;
    for (const auto& [key, a] : state_.alarms) {
        out.push_back(a);
    }
    return out;
}

}  // namespace patching::controller
