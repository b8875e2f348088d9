// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "store/database.hpp"

#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace patching::controller {

/// One RPM of a stored patch (from its verified header).
struct StoredRpm {
    std::string file_name;
    std::string name;
    std::string epoch;
    std::string version;
    std::string release;
    std::string arch;
    std::uint64_t size = 0;
};

/// A patch as the database holds it. The metadata XML is kept verbatim (it is what
/// `<ID>-metadata.xml` files contain) and parsed by the service.
struct StoredPatch {
    std::string id;
    std::string sw_version;
    std::string repostate;  ///< "Available", "Applied" or "Committed".
    std::string metadata_xml;
    std::vector<StoredRpm> rpms;
    std::int64_t imported_at = 0;
};

/// One audit record: who did what, with which outcome.
struct AuditRecord {
    std::int64_t seq = 0;
    std::int64_t time = 0;
    std::string caller;
    std::string role;
    std::string remote;
    std::string action;
    std::string target;
    std::string outcome;
};

/// The controller's durable state (SQLite, WAL, synchronous=FULL): patches and their repo
/// state, their RPMs, interim host lists, releases created with init-release, application
/// dependencies, the operation counter and the audit log. Every mutating method is one
/// transaction. Thread-safe (one internal mutex).
class StateStore {
public:
    explicit StateStore(const std::filesystem::path& db_path);

    std::vector<StoredPatch> load_patches();
    /// Inserts a new patch, or replaces the metadata of an existing one (re-import).
    void put_patch(const StoredPatch& patch);
    void delete_patch(const std::string& id);
    /// Sets the repostate of several patches and their interim host lists in one transaction,
    /// bumping the operation counter. Returns the new counter.
    std::int64_t set_repostates(const std::map<std::string, std::string>& repostates,
                                const std::map<std::string, std::set<std::string>>& interim);
    /// Deletes every patch of a release (del-release) in one transaction.
    void delete_release(const std::string& release);

    std::map<std::string, std::set<std::string>> load_interim();
    void save_interim(const std::map<std::string, std::set<std::string>>& interim);

    std::set<std::string> load_releases();
    void add_release(const std::string& release);
    void remove_release(const std::string& release);

    std::map<std::string, std::vector<std::string>> load_app_dependencies();
    void set_app_dependencies(const std::string& app, const std::vector<std::string>& patch_ids);

    std::int64_t op_counter();
    std::int64_t bump_op_counter();

    /// Per-host agent keys issued at enrolment (lower-case hex), by host name. The database
    /// file is mode 0600 like the token file: whoever reads it can speak for every host.
    std::map<std::string, std::string> load_host_keys();
    /// One host's key (hex), or nullopt if the host is not enrolled.
    std::optional<std::string> host_key(const std::string& hostname);
    /// Records a new host key; false (and nothing written) if the host is already enrolled.
    bool add_host_key(const std::string& hostname, const std::string& key_hex);
    /// Forgets a host's key (revoke); false if the host was not enrolled.
    bool remove_host_key(const std::string& hostname);

    void audit(const AuditRecord& record);
    std::vector<AuditRecord> audit_log(std::int64_t after_seq = 0, int limit = 1000);

private:
    std::int64_t bump_counter_locked();

    std::mutex mutex_;
    Database db_;
};

}  // namespace patching::controller
