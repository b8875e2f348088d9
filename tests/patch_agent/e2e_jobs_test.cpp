// SPDX-License-Identifier: Apache-2.0
// End to end: scheduled jobs over real agents (issue #13), on the controller's cross-process test
// clock (PATCHING_CLOCK_FILE): slots come by moving the clock, never by waiting real hours. A
// recurring job firing on time, skip-next and pause over a slot, slots due while the controller
// is down (once within the grace, MISSED beyond it), a window closing mid-run, and overlap both
// ways, all read back through the REST API and sw-manager.
#include "patch_agent/e2e_cluster.hpp"

#include <patch_core/clock.hpp>
#include <patch_core/fs.hpp>

#include <catch2/catch.hpp>

#include <ctime>
#include <filesystem>
#include <string>
#include <thread>

using namespace patching;
using namespace patching::test;
using namespace patching::test::e2e;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

/// sw-manager as run by an operator whose zone is UTC (the tests show times in it).
CommandResult operator_cli(const ControllerHarness& controller, const std::string& args) {
    return sw_manager(controller, args, "UTC");
}

constexpr const char* SLOW_ID = "E2E_22.12_PATCH_0040";

/// The controller's clock, moved through its clock file: after jump_to(t) the controller's time
/// is t plus the real time since (within the FileClock's 50 ms poll).
class TestClock {
public:
    explicit TestClock(std::filesystem::path file) : file_(std::move(file)) {
        jump_to(core::SystemClock::instance().now_seconds());
    }
    void jump_to(std::int64_t t) {
        core::write_file_atomically(file_, std::to_string(t) + "\n");
        base_ = t;
        at_ = std::chrono::steady_clock::now();
    }
    std::int64_t now() const {
        return base_ + std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - at_).count();
    }
    std::string env() const { return std::string(core::CLOCK_FILE_ENV) + "=" + file_.string(); }

private:
    std::filesystem::path file_;
    std::int64_t base_ = 0;
    std::chrono::steady_clock::time_point at_;
};

/// A start for --time-zone UTC: "2026-12-02T13:05:07".
std::string utc_local(std::int64_t t) {
    const std::time_t tt = t;
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
    return text;
}

std::int64_t parse_utc(const std::string& text) {
    std::tm tm{};
    REQUIRE(strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm) != nullptr);
    return timegm(&tm);
}

/// The job's runs, oldest first, once there are at least `n`.
json wait_runs(Cluster& cluster, const std::string& job, std::size_t n, std::chrono::seconds timeout = 20s) {
    json items;
    const bool ok = eventually(
        [&] {
            const Response r = cluster.controller().get("/v1/jobs/" + job + "/runs?limit=1000");
            if (r.status != 200) {
                return false;
            }
            items = json::array();
            for (auto it = r.body["items"].rbegin(); it != r.body["items"].rend(); ++it) {
                items.push_back(*it);
            }
            return items.size() >= n;
        },
        timeout);
    INFO(items.dump(1) << "\n" << cluster.logs());
    REQUIRE(ok);
    return items;
}

/// Every agent has been heard from since the clock last moved (agents re-poll at once).
void wait_fresh(Cluster& cluster, int n) {
    for (const auto& name : host_names(n)) {
        cluster.wait_for_host(name, "fresh", [](const json& h) { return !h.value("stale", true); }, 15s);
    }
}

void create_job(Cluster& cluster, const std::string& args) {
    const CommandResult r = operator_cli(cluster.controller(), "job create " + args);
    INFO(r.output);
    REQUIRE(r.status == 0);
}

bool clock_available() {
    if (!core::test_clock_compiled_in()) {
        skip_test("the clock file is compiled out of this build (PATCHING_TEST_CLOCK=OFF)");
        return false;
    }
    return true;
}

/// Lets the restarted controller listen where the agents expect it.
void pin_port(Cluster& cluster) {
    const auto conf = cluster.controller().config_file();
    std::string text = read_if_exists(conf);
    const auto at = text.find("listen_port = 0\n");
    REQUIRE(at != std::string::npos);
    text.replace(at, 16, "listen_port = " + std::to_string(cluster.controller().port()) + "\n");
    write_file(conf, text);
}

}  // namespace

TEST_CASE("A recurring job fires on time, and skip-next and a pause each skip one slot, recorded",
          "[agent][e2e][jobs]") {
    if (!clock_available()) {
        return;
    }
    TempDir scratch;
    TestClock clock(scratch.path() / "clock");
    Cluster cluster(hosts(2), {{}, {clock.env()}});
    if (!cluster.ok()) {
        return;
    }
    clock.jump_to(core::SystemClock::instance().now_seconds());
    const std::int64_t slot = clock.now() + 5;
    create_job(cluster, "hourly --hosts host-0,host-1 --start " + utc_local(slot) +
                            " --time-zone UTC --rule FREQ=HOURLY --max-concurrency 2");

    json runs = wait_runs(cluster, "hourly", 1);
    CHECK(runs[0]["result"] == "FIRED");
    CHECK(parse_utc(runs[0]["slot"]) == slot);
    const std::int64_t lag = parse_utc(runs[0]["recorded_at"]) - slot;
    CHECK(lag >= 0);
    CHECK(lag <= 1);
    const json wr = wait_finished(cluster, runs[0]["work_request_id"]);
    CHECK(wr["status"] == "SUCCEEDED");
    CHECK(wr["initiator"] == "SCHEDULE");
    CHECK(wr["created_by"] == "job:hourly");
    CHECK(wr["counters"]["succeeded"] == 2);

    REQUIRE(operator_cli(cluster.controller(), "job skip-next hourly").status == 0);
    clock.jump_to(slot + 3600 - 2);
    runs = wait_runs(cluster, "hourly", 2);
    CHECK(runs[1]["result"] == "SKIPPED");
    CHECK(runs[1]["reason"] == "SKIP_NEXT");
    CHECK(parse_utc(runs[1]["slot"]) == slot + 3600);

    REQUIRE(operator_cli(cluster.controller(), "job pause hourly").status == 0);
    const auto samples = cluster.controller().scrape_metrics(cluster.controller().admin_token());
    CHECK(metric_value(samples, "patching_jobs", {{"state", "PAUSED"}}) == 1);
    CHECK(metric_value(samples, "patching_jobs", {{"state", "ACTIVE"}}) == 0);
    clock.jump_to(slot + 7200 - 2);
    runs = wait_runs(cluster, "hourly", 3);
    CHECK(runs[2]["result"] == "SKIPPED");
    CHECK(runs[2]["reason"] == "PAUSED");

    REQUIRE(operator_cli(cluster.controller(), "job resume hourly").status == 0);
    clock.jump_to(slot + 3 * 3600 - 3);
    wait_fresh(cluster, 2);
    runs = wait_runs(cluster, "hourly", 4);
    CHECK(runs[3]["result"] == "FIRED");
    CHECK(parse_utc(runs[3]["recorded_at"]) - (slot + 3 * 3600) <= 1);
    CHECK(wait_finished(cluster, runs[3]["work_request_id"])["status"] == "SUCCEEDED");
    const CommandResult table = operator_cli(cluster.controller(), "job runs hourly");
    INFO(table.output);
    CHECK(table.status == 0);
    CHECK(contains(table.output, "SKIP_NEXT"));
    CHECK(contains(table.output, "PAUSED"));
    CHECK(line_count(table.output) == 5);
    CHECK(cluster.controller().get("/v1/work-requests?parent=none").body["items"].size() == 2);

    // run-now with an Idempotency-Key: once, whatever the retries; the schedule stays.
    RequestOptions keyed;
    keyed.headers = {"Idempotency-Key: now-1"};
    const Response first = http_request(cluster.controller().port(), "POST", "/v1/jobs/hourly/run-now",
                                        cluster.controller().admin_token(), Body::text("", "application/json"), keyed);
    INFO(first.text);
    REQUIRE(first.status == 202);
    CHECK(first.body["created_by"] == "job:hourly");
    const Response again = http_request(cluster.controller().port(), "POST", "/v1/jobs/hourly/run-now",
                                        cluster.controller().admin_token(), Body::text("", "application/json"), keyed);
    CHECK(again.status == 202);
    CHECK(again.body["id"] == first.body["id"]);
    CHECK(wait_finished(cluster, first.body["id"])["status"] == "SUCCEEDED");
    runs = wait_runs(cluster, "hourly", 5);
    CHECK(runs.size() == 5);
    CHECK(runs[4]["reason"] == "RUN_NOW");
    CHECK(cluster.controller().get("/v1/work-requests?parent=none").body["items"].size() == 3);
    CHECK(parse_utc(cluster.controller().get("/v1/jobs/hourly").body["next_runs"][0]["utc"]) == slot + 4 * 3600);
    CHECK(openapi_violations(cluster.controller()) == "");
}

TEST_CASE("A job due while the controller is down fires once within the grace and is MISSED beyond it",
          "[agent][e2e][jobs]") {
    if (!clock_available()) {
        return;
    }
    TempDir scratch;
    TestClock clock(scratch.path() / "clock");
    Cluster cluster(hosts(1), {{"job_misfire_grace_seconds = 300"}, {clock.env()}});
    if (!cluster.ok()) {
        return;
    }
    clock.jump_to(core::SystemClock::instance().now_seconds());
    const std::int64_t slot = clock.now() + 1800;
    create_job(cluster, "down --hosts host-0 --start " + utc_local(slot) + " --time-zone UTC --rule FREQ=HOURLY");
    pin_port(cluster);

    // Down across the slot, back 2 min after it: it fires, once.
    cluster.controller().kill9();
    clock.jump_to(slot + 120);
    cluster.controller().start();
    json runs = wait_runs(cluster, "down", 1);
    REQUIRE(runs.size() == 1);
    CHECK(runs[0]["result"] == "FIRED");
    CHECK(parse_utc(runs[0]["slot"]) == slot);
    CHECK(wait_finished(cluster, runs[0]["work_request_id"])["status"] == "SUCCEEDED");

    // Down across the next two slots, back 400 s after the second: both are MISSED.
    cluster.controller().kill9();
    clock.jump_to(slot + 7200 + 400);
    cluster.controller().start();
    runs = wait_runs(cluster, "down", 3);
    REQUIRE(runs.size() == 3);
    for (int i : {1, 2}) {
        CHECK(runs[i]["result"] == "MISSED");
        CHECK(runs[i]["reason"] == "CONTROLLER_DOWN");
        CHECK(runs[i]["work_request_id"].is_null());
    }
    CHECK(contains(runs[2]["message"], "job_misfire_grace_seconds"));
    CHECK(cluster.controller().get("/v1/work-requests?parent=none").body["items"].size() == 1);
    const json job = cluster.controller().get("/v1/jobs/down").body;
    CHECK(parse_utc(job["next_runs"][0]["utc"]) == slot + 3 * 3600);
}

TEST_CASE("A window closes mid-run (CUTOFF_REACHED, the running host finishes) and overlapping slots are "
          "skipped or queued",
          "[agent][e2e][jobs]") {
    if (!clock_available()) {
        return;
    }
    TempDir scratch;
    TestClock clock(scratch.path() / "clock");
    // Hours pass on the clock while hosts install: no STALL for that.
    Cluster cluster(hosts(5), {{"work_install_timeout_seconds = 86400"}, {clock.env()}});
    if (!cluster.ok()) {
        return;
    }
    PatchSpec spec;
    spec.id = SLOW_ID;
    spec.reboot_required = "N";
    spec.rpms = {{"all-nodes", cluster.rpms().slow_2}};
    REQUIRE(cluster.sw_patch("upload " + cluster.build_patch(spec).string()).status == 0);
    REQUIRE(cluster.sw_patch("apply " + std::string(SLOW_ID)).status == 0);
    for (const auto& name : host_names(5)) {
        cluster.wait_settled(name, false);
    }
    clock.jump_to(core::SystemClock::instance().now_seconds());
    const std::int64_t slot = clock.now() + 5;
    const std::string when = " --start " + utc_local(slot) + " --time-zone UTC --rule FREQ=HOURLY";
    create_job(cluster, "windowed --hosts host-0,host-1,host-2 --max-concurrency 1 --window-minutes 1" + when);
    create_job(cluster, "skipper --hosts host-3" + when);
    create_job(cluster, "queuer --hosts host-4 --overlap QUEUE" + when);
    // host-0, host-3 and host-4 are inside their 5 s install: move past the window and to the next slot.
    for (const char* h : {"host-0", "host-3", "host-4"}) {
        REQUIRE(eventually([&] { return std::filesystem::exists(cluster.agent(h).in_root(SLOW_STARTED_MARKER)); },
                           20s));
    }
    clock.jump_to(slot + 3600 - 1);

    const json skipper = wait_runs(cluster, "skipper", 2);
    CHECK(skipper[0]["result"] == "FIRED");
    CHECK(skipper[1]["result"] == "SKIPPED");
    CHECK(skipper[1]["reason"] == "OVERLAP");
    json queuer = wait_runs(cluster, "queuer", 2);
    CHECK(queuer[1]["result"] == "QUEUED");
    CHECK(queuer[1]["work_request_id"].is_null());

    const json windowed = wait_runs(cluster, "windowed", 1);
    const json wr = wait_finished(cluster, windowed[0]["work_request_id"]);
    INFO(wr.dump(2));
    CHECK(wr["status"] == "FAILED");
    CHECK(wr["outcome"] == "CUTOFF_REACHED");
    CHECK(wr["params"]["cutoff"] == slot + 60);
    auto kids = children_by_host(cluster, wr["id"]);
    CHECK(kids["host-0"]["status"] == "SUCCEEDED");  // in flight at the cutoff: finished
    for (const char* h : {"host-1", "host-2"}) {
        CHECK(kids[h]["status"] == "CANCELED");
        CHECK(kids[h]["message"] == "cutoff reached");
        CHECK(cluster.agent(h).rpm_query("e2e-slow") == "1.0-1");
    }
    CHECK(cluster.agent("host-0").rpm_query("e2e-slow") == "1.0-2");

    // The queued slot runs when the first run has finished: the same row, now FIRED.
    CHECK(wait_finished(cluster, queuer[0]["work_request_id"])["status"] == "SUCCEEDED");
    REQUIRE(eventually(
        [&] {
            queuer = wait_runs(cluster, "queuer", 2);
            return queuer[1]["result"] == "FIRED";
        },
        20s));
    CHECK(queuer.size() == 2);
    CHECK(queuer[1]["reason"] == "QUEUED");
    CHECK(parse_utc(queuer[1]["slot"]) == slot + 3600);
    CHECK(wait_finished(cluster, queuer[1]["work_request_id"])["status"] == "SUCCEEDED");
    CHECK(openapi_violations(cluster.controller()) == "");
}
