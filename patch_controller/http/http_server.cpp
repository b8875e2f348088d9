// SPDX-License-Identifier: Apache-2.0
#include "http/http_server.hpp"

#include "http/server_impl.hpp"
#include "http/session.hpp"

namespace patching::controller {

namespace {

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
