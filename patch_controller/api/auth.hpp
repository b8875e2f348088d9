// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "http/http_server.hpp"
#include "config.hpp"

#include <map>
#include <optional>
#include <string>

namespace patching::controller {

/// What a caller may do, least first: `metrics` reads /metrics only (a Prometheus server's
/// token), `reader` runs queries (and reads /metrics), `admin` runs everything.
enum class Role { METRICS, READER, ADMIN };
const char* to_string(Role role);
/// True if a caller with `role` may call what needs `required`.
inline bool has_role(Role role, Role required) { return static_cast<int>(role) >= static_cast<int>(required); }

/// Who made a request, for authorisation and the audit log.
struct Caller {
    std::string name;
    Role role = Role::READER;
};

/// Bearer-token authentication. Tokens live hashed (SHA-256) in `tokens_file`, one per line:
/// `NAME ROLE SHA256HEX` (ROLE is admin, reader or metrics; '#' starts a comment). The local token
/// (`local_token_file`, mode 0600, readable by root only) is created at first start and is an
/// admin token named "local-root": that is how `sw-patch` run as root authenticates on the
/// loopback listener. Unauthenticated loopback access exists only when the config opts in.
/// Reloads the tokens file when it changes. Thread-safe.
class Authenticator {
public:
    /// @throws core::Error if the token files cannot be read or created.
    explicit Authenticator(const ControllerConfig& config);

    /// The caller, or nullopt if the request carries no valid token (and is not an allowed
    /// unauthenticated local request).
    std::optional<Caller> authenticate(const HttpRequest& request);

    /// Creates a new random token for NAME with ROLE, appends its hash to the tokens file, and
    /// returns the token (shown once; only the hash is stored).
    static std::string add_token(const std::filesystem::path& tokens_file, const std::string& name, Role role);

private:
    void reload_if_changed();

    const ControllerConfig& config_;
    std::mutex mutex_;
    std::map<std::string, Caller> by_hash_;  // sha256 hex -> caller
    std::filesystem::file_time_type tokens_mtime_{};
    std::string local_hash_;
};

}  // namespace patching::controller
