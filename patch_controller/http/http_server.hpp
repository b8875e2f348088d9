// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>

namespace patching::controller {

/// A request as handlers see it: parsed target, lower-cased header names, and the body either
/// in memory (small requests) or streamed to a file (uploads).
struct HttpRequest {
    std::string method;
    std::string path;                           ///< Decoded path, without the query string.
    std::map<std::string, std::string> query;   ///< Decoded query parameters.
    std::map<std::string, std::string> headers; ///< Lower-case names.
    std::string body;
    /// For streamed uploads: where the handler should store the body (it creates the file; the
    /// server deletes whatever is left there after the handler returns).
    std::optional<std::filesystem::path> body_file;
    /// For streamed uploads: reads the next body bytes (blocking, at most `len`), returning 0 at
    /// the end of the body. Throws core::Error if the client stalls or disconnects. Whatever the
    /// handler leaves unread is drained after it returns.
    std::function<size_t(char* buf, size_t len)> read_body;
    std::uint64_t body_length = 0;
    std::string remote;                         ///< "ip:port" of the peer.
    bool loopback = false;                      ///< Accepted on the loopback listener.
    bool tls = false;
};

class DeferredResponse;

struct HttpResponse {
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::map<std::string, std::string> headers;
    /// When set, the file is streamed as the body instead of `body` (static repository files).
    std::optional<std::filesystem::path> file;
    /// When set, the rest of this response is ignored: the answer comes later, from any thread,
    /// through the DeferredResponse (long polls). The worker thread is free meanwhile.
    std::shared_ptr<DeferredResponse> deferred;
};

/// A response that someone else produces later: the handler returns it, keeps a reference
/// (e.g. in a list of waiting agents) and calls complete() when there is news. If nobody does
/// within the timeout, the server sends the timeout response instead. Exactly one of them is
/// sent; complete() on a finished one does nothing. Thread-safe.
class DeferredResponse {
public:
    DeferredResponse(std::chrono::milliseconds timeout, HttpResponse on_timeout)
        : timeout_(timeout), on_timeout_(std::move(on_timeout)) {}

    /// Sends `response` unless the answer was already given. True if this call gave it.
    bool complete(HttpResponse response);
    bool is_completed() const;
    std::chrono::milliseconds timeout() const { return timeout_; }

    // For the server: where the answer goes, and the timeout path.
    void attach(std::function<void(HttpResponse)> sink);
    bool complete_with_timeout_response();

private:
    std::chrono::milliseconds timeout_;
    mutable std::mutex mutex_;
    HttpResponse on_timeout_;
    std::optional<HttpResponse> pending_;  ///< Completed before the server attached.
    std::function<void(HttpResponse)> sink_;
    bool done_ = false;
};

/// Thrown by a BodyPolicy to answer with `response` at once (no token, too many uploads...): the
/// body is never read, and the connection closes after the answer.
struct HttpRefusal : std::runtime_error {
    explicit HttpRefusal(HttpResponse r) : std::runtime_error("request refused"), response(std::move(r)) {}
    HttpResponse response;
};

/// Produces the response. Runs on a worker thread, never on a network thread, so a slow
/// operation does not stall other connections. Exceptions become 500 responses.
using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

/// Decides from the request line and headers (before the body is read) whether the handler
/// streams the body itself (HttpRequest::read_body) into the returned file, or nullopt to read
/// the body into memory first. May throw HttpRefusal to answer at once, or another exception to
/// refuse the request (the message becomes a 400); either way the body is not read.
using BodyPolicy = std::function<std::optional<std::filesystem::path>(const HttpRequest& head)>;

struct HttpServerOptions {
    int network_threads = 2;
    int worker_threads = 4;
    std::uint64_t max_memory_body = 1U << 20U;     ///< Larger in-memory bodies get 413.
    /// If set, the in-memory body limit for a request path (instead of max_memory_body).
    std::function<std::uint64_t(const std::string& path)> memory_body_limit;
    std::uint64_t max_file_body = 64ULL << 30U;    ///< Larger uploads get 413.
    /// A request's line and headers must arrive whole within this, counted from the connection's
    /// start or, on a keep-alive connection, from the request's first byte (silent or slowloris
    /// clients are closed).
    int header_timeout_seconds = 20;
    int idle_timeout_seconds = 60;                 ///< Keep-alive connections idle between requests.
    int read_timeout_seconds = 60;                 ///< A body (or a response) must make progress within this.
    /// Connections open at once from one peer address; more are closed at accept. 0 = no cap.
    int max_connections_per_peer = 64;
    /// Streamed bodies (uploads) received at once, each on a thread of its own pool so that
    /// they never occupy the workers that answer queries and operations. One more is answered
    /// with `streamed_busy` (or a 503) without reading its body.
    int max_streamed_bodies = 4;
    std::function<HttpResponse(const HttpRequest& head)> streamed_busy;
};

/// TLS material for a listener (PEM files).
struct TlsFiles {
    std::filesystem::path certificate;
    std::filesystem::path private_key;
};

/// HTTP/1.1 server on Boost.Beast/Asio: non-blocking sockets on a few network threads (so
/// thousands of idle keep-alive connections cost memory, not threads), handlers on a worker
/// pool, request bodies streamed to files when the policy asks, optional TLS (OpenSSL).
class HttpServer {
public:
    HttpServer(HttpServerOptions options, HttpHandler handler, BodyPolicy body_policy);
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    /// Binds a listener; port 0 picks a free port. Returns the bound port.
    /// `loopback` marks requests from this listener (for the local-API rules).
    /// @throws core::Error naming the address if it cannot bind or the TLS files are bad.
    std::uint16_t listen(const std::string& address, std::uint16_t port, bool loopback,
                         const std::optional<TlsFiles>& tls = std::nullopt);
    /// Starts the network and worker threads; returns at once.
    void start();
    /// Stops accepting, closes connections and joins all threads. Idempotent.
    void stop();
    /// True if a network thread ran a no-op within `timeout`: the event loop that accepts and
    /// reads every connection is not stuck (the systemd watchdog's check). Workers busy with long
    /// operations do not make it false.
    bool responsive(std::chrono::milliseconds timeout);

    struct Impl;  // opaque; public only so the implementation's session classes can name it

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace patching::controller
