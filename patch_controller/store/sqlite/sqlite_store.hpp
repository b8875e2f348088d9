// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "store/sqlite/database.hpp"
#include "store/sqlite/sqlite_work.hpp"
#include "store/store.hpp"

#include <patch_core/clock.hpp>

#include <filesystem>
#include <mutex>

namespace patching::controller {

/// The Store on SQLite (WAL, synchronous=FULL): one file, `patching.db`. Opening a database
/// migrates it to SCHEMA_VERSION, one transaction per step, so a database written by any
/// earlier controller opens; one written by a newer controller is refused.
class SqliteStore final : public Store {
public:
    /// The schema this code writes. Version 0 is the unversioned schema of the first releases.
    static constexpr int SCHEMA_VERSION = 6;

    /// Opens (creating if needed) and migrates the database at `db_path`. `clock` stamps the
    /// audit records and host keys that come without a time; it must outlive the store.
    /// @throws StoreError if it cannot be opened or its schema is newer than SCHEMA_VERSION.
    explicit SqliteStore(const std::filesystem::path& db_path, const core::Clock& clock = core::process_clock());

    /// The schema version of the open database (SCHEMA_VERSION once opened).
    int schema_version();

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

private:
    void migrate();
    int schema_version_locked();

    const core::Clock& clock_;
    std::mutex mutex_;  // one connection, used by one thread at a time
    Database db_;
    SqliteWorkQueries work_queries_{mutex_, db_};
    SqliteJobQueries job_queries_{mutex_, db_};
};

}  // namespace patching::controller
