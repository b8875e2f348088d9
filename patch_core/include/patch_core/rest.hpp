// SPDX-License-Identifier: Apache-2.0
#pragma once

// The controller's REST replies (spec §6.2): the reference's JSON shapes, as types. The
// controller's API layer builds these from its services' results and serialises them here;
// this header is the one place that names their fields. It has no I/O.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace patching::core::rest {

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

// Serialisers: compact JSON text, keys sorted.
std::string to_json(const OpReply& reply);
std::string to_json(const QueryReply& reply);
std::string to_json(const ShowReply& reply);
std::string to_json(const DependenciesReply& reply);
std::string to_json(const AppDependenciesReply& reply);
std::string to_json(const AuditReply& reply);

}  // namespace patching::core::rest
