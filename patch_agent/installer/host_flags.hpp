// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace patching::agent {

/// The reference's flag files (spec §4.1), kept under the managed root so that several agents
/// can run side by side in tests (root "/" in production):
///
///   <root>/var/run/node_is_patched        packages changed, not handled in service -> reboot
///   <root>/var/run/node_is_patched_rr     an RPM scriptlet demanded a reboot
///   <root>/var/run/patch_installing       PID (and start time) of a running install
///   <root>/var/run/patch_install_failed   the last install failed (holds the reason)
///   <root>/var/run/.node_locked           maintained by maintenance: the host is locked
///   <root>/run/patching/patch-scripts/    in-service restart scripts dropped by RPM scriptlets
///   <root>/run/patching/patch-flags/      markers those scripts use (restart once per install)
///
/// Every change is atomic for readers: a flag is written under a temporary name and renamed into
/// place, so an agent that dies leaves it set or not, never half written. Changes reach the disk
/// in batches, not one by one: each is durable (survives a power cut) once sync() has returned,
/// or once the caller has synced the paths take_unsynced() gave it. The installer syncs twice
/// per install: before its librpm transaction and when it is done.
///
/// Not thread-safe: one thread changes the flags (the agent's worker).
class HostFlags {
public:
    explicit HostFlags(std::filesystem::path root);

    /// What changed since the last sync, for a caller that syncs it with its own files.
    struct Unsynced {
        std::vector<std::filesystem::path> files;        ///< Flags written (their data).
        std::vector<std::filesystem::path> directories;  ///< Directories with new or removed flags.
    };
    /// Makes every change so far durable (core::sync_paths).
    /// @throws core::SystemError naming what cannot be synced.
    void sync();
    /// Hands over what sync() would sync, and forgets it: the caller syncs the files, then the
    /// directories.
    Unsynced take_unsynced();

    bool is_node_patched() const;
    void set_node_patched(bool on);
    bool is_reboot_required_by_rpm() const;  ///< node_is_patched_rr
    void set_reboot_required_by_rpm(bool on);
    bool is_locked() const;
    void set_locked(bool on);  ///< Tests and the demo stand in for maintenance here.
    /// The reason stored in the failed flag, or nullopt if the flag is absent.
    std::optional<std::string> install_failed() const;
    void set_install_failed(const std::string& reason);
    void clear_install_failed();
    /// The content of the installing flag ("pid=N started=T"), or nullopt.
    std::optional<std::string> installing() const;
    void set_installing();  ///< Writes this process's PID and the time.
    void clear_installing();
    /// Recreates run/patching/patch-scripts and patch-flags, empty, mode 0700.
    void reset_in_service_dirs();
    void remove_in_service_dirs();

    std::filesystem::path scripts_dir() const;
    std::filesystem::path flags_dir() const;
    const std::filesystem::path& root() const { return root_; }

private:
    std::filesystem::path run_file(const char* name) const;
    void write_flag(const std::filesystem::path& path, const std::string& content);
    void remove_flag(const std::filesystem::path& path);
    void set_or_remove(const std::filesystem::path& path, bool on);

    std::filesystem::path root_;
    std::set<std::filesystem::path> unsynced_files_;
    bool unsynced_directory_ = false;
};

}  // namespace patching::agent
