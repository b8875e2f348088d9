// SPDX-License-Identifier: Apache-2.0
// End-to-end: slow, silent and unauthenticated clients are bounded in time and number, and
// never delay queries, operations or other uploads (issue #10, part 2).
#include "support/controller_harness.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <future>
#include <memory>
#include <thread>

using namespace patching::test;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

std::string raw_upload_head(const ControllerHarness& h, const std::string& filename, std::uint64_t length) {
    return "POST /v1/upload?filename=" + filename + " HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Patching-Client: test\r\n"
           "Authorization: Bearer " + h.admin_token() + "\r\nContent-Type: application/octet-stream\r\n"
           "Content-Length: " + std::to_string(length) + "\r\n\r\n";
}

}  // namespace

TEST_CASE("Silent, half-line and endless-header clients are closed after the header timeout",
          "[controller][e2e][slow]") {
    ControllerHarness h({.extra_config = {"header_timeout_seconds = 1", "idle_timeout_seconds = 2"}});
    const auto started = std::chrono::steady_clock::now();
    RawConnection silent(h.port());
    RawConnection half_line(h.port());
    REQUIRE(half_line.send("GET /v1/que"));
    RawConnection endless(h.port());
    REQUIRE(endless.send("GET /v1/query HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
    std::atomic<bool> endless_refused{false};
    std::thread trickle([&] {
        for (int i = 0; i < 40 && !endless_refused; ++i) {  // a header line every 100 ms, for 4 s
            if (!endless.send("X-Slow-" + std::to_string(i) + ": y\r\n")) {
                endless_refused = true;
            }
            std::this_thread::sleep_for(100ms);
        }
    });
    // Queries, an upload and an apply are answered meanwhile, without waiting for them.
    Response q = h.get("/v1/query");
    CHECK(q.status == 200);
    CHECK(q.seconds < 1.0);
    Response up = h.upload(fixture_patch(1));
    CHECK(up.status == 200);
    Response apply = h.post("/v1/apply/" + fixture_id(1));
    INFO(apply.text);
    CHECK(apply.status == 200);
    CHECK(up.seconds + apply.seconds < 3.0);  // generous for a loaded CI machine

    CHECK(silent.read_until_closed(5s).empty());
    CHECK(silent.peer_closed());
    CHECK(half_line.read_until_closed(5s).empty());
    CHECK(half_line.peer_closed());
    endless.read_until_closed(5s);
    const double closed_after = seconds_since(started);
    CHECK(endless.peer_closed());
    trickle.join();
    // The 1 s header timeout, not the trickle's 4 s (the operations above ran in that time).
    CHECK(closed_after < 2.5 + q.seconds + up.seconds + apply.seconds);

    SECTION("an idle keep-alive connection is closed after the idle timeout") {
        RawConnection idle(h.port());
        REQUIRE(idle.send("GET /v1/query HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Patching-Client: test\r\nAuthorization: Bearer " +
                          h.admin_token() + "\r\n\r\n"));
        const auto sent = std::chrono::steady_clock::now();
        std::string answer = idle.read_until_closed(6s);
        CHECK(answer.rfind("HTTP/1.1 200", 0) == 0);
        CHECK(idle.peer_closed());
        CHECK(seconds_since(sent) > 1.5);  // kept open for the idle timeout (2 s), no longer
        CHECK(seconds_since(sent) < 4.0);
    }
}

TEST_CASE("Connections per peer address are capped and other peers are served", "[controller][e2e][slow]") {
    ControllerHarness h({.extra_config = {"max_connections_per_peer = 5"}});
    std::vector<std::unique_ptr<RawConnection>> held;
    for (int i = 0; i < 5; ++i) {
        held.push_back(std::make_unique<RawConnection>(h.port(), "127.0.0.2"));
    }
    // Accepted in order: give the server a moment to count them.
    std::this_thread::sleep_for(200ms);
    RawConnection over(h.port(), "127.0.0.2");
    const auto t = std::chrono::steady_clock::now();
    over.read_until_closed(3s);
    CHECK(over.peer_closed());
    CHECK(seconds_since(t) < 1.0);
    // Another address (the harness's 127.0.0.1) is not affected.
    CHECK(h.get("/v1/query").status == 200);
    held.pop_back();
    std::this_thread::sleep_for(200ms);
    RawConnection again(h.port(), "127.0.0.2");
    REQUIRE(again.send("GET /v1/query HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + h.admin_token() + "\r\n\r\n"));
    CHECK(again.read_until("\r\n\r\n", 3s).rfind("HTTP/1.1 200", 0) == 0);
}

TEST_CASE("A request refused for want of a token is answered before its body and closed", "[controller][e2e][slow]") {
    ControllerHarness h;
    for (const std::string& target : {std::string("/v1/upload?filename=A_22.12_PATCH_0001.patch"),
                                      std::string("/v1/apply/A"), std::string("/patch/report_app_dependencies/A")}) {
        INFO(target);
        RawConnection c(h.port());
        // A large body announced, none sent: the answer must not wait for it.
        REQUIRE(c.send("POST " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n"
                       "Content-Length: 50000000\r\n\r\n"));
        const auto t = std::chrono::steady_clock::now();
        std::string answer = c.read_until_closed(4s);
        CHECK(answer.rfind("HTTP/1.1 401", 0) == 0);
        CHECK(answer.find("Connection: close") != std::string::npos);
        CHECK(c.peer_closed());
        CHECK(seconds_since(t) < 2.0);
    }
    CHECK(list_files(h.tmp_dir()).empty());
}

TEST_CASE("Stalled uploads hold no operation slot, time out clearly and leave nothing", "[controller][e2e][slow]") {
    ControllerHarness h({.extra_config = {"read_timeout_seconds = 6", "max_concurrent_uploads = 3"}});
    const std::string p1 = read_file(fixture_patch(1));
    REQUIRE(h.upload(fixture_patch(1)).status == 200);
    // Two uploads that stall half-way, and a slow one still trickling.
    std::vector<std::unique_ptr<RawConnection>> stalled;
    for (int i = 0; i < 2; ++i) {
        auto c = std::make_unique<RawConnection>(h.port());
        const std::string name = "STALL_22.12_PATCH_000" + std::to_string(i + 1) + ".patch";
        REQUIRE(c->send(raw_upload_head(h, name, p1.size())));
        REQUIRE(c->send(p1.substr(0, p1.size() / 2)));
        stalled.push_back(std::move(c));
    }
    std::this_thread::sleep_for(300ms);

    SECTION("apply, remove and another upload succeed meanwhile") {
        Response apply = h.post("/v1/apply/" + fixture_id(1));
        INFO(apply.text);
        CHECK(apply.status == 200);
        Response up = h.upload(fixture_patch(3));
        INFO(up.text);
        CHECK(up.status == 200);
        Response remove = h.post("/v1/remove/" + fixture_id(1));
        CHECK(remove.status == 200);
        // None waited for the stalled ones (which hold on for the 6 s read timeout).
        CHECK(apply.seconds + up.seconds + remove.seconds < 5.0);

        // The stalled ones end with a clear message and leave nothing behind.
        for (auto& c : stalled) {
            std::string answer = c->read_until_closed(12s);
            INFO(answer);
            CHECK(answer.rfind("HTTP/1.1 400", 0) == 0);
            CHECK(answer.find("upload stalled: no data for 6 s") != std::string::npos);
        }
        CHECK(list_files(h.tmp_dir()).empty());
        CHECK_FALSE(h.query().contains("STALL_22.12_PATCH_0001"));
    }
    SECTION("past max_concurrent_uploads an upload is busy, its body unread") {
        auto third = std::make_unique<RawConnection>(h.port());
        REQUIRE(third->send(raw_upload_head(h, "STALL_22.12_PATCH_0003.patch", p1.size())));
        REQUIRE(third->send("x"));
        std::this_thread::sleep_for(200ms);
        Response fourth = h.upload(fixture_patch(3));
        CHECK(fourth.status == 503);
        CHECK(fourth.error() == "too many uploads in progress (3); retry when one has ended\n");
        // Operations are not affected.
        CHECK(h.post("/v1/apply/" + fixture_id(1)).status == 200);
    }
}
