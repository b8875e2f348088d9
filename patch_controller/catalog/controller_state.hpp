// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "store/store.hpp"

#include <patch_core/dependencies.hpp>
#include <patch_core/messages.hpp>
#include <patch_core/metadata.hpp>
#include <patch_core/patch_state.hpp>

#include <atomic>
#include <deque>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <vector>

namespace patching::controller {

/// A patch of the catalog: its parsed metadata, the verbatim XML and where it stands.
struct CatalogPatch {
    core::PatchMetadata metadata;
    std::string metadata_xml;
    core::RepoState repostate = core::RepoState::AVAILABLE;
    std::vector<StoredRpm> rpms;
    std::int64_t imported_at = 0;

    /// The store's row for this patch.
    StoredPatch to_stored() const;
};

/// A host of the host table: what its agent last reported, and its command queue.
struct HostRecord {
    std::string hostname;
    std::string ip;
    core::protocol::HostState state = core::protocol::HostState::IDLE;
    bool patch_failed = false;
    bool requires_reboot = false;
    /// False for a host loaded from the store: its agent has not reported since this controller
    /// started, so nothing about it is current.
    bool reported = false;
    std::int64_t last_seen = 0;
    std::string personality;  ///< From the last report (kept for hosts loaded from the store).
    std::string boot_id;      ///< From the agent's last hello.
    core::HostReport report;
    /// The last full report over the protocol (shared, so views never copy package lists).
    std::shared_ptr<const core::protocol::AgentReport> agent;
    /// Bumped with every report (views cache their rendering of a report by it).
    std::uint64_t report_revision = 0;
    /// Unfinished commands (ids in ControllerState::commands), head first: the head is the one
    /// handed to the agent.
    std::deque<std::string> queue;
    /// Finished commands still kept, oldest first (at most host_command_history).
    std::deque<std::string> history;
    /// The most recent INSTALL command (query-hosts' install_status), "" if none.
    std::string last_install;

    /// The store's row for this host.
    StoredHost to_stored() const;
};

/// The in-memory model the services share: loaded from the Store at start and changed only
/// after the store has committed, so it never holds what a crash would lose.
///
/// Locking: `operation_mutex` makes mutating operations run one at a time; `mutex` guards the
/// data below (shared for reading). A service never holds `mutex` while it waits for a slow
/// step (semantic checks, createrepo), so queries never wait for an operation.
/// Lock order: operation_mutex, then mutex.
class ControllerState {
public:
    std::mutex operation_mutex;
    mutable std::shared_mutex mutex;

    // State below is protected by mutex.
    std::map<std::string, CatalogPatch> patches;
    std::set<std::string> extra_releases;  ///< init-release targets
    std::map<std::string, std::vector<std::string>> app_dependencies;
    core::PatchStateTracker tracker;
    std::map<std::string, HostRecord> hosts;
    std::uint64_t interim_counter = 0;  ///< op_counter of the last apply/remove (interim lists).
    /// Every command of every host's queue and history, by id.
    std::map<std::string, StoredCommand> commands;
    std::int64_t command_seq = 0;  ///< Highest seq given to a command.

    /// The counter agents compare with: bumped by apply/remove/commit only once the
    /// repositories are published, so an agent woken by it always queries the new repository.
    std::atomic<std::uint64_t> published_counter{0};

    /// Replaces patches, releases, application dependencies and hosts with the store's.
    /// Patches whose metadata cannot be parsed are skipped with a message on stderr.
    /// REQUIRES: mutex held exclusively.
    void load(Store& store);

    // REQUIRES (all below): mutex held, shared is enough.
    core::DependencyTable dependency_table() const;
    /// The running release, every patch's release and every init-release target.
    std::set<std::string> known_releases(const std::string& running_release) const;
    bool any_host_installing() const;
    /// The patch state ("Applied", "Partial-Apply", ...) as shown to operators.
    std::string patch_state(const std::string& id) const;
};

/// Sorts and removes duplicates (the reference treats ID lists as sets).
void normalise_ids(std::vector<std::string>& ids);

}  // namespace patching::controller
