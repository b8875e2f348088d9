// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace patching::agent {

/// Default location of the agent's configuration file.
inline constexpr const char* DEFAULT_CONFIG = "/etc/patching/patch-agent.conf";

/// Everything one agent needs, from an INI file (section [agent]), so that several agents can
/// run side by side in tests, each with its own root and state directory.
struct AgentConfig {
    std::string hostname;     ///< Defaults to gethostname().
    /// The host's personality as the spec spells it: "controller", "worker", "storage",
    /// "controller-worker", ... Its parts are the subfunctions unless `subfunctions` is given.
    std::string personality = "controller";
    std::vector<std::string> subfunctions;
    std::string nodetype;     ///< Defaults to the first subfunction.
    /// Labels this host reports to the controller (`labels = rack=r1, zone=a`); group rules
    /// match them (sw-manager group create --label).
    std::map<std::string, std::string> labels;
    std::string sw_version;   ///< The host's running release; required.
    std::string controller_url;  ///< e.g. http://127.0.0.1:5487 or https://10.0.0.1:5491; required.
    std::filesystem::path ca_file;  ///< Trust for an https controller_url; empty = system store.
    std::filesystem::path root = "/";
    std::filesystem::path state_dir = "/var/lib/patch-agent";
    /// hostname + host_key (hex), as `patch-controller enrol-host` writes it. Defaults to
    /// <state_dir>/credentials; written there after self-enrolment.
    std::filesystem::path credentials_file;
    /// If set and there are no credentials yet, the agent enrols itself with this token.
    std::optional<std::filesystem::path> enrolment_token_file;
    int poll_wait_seconds = 25;  ///< How long the agent asks the controller to hold a poll.
    /// The agent re-reads the rpmdb this often even without news (and at once when the rpmdb
    /// directory changes), so packages changed by hand show up.
    int requery_seconds = 300;
    /// Download (and verify) the packages a host-install would need as soon as the host is out
    /// of date, so the install does not wait for them.
    bool prefetch = true;
    /// The prefetch starts at a random moment up to this long after the host is out of date,
    /// so a fleet does not download from the controller all at once after an apply.
    int prefetch_spread_seconds = 60;
    /// How often the worker looks at the rpmdb's modification time, and how long the poller
    /// waits for the worker to act on news before polling again.
    int rpmdb_check_seconds = 2;
    /// How long a rejected install shows as install-rejected (the reference's 60 s).
    int rejected_hold_seconds = 60;
    /// Retries after a failed poll back off from 250 ms, doubling up to this.
    int retry_max_seconds = 10;
    /// Progress reports during an install are at most this frequent.
    int progress_interval_ms = 250;
    /// HTTP timeout of enrolment and hello, and the slack added to a poll's hold time.
    int request_timeout_seconds = 10;
    /// HTTP timeout of a report.
    int report_timeout_seconds = 30;
    /// An install's downloads must finish within this.
    int download_timeout_seconds = 300;
    /// Each in-service script must finish within this (it is killed with its process group).
    int script_timeout_seconds = 300;
    /// Where the kernel's boot id is read (sent in the hello: a new one means the host rebooted).
    std::filesystem::path boot_id_file = "/proc/sys/kernel/random/boot_id";
    /// The node exporter's textfile collector directory: the agent keeps patch_agent.prom there
    /// (installs, reports, whether the host is current). Written only if the directory exists;
    /// empty = off.
    std::filesystem::path metrics_textfile_dir = "/var/lib/prometheus/node-exporter";
    /// Command ids remembered in <state_dir>/commands (a repeated id is acknowledged, not rerun).
    int command_history = 100;
    /// The host lifecycle's hooks (README "Host lifecycle"): <hook_dir>/<phase>, root-owned.
    std::filesystem::path hook_dir = "/etc/patching/hooks";
    /// Each hook must finish within this (then its process group is killed; it counts as failed).
    int hook_timeout_seconds = 300;
    /// The health hook runs this often (0 = never); a failing one shows the host degraded.
    int health_interval_seconds = 60;
    /// The health hook's own, shorter limit: it runs on the command thread, so a hanging one
    /// delays a lock, unlock or install by at most this.
    int health_timeout_seconds = 30;
    /// What a reboot command runs (split at spaces, no shell).
    std::vector<std::string> reboot_command{"systemctl", "reboot"};

    /// Reads `path`; unknown keys are errors. @throws core::Error naming the file and key.
    static AgentConfig load(const std::filesystem::path& path);

    /// `<controller_url>/updates/rel-<sw_version>`.
    std::string repo_url() const;
};

}  // namespace patching::agent
