// SPDX-License-Identifier: Apache-2.0
// The HTTP server's shared insides (http_server.cpp and http/session.hpp only): Beast and Asio
// names, small helpers, and HttpServer::Impl, the state every session and listener reaches.
#pragma once

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

namespace http_detail {

inline std::string json_error(const std::string& message) {
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
inline std::string endpoint_text(const asio::ip::address& address, unsigned short port) {
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

}  // namespace http_detail

using namespace http_detail;

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

}  // namespace patching::controller
