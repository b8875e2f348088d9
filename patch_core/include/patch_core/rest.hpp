// SPDX-License-Identifier: Apache-2.0
#pragma once

// The controller's REST replies (spec §6.2): the reference's JSON shapes, as types. The
// controller's API layer builds these from its services' results and serialises them here;
// this header is the one place that names their fields. It has no I/O.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace patching::core::rest {

/// The header our own clients (sw-patch, sw-manager, the agent) send on every request. With it
/// the controller answers with real HTTP statuses (409, 422, 404, 405 for a wrong method...);
/// without it, it keeps the reference's contract (spec §6.1: handled errors are HTTP 200 with
/// `error` set, any method on the reference's paths). The value names the client, e.g.
/// "sw-patch/1"; only the header's presence matters.
inline constexpr std::string_view CLIENT_HEADER = "X-Patching-Client";

/// Every operation's reply: newline-terminated lines of info, warning and error text.
/// {"info": "...", "warning": "...", "error": "..."}
struct OpReply {
    std::string info;
    std::string warning;
    std::string error;
};

/// One patch as query and show describe it (a value of "pd" or of show's "metadata").
struct PatchEntry {
    std::string repostate;
    std::string patchstate;
    std::string sw_version;
    std::string reboot_required;  ///< "Y" or "N"
    std::vector<std::string> required;  ///< serialised as "requires"
    // Present only when the patch's metadata has them.
    std::optional<std::string> status;
    std::optional<std::string> unremovable;
    std::optional<std::string> summary;
    std::optional<std::string> description;
    std::optional<std::string> install_instructions;
    std::optional<std::string> warnings;
    std::optional<std::string> apply_active_release_only;
    /// type -> packages, serialised as "personality-<type>".
    std::map<std::string, std::vector<std::string>> personalities;
};

/// GET /v1/query: {"pd": {id: PatchEntry}}
struct QueryReply {
    std::map<std::string, PatchEntry> pd;
};

/// GET /v1/show/IDS: {"metadata": {id: PatchEntry}, "contents": {id: [rpm]}, "error": "..."}
struct ShowReply {
    std::map<std::string, PatchEntry> metadata;
    std::map<std::string, std::vector<std::string>> contents;
    std::string error;  ///< "<id> is unrecognized\n" per unknown ID
};

/// GET /v1/query_dependencies/IDS: {"patches": [...], "error": "..."}
struct DependenciesReply {
    std::vector<std::string> patches;
    std::string error;
};

/// GET /v1/query_app_dependencies: {app: [patch IDs]}
using AppDependenciesReply = std::map<std::string, std::vector<std::string>>;

/// An install in progress, as query_hosts shows it ("install_progress").
struct InstallProgressEntry {
    std::string phase;  ///< "query", "download", "transaction", "scripts"
    std::uint64_t done = 0;
    std::uint64_t total = 0;
};

/// What a host's agent last reported besides its identity (query_hosts fields of ours).
struct HostAgentEntry {
    std::string personality;
    bool locked = false;
    std::string query_error;
    std::string repo_revision;
    std::string agent_version;
    std::optional<InstallProgressEntry> install_progress;  ///< While an install runs.
};

/// A host's package lists (query_hosts without ?brief).
struct HostPackagesEntry {
    std::map<std::string, std::string> installed;  ///< name -> "[E:]V-R@arch"
    std::vector<std::string> to_remove;
    std::vector<std::string> missing_pkgs;
    std::map<std::string, std::map<std::string, std::vector<std::string>>> duplicated_pkgs;
};

/// One host of GET /v1/query_hosts (spec §3.7 plus ours). Clients read the first group of
/// fields (read_hosts_reply); the controller writes all of them (host_*_members).
struct HostEntry {
    std::string hostname;
    std::string ip;
    std::string sw_version;
    std::optional<std::string> state;  ///< absent (or null) in the reference right after a restart
    bool patch_current = false;
    bool requires_reboot = false;
    bool patch_failed = false;
    bool interim_state = false;
    bool install_pending = false;
    bool stale = false;  ///< ours: the agent has gone silent
    std::string install_status;
    std::string install_reject_reason;
    std::string failure_reason;  ///< Written only with `agent`.

    // Written by the controller; read_hosts_reply leaves them at their defaults.
    bool allow_insvc_patching = false;
    std::int64_t secs_since_ack = 0;
    std::string nodetype;
    std::vector<std::string> subfunctions;
    /// Set once the host's agent has reported since the controller started.
    std::optional<HostAgentEntry> agent;
    /// The package lists; absent = empty lists (a host that has not reported yet).
    std::optional<HostPackagesEntry> packages;
};

/// GET /v1/query_hosts: {"data": [HostEntry]}
struct HostsReply {
    std::vector<HostEntry> data;
};

/// One record of GET /v1/audit.
struct AuditEntry {
    std::int64_t seq = 0;
    std::int64_t time = 0;
    std::string caller;
    std::string role;
    std::string remote;
    std::string action;
    std::string target;
    std::string outcome;
};

/// GET /v1/audit: {"audit": [AuditEntry]}
struct AuditReply {
    std::vector<AuditEntry> audit;
};

/// query_hosts is written host by host in three parts, each a run of JSON object members without
/// the braces (keys sorted within the part), so that the controller can keep the two parts that
/// change only when a host reports: an entry is "{" live "," report ["," packages] "}".
/// The live part: ip, the flags, state, install status, secs_since_ack, stale.
std::string host_live_members(const HostEntry& host);
/// The report part: hostname, nodetype, subfunctions, sw_version, and with `agent` its fields
/// and failure_reason.
std::string host_report_members(const HostEntry& host);
/// The package lists (empty ones without `packages`).
std::string host_package_members(const HostEntry& host);

// Serialisers: compact JSON text, keys sorted.
std::string to_json(const OpReply& reply);
std::string to_json(const QueryReply& reply);
std::string to_json(const ShowReply& reply);
std::string to_json(const DependenciesReply& reply);
std::string to_json(const AppDependenciesReply& reply);
std::string to_json(const AuditReply& reply);

// Readers, for clients (sw-patch). They read as the reference's client does, because they also
// read the reference controller's replies: a missing field, or a body that is not JSON, reads as
// empty; a text field holding another JSON value reads as that value's compact JSON text (null
// as ""); a list field holding a single value reads as a list of it. Flags read by Python
// truthiness, except interim_state and install_pending, which the reference tests with `is True`.
// None of them throws.

/// {"info", "warning", "error"} of any reply.
OpReply read_op_reply(std::string_view json_text);
/// nullopt when the body has no "pd". A missing reboot_required reads as "Y", the reference's
/// default for the query table.
std::optional<QueryReply> read_query_reply(std::string_view json_text);
/// A missing reboot_required stays "" (show prints no RR line then).
ShowReply read_show_reply(std::string_view json_text);
/// nullopt when the body has no "patches" list.
std::optional<DependenciesReply> read_dependencies_reply(std::string_view json_text);
/// Empty when the body is not an object.
AppDependenciesReply read_app_dependencies_reply(std::string_view json_text);
/// nullopt when the body has no "data" list; an entry that is not an object reads as empty.
std::optional<HostsReply> read_hosts_reply(std::string_view json_text);
/// is_applied / is_available: the body's boolean, nullopt when it is not one.
std::optional<bool> read_bool_reply(std::string_view json_text);

}  // namespace patching::core::rest
