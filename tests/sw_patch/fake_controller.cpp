// SPDX-License-Identifier: Apache-2.0
#include "sw_patch/fake_controller.hpp"

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <cctype>

namespace patching::test {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

std::string RecordedRequest::header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
}

struct FakeController::Impl {
    asio::io_context io;
    tcp::acceptor acceptor{io, tcp::endpoint(asio::ip::address_v4::loopback(), 0)};
    std::thread thread;
    std::atomic<bool> stopping{false};
    mutable std::mutex mutex;
    Handler handler;
    std::vector<RecordedRequest> requests;

    void serve_one(tcp::socket& socket) {
        boost::beast::flat_buffer buffer;
        http::request_parser<http::string_body> parser;
        parser.body_limit(512U << 20U);
        boost::system::error_code ec;
        http::read(socket, buffer, parser, ec);
        if (ec) {
            return;
        }
        const auto& req = parser.get();
        RecordedRequest recorded;
        recorded.method = std::string(req.method_string());
        recorded.target = std::string(req.target());
        for (const auto& field : req) {
            std::string name(field.name_string());
            std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) {
                return static_cast<char>(std::tolower(c));
            });
            recorded.headers[name] = std::string(field.value());
        }
        recorded.body = req.body();
        Handler current;
        {
            std::lock_guard<std::mutex> lock(mutex);
            requests.push_back(recorded);
            current = handler;
        }
        CannedResponse canned = current ? current(recorded) : CannedResponse{};
        http::response<http::string_body> res{static_cast<http::status>(canned.status), 11};
        res.set(http::field::content_type, canned.content_type);
        res.keep_alive(false);
        res.body() = canned.body;
        res.prepare_payload();
        http::write(socket, res, ec);
        socket.shutdown(tcp::socket::shutdown_both, ec);
    }

    void run() {
        while (!stopping) {
            tcp::socket socket(io);
            boost::system::error_code ec;
            acceptor.accept(socket, ec);
            if (stopping) {
                return;
            }
            if (!ec) {
                serve_one(socket);
            }
        }
    }
};

FakeController::FakeController(Handler handler) : impl_(std::make_unique<Impl>()) {
    impl_->handler = std::move(handler);
    impl_->thread = std::thread([this] { impl_->run(); });
}

FakeController::~FakeController() {
    impl_->stopping = true;
    boost::system::error_code ec;
    tcp::socket wake(impl_->io);
    wake.connect(impl_->acceptor.local_endpoint(), ec);
    impl_->thread.join();
}

std::string FakeController::url() const {
    return "http://127.0.0.1:" + std::to_string(impl_->acceptor.local_endpoint().port());
}

std::vector<RecordedRequest> FakeController::requests() const {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    return impl_->requests;
}

std::vector<std::string> FakeController::targets() const {
    std::vector<std::string> out;
    for (const auto& r : requests()) {
        out.push_back(r.method + " " + r.target);
    }
    return out;
}

void FakeController::set_handler(Handler handler) {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->handler = std::move(handler);
}

FakeController::Handler route_table(std::map<std::string, CannedResponse> routes) {
    return [routes = std::move(routes)](const RecordedRequest& req) {
        std::string key = req.method + " " + req.target;
        const CannedResponse* best = nullptr;
        std::size_t best_length = 0;
        for (const auto& [prefix, response] : routes) {
            if (key.rfind(prefix, 0) == 0 && prefix.size() >= best_length) {
                best = &response;
                best_length = prefix.size();
            }
        }
        return best != nullptr ? *best
                               : CannedResponse{404, R"({"error": "no route in the test"})"};
    };
}

unsigned short closed_port() {
    asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    return acceptor.local_endpoint().port();
}

}  // namespace patching::test
