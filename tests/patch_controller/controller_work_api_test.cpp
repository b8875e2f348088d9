// SPDX-License-Identifier: Apache-2.0
// End to end on the real daemon, without agents: the resource API's bad input (each a 400 that
// names the field), roles, the audit, If-Match and the one error body.
#include "support/controller_harness.hpp"
#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace patching::test;
using nlohmann::json;

namespace {

Response post_json(const ControllerHarness& h, const std::string& path, const std::string& body,
                   std::vector<std::string> headers = {}, const std::string& token = "") {
    RequestOptions options;
    options.headers = std::move(headers);
    return http_request(h.port(), "POST", path, token.empty() ? h.admin_token() : token,
                        Body::text(body, "application/json"), options);
}

void check_error(const Response& r, long status, const std::string& code, const std::string& field) {
    INFO(r.text);
    CHECK(r.status == status);
    REQUIRE(r.body.is_object());
    CHECK(r.body["code"] == code);
    CHECK(r.body["message"].is_string());
    CHECK_FALSE(r.body["message"].get<std::string>().empty());
    if (field.empty()) {
        CHECK(r.body["field"].is_null());
    } else {
        CHECK(r.body["field"] == field);
    }
}

}  // namespace

TEST_CASE("Resource API: bad input is a 400 naming the field", "[controller][e2e][work]") {
    ControllerHarness h;
    check_error(post_json(h, "/v1/host-installs", R"({"hosts": ["ghost"], "max_concurrency": "101%"})"), 400,
                "InvalidParameter", "max_concurrency");
    check_error(post_json(h, "/v1/host-installs", R"({"hosts": ["ghost"], "max_errors": "1000%"})"), 400,
                "InvalidParameter", "max_errors");
    check_error(post_json(h, "/v1/host-installs", R"({"hosts": ["ghost"]})"), 400, "InvalidParameter", "hosts");
    check_error(post_json(h, "/v1/host-installs", R"({"group": "nowhere"})"), 400, "InvalidParameter", "group");
    check_error(post_json(h, "/v1/host-installs", R"({"hosts": "h1"})"), 400, "InvalidParameter", "hosts");
    check_error(post_json(h, "/v1/host-installs", "{not json"), 400, "InvalidParameter", "body");
    check_error(post_json(h, "/v1/host-installs", "{}"), 400, "InvalidParameter", "hosts");
    check_error(post_json(h, "/v1/groups", R"({"name": "bad name"})"), 400, "InvalidParameter", "name");
    check_error(post_json(h, "/v1/groups", R"({"name": "g", "hosts": ["ghost"]})"), 400, "InvalidParameter", "hosts");
    REQUIRE(post_json(h, "/v1/groups", R"({"name": "empty"})").status == 201);
    const Response empty = post_json(h, "/v1/host-installs", R"({"group": "empty"})");
    check_error(empty, 400, "InvalidParameter", "group");
    CHECK(empty.body["message"].get<std::string>().find("empty") != std::string::npos);
    check_error(h.get("/v1/work-requests?status=DONE"), 400, "InvalidParameter", "status");
    check_error(h.get("/v1/work-requests?limit=0"), 400, "InvalidParameter", "limit");
    check_error(h.get("/v1/work-requests/abc"), 400, "InvalidParameter", "id");
    check_error(h.get("/v1/work-requests/42"), 404, "NotFound", "");
    check_error(post_json(h, "/v1/work-requests/42/cancel", ""), 404, "NotFound", "");
    check_error(h.api("PUT", "/v1/groups"), 405, "MethodNotAllowed", "");
    const Response list = h.get("/v1/work-requests?status=CANCELLING,FAILED&parent=none&limit=10");
    INFO(list.text);
    CHECK(list.status == 200);
    CHECK(list.body["items"] == json::array());
    CHECK(list.body["next_page"].is_null());
    CHECK(openapi_violations(h) == "");
}

TEST_CASE("Resource API: readers read, admins act, changes are audited, stale If-Match is 412",
          "[controller][e2e][work]") {
    ControllerHarness h;
    const std::string reader = h.add_token("alice", "reader");
    const Response created = post_json(h, "/v1/groups", R"({"name": "edge", "description": "edge sites"})");
    INFO(created.text);
    REQUIRE(created.status == 201);
    CHECK(created.body["etag"] == "\"1\"");
    CHECK(http_request(h.port(), "GET", "/v1/groups/edge", reader).status == 200);
    CHECK(http_request(h.port(), "GET", "/v1/groups", reader).body["items"].size() == 1);
    CHECK(http_request(h.port(), "GET", "/v1/work-requests", reader).status == 200);
    CHECK(http_request(h.port(), "GET", "/v1/openapi.json", reader).body["openapi"] == "3.1.0");
    check_error(post_json(h, "/v1/groups", R"({"name": "other"})", {}, reader), 403, "Forbidden", "");
    check_error(http_request(h.port(), "DELETE", "/v1/groups/edge", reader), 403, "Forbidden", "");
    check_error(post_json(h, "/v1/groups", R"({"name": "edge"})"), 409, "Conflict", "");
    check_error(post_json(h, "/v1/groups/edge/add-hosts", R"({"hosts": []})", {"If-Match: \"7\""}), 412,
                "PreconditionFailed", "");
    RequestOptions stale;
    stale.headers = {"If-Match: \"9\""};
    check_error(http_request(h.port(), "DELETE", "/v1/groups/edge", h.admin_token(), {}, stale), 412,
                "PreconditionFailed", "");
    RequestOptions current;
    current.headers = {"If-Match: \"1\""};
    CHECK(http_request(h.port(), "DELETE", "/v1/groups/edge", h.admin_token(), {}, current).status == 204);
    check_error(h.get("/v1/groups/edge"), 404, "NotFound", "");

    const Response audit = h.get("/v1/audit");
    INFO(audit.text);
    std::vector<std::string> actions;
    for (const auto& r : audit.body["audit"]) {
        actions.push_back(r["action"].get<std::string>() + " " + r["outcome"].get<std::string>().substr(0, 5));
    }
    CHECK(std::count(actions.begin(), actions.end(), "POST groups ok") == 1);
    CHECK(std::count(actions.begin(), actions.end(), "DELETE groups ok") == 1);
    CHECK(std::count(actions.begin(), actions.end(), "DELETE groups error") == 1);
    CHECK(openapi_violations(h) == "");
}

namespace {

}  // namespace

TEST_CASE("sw-manager: groups, work requests, tables and JSON, errors that say what to do",
          "[controller][e2e][work][cli]") {
    ControllerHarness h;
    auto r = sw_manager(h, "group create edge --description 'edge sites' --personality worker --label site=north");
    INFO(r.output);
    REQUIRE(r.status == 0);
    CHECK(r.output.find("Group: edge") != std::string::npos);
    CHECK(r.output.find("label site=north") != std::string::npos);
    r = sw_manager(h, "group list");
    INFO(r.output);
    CHECK(r.status == 0);
    CHECK(r.output.find("GROUP") == 0);
    CHECK(r.output.find("worker,site=north") != std::string::npos);
    r = sw_manager(h, "--format json group show edge");
    INFO(r.output);
    CHECK(r.status == 0);
    CHECK(json::parse(r.output)["name"] == "edge");
    r = sw_manager(h, "host-install --group edge --max-concurrency 2");
    INFO(r.output);
    CHECK(r.status == 1);
    CHECK(r.output.find("group edge has no hosts") != std::string::npos);
    CHECK(r.output.find("(field: group)") != std::string::npos);
    r = sw_manager(h, "host-install --hosts ghost --max-concurrency 150%");
    INFO(r.output);
    CHECK(r.status == 1);
    CHECK(r.output.find("(field: max_concurrency)") != std::string::npos);
    r = sw_manager(h, "host-install");
    CHECK(r.status == 2);
    CHECK(r.output.find("--hosts H1,H2 or --group G") != std::string::npos);
    r = sw_manager(h, "work-request list");
    INFO(r.output);
    CHECK(r.status == 0);
    CHECK(r.output.find("ID  STATUS") == 0);
    r = sw_manager(h, "work-request show 77");
    CHECK(r.status == 1);
    CHECK(r.output.find("no work request 77") != std::string::npos);
    r = sw_manager(h, "group delete edge");
    CHECK(r.status == 0);
    CHECK(sw_manager(h, "group show edge").status == 1);
    // Group updates and labels from the command line: errors that say what to do.
    r = sw_manager(h, "group create edge2 --description 'edge sites'");
    CHECK(r.status == 0);
    r = sw_manager(h, "group update edge2 --description 'far edge' --sw-version 22.12");
    INFO(r.output);
    CHECK(r.status == 0);
    CHECK(r.output.find("Description: far edge") != std::string::npos);
    CHECK(r.output.find("Release: 22.12") != std::string::npos);
    r = sw_manager(h, "group update edge2 --sw-version 'a/b'");
    INFO(r.output);
    CHECK(r.status == 1);
    CHECK(r.output.find("(field: sw_version)") != std::string::npos);
    r = sw_manager(h, "group update edge2");
    CHECK(r.status != 0);
    CHECK(r.output.find("nothing to change") != std::string::npos);
    r = sw_manager(h, "group label ghost");
    CHECK(r.status == 1);
    CHECK(r.output.find("unknown host 'ghost'") != std::string::npos);
}

TEST_CASE("The OpenAPI check refuses answers the document does not describe", "[controller][e2e][work][openapi]") {
    ControllerHarness h;
    const Response doc = h.get("/v1/openapi.json");
    REQUIRE(doc.status == 200);
    const std::filesystem::path dir = h.root() / "openapi-proof";
    std::filesystem::create_directories(dir);
    write_file(dir / "openapi.json", doc.text);
    auto record = [](const std::string& method, const std::string& path, int status, const json& body) {
        return json({{"method", method}, {"path", path}, {"status", status}, {"content_type", "application/json"},
                     {"body", body.dump()}})
                   .dump() +
               "\n";
    };
    auto check = [&](const std::string& records) {
        write_file(dir / "responses.jsonl", records);
        CommandResult r;
        r.status = run_command("python3 " + std::string(PATCHING_TEST_SUPPORT_DIR) + "/check_openapi.py " +
                                   shell_quote((dir / "openapi.json").string()) + " " +
                                   shell_quote((dir / "responses.jsonl").string()) + " 2>&1",
                               &r.output);
        return r;
    };
    const CommandResult good = check(record("GET", "/v1/work-requests?limit=5", 200, {{"items", json::array()}, {"next_page", nullptr}}) +
                                     record("GET", "/v1/groups/x", 404, {{"code", "NotFound"}, {"message", "no"}, {"field", nullptr}}));
    INFO(good.output);
    CHECK(good.status == 0);
    CHECK(good.output.find("2 responses valid") != std::string::npos);
    const CommandResult bad = check(
        record("GET", "/v1/work-requests", 200, {{"items", json::array()}}) +                       // next_page missing
        record("POST", "/v1/groups/x/add-hosts", 201, {{"name", "x"}}) +                            // undocumented status
        record("GET", "/v1/groups/x", 404, {{"error", "no"}}) +                                     // not the error body
        record("GET", "/v1/work-requests/1", 200, {{"id", 1}, {"status", "DONE"}}) +                // not a work request
        record("DELETE", "/v1/work-requests/1", 200, json::object()));                              // undocumented method
    INFO(bad.output);
    CHECK(bad.status == 1);
    CHECK(bad.output.find("GET /v1/work-requests -> 200: at (body): 'next_page' is a required property") !=
          std::string::npos);
    CHECK(bad.output.find("POST /v1/groups/x/add-hosts -> 201: status 201 is not documented") != std::string::npos);
    CHECK(bad.output.find("GET /v1/groups/x -> 404") != std::string::npos);
    CHECK(bad.output.find("GET /v1/work-requests/1 -> 200") != std::string::npos);
    CHECK(bad.output.find("DELETE /v1/work-requests/1 -> 200: no documented path and method") != std::string::npos);
    CHECK(bad.output.find("0 responses valid") != std::string::npos);
}
