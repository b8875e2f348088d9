// SPDX-License-Identifier: Apache-2.0
#pragma once

// The controller <-> agent protocol, version 2 (docs in patch_agent/PROTOCOL.md).
//
// Agents speak HTTP(S) to the controller's API and never accept connections: hosts behind NAT or
// firewalls work, and the controller needs no agent port. Every message after enrolment is
// authenticated with HMAC-SHA256 under a per-host key issued at enrolment, so an agent cannot
// speak for another host and a stranger cannot speak at all. A session handshake (fresh nonces
// from both sides) derives a per-session key; each request carries a sequence number that the
// controller accepts once (sliding window), and each response's MAC covers the request's sequence
// number, so neither side accepts a replayed message. Bodies are JSON objects carrying
// "protocol": 2; a peer that does not speak the version says so instead of guessing.
//
// This header holds what both sides must agree on: names, limits, the MAC constructions, the
// replay window and the message types with strict parsers. It has no I/O.

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace patching::core::protocol {

/// Version 2: hosts get an ordered queue of typed commands with ids (was: one install slot);
/// the hello carries the host's boot id.
inline constexpr int VERSION = 2;

// Paths on the controller's API listeners.
inline constexpr std::string_view PATH_ENROL = "/v1/agent/enrol";
inline constexpr std::string_view PATH_HELLO = "/v1/agent/hello";
inline constexpr std::string_view PATH_POLL = "/v1/agent/poll";
inline constexpr std::string_view PATH_REPORT = "/v1/agent/report";

// Request headers of authenticated messages (lower case, as the server sees them).
inline constexpr std::string_view HEADER_SESSION = "x-patch-session";
inline constexpr std::string_view HEADER_SEQ = "x-patch-seq";
inline constexpr std::string_view HEADER_MAC = "x-patch-mac";  ///< Also on authenticated responses.

// Size bounds: the server refuses larger bodies before parsing them.
inline constexpr std::size_t MAX_SMALL_MESSAGE = 16U << 10U;   ///< enrol, hello, poll and their replies.
inline constexpr std::size_t MAX_REPORT_MESSAGE = 4U << 20U;   ///< A report (package lists).
inline constexpr std::size_t MAX_LIST_ENTRIES = 100000;        ///< Per package list in a report.
inline constexpr std::size_t MAX_HOSTNAME = 253;

/// The longest a poll is held by the controller; agents ask for less.
inline constexpr int MAX_POLL_WAIT_MS = 60000;

/// Thrown for a message that is not valid protocol: bad JSON, wrong types, out of bounds.
class ProtocolError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Thrown for a message of another protocol version (a subclass: the message is valid JSON
/// with a "protocol" number that is not VERSION).
class ProtocolVersionError : public ProtocolError {
public:
    ProtocolVersionError(const std::string& message, std::int64_t peer_version, std::string peer_hostname)
        : ProtocolError(message), peer_version_(peer_version), peer_hostname_(std::move(peer_hostname)) {}
    std::int64_t peer_version() const { return peer_version_; }
    /// The message's "hostname" if it has a valid one, else "".
    const std::string& peer_hostname() const { return peer_hostname_; }

private:
    std::int64_t peer_version_;
    std::string peer_hostname_;
};

// --- The protocol's words ---------------------------------------------------------------------
// Each enum has its wire spelling (to_string) and a parser (nullopt for anything else). The
// spellings of HostState and CommandStatus are also what query-hosts shows ("state",
// "install_status"): they never change.

/// What a host is doing, as its agent reports it ("state").
enum class HostState {
    IDLE,              ///< "idle"
    INSTALLING,        ///< "installing"
    INSTALL_FAILED,    ///< "install-failed"
    INSTALL_REJECTED,  ///< "install-rejected"
    /// "unknown": the controller's word for a host not heard from since it started. Agents
    /// never send it (a report saying it is refused).
    UNKNOWN,
};
std::string_view to_string(HostState state);
std::optional<HostState> parse_host_state(std::string_view text);

/// What a command asks an agent to do. INSTALL is host-install; REBOOT runs the host's reboot
/// command (done when the agent's next hello carries a new boot id); LOCK and UNLOCK write and
/// remove the host's lock flag from the controller's administrative state; HOOK runs the hook
/// named by Command::hook (the controller names the phase, never sends code).
enum class CommandKind {
    INSTALL,  ///< "install"
    REBOOT,   ///< "reboot"
    LOCK,     ///< "lock"
    UNLOCK,   ///< "unlock"
    HOOK,     ///< "hook"
};
std::string_view to_string(CommandKind kind);
std::optional<CommandKind> parse_command_kind(std::string_view text);

/// Where a command stands. QUEUED and SENT are the controller's (waiting; handed to the
/// agent in a poll reply, not yet acknowledged); an agent reports RUNNING and then one of OK,
/// FAILED, REJECTED (the finished ones).
enum class CommandStatus {
    QUEUED,    ///< "queued"
    SENT,      ///< "sent"
    RUNNING,   ///< "running"
    OK,        ///< "ok"
    FAILED,    ///< "failed"
    REJECTED,  ///< "rejected"
};
std::string_view to_string(CommandStatus status);
std::optional<CommandStatus> parse_command_status(std::string_view text);
/// OK, FAILED or REJECTED.
bool is_finished(CommandStatus status);

/// The hook phases an agent runs from its hook directory (README "Host lifecycle"): precheck,
/// pre-lock, post-install, post-reboot, post-unlock, postcheck, health.
bool is_hook_phase(std::string_view name);
/// Hook exit codes: 0 ok, 1 fail, 2 skip this host, 3 retryable failure.
inline constexpr int HOOK_OK = 0;
inline constexpr int HOOK_FAIL = 1;
inline constexpr int HOOK_SKIP = 2;
inline constexpr int HOOK_RETRY = 3;
/// A hook's stdout and stderr are kept up to this many bytes (its end).
inline constexpr std::size_t MAX_HOOK_OUTPUT = 64U << 10U;

/// True if `name` is a valid host name (RFC 1123 labels: letters, digits, '-', '.', and '_'
/// for lab names), 1-253 characters.
bool is_valid_hostname(std::string_view name);

// --- Keys and MACs --------------------------------------------------------------------------
// Keys are raw bytes; on disk and in JSON they are lower-case hex.

inline constexpr std::size_t HOST_KEY_BYTES = 32;
inline constexpr std::size_t NONCE_BYTES = 16;

std::string to_hex(std::string_view bytes);
/// @throws ProtocolError if `hex` is not an even-length hex string of at most `max_bytes` bytes.
std::string from_hex(std::string_view hex, std::size_t max_bytes);

/// The agent's proof in the hello: HMAC(host_key, "hello\n" hostname "\n" client_nonce).
std::string hello_mac(std::string_view host_key, std::string_view hostname, std::string_view client_nonce);
/// The controller's proof in the hello reply (so the agent knows it talks to the controller
/// that enrolled it): HMAC(host_key, "hello-reply\n" hostname "\n" client_nonce "\n" session "\n"
/// server_nonce).
std::string hello_reply_mac(std::string_view host_key, std::string_view hostname, std::string_view client_nonce,
                            std::string_view session, std::string_view server_nonce);
/// Session key: HMAC(host_key, "session\n" session "\n" client_nonce "\n" server_nonce).
std::string session_key(std::string_view host_key, std::string_view session, std::string_view client_nonce,
                        std::string_view server_nonce);
/// MAC of a request: HMAC(session_key, "req\n" method "\n" path "\n" seq "\n" sha256hex(body)).
std::string request_mac(std::string_view session_key, std::string_view method, std::string_view path,
                        std::uint64_t seq, std::string_view body);
/// MAC of a response: HMAC(session_key, "resp\n" seq "\n" status "\n" sha256hex(body)), where
/// seq is the request's: a response cannot be replayed as the answer to another request.
std::string response_mac(std::string_view session_key, std::uint64_t seq, int status, std::string_view body);
/// Constant-time comparison of two MACs (hex or raw).
bool mac_equal(std::string_view a, std::string_view b);

/// Accepts each sequence number once: anything above the highest seen, or one of the 64 below
/// it not seen yet (an agent has a poll and a report in flight on two connections, which may
/// arrive out of order). Everything else is a replay or too old.
class ReplayWindow {
public:
    /// True if `seq` is new (and records it); false for a replay, 0, or a number too old.
    bool accept(std::uint64_t seq);
    std::uint64_t highest() const { return highest_; }

private:
    std::uint64_t highest_ = 0;
    std::uint64_t seen_ = 0;  ///< Bit i: highest_ - i was seen.
};

// --- Messages -------------------------------------------------------------------------------

/// POST /v1/agent/enrol (Authorization: Bearer <enrolment token>): asks for a host key.
struct EnrolRequest {
    std::string hostname;
};
/// Reply: the host key (hex). Sent once; the agent stores it mode 0600.
struct EnrolReply {
    std::string hostname;
    std::string host_key;  ///< raw bytes
};

/// POST /v1/agent/hello: opens a session.
struct HelloRequest {
    std::string hostname;
    std::string client_nonce;  ///< raw bytes
    std::string mac;           ///< raw, hello_mac()
    /// The host's boot id (/proc/sys/kernel/random/boot_id): a new one tells the controller
    /// the host rebooted. Up to MAX_BOOT_ID characters; not covered by the MAC (the session
    /// that follows is, and a forged boot id can only finish a reboot command early).
    std::string boot_id;
};
inline constexpr std::size_t MAX_BOOT_ID = 64;
struct HelloReply {
    std::string session;       ///< raw bytes; sent hex in HEADER_SESSION afterwards
    std::string server_nonce;  ///< raw bytes
    std::string mac;           ///< raw, hello_reply_mac()
    int poll_wait_ms = 25000;  ///< How long the agent should ask polls to be held.
    int stale_after_s = 90;    ///< The controller marks the host stale after this much silence.
};

/// POST /v1/agent/poll: "wake me when something changes". Doubles as the heartbeat.
struct PollRequest {
    std::uint64_t op_counter = 0;  ///< The controller's counter the agent last acted on.
    std::string report_id;         ///< The agent's current report.
    int wait_ms = 25000;
};

/// The head of a host's command queue, in a poll reply. Repeated in every poll reply until
/// the agent reports it RUNNING or finished, so a lost reply cannot lose it; the agent runs
/// each id at most once (it records the ids it ran and acknowledges a repeat with the
/// recorded outcome).
struct Command {
    std::string id;  ///< Unique per controller database; up to MAX_COMMAND_ID characters.
    CommandKind kind = CommandKind::INSTALL;
    bool force = false;  ///< INSTALL: install even if the host is not locked.
    std::string hook{};  ///< HOOK: the phase (is_hook_phase).
};
inline constexpr std::size_t MAX_COMMAND_ID = 128;

struct PollReply {
    std::uint64_t op_counter = 0;  ///< Differs from the request's: re-query the repository.
    bool send_report = false;      ///< The controller lacks the agent's current report.
    std::optional<Command> command;
};

/// What an agent knows about its last (or running) command.
struct CommandReport {
    CommandReport() = default;
    CommandReport(std::string id_, CommandKind kind_, CommandStatus status_, std::string reason_,
                  std::string phase_ = "", std::uint64_t done_ = 0, std::uint64_t total_ = 0)
        : id(std::move(id_)), kind(kind_), status(status_), reason(std::move(reason_)), phase(std::move(phase_)),
          done(done_), total(total_) {}

    std::string id;
    CommandKind kind = CommandKind::INSTALL;
    CommandStatus status = CommandStatus::RUNNING;  ///< RUNNING, OK, FAILED or REJECTED
    std::string reason;
    std::string phase;   ///< While an install runs: "query", "download", "transaction", "scripts".
    std::uint64_t done = 0;
    std::uint64_t total = 0;
    /// HOOK: the hook's exit code (0 also when the host has no hook for the phase; a hook that
    /// timed out or may not run counts as 1).
    std::uint64_t exit_code = 0;
    /// A finished command's output: for an install its log, one line per step (the transaction,
    /// scriptlet and in-service script output, its tail, at most MAX_COMMAND_OUTPUT bytes); for a
    /// HOOK or REBOOT what it printed (stdout and stderr, at most MAX_HOOK_OUTPUT). The controller
    /// puts it into the work request's log.
    std::string output = {};
};
inline constexpr std::size_t MAX_COMMAND_OUTPUT = 16384;

/// POST /v1/agent/report: the host's state (spec §3.7 fields plus ours).
struct AgentReport {
    std::string hostname;
    std::string report_id;  ///< Changes whenever the content below changes.
    /// The controller's op_counter the agent had when it queried the repository: a report made
    /// before an apply/remove must not count as the host's answer to it.
    std::uint64_t op_counter = 0;
    std::string sw_version;
    std::string personality;  ///< e.g. "controller-worker"
    std::vector<std::string> subfunctions;
    std::string nodetype;
    HostState state = HostState::IDLE;  ///< never UNKNOWN
    bool out_of_date = false;
    bool requires_reboot = false;  ///< node_is_patched flag
    bool patch_failed = false;
    std::string failure_reason;
    bool locked = false;
    std::string repo_revision;
    std::string query_error;  ///< Why the last query failed (repository unreachable...), if it did.
    std::map<std::string, std::string> installed;
    std::vector<std::string> to_remove;
    std::vector<std::string> missing_pkgs;
    std::map<std::string, std::map<std::string, std::vector<std::string>>> duplicated_pkgs;
    std::optional<CommandReport> command;
    std::string agent_version;
    /// The periodic health hook: "" (the host has none), "ok" or "failing".
    std::string health;
    std::string health_output;  ///< The failing health hook's output, at most MAX_HOOK_OUTPUT.
    /// The labels the host's agent is configured with (its `labels` key): name -> value, at most
    /// MAX_REPORTED_LABELS, names of letters, digits, '-', '_' and '.', values up to 128 characters.
    std::map<std::string, std::string> labels;
};
inline constexpr std::size_t MAX_REPORTED_LABELS = 32;

/// Authenticated error bodies share one shape: {"protocol":2,"error":"..."}.
std::string error_json(std::string_view message);

// Serialisers write {"protocol":1, ...}. Parsers check the protocol version, every type and
// bound, and throw ProtocolError naming the offending field.
std::string to_json(const EnrolRequest& m);
std::string to_json(const EnrolReply& m);
std::string to_json(const HelloRequest& m);
std::string to_json(const HelloReply& m);
std::string to_json(const PollRequest& m);
std::string to_json(const PollReply& m);
std::string to_json(const AgentReport& m);

EnrolRequest parse_enrol_request(std::string_view json);
EnrolReply parse_enrol_reply(std::string_view json);
HelloRequest parse_hello_request(std::string_view json);
HelloReply parse_hello_reply(std::string_view json);
PollRequest parse_poll_request(std::string_view json);
PollReply parse_poll_reply(std::string_view json);
AgentReport parse_agent_report(std::string_view json);

}  // namespace patching::core::protocol
