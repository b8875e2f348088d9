// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "response.hpp"

namespace patching::client {

/// Connection parameters of a ControllerClient (see Settings for where they come from).
struct ClientOptions {
    std::string base_url;              ///< e.g. "http://127.0.0.1:5487", no trailing '/'
    std::optional<std::string> token;  ///< sent as "Authorization: Bearer <token>" when set
    std::string token_source;          ///< named in 401/403 messages
    std::string token_hint;            ///< appended to 401/403 messages when not empty
    std::string ca_file;               ///< CA bundle for https; empty means the system CAs
    double timeout_s = 600;            ///< 0 means no limit
    std::string default_token_file = "/etc/patching/admin.token";  ///< named in 401 advice
};

/// Called during an upload with the bytes sent so far and the file size. May throw; the
/// exception aborts the transfer and is rethrown from upload().
using ProgressFn = std::function<void(std::uint64_t sent, std::uint64_t total)>;

/// Percent-encodes `text` as one URL path segment: everything but RFC 3986 unreserved characters
/// (A-Z a-z 0-9 - . _ ~) is escaped, '/' included.
std::string encode_path_segment(std::string_view text);

/// Percent-encodes a query-string value; like encode_path_segment but keeps '/' and ':' so that
/// absolute directories stay readable in logs.
std::string encode_query_value(std::string_view text);

/// Builds a request target "/v1/<verb>[/<segment>...][?<key>=<value>&...]", encoding each
/// segment and value.
std::string api_target(
    std::string_view verb,
    const std::vector<std::string>& segments = {},
    const std::vector<std::pair<std::string, std::string>>& query = {});

/// The message of the AuthError thrown for a 401 or 403: says whether a token was sent, where
/// it came from, and what to do.
std::string auth_error_message(
    long status, const std::string& server_error, const ClientOptions& options);

/// REST client of the patch controller, over common::http. Keeps one connection alive across calls.
/// Not thread-safe: use one client per thread.
///
/// Every call returns the response whatever its HTTP status, except:
/// @throws ConnectionError when the controller cannot be reached (message names the URL and asks
///         whether patch-controller is running);
/// @throws TransportError on other transfer failures (timeout, TLS verification, reset);
/// @throws AuthError on HTTP 401/403, with advice on the token (see auth_error_message);
/// @throws ProtocolError when a 200 response is not JSON.
class ControllerClient {
public:
    explicit ControllerClient(ClientOptions options);
    ~ControllerClient();
    ControllerClient(const ControllerClient&) = delete;
    ControllerClient& operator=(const ControllerClient&) = delete;

    /// GET `target` (from api_target).
    Response get(const std::string& target);
    /// POST `target` with an empty body.
    Response post(const std::string& target);
    /// `method` `target` with `json_body` (Content-Type: application/json; "" = no body) and extra
    /// "Name: value" header lines (Idempotency-Key, If-Match). For the resource API.
    Response send(
        const std::string& method,
        const std::string& target,
        const std::string& json_body,
        const std::vector<std::string>& headers = {});
    /// POST /v1/upload?filename=<basename> with the file streamed from disk as the body
    /// (Content-Type: application/octet-stream); the file is never held in memory. `progress`,
    /// when set, is called as the body is sent.
    /// @throws Error if the file cannot be opened or read, plus the errors listed above.
    Response upload(const std::filesystem::path& file, const ProgressFn& progress = {});

    const ClientOptions& options() const { return options_; }

private:
    struct Handle;
    ClientOptions options_;
    std::unique_ptr<Handle> handle_;
};

}  // namespace patching::client
