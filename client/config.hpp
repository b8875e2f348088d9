// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace patching::client {

/// Where the controller listens when nothing else is configured (the reference's local API).
inline constexpr std::string_view DEFAULT_CONTROLLER = "http://127.0.0.1:5487";

/// Looks up an environment variable; std::nullopt when unset. Injected so tests need not touch
/// the real environment.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

/// The process environment as seen by sw-patch: variables plus the system paths that tests
/// replace with temporary files.
struct Environment {
    EnvLookup getenv;
    std::filesystem::path default_config = "/etc/patching/sw-patch.conf";
    std::filesystem::path default_token_file = "/etc/patching/admin.token";
    std::filesystem::path build_info = "/etc/build.info";
};

/// The real environment (::getenv and the default system paths).
Environment system_environment();

/// Values read from sw-patch.conf. Every key is optional.
struct ConfigFile {
    std::optional<std::string> controller;
    std::optional<std::string> token_file;
    std::optional<std::string> ca_file;
    std::optional<double> timeout;
};

/// Parses sw-patch.conf text: `key = value` lines, `#` comments, blank lines; values may be
/// wrapped in double quotes. Known keys: controller, token_file, ca_file, timeout.
/// @throws ConfigError naming `origin` and the line for syntax errors, unknown keys and a
///         timeout that is not a non-negative number.
ConfigFile parse_config(std::string_view text, const std::string& origin);

/// What the command line says about connection and authentication (flags win over everything).
struct ConnectionFlags {
    std::string controller;  ///< --controller URL; empty when not given
    std::string token_file;  ///< --token-file PATH; empty when not given
};

/// Everything needed to talk to the controller, resolved from flags > environment > config file
/// > defaults.
struct Settings {
    std::string controller{DEFAULT_CONTROLLER};  ///< base URL without a trailing '/'
    std::optional<std::string> token;  ///< bearer token; none means "send no Authorization"
    std::string
        token_source;  ///< where the token came from, for messages ("SW_PATCH_TOKEN", a path)
    /// Set when a token file exists but could not be read; shown if the controller says 401.
    std::string token_hint;
    std::string ca_file;         ///< CA bundle for https; empty means the system CAs
    double timeout_s = 600;      ///< per request; 0 means no limit
    double poll_interval_s = 0.5;  ///< host-install polling period (SW_PATCH_POLL_INTERVAL); the reference's 5 s only added latency
};

/// Resolves the settings.
///  - config: $SW_PATCH_CONFIG (must exist) or env.default_config (optional);
///  - controller: --controller, $SW_PATCH_CONTROLLER, config `controller`, DEFAULT_CONTROLLER;
///    must be an http:// or https:// URL;
///  - token: --token-file (must be readable), $SW_PATCH_TOKEN (the value), $SW_PATCH_TOKEN_FILE
///    (must be readable), config `token_file`, then env.default_token_file. The last two are used
///    when readable; when they exist but are unreadable, no token is sent and token_hint says
///    "run as root or set SW_PATCH_TOKEN";
///  - ca_file and timeout from the config; poll interval from $SW_PATCH_POLL_INTERVAL.
/// @throws ConfigError for a bad URL, an unreadable or empty explicit token file, a bad config
///         file or a bad poll interval.
Settings resolve_settings(const ConnectionFlags& flags, const Environment& env);

/// Reads a token file: the first line, surrounding whitespace removed.
/// @throws ConfigError if the file cannot be read or holds no token.
std::string read_token_file(const std::filesystem::path& path);

/// The running release (SW_VERSION in /etc/build.info, as the reference's tsconfig reads it), or
/// std::nullopt when the file or the key is missing.
std::optional<std::string> running_release(const std::filesystem::path& build_info);

}  // namespace patching::client
