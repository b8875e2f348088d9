// SPDX-License-Identifier: Apache-2.0
// End-to-end: bearer-token authentication, reader/admin roles, the public repository and the
// audit log of the real daemon.
#include "support/controller_harness.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <algorithm>

using namespace patching::test;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const std::string P1 = fixture_id(1);
const std::string P2 = fixture_id(2);

bool is_hex_token(const std::string& s) {
    return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

}  // namespace

TEST_CASE("Requests without a token are refused with a helpful 401", "[controller][e2e]") {
    ControllerHarness h;
    for (const auto& [method, path] : std::vector<std::pair<std::string, std::string>>{
             {"GET", "/v1/query"}, {"GET", "/v1"}, {"POST", "/v1/apply/" + P1}, {"GET", "/patch/query"},
             {"POST", "/v1/delete/" + P1}, {"GET", "/v1/audit"}, {"POST", "/v1/commit/" + P1}}) {
        Response r = h.request(method, path, "");
        INFO(method << " " << path << " " << r.text);
        CHECK(r.status == 401);
        CHECK(r.error().find("Authorization: Bearer") != std::string::npos);
    }
    // An upload without a token stores nothing.
    Response up = h.upload(fixture_patch(1), std::nullopt, std::string());
    CHECK(up.status == 401);
    CHECK(h.query().empty());
    CHECK(list_files(h.tmp_dir()).empty());
    CHECK(list_files(h.state_dir() / "packages").empty());
}

TEST_CASE("A wrong or malformed token is refused", "[controller][e2e]") {
    ControllerHarness h;
    std::string wrong = h.admin_token();
    wrong.back() = wrong.back() == 'a' ? 'b' : 'a';
    for (const std::string& token : {wrong, std::string("nope"), std::string(64, '0'), h.admin_token() + "x"}) {
        Response r = h.request("GET", "/v1/query", token);
        INFO(token << " " << r.text);
        CHECK(r.status == 401);
        CHECK(r.error().find("rejected") != std::string::npos);
    }
    RequestOptions basic;
    basic.headers = {"Authorization: Basic YWRtaW46YWRtaW4="};
    CHECK(h.request("GET", "/v1/query", "", {}, basic).status == 401);
    // The right token, with surrounding blanks, is fine.
    CHECK(h.request("GET", "/v1/query", h.admin_token()).status == 200);
    RequestOptions spaced;
    spaced.headers = {"Authorization: Bearer   " + h.admin_token() + "  "};
    CHECK(h.request("GET", "/v1/query", "", {}, spaced).status == 200);
}

TEST_CASE("The local admin token is created once, private, and stays valid", "[controller][e2e]") {
    ControllerHarness h;
    CHECK(is_hex_token(h.admin_token()));
    struct stat st {};
    REQUIRE(::stat(h.local_token_file().c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    const std::string token = h.admin_token();
    h.restart();
    CHECK(h.admin_token() == token);
    CHECK(h.get("/v1/query").status == 200);
}

TEST_CASE("A reader token may query but not change anything", "[controller][e2e]") {
    ControllerHarness h;
    REQUIRE(h.upload(fixture_patch(1)).status == 200);
    const std::string reader = h.add_token("alice", "reader");
    REQUIRE(is_hex_token(reader));
    // Only the hash is stored.
    const std::string tokens = read_file(h.tokens_file());
    CHECK(tokens.find(reader) == std::string::npos);
    CHECK(tokens.rfind("alice reader ", 0) == 0);

    for (const std::string& path :
         {std::string("/v1/query"), "/v1/show/" + P1, "/v1/is_applied/" + P1, "/v1/is_available/" + P1,
          "/v1/what_requires/" + P1, "/v1/query_dependencies/" + P1, std::string("/v1/query_app_dependencies"),
          std::string("/v1/query_hosts")}) {
        Response r = h.request("GET", path, reader);
        INFO(path << " " << r.text);
        CHECK(r.status == 200);
    }
    CHECK(h.request("GET", "/v1/query", reader).body.at("pd").contains(P1));
    // A dry run is a query: the reader gets the answer (here: 0001 is DEV), not a 403.
    Response dry = h.request("POST", "/v1/commit_dry_run/" + P1, reader);
    CHECK(dry.status == 409);
    CHECK(dry.error().rfind("A commit cannot be performed with non-REL status patches", 0) == 0);

    const json before = h.query();
    for (const std::string& path :
         {"/v1/apply/" + P1, "/v1/remove/" + P1, "/v1/delete/" + P1, "/v1/commit/" + P1,
          std::string("/v1/init_release/99.99"), std::string("/v1/del_release/99.99"),
          "/v1/report_app_dependencies/" + P1 + "?app=x", std::string("/v1/upload_dir?dir0=/tmp"),
          std::string("/v1/drop_host/h1")}) {
        Response r = h.request("POST", path, reader);
        INFO(path << " " << r.text);
        CHECK(r.status == 403);
        CHECK(r.error().find("reader") != std::string::npos);
        CHECK(r.error().find("alice") != std::string::npos);
        CHECK(r.error().find("admin only") != std::string::npos);
    }
    Response up = h.upload(fixture_patch(2), std::nullopt, reader);
    CHECK(up.status == 403);
    CHECK(h.query() == before);
    CHECK(h.get("/v1/query_app_dependencies").body == json::object());
    CHECK_FALSE(fs::exists(h.release_repo("99.99")));
    CHECK(list_files(h.tmp_dir()).empty());
}

TEST_CASE("An added admin token may run operations", "[controller][e2e]") {
    ControllerHarness h;
    const std::string bob = h.add_token("bob", "admin");
    const std::string carol = h.add_token("carol", "reader");  // a second add keeps the first
    REQUIRE(is_hex_token(bob));
    REQUIRE(bob != carol);
    CHECK(h.upload(fixture_patch(1), std::nullopt, bob).info() == P1 + " is now available\n");
    Response r = h.request("POST", "/v1/apply/" + P1, bob);
    CHECK(r.status == 200);
    CHECK(r.info() == P1 + " is now in the repo\n");
    CHECK(h.request("GET", "/v1/query", carol).status == 200);
    CHECK(h.request("POST", "/v1/remove/" + P1, carol).status == 403);
    // Tokens survive a restart.
    h.restart();
    CHECK(h.request("POST", "/v1/remove/" + P1, bob).status == 200);

    SECTION("invalid add-token requests") {
        std::string out;
        const std::string cmd = (binary_dir() / "patch_controller" / "patch-controller").string() + " --config " +
                                h.config_file().string() + " add-token";
        CHECK(run_command(cmd + " dave superuser", &out) != 0);
        CHECK(run_command(cmd + " 'da ve' admin", &out) != 0);
        CHECK(read_file(h.tokens_file()).find("dave") == std::string::npos);
    }
}

TEST_CASE("The published repository is public", "[controller][e2e]") {
    ControllerHarness h;
    for (const std::string& token : {std::string(), std::string("wrong-token"), h.add_token("r", "reader")}) {
        Response r = h.request("GET", "/updates/rel-22.12/repodata/repomd.xml", token);
        INFO(token << " " << r.text);
        CHECK(r.status == 200);
        CHECK(r.text.find("<repomd") != std::string::npos);
    }
    CHECK(h.request("GET", "/updates/rel-22.12/Packages/noarch/fixture-gamma-1.0-1.noarch.rpm", "").text ==
          read_file(fixture_rpm("fixture-gamma-1.0-1")));
    // Read-only: writing under /updates is not a thing.
    Response put = h.request("PUT", "/updates/rel-22.12/comps.xml", "", Body::text("x"));
    CHECK(put.status >= 400);
    Response post = h.request("POST", "/updates/rel-22.12/comps.xml", "", Body::text("x"));
    CHECK(post.status >= 400);
    CHECK(read_file(h.release_repo() / "comps.xml").find("<comps") != std::string::npos);
    // The API root answers without a token too.
    Response root = h.request("GET", "/", "");
    CHECK(root.status == 200);
    CHECK(root.text.find("Available versions: /v1") != std::string::npos);
}

TEST_CASE("The audit log records every mutating call with its caller and outcome", "[controller][e2e]") {
    ControllerHarness h;
    const std::string bob = h.add_token("bob", "admin");
    const std::string reader = h.add_token("rita", "reader");

    REQUIRE(h.upload(fixture_patch(1)).status == 200);
    REQUIRE(h.upload(fixture_patch(2)).status == 200);
    REQUIRE(h.post("/v1/apply/" + P2).status == 409);
    REQUIRE(h.request("POST", "/v1/apply/" + P1, bob).status == 200);
    REQUIRE(h.request("GET", "/v1/query", reader).status == 200);      // queries are not audited
    REQUIRE(h.request("GET", "/v1/show/" + P1, bob).status == 200);
    REQUIRE(h.upload(fixtures_dir() / "bad" / "bad-md5.patch").status == 422);
    REQUIRE(h.request("POST", "/v1/delete/NOPE_1", bob).status == 404);

    Response r = h.get("/v1/audit");
    INFO(r.text);
    REQUIRE(r.status == 200);
    const json& log = r.body.at("audit");
    REQUIRE(log.is_array());
    REQUIRE(log.size() == 6);
    struct Expect {
        std::string caller, role, action, target, outcome_prefix;
    };
    const std::vector<Expect> expected = {
        {"local-root", "admin", "upload", "filename=FIX_22.12_PATCH_0001.patch", "ok"},
        {"local-root", "admin", "upload", "filename=FIX_22.12_PATCH_0002.patch", "ok"},
        {"local-root", "admin", "apply", P2, "error: FIX_22.12_PATCH_0001 is required by: FIX_22.12_PATCH_0002"},
        {"bob", "admin", "apply", P1, "ok"},
        {"local-root", "admin", "upload", "filename=bad-md5.patch", "error: Patch validation failed for bad-md5:"},
        {"bob", "admin", "delete", "NOPE_1", "error: Patch NOPE_1 does not exist"},
    };
    std::int64_t last_seq = 0;
    for (std::size_t i = 0; i < expected.size(); ++i) {
        const json& rec = log.at(i);
        INFO(i << " " << rec.dump());
        CHECK(rec.at("caller") == expected[i].caller);
        CHECK(rec.at("role") == expected[i].role);
        CHECK(rec.at("action") == expected[i].action);
        CHECK(rec.at("target") == expected[i].target);
        CHECK(rec.at("outcome").get<std::string>() == expected[i].outcome_prefix);
        CHECK(rec.at("remote").get<std::string>().rfind("127.0.0.1:", 0) == 0);
        CHECK(rec.at("time").get<std::int64_t>() > 1600000000);
        CHECK(rec.at("seq").get<std::int64_t>() > last_seq);
        last_seq = rec.at("seq").get<std::int64_t>();
    }

    // Paging, and persistence across a restart.
    const std::int64_t third = log.at(2).at("seq").get<std::int64_t>();
    Response after = h.get("/v1/audit?after=" + std::to_string(third));
    CHECK(after.body.at("audit").size() == 3);
    h.restart();
    Response again = h.get("/v1/audit");
    CHECK(again.body.at("audit") == log);
}
