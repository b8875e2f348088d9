// SPDX-License-Identifier: Apache-2.0
// The HTTP client against real sockets on loopback: failures, statuses, headers, keep-alive,
// methods, uploads from a file, downloads into files.
#include <common/http_client.hpp>

#include "support/test_support.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
namespace http = patching::common::http;
using Catch::Contains;
using patching::test::read_file;
using patching::test::TempDir;
using patching::test::write_file;
using namespace std::chrono_literals;

namespace {

std::string file_url(const fs::path& path) {
    return "file://" + path.string();
}

/// A TCP socket on 127.0.0.1 that is bound but never listens: connecting to it is refused,
/// and no other process can take the port while the test runs.
class ClosedPort {
public:
    ClosedPort() {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        REQUIRE(fd_ >= 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        socklen_t len = sizeof addr;
        REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
        port_ = ntohs(addr.sin_port);
    }
    ~ClosedPort() { ::close(fd_); }
    ClosedPort(const ClosedPort&) = delete;
    ClosedPort& operator=(const ClosedPort&) = delete;

    /// Accepts connections into the kernel backlog but never reads or answers them.
    void listen_silently() { REQUIRE(::listen(fd_, 4) == 0); }
    std::uint16_t port() const { return port_; }
    int fd() const { return fd_; }

private:
    int fd_ = -1;
    std::uint16_t port_ = 0;
};

/// Serves HTTP requests on one accepted connection (keep-alive), answering each with a fixed
/// status, a mixed-case header and the request's body echoed back.
class OneConnectionServer {
public:
    OneConnectionServer() {
        socket_.listen_silently();
        thread_ = std::thread([this] { serve(); });
    }
    ~OneConnectionServer() {
        // Unblocks accept() or recv(), whichever the thread waits in; the client socket is
        // closed only after the join so that its descriptor cannot be reused meanwhile.
        ::shutdown(socket_.fd(), SHUT_RDWR);
        int fd = client_fd_.load();
        if (fd >= 0) {
            ::shutdown(fd, SHUT_RDWR);
        }
        thread_.join();
        if (client_fd_ >= 0) {
            ::close(client_fd_);
        }
    }
    OneConnectionServer(const OneConnectionServer&) = delete;
    OneConnectionServer& operator=(const OneConnectionServer&) = delete;

    std::string url(const std::string& path) const {
        return "http://127.0.0.1:" + std::to_string(socket_.port()) + path;
    }
    int connections() const { return connections_; }
    int requests() const { return requests_; }
    /// The request line and headers of the last request (read after the response arrived).
    std::string last_head() const {
        std::lock_guard lock(mutex_);
        return last_head_;
    }

private:
    void serve() {
        int fd = ::accept(socket_.fd(), nullptr, nullptr);
        if (fd < 0) {
            return;
        }
        client_fd_ = fd;
        ++connections_;
        std::string buffer;
        auto read_more = [&] {
            char chunk[4096];
            ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
            if (n <= 0) {
                return false;
            }
            buffer.append(chunk, static_cast<std::size_t>(n));
            return true;
        };
        for (;;) {
            auto end = buffer.find("\r\n\r\n");
            if (end == std::string::npos) {
                if (!read_more()) {
                    return;
                }
                continue;
            }
            std::string head = buffer.substr(0, end);
            std::size_t length = 0;
            std::smatch match;
            if (std::regex_search(head, match, std::regex("[Cc]ontent-[Ll]ength: *([0-9]+)"))) {
                length = std::stoul(match[1].str());
            }
            while (buffer.size() < end + 4 + length) {
                if (!read_more()) {
                    return;
                }
            }
            std::string body = buffer.substr(end + 4, length);
            buffer.erase(0, end + 4 + length);
            ++requests_;
            bool missing = head.find(" /missing ") != std::string::npos;
            const bool is_head = head.starts_with("HEAD ");
            std::string reply =
                std::string(missing ? "HTTP/1.1 404 Not Found" : "HTTP/1.1 200 OK") +
                "\r\nContent-Length: " + std::to_string(body.size()) +
                "\r\nX-Request-Line: " + head.substr(0, head.find("\r\n")) +
                "\r\nX-Patch-Test:  Mixed Case  \r\n\r\n" + (is_head ? "" : body);
            {
                std::lock_guard lock(mutex_);
                last_head_ = head;
            }
            if (::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL) < 0) {
                return;
            }
        }
    }

    ClosedPort socket_;
    std::thread thread_;
    std::atomic<int> client_fd_{-1};
    std::atomic<int> connections_{0};
    std::atomic<int> requests_{0};
    mutable std::mutex mutex_;
    std::string last_head_;
};

}  // namespace

TEST_CASE("The HTTP client against a closed port fails fast instead of hanging", "[common][http]") {
    ClosedPort closed;
    http::Client client;
    std::string url = "http://127.0.0.1:" + std::to_string(closed.port()) + "/repodata/repomd.xml";
    auto start = std::chrono::steady_clock::now();
    CHECK_THROWS_WITH(client.get(url, 10s), Contains(url) && Contains("server is running"));
    CHECK(std::chrono::steady_clock::now() - start < 5s);
    TempDir tmp;
    CHECK_THROWS_WITH(client.download(url, tmp / "out", 1000, 10s), Contains(url));
}

TEST_CASE("The HTTP client gives up on a server that never answers", "[common][http]") {
    ClosedPort silent;
    silent.listen_silently();
    http::Client client;
    std::string url = "http://127.0.0.1:" + std::to_string(silent.port()) + "/x";
    auto start = std::chrono::steady_clock::now();
    CHECK_THROWS_WITH(client.get(url, 300ms), Contains(url) && Contains("timed out"));
    CHECK(std::chrono::steady_clock::now() - start < 5s);
}

TEST_CASE("The HTTP client speaks HTTP: status, headers, POST, keep-alive", "[common][http]") {
    OneConnectionServer server;
    http::Client client;
    auto ok = client.post(server.url("/echo"), "hello agent", 5s, {{"Content-Type", "text/plain"}});
    CHECK(ok.status == 200);
    CHECK(ok.body == "hello agent");
    CHECK(ok.headers.at("x-patch-test") == "Mixed Case");
    CHECK(ok.headers.at("content-length") == "11");

    // A 404 is a status, not an exception; and the connection is reused.
    auto missing = client.get(server.url("/missing"), 5s);
    CHECK(missing.status == 404);
    CHECK(server.requests() == 2);
    CHECK(server.connections() == 1);
}

TEST_CASE("The HTTP client downloads into a file with a byte bound", "[common][http]") {
    TempDir tmp;
    std::string content(10000, 'x');
    write_file(tmp / "src.bin", content);
    http::Client client;
    std::string url = file_url(tmp / "src.bin");

    CHECK(client.download(url, tmp / "copy.bin", 10000, 5s) == 200);
    CHECK(read_file(tmp / "copy.bin") == content);

    CHECK_THROWS_WITH(
        client.download(url, tmp / "small.bin", 9999, 5s),
        Contains("response from " + url + " is larger than 9999 bytes"));

    CHECK(client.download(file_url(tmp / "absent.bin"), tmp / "absent.out", 100, 5s) == 404);
    CHECK_THROWS_WITH(
        client.download(url, tmp / "no-dir" / "x.bin", 100000, 5s),
        Contains(url) && Contains("no-dir"));

    auto got = client.get(url, 5s);
    CHECK(got.status == 200);
    CHECK(got.body == content);
}

TEST_CASE("The HTTP client sends any method, headers, and a body streamed from a file", "[common][http]") {
    OneConnectionServer server;
    http::Client client({.user_agent = "tester/1", .default_headers = {"X-Default: d"}});

    http::Request head;
    head.method = "HEAD";
    head.url = server.url("/h");
    head.timeout = 5s;
    auto h = client.send(head);
    CHECK(h.status == 200);
    CHECK(h.body.empty());
    CHECK(h.headers.at("x-request-line") == "HEAD /h HTTP/1.1");

    http::Request put;
    put.method = "PUT";
    put.url = server.url("/p");
    put.body = "abc";
    put.headers = {"Content-Type: text/plain", "Authorization: Bearer t"};
    put.timeout = 5s;
    auto p = client.send(put);
    CHECK(p.body == "abc");
    CHECK(p.headers.at("x-request-line") == "PUT /p HTTP/1.1");
    CHECK_THAT(server.last_head(), Contains("X-Default: d") && Contains("Authorization: Bearer t") &&
                                       Contains("User-Agent: tester/1"));

    TempDir tmp;
    const std::string content(3U << 20U, 'u');
    write_file(tmp / "upload.bin", content);
    http::Request upload;
    upload.method = "POST";
    upload.url = server.url("/upload");
    upload.body_file = tmp / "upload.bin";
    upload.stall_timeout = 5s;
    std::uint64_t last_sent = 0;
    std::uint64_t total = 0;
    upload.on_upload_progress = [&](std::uint64_t sent, std::uint64_t size) {
        last_sent = sent;
        total = size;
    };
    auto u = client.send(upload);
    CHECK(u.status == 200);
    CHECK(u.body == content);
    CHECK(total == content.size());
    CHECK(last_sent == content.size());
    CHECK(server.connections() == 1);

    // A progress callback that throws aborts the upload; its exception comes out.
    upload.on_upload_progress = [](std::uint64_t, std::uint64_t) {
        throw std::runtime_error("stop here");
    };
    CHECK_THROWS_WITH(client.send(upload), "stop here");

    http::Request missing_file = upload;
    missing_file.body_file = tmp / "absent.bin";
    try {
        client.send(missing_file);
        FAIL("no error");
    } catch (const http::Error& e) {
        CHECK(e.kind() == http::ErrorKind::LOCAL_IO);
        CHECK_THAT(e.what(), Contains("absent.bin"));
    }
}

TEST_CASE("The HTTP client's errors carry their kind", "[common][http]") {
    ClosedPort closed;
    http::Client client;
    try {
        client.get("http://127.0.0.1:" + std::to_string(closed.port()) + "/", 5s);
        FAIL("no error");
    } catch (const http::Error& e) {
        CHECK(e.kind() == http::ErrorKind::CONNECT);
        CHECK_FALSE(e.detail().empty());
    }
    std::atomic<bool> abort{true};
    ClosedPort silent;
    silent.listen_silently();
    http::Client stopping({.abort = &abort});
    try {
        stopping.get("http://127.0.0.1:" + std::to_string(silent.port()) + "/", 30s);
        FAIL("no error");
    } catch (const http::Error& e) {
        CHECK(e.kind() == http::ErrorKind::ABORTED);
    }
}

TEST_CASE("Parallel downloads fill every file", "[common][http]") {
    TempDir tmp;
    std::vector<http::DownloadRequest> requests;
    std::vector<long> statuses(6, 0);
    for (int i = 0; i < 6; ++i) {
        write_file(tmp / ("src" + std::to_string(i)), std::string(static_cast<std::size_t>(100000 + i), static_cast<char>('a' + i)));
        http::DownloadRequest r;
        r.url = file_url(tmp / ("src" + std::to_string(i)));
        r.file = tmp / ("dst" + std::to_string(i));
        r.max_bytes = 200000;
        r.on_done = [&statuses, i](long s) { statuses[static_cast<std::size_t>(i)] = s; };
        requests.push_back(r);
    }
    http::Client client;
    CHECK_FALSE(client.download_all(requests, 10s, 3));
    for (int i = 0; i < 6; ++i) {
        CHECK(statuses[static_cast<std::size_t>(i)] == 200);
        CHECK(read_file(tmp / ("dst" + std::to_string(i))) == std::string(static_cast<std::size_t>(100000 + i), static_cast<char>('a' + i)));
    }
}
