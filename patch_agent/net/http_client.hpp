// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

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

/// One file of HttpClient::download_all.
struct DownloadRequest {
    std::string url;
    std::filesystem::path file;  ///< Created or truncated when its transfer starts.
    std::uint64_t max_bytes = 0;  ///< A longer body fails the transfer.
    /// Sees each chunk of the body, in order, as it arrives (on its way into `file`): lets the
    /// caller hash the file while it arrives. Runs on the thread that called download_all; an
    /// exception fails this transfer.
    std::function<void(std::span<const std::byte>)> on_data;
    /// The transfer is complete and `file` closed, with this status (200 for a file:// URL
    /// that was read). Runs on the calling thread; an exception (a wrong status, a checksum that
    /// does not match) fails this transfer.
    std::function<void(long status)> on_done;
};

/// Why HttpClient::download_all stopped.
struct DownloadFailure {
    std::size_t index = 0;     ///< The request that failed.
    std::exception_ptr error;  ///< core::Error naming its URL, or what its callback threw.
};

/// A small blocking HTTP/1.1 client on libcurl. One instance per thread (it keeps its
/// connections alive between requests); instances are independent.
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
    /// GETs every request into its file, up to `max_parallel` transfers at a time, all on the
    /// calling thread (libcurl's multi interface over this client's kept-alive connections: no
    /// thread per file). `timeout` bounds each transfer from its start. Stops at the first
    /// failure (transport error, body too large, an exception from a callback): the transfers
    /// in flight are abandoned, none is started after it, and files already written stay for
    /// the caller to keep or remove. Returns that failure, or nullopt when every transfer
    /// completed and its on_done returned.
    std::optional<DownloadFailure> download_all(
        const std::vector<DownloadRequest>& requests,
        std::chrono::milliseconds timeout,
        std::size_t max_parallel = DEFAULT_PARALLEL_DOWNLOADS);

    /// Four: the controller serves files from a small pool of network threads, and more
    /// concurrent transfers on the same link only split its bandwidth.
    static constexpr std::size_t DEFAULT_PARALLEL_DOWNLOADS = 4;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace patching::agent
