// SPDX-License-Identifier: Apache-2.0
// The system the agent end-to-end cases run on: one patch-controller and a few patch-agents on
// loopback, each agent with its own root holding the base packages, and the test packages (base
// and patched versions) built once per process with rpmbuild.
#pragma once

#include "support/agent_harness.hpp"
#include "support/controller_harness.hpp"
#include "support/test_support.hpp"

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace patching::test::e2e {

/// Test RPMs, built on first use. Base versions are in every host's root and in the feed.
struct Packages {
    // Base (1.0-1 unless said otherwise).
    std::filesystem::path insvc_1, rr_1, lib_1, app_1, slow_1;
    // Patched.
    std::filesystem::path insvc_2;  ///< 1.0-2: %post and %preun drop a restart script (in service).
    std::filesystem::path rr_2;     ///< 1.0-2: %post touches /var/run/node_is_patched_rr.
    std::filesystem::path lib_2;    ///< 2.0-1.
    std::filesystem::path app_2;    ///< 2.0-1, Requires: e2e-lib >= 2.0.
    std::filesystem::path plugin_1;  ///< New: Requires: e2e-app >= 2.0.
    std::filesystem::path slow_2;    ///< 1.0-2: %post marks its start, then sleeps 5 s (once).

    std::vector<std::filesystem::path> base() const {
        return {insvc_1, rr_1, lib_1, app_1, slow_1};
    }
};

/// Builds the packages the first time (REQUIREs that rpmbuild works); nullptr after a WARN
/// when rpmbuild or busybox is missing.
const Packages* packages();

/// Where the in-service restart script of e2e-insvc leaves its trace (one line per run).
inline constexpr const char* INSVC_MARKER = "/var/lib/e2e/insvc-restarted";
/// Touched by e2e-slow 1.0-2's %post before it sleeps.
inline constexpr const char* SLOW_STARTED_MARKER = "/var/lib/e2e/slow-started";

struct HostSpec {
    std::string hostname;
    std::string personality;
    std::vector<std::string> extra_config = {};  ///< "key = value" lines of its agent's [agent].
};

/// controller-0 (controller), worker-0 (worker), storage-0 (storage).
std::vector<HostSpec> three_hosts();
/// host-0 ... host-<n-1>.
std::vector<std::string> host_names(int n);
/// host_names(n), each a controller.
std::vector<HostSpec> hosts(int n);

/// What a cluster's controller gets beyond agent_controller_options().
struct ClusterOptions {
    std::vector<std::string> extra_config;  ///< "key = value" lines for [controller].
    std::vector<std::string> environment = {};  ///< "NAME=value" for the controller (e.g. PATCHING_CLOCK_FILE).
    /// "key = value" lines for every agent's [agent] ("{host}" becomes the agent's host name).
    std::vector<std::string> agents = {};
};

/// A controller with the test packages in its base feed and the short agent timings, and one
/// agent per HostSpec (self-enrolled with the enrolment token), started and reported current.
class Cluster {
public:
    /// `ok()` is false (after a WARN) if the environment cannot run the agents' scriptlets.
    explicit Cluster(const std::vector<HostSpec>& hosts);
    Cluster(const std::vector<HostSpec>& hosts, const ClusterOptions& options);
    ~Cluster();
    Cluster(const Cluster&) = delete;
    Cluster& operator=(const Cluster&) = delete;

    bool ok() const { return ok_; }
    ControllerHarness& controller() { return *controller_; }
    AgentHarness& agent(const std::string& hostname);
    std::vector<std::unique_ptr<AgentHarness>>& agents() { return agents_; }
    const Packages& rpms() const { return *packages_; }
    const std::filesystem::path& dir() const { return dir_.path(); }

    /// Builds a signed patch (status REL, release 22.12) with the real patch-build.
    std::filesystem::path build_patch(const PatchSpec& spec) const;
    CommandResult sw_patch(const std::string& args) const;

    // The harness's waits, with the logs of every process added to a timeout's message.
    nlohmann::json wait_for_host(
        const std::string& hostname,
        const std::string& what,
        const std::function<bool(const nlohmann::json&)>& condition,
        std::chrono::milliseconds timeout = std::chrono::seconds(30)) const;
    nlohmann::json wait_settled(
        const std::string& hostname,
        bool current,
        std::chrono::milliseconds timeout = std::chrono::seconds(30)) const;
    void wait_patch_state(
        const std::string& patch_id,
        const std::string& state,
        std::chrono::milliseconds timeout = std::chrono::seconds(30)) const;

    /// The logs of the controller and every agent (for failure messages).
    std::string logs() const;

private:
    TempDir dir_;
    std::unique_ptr<ControllerHarness> controller_;
    std::vector<std::unique_ptr<AgentHarness>> agents_;
    const Packages* packages_ = nullptr;
    bool ok_ = false;
};

/// GET /v1/work-requests/ID until it has finished (SUCCEEDED, FAILED, CANCELED or SKIPPED);
/// fails the test, with every log, after `timeout`.
nlohmann::json wait_finished(Cluster& cluster, std::int64_t id, std::chrono::seconds timeout = std::chrono::seconds(90));
/// The children of work request `parent`, by host.
std::map<std::string, nlohmann::json> children_by_host(Cluster& cluster, std::int64_t parent);

/// The text of `file`, or "" if it does not exist.
std::string read_if_exists(const std::filesystem::path& file);
/// Number of lines in `text`.
std::size_t line_count(const std::string& text);
bool contains(const std::string& haystack, const std::string& needle);

}  // namespace patching::test::e2e
