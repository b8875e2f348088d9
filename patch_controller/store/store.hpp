// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "store/work_tables.hpp"

#include <patch_core/errors.hpp>
#include <patch_core/messages.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace patching::controller {

/// The controller's state store failed (I/O, corruption, full disk, unknown schema...).
class StoreError : public core::Error {
    using core::Error::Error;
};

/// One RPM of a stored patch (from its verified header).
struct StoredRpm {
    std::string file_name;
    std::string name;
    std::string epoch;
    std::string version;
    std::string release;
    std::string arch;
    std::uint64_t size = 0;

    bool operator==(const StoredRpm&) const = default;
};

/// A patch as the store holds it. The metadata XML is kept verbatim (it is what
/// `<ID>-metadata.xml` files contain) and parsed by the services.
struct StoredPatch {
    std::string id;
    std::string sw_version;
    std::string repostate;  ///< "Available", "Applied" or "Committed".
    std::string metadata_xml;
    std::vector<StoredRpm> rpms;
    std::int64_t imported_at = 0;

    bool operator==(const StoredPatch&) const = default;
};

/// A host of the host table as the store keeps it: who it is and when it was last heard from.
/// Its reports are not stored; after a restart the host counts as not yet reported.
struct StoredHost {
    std::string hostname;
    std::string ip;
    std::int64_t last_seen = 0;
    std::string sw_version;
    std::string nodetype;
    std::string personality;
    std::vector<std::string> subfunctions;
    std::string boot_id;  ///< From the agent's last hello ("" before its first).

    bool operator==(const StoredHost&) const = default;
};

/// One command of a host's queue (hosts/HostService): what to do, where it stands, and for a
/// finished one how it ended. Written when it is queued and at each change of status.
struct StoredCommand {
    std::string id;        ///< Unique in the store.
    std::int64_t seq = 0;  ///< Order of enqueueing (across hosts); a host runs its commands by it.
    std::string hostname;
    core::protocol::CommandKind kind = core::protocol::CommandKind::INSTALL;
    bool force = false;  ///< INSTALL only.
    core::protocol::CommandStatus status = core::protocol::CommandStatus::QUEUED;
    std::string reason;  ///< Why it failed or was rejected; what the agent said.
    /// The host's boot id when the command was handed to its agent: a REBOOT is done when the
    /// host says hello with another one.
    std::string boot_id;
    std::int64_t created_at = 0;
    std::int64_t finished_at = 0;  ///< 0 while unfinished.
    /// A finished command's output from the agent (core::protocol::CommandReport::output): an
    /// install's log; what a HOOK or REBOOT printed.
    std::string output{};
    std::string hook{};          ///< HOOK: the phase it runs.
    std::int64_t exit_code = 0;  ///< HOOK: the hook's exit code (0..255).

    bool operator==(const StoredCommand&) const = default;
};

/// A host's administrative state, owned by the controller (README "Host lifecycle"): locked or
/// unlocked, and who changed it, why, when and through which work request.
struct StoredHostAdmin {
    std::string hostname;
    bool locked = false;
    std::string by;
    std::string reason;
    std::int64_t since = 0;
    std::int64_t work_request = 0;  ///< The work request that changed it (0: none).

    bool operator==(const StoredHostAdmin&) const = default;
};

/// A raised alarm (README "Host lifecycle", alarms). One per (alarm_id, entity), as StarlingX FM.
struct StoredAlarm {
    std::string alarm_id;  ///< "NNN.NNN", e.g. 900.205.
    std::string entity;    ///< "host=controller-0", "system", ...
    std::string severity;  ///< critical, major, minor, warning.
    std::string reason;
    std::int64_t raised_at = 0;
    bool mgmt_affecting = false;
    std::string raised_by;  ///< "controller" for its own, else the API caller.

    bool operator==(const StoredAlarm&) const = default;
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

/// The changes of one write transaction (Store::write). Nothing is visible to readers, and
/// nothing is durable, until the callback returns; if it throws, nothing happens at all.
class WriteTransaction {
public:
    virtual ~WriteTransaction() = default;

    /// Inserts a patch or replaces every field of the stored one (its RPM list included).
    virtual void put_patch(const StoredPatch& patch) = 0;
    /// Changes one patch's repostate. REQUIRES: the patch exists.
    virtual void set_repostate(const std::string& id, std::string_view repostate) = 0;
    /// Deletes a patch and its RPM rows; no-op if it does not exist.
    virtual void delete_patch(const std::string& id) = 0;
    /// Records a release created with init-release.
    virtual void add_release(const std::string& release) = 0;
    /// Deletes every patch of a release and the release itself (del-release).
    virtual void delete_release(const std::string& release) = 0;
    /// Replaces the patches an application requires; an empty list forgets the application.
    virtual void set_app_dependencies(const std::string& app, const std::vector<std::string>& patch_ids) = 0;
    /// Inserts or replaces a host of the host table.
    virtual void put_host(const StoredHost& host) = 0;
    /// Forgets a host (drop-host) and its commands; no-op if it is not stored.
    virtual void delete_host(const std::string& hostname) = 0;
    /// Inserts a host command or replaces the stored one with the same id.
    virtual void put_command(const StoredCommand& command) = 0;
    /// Deletes a host command; no-op if it does not exist.
    virtual void delete_command(const std::string& id) = 0;
    /// Bumps the operation counter and returns its new value.
    virtual std::int64_t bump_op_counter() = 0;
    /// Inserts or replaces a host's administrative state.
    virtual void put_host_admin(const StoredHostAdmin& admin) = 0;
    /// Inserts or replaces an alarm (key: alarm_id and entity).
    virtual void put_alarm(const StoredAlarm& alarm) = 0;
    /// Deletes an alarm; no-op if it is not raised.
    virtual void delete_alarm(const std::string& alarm_id, const std::string& entity) = 0;
    /// The work tables (work requests, groups, idempotency records) in this transaction.
    virtual WorkTables& work() = 0;
};

/// The controller's durable state: patches and their repo state, their RPMs, releases created
/// with init-release, application dependencies, the host table and its command queues, the operation counter, agent
/// host keys and the audit log. One operation is one write() call, so a crash leaves either all
/// or none of it. Implementations: store/sqlite (production), store/memory (unit tests).
/// Everything above this interface is portable: no implementation's SQL leaks out.
/// Thread-safe; write transactions are serialised.
class Store {
public:
    virtual ~Store() = default;

    /// Runs `changes` in one write transaction and commits it when it returns.
    /// @throws StoreError if the commit fails; rethrows what `changes` throws (rolled back).
    virtual void write(const std::function<void(WriteTransaction&)>& changes) = 0;

    virtual std::vector<StoredPatch> load_patches() = 0;
    virtual std::set<std::string> load_releases() = 0;
    virtual std::map<std::string, std::vector<std::string>> load_app_dependencies() = 0;
    virtual std::vector<StoredHost> load_hosts() = 0;
    /// Every stored host command, by seq.
    virtual std::vector<StoredCommand> load_commands() = 0;
    virtual std::int64_t op_counter() = 0;
    /// Every host's administrative state (hosts never locked or unlocked have none).
    virtual std::vector<StoredHostAdmin> load_host_admin() = 0;
    /// Every raised alarm.
    virtual std::vector<StoredAlarm> load_alarms() = 0;

    /// One host's agent key (lower-case hex), or nullopt if the host is not enrolled.
    virtual std::optional<std::string> host_key(const std::string& hostname) = 0;
    /// Records a new host key; false (and nothing written) if the host is already enrolled.
    virtual bool add_host_key(const std::string& hostname, const std::string& key_hex) = 0;
    /// Forgets a host's key (revoke); false if the host was not enrolled.
    virtual bool remove_host_key(const std::string& hostname) = 0;

    /// Appends to the audit log (time 0 = now).
    virtual void audit(const AuditRecord& record) = 0;
    virtual std::vector<AuditRecord> audit_log(std::int64_t after_seq, int limit) = 0;

    /// Reads of the work tables (work/): work requests, their logs and errors, groups.
    virtual WorkQueries& work_queries() = 0;
    /// Reads of the job tables (jobs/): scheduled jobs and their runs.
    virtual JobQueries& job_queries() = 0;
};

}  // namespace patching::controller
