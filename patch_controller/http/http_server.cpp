// SPDX-License-Identifier: Apache-2.0
#include "http/http_server.hpp"

#include <common/log.hpp>

#include <patch_core/errors.hpp>
#include <patch_core/fs.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <mutex>
#include <memory>
#include <thread>
#include <type_traits>
#include <vector>

namespace patching::controller {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

std::string json_error(const std::string& message) {
    std::string escaped;
    for (char c : message) {
        switch (c) {
            case '"': escaped += "\\\""; break;
            case '\\': escaped += "\\\\"; break;
            case '\n': escaped += "\\n"; break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    escaped += ' ';
                } else {
                    escaped += c;
                }
        }
    }
    return "{\"info\": \"\", \"warning\": \"\", \"error\": \"" + escaped + "\"}";
}

// http::file_body, but read and sent in 64 KiB chunks instead of Beast's fixed 4 KiB: a 1 MiB
// package is 16 reads and sends, not 256 of each with a timer update and a wake-up apiece.
// The buffer lives only while the response is being written.
struct RepoFileBody {
    using value_type = http::file_body::value_type;

    static std::uint64_t size(const value_type& body) { return body.size(); }

    class writer {
    public:
        using const_buffers_type = asio::const_buffer;

        template <bool IsRequest, class Fields>
        writer(http::header<IsRequest, Fields>& /*header*/, value_type& body) : body_(body) {}

        void init(beast::error_code& ec) {
            remain_ = body_.size();
            ec = {};
        }

        boost::optional<std::pair<const_buffers_type, bool>> get(beast::error_code& ec) {
            const auto amount = static_cast<std::size_t>(std::min<std::uint64_t>(buf_.size(), remain_));
            if (amount == 0) {
                ec = {};
                return boost::none;
            }
            const std::size_t n = body_.file().read(buf_.data(), amount, ec);
            if (ec) {
                return boost::none;
            }
            if (n == 0) {
                ec = http::error::short_read;  // the file shrank while being sent
                return boost::none;
            }
            remain_ -= n;
            return {{asio::const_buffer(buf_.data(), n), remain_ > 0}};
        }

    private:
        value_type& body_;
        std::uint64_t remain_ = 0;
        std::vector<char> buf_ = std::vector<char>(64U << 10U);
    };
};

// Fills method, path, query and headers from a parsed request head. Throws on a bad target.
// "ip:port" for IPv4 (dual-stack listeners see IPv4 peers as ::ffff:a.b.c.d: unmapped, so the
// host table shows the address people know), "[ip]:port" for IPv6.
std::string endpoint_text(const asio::ip::address& address, unsigned short port) {
    if (address.is_v6() && address.to_v6().is_v4_mapped()) {
        return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6()).to_string() + ":" + std::to_string(port);
    }
    if (address.is_v6()) {
        return "[" + address.to_string() + "]:" + std::to_string(port);
    }
    return address.to_string() + ":" + std::to_string(port);
}

template <class Fields>
void fill_head(HttpRequest& req, const http::request_header<Fields>& head) {
    req.method = std::string(head.method_string());
    auto parsed = boost::urls::parse_origin_form(head.target());
    if (!parsed) {
        throw core::Error("malformed request target");
    }
    req.path = std::string(parsed->encoded_path().decode());
    for (const auto& param : parsed->params()) {
        req.query[std::string(param.key)] = param.has_value ? std::string(param.value) : std::string();
    }
    for (const auto& field : head) {
        std::string name(field.name_string());
        for (auto& c : name) {
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        req.headers[name] = std::string(field.value());
    }
}

}  // namespace

struct HttpServer::Impl {
    HttpServerOptions options;
    HttpHandler handler;
    BodyPolicy policy;
    /// Open connections per peer address (max_connections_per_peer). Declared before the
    /// io_context: sessions its destructor frees still release their peer here.
    std::mutex peers_mutex;
    std::map<std::string, int> peers;
    asio::io_context ioc;
    asio::thread_pool workers;
    /// Streamed bodies (uploads) run here, never on `workers` (see max_streamed_bodies).
    asio::thread_pool uploads;
    std::atomic<int> streaming{0};
    std::vector<std::thread> threads;
    std::vector<std::shared_ptr<void>> listeners;
    std::vector<std::shared_ptr<ssl::context>> tls_contexts;
    std::atomic<bool> stopped{false};
    bool started = false;
    /// Readable once stop() is called: wakes the workers blocked reading an upload.
    int stop_event = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

    Impl(HttpServerOptions opts, HttpHandler h, BodyPolicy p)
        : options(opts), handler(std::move(h)), policy(std::move(p)),
          ioc(opts.network_threads), workers(static_cast<size_t>(opts.worker_threads)),
          uploads(static_cast<size_t>(std::max(1, opts.max_streamed_bodies))) {}
    ~Impl() {
        if (stop_event >= 0) {
            ::close(stop_event);
        }
    }
    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;

    /// Counts a connection from `ip`; false if the peer already has the most allowed.
    bool acquire_peer(const std::string& ip) {
        std::lock_guard lock(peers_mutex);
        int& n = peers[ip];
        if (options.max_connections_per_peer > 0 && n >= options.max_connections_per_peer) {
            if (n == 0) {
                peers.erase(ip);
            }
            return false;
        }
        ++n;
        return true;
    }
    void release_peer(const std::string& ip) {
        std::lock_guard lock(peers_mutex);
        if (auto it = peers.find(ip); it != peers.end() && --it->second <= 0) {
            peers.erase(it);
        }
    }

    HttpResponse invoke(const HttpRequest& request) {
        try {
            return handler(request);
        } catch (const std::exception& e) {
            common::log::error("internal error handling " + request.method + " " + request.path + ": " +
                               core::format_error_chain(e));
            return {500, "application/json", json_error("Internal error: " + core::format_error_chain(e)), {}, {}, {}};
        }
    }
};

namespace {

// How long a closing connection keeps reading (and dropping) what its peer still sends.
constexpr auto LINGER_TIMEOUT = std::chrono::seconds(5);

template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
public:
    Session(Stream&& stream, HttpServer::Impl& server, bool loopback, bool tls, std::string remote, std::string peer)
        : stream_(std::move(stream)), server_(server), loopback_(loopback), tls_(tls), remote_(std::move(remote)),
          peer_(std::move(peer)) {}
    ~Session() { server_.release_peer(peer_); }
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    void run() {
        if constexpr (std::is_same_v<Stream, beast::ssl_stream<beast::tcp_stream>>) {
            beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(server_.options.header_timeout_seconds));
            stream_.async_handshake(ssl::stream_base::server,
                                    [self = this->shared_from_this()](beast::error_code ec) {
                                        if (!ec) {
                                            self->read_header();
                                        }
                                    });
        } else {
            read_header();
        }
    }

private:
    // The first request's head must arrive whole within the header timeout of the connection's
    // start. Between requests on a keep-alive connection the idle timeout applies until the
    // next request's first byte, and the header timeout from then on: a client that sends
    // nothing, half a request line or endless headers is closed either way.
    void read_header() {
        if (requests_ == 0 || buffer_.size() > 0) {
            return read_header_bytes();
        }
        beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(server_.options.idle_timeout_seconds));
        stream_.async_read_some(buffer_.prepare(4096), [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
            if (ec) {
                return self->close();
            }
            self->buffer_.commit(n);
            self->read_header_bytes();
        });
    }

    void read_header_bytes() {
        ++requests_;
        header_parser_.emplace();
        header_parser_->header_limit(64U << 10U);
        header_parser_->body_limit(boost::none);
        beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(server_.options.header_timeout_seconds));
        http::async_read_header(stream_, buffer_, *header_parser_,
                                [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                                    self->on_header(ec);
                                });
    }

    void on_header(beast::error_code ec) {
        if (ec) {
            return close();  // end of stream, timeout or garbage: nothing to answer
        }
        request_ = HttpRequest{};
        request_.remote = remote_;
        request_.loopback = loopback_;
        request_.tls = tls_;
        auto& head = header_parser_->get();
        keep_alive_ = head.keep_alive();
        std::optional<std::filesystem::path> file;
        try {
            fill_head(request_, head.base());
            file = server_.policy(request_);
        } catch (const HttpRefusal& refusal) {
            keep_alive_ = false;  // the body is not read: close after the answer
            return respond(refusal.response);
        } catch (const std::exception& e) {
            keep_alive_ = false;
            return respond({400, "application/json", json_error(e.what()), {}, {}, {}});
        }
        // A generous deadline for the body: the read timeout plus one second per MiB announced.
        std::uint64_t length = header_parser_->content_length().value_or(0);
        beast::get_lowest_layer(stream_).expires_after(
            std::chrono::seconds(server_.options.read_timeout_seconds + static_cast<long>(length >> 20U)));
        if (file) {
            if (!header_parser_->content_length() || *header_parser_->content_length() > server_.options.max_file_body) {
                // Refused before anything was written: remove the private directory the policy
                // made for the file (only if it is empty).
                std::error_code ignored;
                std::filesystem::remove(file->parent_path(), ignored);
                keep_alive_ = false;
                return header_parser_->content_length()
                           ? respond({413, "application/json", json_error("upload larger than the configured limit"), {}, {}, {}})
                           : respond({411, "application/json", json_error("uploads need a Content-Length header"), {}, {}, {}});
            }
            if (server_.streaming.fetch_add(1) >= std::max(1, server_.options.max_streamed_bodies)) {
                server_.streaming.fetch_sub(1);
                std::error_code ignored;
                std::filesystem::remove(file->parent_path(), ignored);
                keep_alive_ = false;
                return respond(server_.options.streamed_busy
                                   ? server_.options.streamed_busy(request_)
                                   : HttpResponse{503, "application/json",
                                                  json_error("too many uploads in progress; retry when one has ended"),
                                                  {}, {}, {}});
            }
            upload_file_ = *file;
            upload_length_ = *header_parser_->content_length();
            upload_received_ = 0;
            upload_broken_ = false;
            // The handler reads the body itself, with blocking 1 MiB reads on its worker thread:
            // it can verify a patch while it arrives, and avoids the asynchronous parser's
            // 64 KiB hops between threads, which cost more than the copy.
            asio::post(server_.uploads, [self = this->shared_from_this()] {
                self->handle_streamed();
                self->server_.streaming.fetch_sub(1);
            });
        } else {
            // The header parser had no body limit, and Beast checks a Content-Length against the
            // limit only when it finishes the header: check it here, or it is never checked.
            const std::uint64_t limit = server_.options.memory_body_limit
                                            ? server_.options.memory_body_limit(request_.path)
                                            : server_.options.max_memory_body;
            if (header_parser_->content_length().value_or(0) > limit) {
                keep_alive_ = false;
                common::log::warning("refused " + std::string(request_.method) + " " + std::string(request_.path) +
                                     " from " + remote_ + ": body of " +
                                     std::to_string(*header_parser_->content_length()) + " bytes over the " +
                                     std::to_string(limit) + "-byte limit");
                return respond({413, "application/json", json_error("request body too large"), {}, {}, {}});
            }
            string_parser_.emplace(std::move(*header_parser_));
            string_parser_->body_limit(limit);
            http::async_read(stream_, buffer_, *string_parser_,
                             [self = this->shared_from_this()](beast::error_code e, std::size_t) { self->on_body(e); });
        }
    }

    void on_body(beast::error_code ec) {
        if (ec == http::error::body_limit) {
            discard_upload();
            keep_alive_ = false;
            common::log::warning("refused " + std::string(request_.method) + " " + std::string(request_.path) +
                                 " from " + remote_ + ": body over the limit");
            return respond({413, "application/json", json_error("request body too large"), {}, {}, {}});
        }
        if (ec) {
            discard_upload();
            return close();
        }
        request_.body = std::move(string_parser_->get().body());
        string_parser_.reset();
        asio::post(server_.workers, [self = this->shared_from_this()] {
            HttpResponse response = self->server_.invoke(self->request_);
            self->discard_upload();  // the handler moved it away if it wanted to keep it
            if (response.deferred) {
                return self->wait_for(std::move(response.deferred));
            }
            asio::post(self->stream_.get_executor(),
                       [self, response = std::move(response)]() mutable { self->respond(std::move(response)); });
        });
    }

    // A long poll: no thread waits. A timer on the connection's strand sends the timeout answer;
    // whoever completes the deferred first wins, and the answer is written on the strand.
    void wait_for(std::shared_ptr<DeferredResponse> deferred) {
        asio::post(stream_.get_executor(), [self = this->shared_from_this(), deferred]() {
            self->poll_timer_.emplace(self->stream_.get_executor());
            self->poll_timer_->expires_after(deferred->timeout());
            self->poll_timer_->async_wait([deferred](beast::error_code ec) {
                if (!ec) {
                    deferred->complete_with_timeout_response();
                }
            });
            // The sink keeps the session alive while it waits; DeferredResponse drops the sink once
            // it has been called, which breaks the cycle.
            deferred->attach([self](HttpResponse response) {
                asio::post(self->stream_.get_executor(), [self, response = std::move(response)]() mutable {
                    if (self->poll_timer_) {
                        self->poll_timer_->cancel();
                    }
                    self->respond(std::move(response));
                });
            });
        });
    }

    static constexpr bool IS_TLS = std::is_same_v<Stream, beast::ssl_stream<beast::tcp_stream>>;

    // Runs on a worker thread while no asynchronous operation is pending on the stream.
    void handle_streamed() {
        // TLS reads go through the stream, which must not block on the socket (read_upload waits
        // in poll() itself, so the read timeout and stop() apply); restored below.
        set_user_non_blocking(true);
        request_.body_file = upload_file_;
        request_.body_length = upload_length_;
        request_.read_body = [this](char* buf, size_t len) { return read_upload(buf, len); };
        HttpResponse response = server_.invoke(request_);
        request_.read_body = nullptr;
        // An upload refused before its body was looked at (no token, busy) is not read to its end:
        // answer and close instead. Otherwise drain it, so the client reads the answer rather
        // than a reset connection.
        const bool refused_unread = response.status == 401 || response.status == 403 || response.status == 503;
        bool clean = !refused_unread || upload_received_ >= upload_length_;
        // A body that already stalled or broke is not waited for a second time.
        if (upload_broken_) {
            clean = false;
        } else if (!refused_unread) {
            try {
                std::vector<char> sink(1U << 20U);
                while (read_upload(sink.data(), sink.size()) > 0) {
                }
            } catch (const std::exception&) {
                clean = false;  // the connection is unusable now; answer and close it
            }
        }
        set_user_non_blocking(false);
        discard_upload();
        asio::post(stream_.get_executor(), [self = this->shared_from_this(), response = std::move(response), clean]() mutable {
            if (!clean) {
                self->keep_alive_ = false;
            }
            self->respond(std::move(response));
        });
    }

    size_t read_upload(char* buf, size_t len) {
        if (upload_received_ >= upload_length_ || len == 0) {
            return 0;
        }
        size_t want = static_cast<size_t>(std::min<std::uint64_t>(len, upload_length_ - upload_received_));
        auto leftover = buffer_.data();
        if (leftover.size() > 0) {
            size_t n = std::min(want, leftover.size());
            std::memcpy(buf, leftover.data(), n);
            buffer_.consume(n);
            upload_received_ += n;
            return n;
        }
        const int fd_socket = beast::get_lowest_layer(stream_).socket().native_handle();
        for (;;) {
            if constexpr (IS_TLS) {
                // Decrypt what the TLS layer already holds before waiting on the socket: records
                // that arrived with the request head sit in asio's engine, where neither
                // SSL_pending() nor poll() sees them, and the client may have sent its last byte
                // already (the upload then stalled for twice the read timeout). The socket is
                // non-blocking here: would_block means the socket must be waited for.
                beast::error_code ec;
                size_t n = stream_.read_some(asio::buffer(buf, want), ec);
                if (!ec) {
                    upload_received_ += n;
                    return n;
                }
                if (ec != asio::error::would_block && ec != asio::error::try_again) {
                    throw core::Error("upload interrupted after " + std::to_string(upload_received_) + " of " +
                                      std::to_string(upload_length_) + " bytes: " + ec.message());
                }
            }
            // Also wake up when the server stops: a stalled client must not hold up shutdown
            // for the read timeout (twice: once reading, once draining).
            pollfd pfds[2] = {{fd_socket, POLLIN, 0}, {server_.stop_event, POLLIN, 0}};
            int ready = ::poll(pfds, 2, server_.options.read_timeout_seconds * 1000);
            if (ready > 0 && pfds[1].revents != 0) {
                upload_broken_ = true;
                throw core::Error("upload interrupted after " + std::to_string(upload_received_) + " of " +
                                  std::to_string(upload_length_) + " bytes: the controller is stopping");
            }
            if (ready == 0) {
                upload_broken_ = true;
                throw core::Error("upload stalled: no data for " + std::to_string(server_.options.read_timeout_seconds) +
                                  " s after " + std::to_string(upload_received_) + " of " +
                                  std::to_string(upload_length_) + " bytes");
            }
            if (ready < 0) {
                if (errno == EINTR) {
                    continue;
                }
                throw core::SystemError(errno, "upload interrupted");
            }
            if constexpr (!IS_TLS) {
                ssize_t r = ::recv(fd_socket, buf, want, 0);
                if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
                    continue;
                }
                if (r <= 0) {
                    upload_broken_ = true;
                    throw core::Error("upload interrupted after " + std::to_string(upload_received_) + " of " +
                                      std::to_string(upload_length_) + " bytes (the client went away)");
                }
                upload_received_ += static_cast<size_t>(r);
                return static_cast<size_t>(r);
            }
        }
    }

    // TLS only: the socket's user non-blocking mode (asio async operations work either way).
    void set_user_non_blocking(bool on) {
        if constexpr (IS_TLS) {
            beast::error_code ignored;
            beast::get_lowest_layer(stream_).socket().non_blocking(on, ignored);
        }
    }

    void respond(HttpResponse r) {
        if (r.file) {
            return respond_file(std::move(r));
        }
        auto res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(r.status), 11);
        res->set(http::field::server, "patch-controller");
        res->set(http::field::content_type, r.content_type);
        for (const auto& [k, v] : r.headers) {
            res->set(k, v);
        }
        res->keep_alive(keep_alive_);
        res->body() = std::move(r.body);
        res->prepare_payload();
        send(res, std::chrono::seconds(server_.options.read_timeout_seconds));
    }

    // Writes the response, then reads the next request or closes. The answer to HEAD has the
    // GET's header (Content-Length included) and no body (RFC 9110 9.3.2): a body would be
    // read as the start of the next response on a keep-alive connection.
    template <class Message>
    void send(std::shared_ptr<Message> res, std::chrono::seconds timeout) {
        if (request_.method == "HEAD") {
            auto head = std::make_shared<http::response<http::empty_body>>();
            head->base() = res->base();
            return write(std::move(head), timeout);
        }
        write(std::move(res), timeout);
    }

    template <class Message>
    void write(std::shared_ptr<Message> res, std::chrono::seconds timeout) {
        beast::get_lowest_layer(stream_).expires_after(timeout);
        http::async_write(stream_, *res, [self = this->shared_from_this(), res](beast::error_code ec, std::size_t) {
            if (ec || !self->keep_alive_) {
                return self->close();
            }
            self->read_header();
        });
    }

    void respond_file(HttpResponse r) {
        http::file_body::value_type body;
        beast::error_code ec;
        body.open(r.file->c_str(), beast::file_mode::scan, ec);
        if (ec) {
            return respond({404, "application/json", json_error("not found"), {}, {}, {}});
        }
        auto res = std::make_shared<http::response<RepoFileBody>>(
            std::piecewise_construct, std::make_tuple(std::move(body)), std::make_tuple(http::status::ok, 11));
        res->set(http::field::server, "patch-controller");
        res->set(http::field::content_type, r.content_type);
        res->keep_alive(keep_alive_);
        res->prepare_payload();
        std::uint64_t size = res->body().size();
        send(res, std::chrono::seconds(server_.options.read_timeout_seconds + static_cast<long>(size >> 20U)));
    }

    void discard_upload() {
        if (!upload_file_.empty()) {
            std::error_code ignored;
            std::filesystem::remove(upload_file_, ignored);
            upload_file_.clear();
        }
    }

    void close() {
        discard_upload();
        beast::error_code ec;
        if constexpr (std::is_same_v<Stream, beast::ssl_stream<beast::tcp_stream>>) {
            beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(5));
            stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {
                beast::error_code ignored;
                beast::get_lowest_layer(self->stream_).socket().close(ignored);
            });
        } else {
            stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
            linger();
        }
    }

    // A lingering close (RFC 9112 9.6). The peer may still be sending a body we refused (413,
    // 411, 400 before or while reading it): closing the socket with its data unread makes the
    // kernel answer with a reset, which can destroy our response before the peer reads it, so a
    // client sending an oversized report saw "connection reset" or "failed sending data"
    // instead of the 413. So after the half-close, read and drop what arrives until the peer
    // closes too, for a few seconds at most; the socket closes with the session.
    void linger() {
        if (!linger_buffer_) {
            linger_buffer_ = std::make_unique<std::array<char, 16384>>();
        }
        beast::get_lowest_layer(stream_).expires_after(LINGER_TIMEOUT);
        drain();
    }

    void drain() {
        // EOF, a reset or the deadline ends it.
        stream_.async_read_some(asio::buffer(*linger_buffer_),
                                [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                                    if (!ec) {
                                        self->drain();
                                    }
                                });
    }

    Stream stream_;
    HttpServer::Impl& server_;
    bool loopback_;
    bool tls_;
    std::string remote_;
    std::string peer_;   ///< The peer's address, counted in HttpServer::Impl::peers.
    std::uint64_t requests_ = 0;  ///< Requests begun on this connection.
    bool keep_alive_ = true;
    std::optional<asio::steady_timer> poll_timer_;  ///< Timeout of a deferred (long-poll) response.
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::empty_body>> header_parser_;
    std::optional<http::request_parser<http::string_body>> string_parser_;
    std::unique_ptr<std::array<char, 16384>> linger_buffer_;  ///< Only while closing (linger()).
    std::filesystem::path upload_file_;
    std::uint64_t upload_length_ = 0;
    std::uint64_t upload_received_ = 0;
    bool upload_broken_ = false;  ///< The body stalled or its client went away (not drained then).
    HttpRequest request_;
};

class Listener : public std::enable_shared_from_this<Listener> {
public:
    Listener(HttpServer::Impl& server, tcp::endpoint endpoint, bool loopback, std::shared_ptr<ssl::context> tls)
        : server_(server), acceptor_(asio::make_strand(server.ioc)), loopback_(loopback), tls_(std::move(tls)) {
        acceptor_.open(endpoint.protocol());
        acceptor_.set_option(asio::socket_base::reuse_address(true));
        acceptor_.bind(endpoint);
        acceptor_.listen(asio::socket_base::max_listen_connections);
    }

    std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

    void accept() {
        acceptor_.async_accept(asio::make_strand(server_.ioc),
                               [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
                                   self->on_accept(ec, std::move(socket));
                               });
    }

    void close() {
        beast::error_code ec;
        acceptor_.close(ec);
    }

private:
    void on_accept(beast::error_code ec, tcp::socket socket) {
        if (server_.stopped) {
            return;
        }
        if (!ec) {
            // Responses are written whole; without this, a response of more than one segment on a
            // keep-alive connection waits ~40 ms for the client's delayed ACK (Nagle).
            beast::error_code nodelay_ec;
            socket.set_option(tcp::no_delay(true), nodelay_ec);
            beast::error_code remote_ec;
            auto endpoint = socket.remote_endpoint(remote_ec);
            std::string remote = remote_ec ? "unknown" : endpoint_text(endpoint.address(), endpoint.port());
            std::string peer = remote_ec ? "unknown" : endpoint.address().to_string();
            if (!server_.acquire_peer(peer)) {
                // Closed at once, unread: a peer over its cap costs no session, timer or buffer.
                beast::error_code ignored;
                socket.close(ignored);
                return accept();
            }
            if (tls_) {
                std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
                    beast::ssl_stream<beast::tcp_stream>(beast::tcp_stream(std::move(socket)), *tls_), server_, loopback_,
                    true, remote, peer)
                    ->run();
            } else {
                std::make_shared<Session<beast::tcp_stream>>(beast::tcp_stream(std::move(socket)), server_, loopback_,
                                                             false, remote, peer)
                    ->run();
            }
        }
        accept();
    }

    HttpServer::Impl& server_;
    tcp::acceptor acceptor_;
    bool loopback_;
    std::shared_ptr<ssl::context> tls_;
};

}  // namespace

bool DeferredResponse::complete(HttpResponse response) {
    std::function<void(HttpResponse)> sink;
    {
        std::lock_guard lock(mutex_);
        if (done_) {
            return false;
        }
        done_ = true;
        if (!sink_) {
            pending_ = std::move(response);
            return true;
        }
        sink = std::move(sink_);
        sink_ = nullptr;
    }
    sink(std::move(response));
    return true;
}

bool DeferredResponse::is_completed() const {
    std::lock_guard lock(mutex_);
    return done_;
}

bool DeferredResponse::complete_with_timeout_response() {
    HttpResponse response;
    {
        std::lock_guard lock(mutex_);
        if (done_) {
            return false;
        }
        response = on_timeout_;
    }
    return complete(std::move(response));
}

void DeferredResponse::attach(std::function<void(HttpResponse)> sink) {
    std::optional<HttpResponse> ready;
    {
        std::lock_guard lock(mutex_);
        if (!pending_) {
            sink_ = std::move(sink);
            return;
        }
        ready = std::move(pending_);
        pending_.reset();
    }
    sink(std::move(*ready));
}

HttpServer::HttpServer(HttpServerOptions options, HttpHandler handler, BodyPolicy body_policy)
    : impl_(std::make_unique<Impl>(options, std::move(handler), std::move(body_policy))) {}

HttpServer::~HttpServer() { stop(); }

std::uint16_t HttpServer::listen(const std::string& address, std::uint16_t port, bool loopback,
                                 const std::optional<TlsFiles>& tls) {
    std::shared_ptr<ssl::context> context;
    if (tls) {
        context = std::make_shared<ssl::context>(ssl::context::tls_server);
        context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                             ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
        try {
            context->use_certificate_chain_file(tls->certificate.string());
            context->use_private_key_file(tls->private_key.string(), ssl::context::pem);
        } catch (const std::exception& e) {
            throw core::Error("TLS certificate " + tls->certificate.string() + " / key " + tls->private_key.string() +
                              " cannot be used: " + e.what());
        }
        impl_->tls_contexts.push_back(context);
    }
    try {
        auto listener = std::make_shared<Listener>(*impl_, tcp::endpoint(asio::ip::make_address(address), port),
                                                   loopback, context);
        std::uint16_t bound = listener->port();
        impl_->listeners.push_back(listener);
        if (impl_->started) {
            listener->accept();
        }
        return bound;
    } catch (const std::exception& e) {
        throw core::Error("cannot listen on " + address + ":" + std::to_string(port) + ": " + e.what());
    }
}

void HttpServer::start() {
    if (impl_->started) {
        return;
    }
    impl_->started = true;
    for (auto& l : impl_->listeners) {
        std::static_pointer_cast<Listener>(l)->accept();
    }
    for (int i = 0; i < impl_->options.network_threads; ++i) {
        impl_->threads.emplace_back([this] { impl_->ioc.run(); });
    }
}

void HttpServer::stop() {
    if (impl_->stopped.exchange(true)) {
        return;
    }
    const std::uint64_t one = 1;
    [[maybe_unused]] ssize_t woken = ::write(impl_->stop_event, &one, sizeof one);
    impl_->ioc.stop();
    for (auto& t : impl_->threads) {
        t.join();
    }
    // Only now: an acceptor is not thread-safe, and until the network threads are joined one of
    // them may be in on_accept() starting the next async_accept on it.
    for (auto& l : impl_->listeners) {
        std::static_pointer_cast<Listener>(l)->close();
    }
    impl_->workers.join();
    impl_->uploads.join();
}

bool HttpServer::responsive(std::chrono::milliseconds timeout) {
    if (impl_->stopped || !impl_->started) {
        return false;
    }
    auto ran = std::make_shared<std::promise<void>>();
    std::future<void> done = ran->get_future();
    asio::post(impl_->ioc, [ran] { ran->set_value(); });
    return done.wait_for(timeout) == std::future_status::ready;
}

}  // namespace patching::controller
