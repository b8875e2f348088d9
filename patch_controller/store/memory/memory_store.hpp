// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "store/memory/memory_work.hpp"
#include "store/store.hpp"

#include <mutex>

namespace patching::controller {

/// The Store in memory, for unit tests: nothing survives the object. A write transaction
/// works on a copy that replaces the state only when the callback returns, so a throwing
/// callback leaves the store untouched, as a rolled-back database transaction would.
class MemoryStore final : public Store {
public:
    void write(const std::function<void(WriteTransaction&)>& changes) override;
    std::vector<StoredPatch> load_patches() override;
    std::set<std::string> load_releases() override;
    std::map<std::string, std::vector<std::string>> load_app_dependencies() override;
    std::vector<StoredHost> load_hosts() override;
    std::vector<StoredCommand> load_commands() override;
    std::int64_t op_counter() override;
    std::vector<StoredHostAdmin> load_host_admin() override;
    std::vector<StoredAlarm> load_alarms() override;
    std::optional<std::string> host_key(const std::string& hostname) override;
    bool add_host_key(const std::string& hostname, const std::string& key_hex) override;
    bool remove_host_key(const std::string& hostname) override;
    void audit(const AuditRecord& record) override;
    std::vector<AuditRecord> audit_log(std::int64_t after_seq, int limit) override;
    WorkQueries& work_queries() override { return work_queries_; }
    JobQueries& job_queries() override { return job_queries_; }

    /// How many write transactions have committed (tests check one operation, one commit).
    int commits() const;

    struct State {
        std::map<std::string, StoredPatch> patches;
        std::set<std::string> releases;
        std::map<std::string, std::vector<std::string>> app_dependencies;
        std::map<std::string, StoredHost> hosts;
        std::map<std::string, StoredCommand> commands;  ///< by id
        std::int64_t op_counter = 1;
        MemoryWorkState work;
        std::map<std::string, StoredHostAdmin> host_admin;
        std::map<std::pair<std::string, std::string>, StoredAlarm> alarms;
    };

private:
    mutable std::mutex mutex_;
    State state_;
    std::map<std::string, std::string> host_keys_;
    std::vector<AuditRecord> audit_;
    int commits_ = 0;
    MemoryWorkQueries work_queries_{mutex_, state_.work};
    MemoryJobQueries job_queries_{mutex_, state_.work.jobs};
};

}  // namespace patching::controller
