// SPDX-License-Identifier: Apache-2.0
// End to end on the real daemon, without agents: the jobs resource (/v1/jobs) and sw-manager job.
// Bad input is a 400 naming the field; If-Match; roles and the audit; next runs in the job's
// zone and UTC; the CLI's tables, JSON and errors.
#include "support/controller_harness.hpp"
#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace patching::test;
using nlohmann::json;

namespace {

/// sw-manager as run by an operator whose zone is America/New_York (the tests show times in it).
CommandResult operator_cli(const ControllerHarness& controller, const std::string& args) {
    return sw_manager(controller, args, "America/New_York");
}

Response send_json(const ControllerHarness& h, const std::string& method, const std::string& path,
                   const std::string& body, std::vector<std::string> headers = {}, const std::string& token = "") {
    RequestOptions options;
    options.headers = std::move(headers);
    return http_request(h.port(), method, path, token.empty() ? h.admin_token() : token,
                        Body::text(body, "application/json"), options);
}

void check_error(const Response& r, long status, const std::string& code, const std::string& field) {
    INFO(r.text);
    CHECK(r.status == status);
    REQUIRE(r.body.is_object());
    CHECK(r.body["code"] == code);
    CHECK_FALSE(r.body["message"].get<std::string>().empty());
    if (field.empty()) {
        CHECK(r.body["field"].is_null());
    } else {
        CHECK(r.body["field"] == field);
    }
}

/// A job body on group "edge" with `changes` merged in.
std::string job(json changes) {
    json j = {{"name", "nightly"},
              {"start", "2030-03-30T02:30"},
              {"time_zone", "Europe/Berlin"},
              {"rule", "FREQ=DAILY"},
              {"group", "edge"}};
    for (auto& [k, v] : changes.items()) {
        if (v.is_null()) {
            j.erase(k);
        } else {
            j[k] = v;
        }
    }
    return j.dump();
}

}  // namespace

TEST_CASE("Jobs API: bad input is a 400 naming the field", "[controller][e2e][jobs]") {
    ControllerHarness h;
    REQUIRE(send_json(h, "POST", "/v1/groups", R"({"name": "edge"})").status == 201);
    check_error(send_json(h, "POST", "/v1/jobs", job({{"time_zone", "Europe/Atlantis"}})), 400, "InvalidParameter",
                "time_zone");
    check_error(send_json(h, "POST", "/v1/jobs", job({{"rule", "FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=31"}})), 400,
                "InvalidParameter", "rule");
    check_error(send_json(h, "POST", "/v1/jobs", job({{"hosts", {"h1"}}})), 400, "InvalidParameter", "hosts");
    check_error(send_json(h, "POST", "/v1/jobs", job({{"window_minutes", 25 * 60}})), 400, "InvalidParameter",
                "window_minutes");
    check_error(send_json(h, "POST", "/v1/jobs", job({{"max_concurrency", "101%"}})), 400, "InvalidParameter",
                "max_concurrency");
    check_error(send_json(h, "POST", "/v1/jobs", job({{"max_errors", "150%"}})), 400, "InvalidParameter",
                "max_errors");
    check_error(send_json(h, "POST", "/v1/jobs", job({{"start", nullptr}})), 400, "InvalidParameter", "start");
    check_error(send_json(h, "POST", "/v1/jobs", job({{"start", "next tuesday"}})), 400, "InvalidParameter", "start");
    check_error(send_json(h, "POST", "/v1/jobs", job({{"group", "nowhere"}})), 400, "InvalidParameter", "group");
    check_error(send_json(h, "POST", "/v1/jobs", job({{"name", "Bad Name"}})), 400, "InvalidParameter", "name");
    check_error(send_json(h, "POST", "/v1/jobs", job({{"overlap_policy", "WAIT"}})), 400, "InvalidParameter",
                "overlap_policy");
    check_error(send_json(h, "POST", "/v1/jobs", job({{"colour", "red"}})), 400, "InvalidParameter", "colour");
    check_error(send_json(h, "POST", "/v1/jobs", "[1]"), 400, "InvalidParameter", "body");
    check_error(h.get("/v1/jobs?limit=0"), 400, "InvalidParameter", "limit");
    check_error(h.get("/v1/jobs/nightly"), 404, "NotFound", "");
    check_error(h.api("PUT", "/v1/jobs/nightly"), 405, "MethodNotAllowed", "");
    CHECK(h.get("/v1/jobs").body["items"] == json::array());
}

TEST_CASE("Jobs API: create, show the next runs in both zones, If-Match, actions, roles and the audit",
          "[controller][e2e][jobs]") {
    ControllerHarness h;
    const std::string reader = h.add_token("alice", "reader");
    REQUIRE(send_json(h, "POST", "/v1/groups", R"({"name": "edge"})").status == 201);
    const Response created = send_json(h, "POST", "/v1/jobs", job({{"window_minutes", 90}}));
    INFO(created.text);
    REQUIRE(created.status == 201);
    CHECK(created.body["etag"] == "\"1\"");
    CHECK(created.body["state"] == "ACTIVE");
    CHECK(created.body["target"] == json{{"kind", "GROUP"}, {"group", "edge"}});
    // 2030-03-31 is Berlin's spring-forward day: 02:30 does not exist and moves to 03:00 CEST.
    const json next = created.body["next_runs"];
    REQUIRE(next.size() == 5);
    CHECK(next[0] == json{{"local", "2030-03-30T02:30:00+01:00"}, {"utc", "2030-03-30T01:30:00Z"}, {"skipped", false}});
    CHECK(next[1]["local"] == "2030-03-31T03:00:00+02:00");
    CHECK(next[1]["utc"] == "2030-03-31T01:00:00Z");
    CHECK(next[2]["utc"] == "2030-04-01T00:30:00Z");
    CHECK(h.get("/v1/jobs/nightly?next=12").body["next_runs"].size() == 12);
    check_error(send_json(h, "POST", "/v1/jobs", job({})), 409, "Conflict", "");
    // Idempotency-Key: the same key and body answer the first reply and create nothing.
    const Response keyed = send_json(h, "POST", "/v1/jobs", job({{"name", "keyed"}}), {"Idempotency-Key: j-1"});
    REQUIRE(keyed.status == 201);
    const Response replayed = send_json(h, "POST", "/v1/jobs", job({{"name", "keyed"}}), {"Idempotency-Key: j-1"});
    CHECK(replayed.status == 201);
    CHECK(replayed.body == keyed.body);
    check_error(send_json(h, "POST", "/v1/jobs", job({{"name", "other"}}), {"Idempotency-Key: j-1"}), 422,
                "IdempotencyKeyReused", "Idempotency-Key");
    CHECK(http_request(h.port(), "DELETE", "/v1/jobs/keyed", h.admin_token()).status == 204);

    // Readers read; admins act.
    CHECK(http_request(h.port(), "GET", "/v1/jobs/nightly", reader).status == 200);
    CHECK(http_request(h.port(), "GET", "/v1/jobs/nightly/runs", reader).body["items"] == json::array());
    check_error(send_json(h, "POST", "/v1/jobs/nightly/pause", "", {}, reader), 403, "Forbidden", "");
    check_error(http_request(h.port(), "DELETE", "/v1/jobs/nightly", reader), 403, "Forbidden", "");

    // Update with If-Match: stale is 412; the target kind cannot change.
    check_error(send_json(h, "PATCH", "/v1/jobs/nightly", R"({"rule": "FREQ=WEEKLY;BYDAY=SA"})", {"If-Match: \"7\""}),
                412, "PreconditionFailed", "");
    check_error(send_json(h, "PATCH", "/v1/jobs/nightly", R"({"hosts": ["h1"]})"), 400, "InvalidParameter", "hosts");
    const Response updated = send_json(h, "PATCH", "/v1/jobs/nightly",
                                       R"({"rule": "FREQ=MONTHLY;BYDAY=2TU", "time_zone": "America/New_York"})",
                                       {"If-Match: \"1\""});
    INFO(updated.text);
    REQUIRE(updated.status == 200);
    CHECK(updated.body["etag"] == "\"2\"");
    CHECK(updated.body["window_minutes"] == 90);  // kept
    CHECK(updated.body["next_runs"][0]["local"] == "2030-04-09T02:30:00-04:00");  // the 2nd Tuesday
    check_error(send_json(h, "PATCH", "/v1/jobs/nightly", R"({"window_minutes": 50000})"), 400, "InvalidParameter",
                "window_minutes");

    const Response skipped = send_json(h, "POST", "/v1/jobs/nightly/skip-next", "", {"If-Match: \"2\""});
    REQUIRE(skipped.status == 200);
    CHECK(skipped.body["skip_count"] == 1);
    CHECK(skipped.body["next_runs"][0]["skipped"] == true);
    CHECK(skipped.body["next_runs"][1]["skipped"] == false);
    const Response paused = send_json(h, "POST", "/v1/jobs/nightly/pause", "");
    CHECK(paused.body["state"] == "PAUSED");
    CHECK(send_json(h, "POST", "/v1/jobs/nightly/resume", "").body["state"] == "ACTIVE");
    // run-now on an empty group: refused naming the group, nothing recorded as run.
    check_error(send_json(h, "POST", "/v1/jobs/nightly/run-now", ""), 400, "InvalidParameter", "group");
    check_error(send_json(h, "POST", "/v1/jobs/nightly/rewind", ""), 404, "NotFound", "");

    // Pages by name.
    REQUIRE(send_json(h, "POST", "/v1/jobs", job({{"name", "a-first"}})).status == 201);
    REQUIRE(send_json(h, "POST", "/v1/jobs", job({{"name", "z-last"}, {"rule", nullptr}})).status == 201);
    const Response page1 = h.get("/v1/jobs?limit=2");
    REQUIRE(page1.body["items"].size() == 2);
    CHECK(page1.body["next_page"] == "nightly");
    const Response page2 = h.get("/v1/jobs?limit=2&page=nightly");
    REQUIRE(page2.body["items"].size() == 1);
    CHECK(page2.body["items"][0]["schedule"]["type"] == "ONE_TIME");
    CHECK(h.get("/v1/jobs?group=other").body["items"].empty());

    RequestOptions stale;
    stale.headers = {"If-Match: \"1\""};
    check_error(http_request(h.port(), "DELETE", "/v1/jobs/nightly", h.admin_token(), {}, stale), 412,
                "PreconditionFailed", "");
    CHECK(http_request(h.port(), "DELETE", "/v1/jobs/nightly", h.admin_token()).status == 204);
    check_error(h.get("/v1/jobs/nightly"), 404, "NotFound", "");

    const Response audit = h.get("/v1/audit");
    std::vector<std::string> actions;
    for (const auto& r : audit.body["audit"]) {
        actions.push_back(r["action"].get<std::string>() + " " + r["outcome"].get<std::string>().substr(0, 5));
    }
    INFO(audit.text);
    CHECK(std::count(actions.begin(), actions.end(), "POST jobs ok") >= 6);
    CHECK(std::count(actions.begin(), actions.end(), "PATCH jobs ok") == 1);
    CHECK(std::count(actions.begin(), actions.end(), "DELETE jobs ok") == 2);  // keyed, nightly
    CHECK(std::count(actions.begin(), actions.end(), "DELETE jobs error") == 1);
    CHECK(openapi_violations(h) == "");
    const json doc = h.get("/v1/openapi.json").body;
    CHECK(doc["paths"].contains("/v1/jobs/{name}/runs"));
    CHECK(doc["paths"]["/v1/jobs/{name}"].contains("patch"));
}

TEST_CASE("sw-manager job: create, list, show in both zones, update, actions, runs, delete",
          "[controller][e2e][jobs][cli]") {
    ControllerHarness h;
    REQUIRE(send_json(h, "POST", "/v1/groups", R"({"name": "edge"})").status == 201);
    auto r = operator_cli(h, "job create weekly --group edge --start 2030-11-01T01:30 --time-zone Europe/Berlin "
                           "--rule 'FREQ=WEEKLY;BYDAY=SU' --window-minutes 60 --overlap queue");
    INFO(r.output);
    REQUIRE(r.status == 0);
    CHECK(r.output.find("Job: weekly (ACTIVE)") != std::string::npos);
    CHECK(r.output.find("overlap:         QUEUE") != std::string::npos);
    // The first Sunday: 01:30 CET is 00:30Z, 20:30 EDT the evening before in the operator's New York.
    CHECK(r.output.find("2030-11-02 20:30 -04:00 EDT") != std::string::npos);
    CHECK(r.output.find("2030-11-03T01:30:00+01:00") != std::string::npos);
    r = operator_cli(h, "job create broken --group edge --start 2030-11-01T01:30 --time-zone Mars/Base");
    INFO(r.output);
    CHECK(r.status == 1);
    CHECK(r.output.find("(field: time_zone)") != std::string::npos);
    r = operator_cli(h, "job create notarget --start 2030-11-01T01:30 --time-zone UTC");
    CHECK(r.status == 2);
    CHECK(r.output.find("--hosts H1,H2 or --group G") != std::string::npos);
    r = operator_cli(h, "job list");
    INFO(r.output);
    CHECK(r.status == 0);
    CHECK(r.output.find("NAME") == 0);
    CHECK(r.output.find("weekly  ACTIVE  FREQ=WEEKLY;BYDAY=SU  Europe/Berlin  group edge") != std::string::npos);
    r = operator_cli(h, "--format json job show weekly --next 3");
    INFO(r.output);
    REQUIRE(r.status == 0);
    CHECK(json::parse(r.output)["next_runs"].size() == 3);
    r = operator_cli(h, "job update weekly --rule 'FREQ=DAILY' --if-match 9");
    CHECK(r.status == 1);
    CHECK(r.output.find("has changed") != std::string::npos);
    r = operator_cli(h, "job update weekly --rule FREQ=DAILY --if-match 1");
    INFO(r.output);
    CHECK(r.status == 0);
    r = operator_cli(h, "job skip-next weekly");
    CHECK(r.output.find("(skipped: skip-next)") != std::string::npos);
    CHECK(operator_cli(h, "job pause weekly").output.find("(PAUSED)") != std::string::npos);
    CHECK(operator_cli(h, "job resume weekly").output.find("(ACTIVE)") != std::string::npos);
    r = operator_cli(h, "job run-now weekly");
    CHECK(r.status == 1);
    CHECK(r.output.find("(field: group)") != std::string::npos);
    r = operator_cli(h, "job runs weekly");
    INFO(r.output);
    CHECK(r.status == 0);
    CHECK(r.output.find("No runs yet") == 0);
    CHECK(operator_cli(h, "job delete weekly").output.find("Job weekly deleted.") != std::string::npos);
    r = operator_cli(h, "job show weekly");
    CHECK(r.status == 1);
    CHECK(r.output.find("no job 'weekly'") != std::string::npos);
    CHECK(operator_cli(h, "job --help").output.find("run-now") != std::string::npos);
}
