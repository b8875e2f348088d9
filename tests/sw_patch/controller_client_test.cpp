// SPDX-License-Identifier: Apache-2.0
#include "controller_client.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <random>
#include <thread>

#include "errors.hpp"
#include "support/test_support.hpp"
#include "sw_patch/fake_controller.hpp"

using namespace patching::client;
using patching::test::CannedResponse;
using patching::test::FakeController;
using patching::test::TempDir;

namespace {

ClientOptions options_for(const FakeController& server, std::optional<std::string> token = {}) {
    ClientOptions options;
    options.base_url = server.url();
    options.token = std::move(token);
    options.token_source = "SW_PATCH_TOKEN";
    options.timeout_s = 30;
    return options;
}

}  // namespace

TEST_CASE("request targets are encoded", "[sw_patch][client]") {
    CHECK(
        api_target("apply", {"P1", "P2"}, {{"skip-semantic", "yes"}}) ==
        "/v1/apply/P1/P2?skip-semantic=yes");
    CHECK(api_target("apply", {"--all"}) == "/v1/apply/--all");
    CHECK(api_target("show", {"a b/c"}) == "/v1/show/a%20b%2Fc");
    CHECK(
        api_target("upload_dir", {}, {{"dir0", "/abs/my dir"}, {"dir1", "/x&y"}}) ==
        "/v1/upload_dir?dir0=/abs/my%20dir&dir1=/x%26y");
    CHECK(api_target("query_hosts") == "/v1/query_hosts");
}

TEST_CASE("GET and POST with the bearer token", "[sw_patch][client]") {
    FakeController server([](const patching::test::RecordedRequest&) {
        return CannedResponse{200, R"({"info": "done\n", "warning": "", "error": ""})"};
    });
    ControllerClient client(options_for(server, "s3cret"));
    Response r = client.get("/v1/query?show=all");
    CHECK(r.status == 200);
    CHECK(r.ok());
    CHECK(r.body["info"] == "done\n");
    r = client.post("/v1/apply/P1");
    CHECK(r.ok());
    auto requests = server.requests();
    REQUIRE(requests.size() == 2);
    CHECK(requests[0].method == "GET");
    CHECK(requests[0].target == "/v1/query?show=all");
    CHECK(requests[0].header("authorization") == "Bearer s3cret");
    CHECK(requests[0].header("accept") == "application/json");
    CHECK(requests[1].method == "POST");
    CHECK(requests[1].target == "/v1/apply/P1");
    CHECK(requests[1].body.empty());
}

TEST_CASE("no Authorization header without a token", "[sw_patch][client]") {
    FakeController server;
    ControllerClient client(options_for(server));
    client.get("/v1/query_hosts");
    CHECK(server.requests().at(0).headers.count("authorization") == 0);
}

TEST_CASE("upload streams the file as the raw body", "[sw_patch][client]") {
    TempDir dir;
    // Three and a bit MiB of arbitrary bytes, so the body goes out in many read callbacks.
    std::string data((3U << 20U) + 12345U, '\0');
    std::mt19937 rng(42);
    for (auto& c : data) {
        c = static_cast<char>(rng() & 0xFFU);
    }
    patching::test::write_file(dir / "TS 21.12_PATCH_0001.patch", data);

    FakeController server([](const patching::test::RecordedRequest&) {
        return CannedResponse{200, R"({"info": "TS_21.12_PATCH_0001 is now available\n"})"};
    });
    ControllerClient client(options_for(server, "tok"));
    std::uint64_t last_sent = 0;
    std::uint64_t last_total = 0;
    int calls = 0;
    Response r = client.upload(
        dir / "TS 21.12_PATCH_0001.patch", [&](std::uint64_t sent, std::uint64_t total) {
            last_sent = sent;
            last_total = total;
            ++calls;
        });
    CHECK(r.ok());
    auto requests = server.requests();
    REQUIRE(requests.size() == 1);
    const auto& req = requests[0];
    CHECK(req.method == "POST");
    CHECK(req.target == "/v1/upload?filename=TS%2021.12_PATCH_0001.patch");
    CHECK(req.header("content-type") == "application/octet-stream");
    CHECK(req.header("content-length") == std::to_string(data.size()));
    CHECK(req.header("authorization") == "Bearer tok");
    CHECK(req.headers.count("expect") == 0);
    CHECK(req.body.size() == data.size());
    CHECK(req.body == data);
    CHECK(calls > 0);
    CHECK(last_total == data.size());
    CHECK(last_sent == data.size());
}

TEST_CASE("an exception from the progress callback aborts the upload", "[sw_patch][client]") {
    TempDir dir;
    patching::test::write_file(dir / "P.patch", std::string(1U << 20U, 'x'));
    FakeController server;
    ControllerClient client(options_for(server));
    CHECK_THROWS_WITH(
        client.upload(
            dir / "P.patch",
            [](std::uint64_t, std::uint64_t) { throw std::runtime_error("stop"); }),
        "stop");
}

TEST_CASE("upload of a missing file names it", "[sw_patch][client]") {
    FakeController server;
    ControllerClient client(options_for(server));
    CHECK_THROWS_WITH(
        client.upload("/nonexistent/P.patch"), Catch::Contains("cannot open /nonexistent/P.patch"));
    CHECK(server.requests().empty());
}

TEST_CASE("401 and 403 become AuthError with advice", "[sw_patch][client]") {
    FakeController server([](const patching::test::RecordedRequest& req) {
        if (req.target == "/v1/delete/P1") {
            return CannedResponse{403, R"({"error": "role operator may not delete"})"};
        }
        return CannedResponse{401, R"({"error": "invalid token"})"};
    });
    SECTION("token rejected") {
        ControllerClient client(options_for(server, "bad"));
        try {
            client.get("/v1/query");
            FAIL("no exception");
        } catch (const AuthError& e) {
            CHECK(e.status() == 401);
            CHECK_THAT(e.what(), Catch::Contains("rejected the token from SW_PATCH_TOKEN"));
            CHECK_THAT(e.what(), Catch::Contains("HTTP 401: invalid token"));
            CHECK_THAT(e.what(), Catch::Contains("check SW_PATCH_TOKEN"));
        }
    }
    SECTION("no token sent") {
        auto options = options_for(server);
        options.token_hint =
            "the token file /etc/patching/admin.token exists but you cannot read it: run as root "
            "or set SW_PATCH_TOKEN";
        ControllerClient client(options);
        try {
            client.post("/v1/apply/P1");
            FAIL("no exception");
        } catch (const AuthError& e) {
            CHECK_THAT(e.what(), Catch::Contains("requires a token"));
            CHECK_THAT(e.what(), Catch::Contains("set SW_PATCH_TOKEN"));
            CHECK_THAT(e.what(), Catch::Contains("run as root or set SW_PATCH_TOKEN"));
        }
    }
    SECTION("role not allowed") {
        ControllerClient client(options_for(server, "operator-token"));
        try {
            client.post("/v1/delete/P1");
            FAIL("no exception");
        } catch (const AuthError& e) {
            CHECK(e.status() == 403);
            CHECK_THAT(e.what(), Catch::Contains("role operator may not delete"));
            CHECK_THAT(e.what(), Catch::Contains("role is not allowed"));
        }
    }
}

TEST_CASE("connection refused says whether the controller runs", "[sw_patch][client]") {
    ClientOptions options;
    options.base_url = "http://127.0.0.1:" + std::to_string(patching::test::closed_port());
    ControllerClient client(options);
    try {
        client.get("/v1/query");
        FAIL("no exception");
    } catch (const ConnectionError& e) {
        CHECK_THAT(
            e.what(), Catch::StartsWith(
                          "cannot reach the patch controller at " + options.base_url +
                          ": is patch-controller running?"));
    }
}

TEST_CASE("error statuses keep their JSON body", "[sw_patch][client]") {
    FakeController server([](const patching::test::RecordedRequest& req) {
        if (req.target == "/v1/apply/P9") {
            return CannedResponse{
                404, R"({"info": "", "warning": "", "error": "Patch P9 does not exist\n"})"};
        }
        if (req.target == "/v1/html") {
            return CannedResponse{502, "<html>Bad gateway</html>", "text/html"};
        }
        return CannedResponse{200, "not json", "text/plain"};
    });
    ControllerClient client(options_for(server));
    Response r = client.post("/v1/apply/P9");
    CHECK(r.status == 404);
    CHECK_FALSE(r.ok());
    CHECK(r.error() == "Patch P9 does not exist\n");
    r = client.get("/v1/html");
    CHECK(r.status == 502);
    CHECK(r.error() == "<html>Bad gateway</html>");
    CHECK_THROWS_AS(client.get("/v1/query"), ProtocolError);
}

TEST_CASE("a silent controller times out", "[sw_patch][client]") {
    FakeController server([](const patching::test::RecordedRequest&) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1500));
        return CannedResponse{};
    });
    auto options = options_for(server);
    options.timeout_s = 0.3;
    ControllerClient client(options);
    CHECK_THROWS_WITH(client.get("/v1/query"), Catch::Contains("did not answer in time"));
}
