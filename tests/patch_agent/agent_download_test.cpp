// SPDX-License-Identifier: Apache-2.0
// Parallel downloads (HttpClient::download_all) and what the installer does when one of them
// goes wrong: a tiny HTTP/1.1 file server on loopback that can cut a file short, answer 500 or
// hold its answers, real RPMs, createrepo_c and librpm transactions into throw-away roots.
// Installer cases need root, rpmbuild, createrepo_c and /bin/busybox and skip without them.
#include "installer/installer.hpp"
#include "net/http_client.hpp"

#include <patch_core/rpm/installed.hpp>
#include <patch_core/rpm/transaction.hpp>

#include "support/rpm_factory.hpp"
#include "support/test_support.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
using patching::agent::DownloadRequest;
using patching::agent::HttpClient;
using patching::agent::InstallOutcome;
using patching::agent::InstallStatus;
using patching::test::TempDir;

namespace {

/// What the server does wrong for one path.
enum class Fault {
    NONE,
    SHORT,         ///< Announces the whole file, sends half of it and closes the connection.
    SERVER_ERROR,  ///< 500.
};

/// Serves the files under `root` on 127.0.0.1 (keep-alive, a thread per connection), with
/// faults by URL path and an optional delay before each answer. Counts the requests and the
/// most that were in progress at once.
class FileServer {
public:
    explicit FileServer(fs::path root) : root_(std::move(root)) {
        listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(listener_ >= 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof(address);
        auto* generic = reinterpret_cast<sockaddr*>(&address);
        REQUIRE(::bind(listener_, generic, sizeof(address)) == 0);
        REQUIRE(::listen(listener_, 64) == 0);
        REQUIRE(::getsockname(listener_, generic, &length) == 0);
        port_ = ntohs(address.sin_port);
        acceptor_ = std::thread([this] { accept_loop(); });
    }
    ~FileServer() {
        stopping_ = true;
        ::shutdown(listener_, SHUT_RDWR);
        ::close(listener_);
        acceptor_.join();
        std::vector<std::thread> connections;
        {
            std::lock_guard lock(mutex_);
            for (int fd : open_) {
                ::shutdown(fd, SHUT_RDWR);
            }
            connections.swap(connections_);
        }
        for (auto& t : connections) {
            t.join();
        }
    }
    FileServer(const FileServer&) = delete;
    FileServer& operator=(const FileServer&) = delete;

    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    void set_fault(const std::string& path, Fault fault) {
        std::lock_guard lock(mutex_);
        faults_[path] = fault;
    }
    void set_delay(std::chrono::milliseconds delay) { delay_ms_ = delay.count(); }
    int requests() const { return requests_; }
    int most_at_once() const { return most_at_once_; }
    int connections() const { return connections_accepted_; }

private:
    void accept_loop() {
        while (!stopping_) {
            const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
            if (fd < 0) {
                continue;
            }
            std::lock_guard lock(mutex_);
            ++connections_accepted_;
            open_.insert(fd);
            connections_.emplace_back([this, fd] { serve(fd); });
        }
    }

    void serve(int fd) {
        std::string buffer;
        char chunk[4096];
        for (;;) {
            const auto end = buffer.find("\r\n\r\n");
            if (end == std::string::npos) {
                const ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
                if (n <= 0) {
                    break;
                }
                buffer.append(chunk, static_cast<size_t>(n));
                continue;
            }
            const std::string head = buffer.substr(0, end);
            buffer.erase(0, end + 4);
            const auto first_space = head.find(' ');
            const std::string path =
                head.substr(first_space + 1, head.find(' ', first_space + 1) - first_space - 1);
            if (!answer(fd, path)) {
                break;
            }
        }
        std::lock_guard lock(mutex_);
        open_.erase(fd);
        ::close(fd);
    }

    // false: the connection is to be closed.
    bool answer(int fd, const std::string& path) {
        const int now = ++in_progress_;
        ++requests_;
        int seen = most_at_once_;
        while (now > seen && !most_at_once_.compare_exchange_weak(seen, now)) {
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms_.load()));
        Fault fault = Fault::NONE;
        {
            std::lock_guard lock(mutex_);
            if (auto it = faults_.find(path); it != faults_.end()) {
                fault = it->second;
            }
        }
        std::string body;
        std::string status = "200 OK";
        try {
            body = patching::test::read_file(root_ / fs::path(path).relative_path());
        } catch (const std::exception&) {
            status = "404 Not Found";
        }
        if (fault == Fault::SERVER_ERROR) {
            status = "500 Internal Server Error";
            body = "broken";
        }
        const std::string head = "HTTP/1.1 " + status +
                                 "\r\nContent-Length: " + std::to_string(body.size()) +
                                 "\r\nContent-Type: application/octet-stream\r\n\r\n";
        const std::string sent = fault == Fault::SHORT ? body.substr(0, body.size() / 2) : body;
        const bool ok = send_all(fd, head) && send_all(fd, sent);
        --in_progress_;
        return ok && fault != Fault::SHORT;
    }

    static bool send_all(int fd, const std::string& data) {
        size_t off = 0;
        while (off < data.size()) {
            const ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
            if (n <= 0) {
                return false;
            }
            off += static_cast<size_t>(n);
        }
        return true;
    }

    fs::path root_;
    int listener_ = -1;
    unsigned short port_ = 0;
    std::atomic<bool> stopping_{false};
    std::atomic<long> delay_ms_{0};
    std::atomic<int> in_progress_{0};
    std::atomic<int> most_at_once_{0};
    std::atomic<int> requests_{0};
    std::atomic<int> connections_accepted_{0};
    std::mutex mutex_;
    std::map<std::string, Fault> faults_;
    std::set<int> open_;
    std::vector<std::thread> connections_;
    std::thread acceptor_;
};

std::string joined(const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& l : lines) {
        out += l + "\n";
    }
    return out;
}

class NoProgress : public patching::agent::InstallProgress {
public:
    void on_progress(const std::string&, std::size_t, std::size_t, const std::string&) override {}
};

}  // namespace

TEST_CASE("download_all runs four transfers at a time and hands over each file whole",
          "[agent][download]") {
    TempDir served;
    TempDir out;
    std::vector<std::string> contents;
    for (int i = 0; i < 10; ++i) {
        contents.push_back(std::string(200000 + static_cast<size_t>(i) * 1000, static_cast<char>('a' + i)));
        patching::test::write_file(served.path() / ("f" + std::to_string(i)), contents.back());
    }
    FileServer server(served.path());
    server.set_delay(std::chrono::milliseconds(150));  // every transfer overlaps the others

    HttpClient http;
    std::vector<DownloadRequest> requests;
    std::vector<std::size_t> seen_bytes(10, 0);
    std::vector<long> statuses(10, 0);
    for (std::size_t i = 0; i < 10; ++i) {
        DownloadRequest r;
        r.url = server.url() + "/f" + std::to_string(i);
        r.file = out.path() / ("f" + std::to_string(i));
        r.max_bytes = 1U << 20U;
        r.on_data = [&seen_bytes, i](std::span<const std::byte> data) { seen_bytes[i] += data.size(); };
        r.on_done = [&statuses, i](long status) { statuses[i] = status; };
        requests.push_back(std::move(r));
    }
    const auto failure = http.download_all(requests, std::chrono::seconds(30));
    REQUIRE_FALSE(failure);
    for (std::size_t i = 0; i < 10; ++i) {
        CHECK(statuses[i] == 200);
        CHECK(seen_bytes[i] == contents[i].size());
        CHECK(patching::test::read_file(out.path() / ("f" + std::to_string(i))) == contents[i]);
    }
    CHECK(server.most_at_once() == 4);
    CHECK(server.requests() == 10);
    CHECK(server.connections() == 4);  // kept alive and reused

    // A second batch reuses the same connections.
    REQUIRE_FALSE(http.download_all(requests, std::chrono::seconds(30)));
    CHECK(server.connections() == 4);
}

TEST_CASE("download_all stops at the first failure and says which request failed",
          "[agent][download]") {
    TempDir served;
    TempDir out;
    for (int i = 0; i < 6; ++i) {
        patching::test::write_file(served.path() / ("f" + std::to_string(i)), std::string(100000, 'x'));
    }
    FileServer server(served.path());
    server.set_fault("/f2", Fault::SHORT);
    HttpClient http;
    std::vector<DownloadRequest> requests;
    int done = 0;
    for (int i = 0; i < 6; ++i) {
        DownloadRequest r;
        r.url = server.url() + "/f" + std::to_string(i);
        r.file = out.path() / ("f" + std::to_string(i));
        r.max_bytes = 1U << 20U;
        r.on_done = [&done](long) { ++done; };
        requests.push_back(std::move(r));
    }
    const auto failure = http.download_all(requests, std::chrono::seconds(30), 1);
    REQUIRE(failure);
    CHECK(failure->index == 2);
    CHECK(done == 2);  // one at a time: nothing after the failure started
    try {
        std::rethrow_exception(failure->error);
    } catch (const std::exception& e) {
        CHECK_THAT(e.what(), Catch::Contains(server.url() + "/f2"));
    }

    // An exception from a callback fails its transfer the same way.
    server.set_fault("/f2", Fault::NONE);
    requests[4].on_done = [](long) { throw std::runtime_error("checksum mismatch"); };
    const auto thrown = http.download_all(requests, std::chrono::seconds(30));
    REQUIRE(thrown);
    CHECK(thrown->index == 4);
    CHECK_THROWS_WITH(std::rethrow_exception(thrown->error), "checksum mismatch");
}

namespace {

class ParallelInstallFixture {
public:
    ParallelInstallFixture() {
        config_.root = root_.path();
        config_.state_dir = state_.path();
        config_.subfunctions = {"controller", "worker"};
        config_.personality = "controller";
    }

    bool ready() {
        if (::geteuid() != 0) {
            patching::test::skip_test("installing RPMs into a root directory needs root (CI runs as root)");
            return false;
        }
        if (patching::test::run_command("command -v createrepo_c") != 0) {
            patching::test::skip_test("createrepo_c is not installed (scripts/install-deps.sh installs it)");
            return false;
        }
        return patching::test::prepare_scriptlet_root(root_.path(), work_.path());
    }

    fs::path build(const std::string& name, const std::string& release) {
        auto rpm = patching::test::build_rpm(
            work_.path(), patching::test::RpmSpec(name).set_version("1.0", release));
        REQUIRE(rpm);
        return *rpm;
    }

    void publish(const std::vector<fs::path>& rpms) {
        fs::create_directories(repo_.path() / "Packages");
        for (const auto& rpm : rpms) {
            fs::copy_file(rpm, repo_.path() / "Packages" / rpm.filename());
        }
        std::string output;
        const int rc = patching::test::run_command("createrepo_c -q " + repo_.path().string(), &output);
        INFO(output);
        REQUIRE(rc == 0);
    }

    std::vector<std::string> installed() const {
        std::vector<std::string> out;
        for (const auto& p : patching::rpm::list_installed(root_.path())) {
            out.push_back(p.nevra());
        }
        return out;
    }

    TempDir work_;
    TempDir root_;
    TempDir repo_;
    TempDir state_;
    patching::agent::InstallerConfig config_;
    HttpClient http_;
};

}  // namespace

TEST_CASE_METHOD(
    ParallelInstallFixture,
    "a failed, short or corrupt download among parallel ones is refused naming the package, "
    "and nothing is installed",
    "[agent][installer][download]") {
    if (!ready()) {
        return;
    }
    const std::vector<std::string> names{"par-a", "par-b", "par-c", "par-d", "par-e", "par-f"};
    std::vector<fs::path> base;
    std::vector<fs::path> patched;
    for (const auto& name : names) {
        base.push_back(build(name, "1"));
        patched.push_back(build(name, "2"));
    }
    {
        patching::rpm::Transaction tx(root_.path());
        for (const auto& rpm : base) {
            tx.add_install(rpm);
        }
        REQUIRE(tx.run().ok);
    }
    std::vector<fs::path> all = base;
    all.insert(all.end(), patched.begin(), patched.end());
    publish(all);
    const std::vector<std::string> before = installed();

    FileServer server(repo_.path());
    config_.repo_url = server.url();
    const std::string bad = "par-d-1.0-2.noarch";
    const std::string bad_path = "/Packages/" + bad + ".rpm";
    const fs::path served_bad = repo_.path() / "Packages" / (bad + ".rpm");
    const std::string good_bytes = patching::test::read_file(served_bad);
    std::string expected;
    SECTION("cut short") {
        server.set_fault(bad_path, Fault::SHORT);
        expected = "Cannot download " + bad + " from " + server.url() + bad_path;
    }
    SECTION("a server error") {
        server.set_fault(bad_path, Fault::SERVER_ERROR);
        expected = "Cannot download " + bad + " from " + server.url() + bad_path + ": HTTP status 500";
    }
    SECTION("corrupt") {
        std::string bytes = good_bytes;
        bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x20);
        patching::test::write_file(served_bad, bytes);
        expected = "The package " + bad + " downloaded from " + server.url() + bad_path +
                   " does not match the repository";
    }
    patching::agent::Installer installer(config_, http_);
    installer.flags().set_locked(true);
    NoProgress progress;

    const InstallOutcome outcome = installer.install({}, progress);
    INFO("reason: " << outcome.reason << "\nlog:\n" << joined(outcome.log));
    REQUIRE(outcome.status == InstallStatus::FAILED);
    CHECK_THAT(outcome.reason, Catch::Contains(expected));
    CHECK_THAT(outcome.reason, Catch::Contains("Nothing was changed"));
    CHECK_FALSE(outcome.changed);
    CHECK(installed() == before);
    CHECK(installer.flags().install_failed() == outcome.reason);
    CHECK_FALSE(installer.flags().installing());
    CHECK_FALSE(installer.flags().is_node_patched());
    // The names added for the transaction that never ran are gone from the ledger again.
    CHECK(installer.managed_packages().empty());
    // Nothing unverified stays: the bad package is fetched again next time.
    for (const auto& entry : fs::recursive_directory_iterator(state_.path())) {
        CHECK_FALSE(entry.path().filename().string().starts_with(bad));
    }

    // Once the repository serves the package whole, the next install takes all six at once.
    server.set_fault(bad_path, Fault::NONE);
    patching::test::write_file(served_bad, good_bytes);
    const InstallOutcome retry = installer.install({}, progress);
    INFO("retry: " << retry.reason << "\nlog:\n" << joined(retry.log));
    REQUIRE(retry.status == InstallStatus::OK);
    std::vector<std::string> expected_after{"fixture-shell-1.0-1.noarch"};
    for (const auto& name : names) {
        expected_after.push_back(name + "-1.0-2.noarch");
    }
    std::sort(expected_after.begin(), expected_after.end());
    CHECK(installed() == expected_after);
    CHECK(installer.managed_packages().size() == names.size());
    CHECK_FALSE(installer.flags().install_failed());
}
