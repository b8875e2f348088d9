// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace patching::controller {

/// Default location of the controller's configuration file.
inline constexpr const char* DEFAULT_CONFIG = "/etc/patching/patch-controller.conf";

/// Everything the controller needs, from one INI file (section [controller]) so that several
/// controllers can run side by side in tests. Paths default to the reference's layout.
struct ControllerConfig {
    std::filesystem::path state_dir = "/opt/patching";          ///< Database, store, metadata, semantics.
    std::filesystem::path repo_dir = "/var/www/pages/updates";  ///< Published repos: rel-<ver>/.
    std::filesystem::path feed_dir = "/var/www/pages/feed";     ///< Base feeds: rel-<ver>/.
    std::filesystem::path trust_dir = "/etc/patching/trust";    ///< Certificates that sign patches.
    std::optional<std::filesystem::path> dev_marker;
    std::string running_release;  ///< This system's release (sw_version); required.
    std::string listen_address = "127.0.0.1";
    std::uint16_t listen_port = 5487;
    /// Optional remote (authenticated, TLS) listener, e.g. "0.0.0.0"; empty = none.
    std::string remote_address;
    std::uint16_t remote_port = 5491;
    std::optional<std::filesystem::path> tls_certificate;
    std::optional<std::filesystem::path> tls_private_key;
    std::filesystem::path tokens_file = "/etc/patching/tokens";           ///< name role sha256(token)
    std::filesystem::path local_token_file = "/etc/patching/admin.token"; ///< Root-only, read by sw-patch.
    /// The reference served the loopback API without authentication; only this opt-in restores that.
    bool allow_unauthenticated_local = false;
    int semantic_timeout_seconds = 300;
    std::uint64_t max_upload_bytes = 64ULL << 30U;
    int worker_threads = 4;
    /// Agents silent for longer than this are shown as stale in query-hosts (the reference
    /// waited an hour). A live agent polls at least every agent_poll_seconds.
    int agent_stale_seconds = 90;
    /// How long the controller holds an agent's poll open waiting for news.
    int agent_poll_seconds = 25;
    /// Agent sessions unused for this long are forgotten (the agent says hello again).
    int agent_session_idle_seconds = 600;
    /// How often a live agent session re-reads its host's key (revoke-host takes effect within
    /// it) and idle sessions are swept.
    int agent_key_recheck_seconds = 60;
    /// Finished host commands kept per host (outcomes readable by id); older ones are deleted.
    int host_command_history = 100;
    /// If set, agents presenting this file's token may enrol themselves (first come, per host
    /// name). Without it, hosts are enrolled with `patch-controller enrol-host`.
    std::optional<std::filesystem::path> enrolment_token_file;

    // Slow and hostile clients (README "Connections and limits"). Agents' long polls are not
    // timed by these: they are authenticated first and end after agent_poll_seconds.
    /// A request's line and headers must arrive within this many seconds.
    int header_timeout_seconds = 20;
    /// Keep-alive connections with no request for this long are closed.
    int idle_timeout_seconds = 60;
    /// A request body (an upload) or a response must make progress within this; a stalled
    /// upload fails with "upload stalled" and leaves nothing behind.
    int read_timeout_seconds = 60;
    /// Connections one peer address may hold open at once; more are closed at accept (0 = no cap).
    int max_connections_per_peer = 64;
    /// Uploads received at once (each on its own thread, never an operation slot); one more is
    /// answered "busy" without reading its body.
    int max_concurrent_uploads = 4;
    /// The only directories upload_dir may read (and their subdirectories), comma-separated in
    /// the file. Empty: upload_dir is refused.
    std::vector<std::filesystem::path> import_roots;
    /// Count requests, agent messages, uploads and publishes and serve GET /metrics. Off only to
    /// measure what counting costs (bench/metrics_bench.sh).
    bool metrics = true;

    // Work requests (work/, README "Work requests and groups").
    /// Finished work requests older than this many days are deleted; unfinished ones never.
    int work_retention_days = 180;
    /// A host that gives no outcome for an install this long after it was sent fails it (STALL).
    int work_install_timeout_seconds = 3600;
    /// How often the work engine looks at outcomes and dispatches (milliseconds).
    int work_tick_ms = 250;

    // Scheduled jobs (jobs/, README "Scheduled jobs").
    /// A slot missed while the controller was down (or stopped) fires once at the start if the
    /// latest missed slot is at most this many seconds late; older slots are recorded MISSED.
    int job_misfire_grace_seconds = 600;
    // The host lifecycle (work/host_flow.hpp, README "Host lifecycle").
    /// A rebooted host must say hello with a new boot id within this, or the step fails.
    int host_reboot_timeout_seconds = 1440;
    /// Retries of a hook that exits 3 (retryable), and the seconds between them.
    int host_hook_retries = 2;
    int host_hook_retry_seconds = 10;
    /// After a full flow, the host must report Patch Current within this.
    int host_verify_timeout_seconds = 300;

    /// Reads `path`; unknown keys are an error (a typo must not silently fall back to defaults),
    /// numbers are range-checked.
    /// @throws common::ini::Error naming the file, line and key; core::Error naming the file when
    ///         a required key is missing or two settings contradict each other.
    static ControllerConfig load(const std::filesystem::path& path);

    std::filesystem::path database() const { return state_dir / "patching.db"; }
    std::filesystem::path packages_dir() const { return state_dir / "packages"; }
    std::filesystem::path metadata_dir() const { return state_dir / "metadata"; }
    std::filesystem::path semantics_dir() const { return state_dir / "semantics"; }
    std::filesystem::path tmp_dir() const { return state_dir / "tmp"; }
    std::filesystem::path cache_dir() const { return state_dir / "cache"; }
};

}  // namespace patching::controller
