// SPDX-License-Identifier: Apache-2.0
// The one HTTP client: libcurl's multi interface behind a small blocking API, with parallel
// downloads into files. Used by the agent, sw-patch, the test harnesses and the load generator.
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
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace patching::common::http {

/// Why a request failed (there was no HTTP response to return).
enum class ErrorKind {
    CONNECT,    ///< Connection refused or the host could not be resolved.
    TIMEOUT,    ///< The request, or a stalled upload, ran out of time.
    TLS,        ///< TLS handshake or certificate verification failed.
    TOO_LARGE,  ///< The response is larger than allowed.
    ABORTED,    ///< ClientOptions::abort was set.
    LOCAL_IO,   ///< A local file (download target, upload source) could not be read or written.
    OTHER,      ///< Any other transport failure (reset, malformed URL, protocol error).
};

/// A request that produced no response. what() is for people: it names the URL, what happened
/// and what to check. detail() is libcurl's own message alone.
class Error : public std::runtime_error {
public:
    Error(ErrorKind kind, const std::string& what, std::string detail = {}, int error = 0)
        : std::runtime_error(what), kind_(kind), detail_(std::move(detail)), errno_(error) {}
    ErrorKind kind() const { return kind_; }
    const std::string& detail() const { return detail_; }
    /// The errno of a LOCAL_IO failure, else 0.
    int error_number() const { return errno_; }
    /// The status of a response that had begun to arrive when the transfer failed (a server
    /// that answers 413 and closes while the body is still being sent), else 0.
    long status() const { return status_; }
    /// What had arrived of that response's body.
    const std::string& partial_body() const { return partial_body_; }
    /// Sets status() and partial_body().
    void set_partial_response(long status, std::string body) {
        status_ = status;
        partial_body_ = std::move(body);
    }

private:
    ErrorKind kind_;
    std::string detail_;
    int errno_;
    long status_ = 0;
    std::string partial_body_;
};

/// Settings shared by every request of one client.
struct ClientOptions {
    std::string user_agent = "patching/1";
    /// "Name: value" lines sent with every request (before the request's own).
    std::vector<std::string> default_headers{};
    std::string protocols = "http,https,file";  ///< URL schemes allowed (libcurl's list syntax).
    std::chrono::milliseconds connect_timeout{5000};
    std::filesystem::path ca_file{};  ///< Trust for https:// URLs; empty = the system store.
    std::uint64_t max_response_bytes = 64ULL << 20U;  ///< In-memory bodies larger than this fail.
    /// When set and true, a running request is abandoned within about a second (it throws
    /// ErrorKind::ABORTED): lets a daemon stop without waiting out a long poll.
    const std::atomic<bool>* abort = nullptr;
    /// Send the URL's path as given (no "../" squashing): for tests of hostile paths.
    bool path_as_is = false;
    /// Ignore proxy settings of the environment (http_proxy...).
    bool no_proxy = false;
};

/// Called during an upload with the bytes sent so far and the total. May throw: the exception
/// aborts the transfer and is rethrown by the call.
using ProgressFn = std::function<void(std::uint64_t sent, std::uint64_t total)>;

/// One request. Exactly one of `body` and `body_file` may be set.
struct Request {
    std::string method = "GET";  ///< Any method; "HEAD" asks for no body.
    std::string url{};
    std::vector<std::string> headers{};  ///< "Name: value" lines ("Name:" removes a default one).
    std::optional<std::string> body{};   ///< Sent as is (POST/PUT...).
    std::optional<std::filesystem::path> body_file{};  ///< Streamed from disk, never in memory.
    ProgressFn on_upload_progress{};  ///< With body_file.
    std::chrono::milliseconds timeout{0};  ///< The whole transfer; 0 = no limit.
    /// With body_file: fail only when fewer than 1 byte/s moved for this long (a large upload
    /// may take long legitimately); 0 = use `timeout` instead.
    std::chrono::seconds stall_timeout{0};
    std::uint64_t max_send_bytes_per_second = 0;  ///< 0 = unlimited.
};

struct Response {
    long status = 0;  ///< HTTP status (200/404 for file:// URLs).
    std::string body;
    std::map<std::string, std::string> headers;  ///< Of the final response, lower-case names.
    std::string content_type;
};

/// One file of Client::download_all.
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

/// Why Client::download_all stopped.
struct DownloadFailure {
    std::size_t index = 0;     ///< The request that failed.
    std::exception_ptr error;  ///< Error naming its URL, or what its callback threw.
};

/// A blocking HTTP/1.1 client on libcurl. One instance per thread (it keeps its connections
/// alive between requests); instances are independent.
/// Transport failures (connection refused, timeout, body too large) throw Error naming the URL
/// and what to check; an HTTP error status is not an exception (see Response::status).
/// Redirects are not followed. A file:// URL (when allowed by ClientOptions::protocols) reports
/// status 200 when the file was read and 404 when it could not be opened, so callers can treat
/// local and remote repositories alike.
class Client {
public:
    /// @throws Error if libcurl cannot be initialised.
    explicit Client(ClientOptions options = {});
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    /// Sends `request` and returns the response, whatever its status.
    /// @throws Error on a transport failure; what a callback threw.
    Response send(const Request& request);

    /// GET into memory. `timeout` bounds the whole transfer.
    Response get(
        const std::string& url,
        std::chrono::milliseconds timeout,
        const std::map<std::string, std::string>& headers = {});
    /// POST `body` (sent as-is; Content-Type application/octet-stream unless `headers` has one).
    Response post(
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

    /// Four: a server serves files from a small pool of network threads, and more concurrent
    /// transfers on the same link only split its bandwidth.
    static constexpr std::size_t DEFAULT_PARALLEL_DOWNLOADS = 4;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace patching::common::http
