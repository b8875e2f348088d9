// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

namespace patching::agent {

/// TLS and timeout settings shared by every request of one client.
struct HttpClientOptions {
    std::chrono::milliseconds connect_timeout{5000};
    std::filesystem::path ca_file;  ///< Trust for https:// URLs; empty = the system store.
    std::uint64_t max_response_bytes = 64ULL << 20U;  ///< In-memory bodies larger than this fail.
    /// When set and true, a running request is abandoned within about a second (it throws): lets a
    /// daemon stop without waiting out a long poll.
    const std::atomic<bool>* abort = nullptr;
};

struct HttpResult {
    long status = 0;
    std::string body;
    std::map<std::string, std::string> headers;  ///< Lower-case names.
};

/// A small blocking HTTP/1.1 client on libcurl. One instance per thread (it keeps its
/// connection alive between requests); instances are independent.
/// Errors (connection refused, timeout, body too large) throw core::Error naming the URL
/// and what to check; an HTTP error status is not an exception (see HttpResult::status).
/// http://, https:// and file:// URLs are accepted; redirects are not followed. A file:// URL
/// reports status 200 when the file was read and 404 when it could not be opened (missing or
/// unreadable), so callers can treat local and remote repositories alike.
class HttpClient {
public:
    explicit HttpClient(HttpClientOptions options = {});
    ~HttpClient();
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    /// GET into memory. `timeout` bounds the whole transfer.
    HttpResult get(
        const std::string& url,
        std::chrono::milliseconds timeout,
        const std::map<std::string, std::string>& headers = {});
    /// POST `body` (sent as-is) into memory.
    HttpResult post(
        const std::string& url,
        const std::string& body,
        std::chrono::milliseconds timeout,
        const std::map<std::string, std::string>& headers = {});
    /// GET straight into `file` (created or truncated), refusing more than `max_bytes`.
    /// Returns the status; on a non-200 status the file content is unspecified.
    long download(
        const std::string& url,
        const std::filesystem::path& file,
        std::uint64_t max_bytes,
        std::chrono::milliseconds timeout);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace patching::agent
