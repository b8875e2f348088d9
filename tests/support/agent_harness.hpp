// SPDX-License-Identifier: Apache-2.0
// End-to-end harness for patch agents: real `patch-agent` processes, each managing its own
// throw-away root (seeded so RPM scriptlets can run chroot()ed into it) and state directory,
// talking to a ControllerHarness on loopback. Also: waits on the controller's host table with
// deadlines, the real `sw-patch` CLI, and a hand-driven protocol client for forged messages.
#pragma once

#include "support/controller_harness.hpp"

#include <nlohmann/json.hpp>

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace patching::test {

/// Controller timings for agent tests: polls held 2 s, hosts stale after 4 s of silence.
inline constexpr int E2E_AGENT_POLL_SECONDS = 2;
inline constexpr int E2E_AGENT_STALE_SECONDS = 4;

/// ControllerHarness options for agent tests: the short timings above, and `start = false` so
/// that write_enrolment_token() and add_to_feed() can run before ControllerHarness::start().
ControllerHarness::Options agent_controller_options();
/// Where write_enrolment_token() puts the controller's enrolment token.
std::filesystem::path enrolment_token_path(const ControllerHarness& controller);
/// Writes a fresh enrolment token to enrolment_token_path(), points the controller's
/// configuration at it (takes effect at the next start()) and returns the token.
std::string write_enrolment_token(const ControllerHarness& controller);
/// Copies `rpms` into the controller's base feed of `release` (before the controller starts).
void add_to_feed(
    const ControllerHarness& controller,
    const std::vector<std::filesystem::path>& rpms,
    const std::string& release = "22.12");

/// What one agent is.
struct AgentOptions {
    std::string hostname;
    std::string personality = "controller";  ///< "controller", "worker", "storage", ...
    std::string sw_version = "22.12";
    /// Enrol with the controller's enrolment token on first start. If false, the agent uses
    /// `credentials_file` (written by `patch-controller enrol-host`).
    bool self_enrol = true;
    std::optional<std::filesystem::path> credentials_file{};
    std::vector<std::string> extra_config{};  ///< "key = value" lines appended to [agent].
};

/// One patch-agent process and its private root, state directory, configuration and log, all
/// under `dir` (which the caller owns). The destructor stops the agent.
class AgentHarness {
public:
    AgentHarness(
        const ControllerHarness& controller, std::filesystem::path dir, AgentOptions options);
    ~AgentHarness();
    AgentHarness(const AgentHarness&) = delete;
    AgentHarness& operator=(const AgentHarness&) = delete;

    /// Makes the root able to run scriptlets (prepare_scriptlet_root, packages built under
    /// `work`) and installs `base_rpms` into it in one librpm transaction, as a freshly
    /// installed host would have them. Fails the test (REQUIRE) if that does not work; returns
    /// false (after a WARN) if busybox or rpmbuild is missing.
    bool prepare_root(
        const std::vector<std::filesystem::path>& base_rpms, const std::filesystem::path& work);

    /// Writes the configuration (again: the controller's port may have changed) and starts
    /// the agent in its own process group. @throws std::runtime_error if it exits at once.
    void start();
    /// SIGTERM, waits for the exit (SIGKILL after 20 s), then kills what is left of its process
    /// group (scriptlets). Returns the exit status (128+signal if killed), -1 if not running.
    int stop();
    /// SIGKILL to the whole process group, as a crash of the service would do, and reap.
    void kill9();
    /// stop() then start().
    void restart();
    /// Replaces the extra configuration lines (AgentOptions::extra_config); the next start() uses them.
    void set_extra_config(std::vector<std::string> lines) { options_.extra_config = std::move(lines); }
    /// SIGSTOP / SIGCONT: the agent freezes without closing its connections.
    void suspend();
    void resume();
    bool running() const { return process_.running(); }
    pid_t pid() const { return process_.pid(); }

    /// Stands in for maintenance: creates / removes <root>/var/run/.node_locked.
    void lock() const;
    void unlock() const;

    const std::string& hostname() const { return options_.hostname; }
    const AgentOptions& options() const { return options_; }
    const std::filesystem::path& dir() const { return dir_; }
    std::filesystem::path root() const { return dir_ / "root"; }
    std::filesystem::path state_dir() const { return dir_ / "state"; }
    std::filesystem::path config_file() const { return dir_ / "agent.conf"; }
    std::filesystem::path log_file() const { return dir_ / "agent.log"; }
    /// The agent's Prometheus textfile (metrics_textfile_dir = <dir>/metrics).
    std::filesystem::path metrics_file() const { return dir_ / "metrics" / "patch_agent.prom"; }
    /// The credentials the agent uses (configured, or where self-enrolment writes them).
    std::filesystem::path credentials_file() const;
    /// `absolute` ("/var/run/x") inside the managed root.
    std::filesystem::path in_root(const std::string& absolute) const;
    /// Everything the agent printed (all runs).
    std::string log() const;

    /// `rpm --root ROOT -q --qf FORMAT NAME`: the output without the trailing newline, or
    /// "package NAME is not installed". Default format: "%{VERSION}-%{RELEASE}".
    std::string rpm_query(
        const std::string& name, const std::string& format = "%{VERSION}-%{RELEASE}") const;

private:
    void write_config() const;

    const ControllerHarness& controller_;
    std::filesystem::path dir_;
    AgentOptions options_;
    common::subprocess::Child process_;
};

// --- The controller's host table, with deadlines ---------------------------------------------

/// The "data" array of GET /v1/query_hosts. @throws std::runtime_error if the query fails.
nlohmann::json query_hosts(const ControllerHarness& controller);
/// The host table entry of `hostname`, or a null json if the controller does not know it.
nlohmann::json host_entry(const ControllerHarness& controller, const std::string& hostname);
/// The patch's "patchstate" in GET /v1/query, or "" if the controller does not have it.
std::string patch_state(const ControllerHarness& controller, const std::string& patch_id);

/// Polls query_hosts every 50 ms until `condition` holds for the entry of `hostname` (never
/// called with a null entry) and returns that entry. @throws std::runtime_error naming `what`,
/// with the last entry seen, if `timeout` passes first.
nlohmann::json wait_for_host(
    const ControllerHarness& controller,
    const std::string& hostname,
    const std::string& what,
    const std::function<bool(const nlohmann::json&)>& condition,
    std::chrono::milliseconds timeout = std::chrono::seconds(30));
/// Waits until the host has reported (it is in the table, not stale, not in any interim list,
/// not installing and no install pending) and its patch_current is `current`.
nlohmann::json wait_for_host_settled(
    const ControllerHarness& controller,
    const std::string& hostname,
    bool current,
    std::chrono::milliseconds timeout = std::chrono::seconds(30));
/// Waits until the patch state of `patch_id` is `state`. @throws std::runtime_error on timeout.
void wait_for_patch_state(
    const ControllerHarness& controller,
    const std::string& patch_id,
    const std::string& state,
    std::chrono::milliseconds timeout = std::chrono::seconds(30));
/// Polls `condition` every 20 ms until it holds; false if `timeout` passes first.
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

// --- The operator's CLI and the controller's admin commands ------------------------------------


/// Runs the real sw-patch against `controller` with its admin token (no config file, no
/// environment leaking in), killed after 90 s. `args` are passed to the shell as they are.
CommandResult run_sw_patch(const ControllerHarness& controller, const std::string& args);
/// Runs `patch-controller --config <controller's config> ARGS`.
CommandResult run_patch_controller(const ControllerHarness& controller, const std::string& args);
/// The line of a `sw-patch query-hosts` table that starts with `hostname`, or "".
std::string table_row(const std::string& table, const std::string& hostname);

// --- The protocol spoken by hand -------------------------------------------------------------

/// An agent's end of the protocol driven by a test: load a host's credentials, say hello, and
/// send requests with headers and MACs the test controls, so it can also send wrong ones.
class ProtocolClient {
public:
    /// Reads `hostname = ...` and `host_key = ...` from a credentials file.
    /// @throws std::runtime_error if the file is not a credentials file.
    ProtocolClient(
        const ControllerHarness& controller, const std::filesystem::path& credentials_file);
    /// A client with a made-up identity (a stranger with a key nobody issued).
    ProtocolClient(const ControllerHarness& controller, std::string hostname, std::string host_key);

    const std::string& hostname() const { return hostname_; }
    /// POST /v1/agent/hello with a correct MAC; on 200 checks the controller's proof and keeps
    /// the session. Returns the response.
    Response hello();
    bool has_session() const { return !session_id_.empty(); }

    /// One request inside the session: `seq` and the MAC headers as given. `mac_hex` empty =
    /// the correct MAC for (path, seq, body). Later send()s without a `seq` use higher numbers.
    Response send(
        const std::string& path,
        const std::string& body,
        std::uint64_t seq,
        const std::string& mac_hex = "");
    /// send() with the next sequence number.
    Response send(const std::string& path, const std::string& body) {
        return send(path, body, next_seq_);
    }
    std::uint64_t next_seq() const { return next_seq_; }

    /// A minimal valid report body for `hostname` (defaults to this client's).
    std::string report_body(
        const std::string& hostname = "", const std::string& state = "idle") const;

private:
    const ControllerHarness& controller_;
    std::string hostname_;
    std::string host_key_;     ///< raw
    std::string session_id_;   ///< hex
    std::string session_key_;  ///< raw
    std::uint64_t next_seq_ = 1;
};

}  // namespace patching::test
