// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "config.hpp"
#include "service/op_result.hpp"
#include "store/state_store.hpp"

#include <controller/repo/base_feed.hpp>
#include <patch_core/dependencies.hpp>
#include <patch_core/messages.hpp>
#include <patch_core/metadata.hpp>
#include <patch_core/patch_state.hpp>
#include <signing/trust_store.hpp>

#include <nlohmann/json.hpp>

#include <atomic>
#include <functional>
#include <optional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <vector>

namespace patching::controller {

class RepositoryPublisher;

/// The controller's rules (spec §2, §3.4-3.6): import, apply, remove, delete, commit, queries,
/// releases, application dependencies and the host table. Handlers stay thin; everything the
/// reference checks is checked here, with its messages.
///
/// Concurrency: mutating operations run one at a time (op_mutex_), queries take a shared lock
/// on the in-memory model and never wait for a slow step (semantic checks, createrepo), which
/// runs with only op_mutex_ held. Durability: the database is written before anything
/// derived from it (metadata files, the repository), and recover() re-derives those at start.
class PatchService {
public:
    PatchService(const ControllerConfig& config, StateStore& store, signing::TrustStore trust);
    ~PatchService();
    PatchService(const PatchService&) = delete;
    PatchService& operator=(const PatchService&) = delete;

    /// Loads the database, removes what a crash left half done (temporary files, store files
    /// no patch owns), rewrites the metadata directories and republishes every repository so
    /// they match the database. Call once before serving.
    void recover();

    // Operations (the reference's names and messages).
    /// Reads a .patch from `read_body` (the HTTP body), storing it at `patch_file` and verifying
    /// it as it arrives, then imports it. The file is the caller's to delete afterwards.
    OpResult upload(const std::filesystem::path& patch_file, const std::function<size_t(char*, size_t)>& read_body);
    OpResult upload_dir(const std::vector<std::string>& dirs);
    OpResult apply(std::vector<std::string> ids, bool skip_semantic);
    OpResult remove(std::vector<std::string> ids, bool remove_unremovable, bool skip_app_check, bool skip_semantic);
    OpResult delete_patches(std::vector<std::string> ids);
    OpResult commit(std::vector<std::string> ids, bool dry_run);
    OpResult init_release(const std::string& release);
    OpResult del_release(const std::string& release);
    OpResult report_app_dependencies(const std::vector<std::string>& ids, const std::string& app);
    OpResult host_install_async(const std::string& host, bool force);
    OpResult drop_host(const std::string& host);
    OpResult what_requires(std::vector<std::string> ids);

    // Queries (JSON in the reference's shapes).
    nlohmann::json query(const std::string& show, const std::string& release);
    nlohmann::json show(std::vector<std::string> ids);
    /// The host table as JSON text (`{"data": [...]}`, spec §3.7 fields plus ours). `brief`
    /// leaves out the package lists (installed, to_remove, missing_pkgs, duplicated_pkgs): what
    /// a table needs, a fraction of the bytes with thousands of hosts.
    std::string query_hosts(bool brief = false);
    nlohmann::json query_dependencies(std::vector<std::string> ids, bool recursive);
    nlohmann::json query_app_dependencies();
    /// True if every ID exists and its patch state is exactly `state` (is_applied/is_available).
    bool all_in_state(std::vector<std::string> ids, const std::string& state);

    /// Feeds a host report without the agent protocol (unit-style tests call it directly).
    void host_report(core::HostReport report, bool detailed);

    // The agent protocol's side of the host table (agents/agent_api.cpp calls these).
    /// What a polling agent needs to hear about.
    struct AgentNews {
        std::uint64_t op_counter = 0;  ///< Published: the repositories already match it.
        bool send_report = false;      ///< We have no report, or an older one, from this host.
        std::optional<core::protocol::InstallCommand> install;
    };
    AgentNews agent_news(const std::string& hostname, const std::string& report_id) const;
    /// Records that an authenticated message came from `hostname` at `remote_ip` (liveness).
    void agent_seen(const std::string& hostname, const std::string& remote_ip);
    /// Stores a report: host table, patch states, install outcome.
    void agent_report(const core::protocol::AgentReport& report, const std::string& remote_ip);
    /// The counter agents compare with: bumped by apply/remove only once the repositories are
    /// published, so an agent woken by it always queries the new repository.
    std::uint64_t published_op_counter() const { return published_counter_.load(); }
    /// Called (outside every lock) when agents have news: a host name, or "" for every agent.
    void set_agent_notifier(std::function<void(const std::string&)> notifier) { notify_agents_ = std::move(notifier); }

private:
    struct Patch {
        core::PatchMetadata metadata;
        std::string metadata_xml;
        core::RepoState repostate = core::RepoState::AVAILABLE;
        std::vector<StoredRpm> rpms;
        std::int64_t imported_at = 0;
    };

    /// Verifies without holding op_mutex_, then takes it for the import. REQUIRES: not held.
    OpResult import_one(const std::filesystem::path& patch_file,
                        const std::function<size_t(char*, size_t)>* read_body = nullptr);
    void check_import(const core::PatchMetadata& md, const std::vector<StoredRpm>& rpms, OpResult& result);
    void move_patches(const std::vector<std::string>& ids, core::RepoState target, OpResult& result);
    OpResult run_semantic_checks(const std::vector<std::string>& ids, const char* action);
    void write_metadata_file(const Patch& patch);
    void remove_metadata_files(const std::string& id);
    void publish_release(const std::string& release);
    std::set<std::string> known_releases() const;
    BaseFeed& feed(const std::string& release);
    nlohmann::json patch_json(const std::string& id, const Patch& p) const;
    std::string patch_state(const std::string& id) const;
    std::set<std::string> host_ids() const;
    bool any_host_installing() const;
    static void normalise(std::vector<std::string>& ids);
    static core::PatchDependencyInfo dependency_info(const Patch& p);
    /// REQUIRES: data_mutex_ held (shared is enough).
    core::DependencyTable dependency_table() const;
    std::filesystem::path store_path(const Patch& p, const StoredRpm& rpm) const;

    const ControllerConfig& config_;
    StateStore& store_;
    signing::TrustStore trust_;
    std::unique_ptr<RepositoryPublisher> publisher_;
    std::mutex op_mutex_;  // one mutating operation at a time

    // State below is protected by data_mutex_.
    mutable std::shared_mutex data_mutex_;
    std::map<std::string, Patch> patches_;
    std::set<std::string> extra_releases_;  // init-release targets
    std::map<std::string, std::vector<std::string>> app_dependencies_;
    core::PatchStateTracker tracker_;
    struct HostStatus {
        std::string hostname;
        std::string ip;
        std::string state = "idle";
        bool patch_failed = false;
        bool requires_reboot = false;
        bool install_pending = false;
        std::int64_t last_seen = 0;
        core::HostReport report;
        std::optional<core::protocol::AgentReport> agent;  ///< Last full report over the protocol.
        /// host-install request not yet answered by the agent (repeated in every poll reply).
        std::optional<core::protocol::InstallCommand> install_request;
        bool install_acked = false;  ///< The agent reported it runs install_request: stop repeating it.
        std::string install_status;  ///< Last outcome: "", "running", "ok", "failed", "rejected".
        std::string install_reason;
        /// The report's part of the query_hosts entry, serialised when the report arrives (members
        /// only, no braces), so a query over thousands of hosts only adds the live fields.
        std::string brief_json;
        std::string lists_json;  ///< The package lists, for the full view.
    };
    static void cache_report_json(HostStatus& h);
    bool is_stale(const HostStatus& h, std::int64_t now) const;
    void notify_agents(const std::string& hostname) const {
        if (notify_agents_) {
            notify_agents_(hostname);
        }
    }
    std::map<std::string, HostStatus> hosts_;
    std::uint64_t interim_counter_ = 0;  ///< op_counter of the last apply/remove (interim lists).
    std::atomic<std::uint64_t> published_counter_{0};
    std::uint64_t install_request_seq_ = 0;
    std::function<void(const std::string&)> notify_agents_;
    std::map<std::string, std::unique_ptr<BaseFeed>> feeds_;  // guarded by op_mutex_ (imports/publish only)
};

}  // namespace patching::controller
