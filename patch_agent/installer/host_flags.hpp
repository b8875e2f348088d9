// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <filesystem>
#include <optional>
#include <string>

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
/// Every write is atomic (temporary file, fsync, rename) so a crash leaves a flag either set
/// or not, never half written.
class HostFlags {
public:
    explicit HostFlags(std::filesystem::path root);

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
    std::filesystem::path root_;
};

}  // namespace patching::agent
