// SPDX-License-Identifier: Apache-2.0
// End-to-end: the daemon's HTTP layer under abuse — garbage bytes, oversized bodies, unknown
// routes, path traversal, aborted uploads — and queries staying fast during a slow operation.
#include "support/controller_harness.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <future>
#include <thread>

using namespace patching::test;
namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

std::string upload_head(const ControllerHarness& h, const std::string& filename, std::uint64_t length) {
    return "POST /v1/upload?filename=" + filename + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " +
           h.admin_token() + "\r\nContent-Type: application/octet-stream\r\nContent-Length: " +
           std::to_string(length) + "\r\n\r\n";
}

std::size_t count_of(const std::string& text, const std::string& needle) {
    std::size_t n = 0;
    for (std::size_t p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) {
        ++n;
    }
    return n;
}

// Polls `pred` every 10 ms for at most `timeout`.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (pred()) {
            return true;
        }
        std::this_thread::sleep_for(10ms);
    }
    return pred();
}

}  // namespace

TEST_CASE("Garbage on the socket closes that connection and the daemon keeps serving", "[controller][e2e]") {
    ControllerHarness h;
    const std::vector<std::string> payloads = {
        std::string("GARBAGE\x01\x02\r\n\r\n"),
        std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11) + std::string(200, '\0'),  // a TLS hello
        "GET /v1/query HTTP/9.9\r\n\r\n",
        "GET /v1/query HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
        "GET /v1/query HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nhello",
        "GET /v1/query HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "GET /v1/query HTTP/1.1\r\n" + std::string(70000, 'X') + "\r\n\r\n",  // header over 64 KiB
        "GET \x7f\x80\xff HTTP/1.1\r\n\r\n",
    };
    for (std::size_t i = 0; i < payloads.size(); ++i) {
        INFO("payload " << i);
        RawConnection c(h.port());
        c.send(payloads[i]);
        std::string reply = c.read_until_closed(5s);
        CHECK(c.peer_closed());
        // Either nothing or an error status: never a successful answer to garbage.
        CHECK(reply.find("HTTP/1.1 200") == std::string::npos);
        CHECK(h.get("/v1/query").status == 200);
    }
    // A client that connects and says nothing does not block others.
    RawConnection idle(h.port());
    RawConnection half(h.port());
    half.send("GET /v1/query HTTP/1.1\r\nHost: x\r\n");
    CHECK(h.get("/v1/query").status == 200);
    CHECK(h.running());
    CHECK(h.log().find("internal error") == std::string::npos);
}

TEST_CASE("Keep-alive connections serve several requests", "[controller][e2e]") {
    ControllerHarness h;
    RawConnection c(h.port());
    const std::string req = "GET /v1/is_applied/X_1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + h.admin_token() +
                            "\r\n\r\n";
    for (int i = 0; i < 3; ++i) {
        REQUIRE(c.send(req));
        std::string reply = c.read_until("false", 5s);
        CHECK(reply.rfind("HTTP/1.1 200", 0) == 0);
    }
    // Pipelined: two requests in one write, two answers in order.
    REQUIRE(c.send(req + req));
    std::string both;
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (count_of(both, "HTTP/1.1 200") < 2 && !c.peer_closed() && std::chrono::steady_clock::now() < deadline) {
        both += c.read_until("false", 200ms);
    }
    CHECK(count_of(both, "HTTP/1.1 200") == 2);
    CHECK_FALSE(c.peer_closed());
}

TEST_CASE("Unknown routes and verbs get 404", "[controller][e2e]") {
    ControllerHarness h;
    Response verb = h.post("/v1/frobnicate/X");
    CHECK(verb.status == 404);
    CHECK(verb.error().find("frobnicate") != std::string::npos);
    Response path = h.get("/v2/query");
    CHECK(path.status == 404);
    CHECK(path.error().find("/v1/") != std::string::npos);
    CHECK(h.get("/v1query").status == 404);
    CHECK(h.get("/updates").status == 404);
    Response deprecated = h.post("/v1/host_install/h1");
    CHECK(deprecated.status == 400);
    CHECK(deprecated.error().rfind("Deprecated: Use host_install_async", 0) == 0);
    Response no_host = h.post("/v1/host_install_async");
    CHECK(no_host.status == 400);
    CHECK(no_host.error().rfind("Host must be specified for install", 0) == 0);
    CHECK(h.post("/v1/host_install_async/nohost").status == 404);
    CHECK(h.post("/v1/drop_host/nohost").status == 404);
    Response hosts = h.get("/v1/query_hosts");
    CHECK(hosts.status == 200);
    CHECK(hosts.body == json({{"data", json::array()}}));
    // The /patch/ prefix is the same API.
    CHECK(h.get("/patch/query").body == h.get("/v1/query").body);
}

TEST_CASE("A body over 1 MiB to a route that is not an upload gets 413", "[controller][e2e]") {
    ControllerHarness h;
    REQUIRE(h.upload(fixture_patch(1)).status == 200);

    SECTION("announced with Content-Length, answered before the body is sent") {
        RawConnection c(h.port());
        REQUIRE(c.send("POST /v1/apply/FIX_22.12_PATCH_0001 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                       h.admin_token() + "\r\nContent-Length: " + std::to_string(2U << 20U) + "\r\n\r\n"));
        std::string reply = c.read_until("\r\n\r\n", 5s);
        INFO(reply);
        CHECK(reply.rfind("HTTP/1.1 413", 0) == 0);
        CHECK(h.query().at(fixture_id(1)).at("repostate") == "Available");
    }
    SECTION("a client still sending after the answer can finish and read it") {
        // The daemon answers on the header and half-closes; it must then read and drop the body
        // (a lingering close): closing with it unread reset the connection, and clients such as
        // curl saw "failed sending data" instead of the 413 (test_agent_e2e's oversized report
        // failed so under load).
        RawConnection c(h.port());
        REQUIRE(c.send("POST /v1/agent/report HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                       "Content-Length: " +
                       std::to_string(8U << 20U) + "\r\n\r\n"));
        std::this_thread::sleep_for(200ms);  // answered and half-closed by now
        const std::string block(1U << 20U, ' ');
        for (int i = 0; i < 8; ++i) {
            INFO("block " << i);
            REQUIRE(c.send(block));
        }
        std::string reply = c.read_until("\r\n\r\n", 5s);
        INFO(reply);
        CHECK(reply.rfind("HTTP/1.1 413", 0) == 0);
    }
    SECTION("sent by a client") {
        Response r = h.request("POST", "/v1/apply/FIX_22.12_PATCH_0001", h.admin_token(),
                               Body::text(std::string(2U << 20U, 'x')));
        INFO(r.transport_error << " " << r.text);
        CHECK(r.status == 413);
        CHECK(h.query().at(fixture_id(1)).at("repostate") == "Available");
    }
    SECTION("chunked") {
        RawConnection c(h.port());
        REQUIRE(c.send("POST /v1/apply/FIX_22.12_PATCH_0001 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                       h.admin_token() + "\r\nTransfer-Encoding: chunked\r\n\r\n"));
        const std::string chunk = "100000\r\n" + std::string(0x100000, 'x') + "\r\n";
        c.send(chunk);
        c.send(chunk);
        std::string reply = c.read_until("\r\n\r\n", 5s);
        INFO(reply.substr(0, 200));
        CHECK(reply.rfind("HTTP/1.1 413", 0) == 0);
        CHECK(h.query().at(fixture_id(1)).at("repostate") == "Available");
    }
    CHECK(h.get("/v1/query").status == 200);
}

TEST_CASE("An upload over max_upload_bytes gets 413 and leaves nothing behind", "[controller][e2e]") {
    ControllerHarness h({.extra_config = {"max_upload_bytes = 100000"}});
    fs::path big = h.work_dir() / "BIG_22.12_PATCH_0001.patch";
    write_file(big, std::string(300000, 'x'));
    Response r = h.upload(big);
    INFO(r.transport_error << " " << r.text);
    CHECK(r.status == 413);
    CHECK(list_files(h.tmp_dir()).empty());
    CHECK(fs::is_empty(h.tmp_dir()));
    // A patch under the limit still imports.
    CHECK(h.upload(fixture_patch(1)).info() == fixture_id(1) + " is now available\n");
    CHECK(fs::is_empty(h.tmp_dir()));
}

TEST_CASE("An upload the client abandons half way leaves nothing in state/tmp", "[controller][e2e]") {
    ControllerHarness h;
    const std::string patch = read_file(fixture_patch(1));
    {
        RawConnection c(h.port());
        REQUIRE(c.send(upload_head(h, "FIX_22.12_PATCH_0001.patch", 10U << 20U)));
        SECTION("inside the patch") {
            REQUIRE(c.send(patch.substr(0, patch.size() / 2)));
        }
        SECTION("in the padding after a complete patch") {
            // The patch verifies; the daemon goes on storing the rest of the announced body.
            REQUIRE(c.send(patch));
            REQUIRE(c.send(std::string(1U << 20U, '\0')));
        }
        REQUIRE(eventually([&] { return !list_files(h.tmp_dir()).empty(); }, 5s));
    }  // closed mid-body
    CHECK(eventually([&] { return fs::is_empty(h.tmp_dir()); }, 5s));
    INFO("left in state/tmp: " << [&] {
        std::string s;
        for (const auto& e : fs::directory_iterator(h.tmp_dir())) {
            s += e.path().filename().string() + " ";
        }
        return s;
    }());
    CHECK(fs::is_empty(h.tmp_dir()));
    CHECK(h.query().empty());
    CHECK(h.log().find("internal error") == std::string::npos);
    // The same patch uploads normally afterwards.
    CHECK(h.upload(fixture_patch(1)).info() == fixture_id(1) + " is now available\n");
}

TEST_CASE("Uploads need a file name and the patch as the body", "[controller][e2e]") {
    ControllerHarness h;
    Response no_name = h.request("POST", "/v1/upload", h.admin_token(), Body::from_file(fixture_patch(1)));
    CHECK(no_name.status == 400);
    CHECK(no_name.error().find("filename=") != std::string::npos);
    Response empty = h.request("POST", "/v1/upload?filename=EMPTY_1.patch", h.admin_token(), Body::text(""));
    INFO(empty.text);
    CHECK(empty.status >= 400);
    CHECK_FALSE(empty.error().empty());
    CHECK(h.query().empty());
    CHECK(fs::is_empty(h.tmp_dir()));
}

TEST_CASE("Path traversal under /updates is refused", "[controller][e2e]") {
    ControllerHarness h;
    REQUIRE(fs::exists(h.state_dir() / "patching.db"));
    write_file(h.repo_dir() / "secret.txt", "not under a release\n");
    for (const std::string& path :
         {std::string("/updates/../x"), std::string("/updates/../state/patching.db"),
          std::string("/updates/rel-22.12/../../state/patching.db"),
          std::string("/updates/rel-22.12/%2e%2e/%2e%2e/state/patching.db"),
          std::string("/updates/rel-22.12/..%2f..%2fstate/patching.db"), std::string("/updates/./rel-22.12/comps.xml"),
          std::string("/updates/"), std::string("/updates/rel-22.12"),
          std::string("/updates/rel-22.12/Packages"), std::string("/updates/rel-22.12/nothing.xml"),
          std::string("/updates/%2fetc%2fpasswd"), std::string("/updates//etc/passwd"),
          "/updates/" + h.local_token_file().string(), "/updates//" + (h.state_dir() / "patching.db").string(),
          "/updates/%2F" + h.local_token_file().relative_path().string()}) {
        Response r = h.request("GET", path, "");
        INFO(path << " " << r.text.substr(0, 200));
        CHECK(r.status == 404);
        CHECK(r.text.find("SQLite") == std::string::npos);
        CHECK(r.text.find("root:") == std::string::npos);
        CHECK(r.text.find(h.admin_token()) == std::string::npos);
    }
    CHECK(h.request("GET", "/updates/rel-22.12/comps.xml", "").status == 200);
}

TEST_CASE("Queries are not blocked by a slow apply", "[controller][e2e]") {
    ControllerHarness h;
    const std::string id = "SLOW_22.12_PATCH_0001";
    const fs::path started = h.root() / "slow-check-started";
    fs::path p = h.build({.id = id,
                          .rpms = {{"worker", fixture_rpm("fixture-delta-1.0-1")}},
                          .pre_apply = "#!/bin/sh\ntouch '" + started.string() + "'\nsleep 3\nexit 0\n"});
    REQUIRE(h.upload(p).status == 200);

    auto apply = std::async(std::launch::async, [&] { return h.post("/v1/apply/" + id); });
    REQUIRE(eventually([&] { return fs::exists(started); }, 10s));

    constexpr int CLIENTS = 50;
    std::vector<std::future<Response>> queries;
    queries.reserve(CLIENTS);
    for (int i = 0; i < CLIENTS; ++i) {
        queries.push_back(std::async(std::launch::async, [&h, i] {
            return i % 2 == 0 ? h.get("/v1/query") : h.get("/v1/show/SLOW_22.12_PATCH_0001");
        }));
    }
    int ok = 0;
    double slowest = 0;
    for (auto& f : queries) {
        Response r = f.get();
        INFO(r.transport_error << " " << r.text.substr(0, 200));
        CHECK(r.status == 200);
        ok += r.status == 200 ? 1 : 0;
        slowest = std::max(slowest, r.seconds);
    }
    CHECK(ok == CLIENTS);
    INFO("slowest query " << slowest << " s");
    CHECK(slowest < 1.0);
    // The apply was still running while the queries were answered, and reported Available.
    CHECK(apply.wait_for(0s) != std::future_status::ready);
    CHECK(h.query().at(id).at("repostate") == "Available");

    Response r = apply.get();
    INFO(r.text);
    CHECK(r.status == 200);
    CHECK(r.info() == id + " is now in the repo\n");
    CHECK(r.seconds >= 2.5);
    CHECK(h.query().at(id).at("repostate") == "Applied");
}

TEST_CASE("Mutating operations wait for each other", "[controller][e2e]") {
    ControllerHarness h;
    const std::string id = "SLOW_22.12_PATCH_0002";
    const fs::path started = h.root() / "slow-check-started";
    fs::path p = h.build({.id = id,
                          .rpms = {{"worker", fixture_rpm("fixture-delta-1.0-1")}},
                          .pre_apply = "#!/bin/sh\ntouch '" + started.string() + "'\nsleep 1\nexit 0\n"});
    REQUIRE(h.upload(p).status == 200);
    auto apply = std::async(std::launch::async, [&] { return h.post("/v1/apply/" + id); });
    REQUIRE(eventually([&] { return fs::exists(started); }, 10s));
    // A delete issued meanwhile sees the patch Applied once it runs, so it is refused.
    Response del = h.post("/v1/delete/" + id);
    CHECK(apply.get().status == 200);
    INFO(del.text);
    CHECK(del.status == 409);
    CHECK(del.error() == "Patch " + id + " not in Available state\n");
    CHECK(h.query().at(id).at("repostate") == "Applied");
    CHECK(fs::exists(h.packages_dir() / "fixture-delta-1.0-1.noarch.rpm"));
}

TEST_CASE("HEAD answers carry the header and no body", "[controller][e2e]") {
    ControllerHarness h;
    const std::string repomd = read_file(h.release_repo() / "repodata" / "repomd.xml");
    RawConnection c(h.port());
    // HEAD then GET on one keep-alive connection: the GET's answer must follow the HEAD's header.
    REQUIRE(c.send("HEAD /updates/rel-22.12/repodata/repomd.xml HTTP/1.1\r\nHost: x\r\n\r\n"
                   "HEAD /v1/query HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                   h.admin_token() +
                   "\r\n\r\n"
                   "GET /v1/is_applied/X_1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                   h.admin_token() + "\r\n\r\n"));
    std::string got = c.read_until("\r\n\r\nfalse", 5s);
    INFO(got.substr(0, 600));
    CHECK(got.rfind("HTTP/1.1 200", 0) == 0);
    CHECK(got.find("Content-Length: " + std::to_string(repomd.size()) + "\r\n") != std::string::npos);
    CHECK(got.find("<repomd") == std::string::npos);
    CHECK(got.find("\"pd\"") == std::string::npos);
    CHECK(count_of(got, "HTTP/1.1 200") == 3);
    // Each answer starts right after the previous header.
    std::size_t second = got.find("\r\n\r\n") + 4;
    CHECK(got.compare(second, 12, "HTTP/1.1 200") == 0);
    std::size_t third = got.find("\r\n\r\n", second) + 4;
    CHECK(got.compare(third, 12, "HTTP/1.1 200") == 0);
    CHECK(got.size() >= 5);
    CHECK(got.substr(got.size() - 5) == "false");
}

TEST_CASE("Bad query parameters are client errors, not internal errors", "[controller][e2e]") {
    ControllerHarness h;
    for (const char* after : {"abc", "-1", "99999999999999999999999", "1e5"}) {
        Response r = h.get(std::string("/v1/audit?after=") + after);
        INFO(after << " " << r.text);
        CHECK(r.status == 400);
    }
    CHECK(h.get("/v1/audit?after=").status == 200);
    CHECK(h.get("/v1/audit?after=0").status == 200);
    CHECK(h.log().find("internal error") == std::string::npos);
}

// Mutating operations run one at a time; requests waiting for their turn must not take the
// threads that answer queries (with 4 worker threads, a slow apply and 3 waiting operations
// used to leave none: the controller now refuses the excess with 503).
TEST_CASE("Queries are answered while mutating requests queue behind a slow apply", "[controller][e2e]") {
    ControllerHarness h;
    const std::string id = "SLOW_22.12_PATCH_0004";
    const fs::path started = h.root() / "slow-check-started";
    fs::path p = h.build({.id = id,
                          .rpms = {{"worker", fixture_rpm("fixture-delta-1.0-1")}},
                          .pre_apply = "#!/bin/sh\ntouch '" + started.string() + "'\nsleep 3\nexit 0\n"});
    REQUIRE(h.upload(p).status == 200);
    auto apply = std::async(std::launch::async, [&] { return h.post("/v1/apply/" + id); });
    REQUIRE(eventually([&] { return fs::exists(started); }, 10s));
    std::vector<std::future<Response>> queued;
    for (int i = 0; i < 3; ++i) {
        queued.push_back(std::async(std::launch::async, [&h, i] { return h.post("/v1/delete/NOPE_" + std::to_string(i)); }));
    }
    std::this_thread::sleep_for(300ms);
    Response q = h.get("/v1/query");
    CHECK(q.status == 200);
    INFO("query took " << q.seconds << " s");
    CHECK(q.seconds < 1.0);
    CHECK(apply.get().status == 200);
    for (auto& f : queued) {
        long status = f.get().status;
        CHECK((status == 404 || status == 503));  // done in turn, or refused as busy
    }
}
