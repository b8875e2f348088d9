// SPDX-License-Identifier: Apache-2.0
// End to end: work requests over real agents (issue #12). A group install with max-concurrency,
// the error budget, rerun of failed children, cancel mid-run and a kill -9 of the controller
// during a fan-out, all read back through the resource API.
#include "patch_agent/e2e_cluster.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <thread>

using namespace patching::test;
using namespace patching::test::e2e;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

constexpr const char* SLOW_ID = "E2E_22.12_PATCH_0030";
constexpr const char* RR_ID = "E2E_22.12_PATCH_0031";

Response post_json(const ControllerHarness& h, const std::string& path, const std::string& body,
                   std::vector<std::string> headers = {}) {
    RequestOptions options;
    options.headers = std::move(headers);
    return http_request(h.port(), "POST", path, h.admin_token(), Body::text(body, "application/json"), options);
}

/// Uploads and applies a patch of `rpm`, and waits until every host has noticed it.
void apply_patch(Cluster& cluster, const char* id, const std::filesystem::path& rpm, const std::string& rr,
                 int n) {
    PatchSpec spec;
    spec.id = id;
    spec.reboot_required = rr;
    spec.rpms = {{"all-nodes", rpm}};
    REQUIRE(cluster.sw_patch("upload " + cluster.build_patch(spec).string()).status == 0);
    REQUIRE(cluster.sw_patch("apply " + std::string(id)).status == 0);
    for (const auto& name : host_names(n)) {
        cluster.wait_settled(name, false);
    }
}

json logs_of(Cluster& cluster, std::int64_t id) {
    return cluster.controller().get("/v1/work-requests/" + std::to_string(id) + "/logs").body["items"];
}

/// The most installs the work request's log shows running at once (in log order).
int peak_concurrency(const json& logs) {
    int running = 0;
    int peak = 0;
    for (const auto& e : logs) {
        const std::string m = e["message"];
        if (m.find("install started") != std::string::npos) {
            peak = std::max(peak, ++running);
        } else if (e["phase"] == "INSTALL" && !e["host"].get<std::string>().empty() &&
                   (m.find("install succeeded") != std::string::npos || m.find("install failed") != std::string::npos ||
                    m.find("install rejected") != std::string::npos)) {
            --running;
        }
    }
    return peak;
}

std::size_t occurrences(const std::string& text, const std::string& needle) {
    std::size_t n = 0;
    for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) {
        ++n;
    }
    return n;
}

}  // namespace

TEST_CASE("A group install over 5 hosts runs at most and at least 2 at once", "[agent][e2e][work]") {
    Cluster cluster(hosts(5));
    if (!cluster.ok()) {
        return;
    }
    apply_patch(cluster, SLOW_ID, cluster.rpms().slow_2, "N", 5);
    json group = {{"name", "fleet"}, {"hosts", host_names(5)}};
    REQUIRE(post_json(cluster.controller(), "/v1/groups", group.dump()).status == 201);

    const std::string body = R"({"group": "fleet", "max_concurrency": "2", "max_errors": "0"})";
    const Response first = post_json(cluster.controller(), "/v1/host-installs", body, {"Idempotency-Key: k-1"});
    INFO(first.text);
    REQUIRE(first.status == 202);
    const std::int64_t id = first.body["id"];
    CHECK(first.body["target"]["kind"] == "GROUP");
    CHECK(first.body["counters"]["total"] == 5);
    // The same key and body: the first answer again, nothing created; another body: 422.
    const Response again = post_json(cluster.controller(), "/v1/host-installs", body, {"Idempotency-Key: k-1"});
    CHECK(again.status == 202);
    CHECK(again.body == first.body);
    const Response other = post_json(cluster.controller(), "/v1/host-installs",
                                     R"({"group": "fleet", "max_concurrency": "3"})", {"Idempotency-Key: k-1"});
    CHECK(other.status == 422);
    CHECK(other.body["field"] == "Idempotency-Key");
    CHECK(cluster.controller().get("/v1/work-requests?parent=none").body["items"].size() == 1);

    const json wr = wait_finished(cluster, id);
    INFO(wr.dump(2));
    CHECK(wr["status"] == "SUCCEEDED");
    CHECK(wr["outcome"] == "COMPLETE");
    CHECK(wr["counters"]["succeeded"] == 5);
    CHECK(wr["percent_complete"] == 100);
    // /metrics counts it (issue #15: each feature adds its metrics).
    const auto samples = cluster.controller().scrape_metrics(cluster.controller().admin_token());
    CHECK(metric_value(samples, "patching_work_requests", {{"operation", "HOST_INSTALL"}, {"state", "SUCCEEDED"}}) ==
          1);
    const json logs = logs_of(cluster, id);
    INFO(logs.dump(1));
    CHECK(peak_concurrency(logs) == 2);
    for (const auto& [host, child] : children_by_host(cluster, id)) {
        // The host's own log of the install (transaction steps, scriptlet output) is in the
        // work request's log, under the host.
        const bool transaction_logged = std::any_of(logs.begin(), logs.end(), [&](const json& e) {
            return e["host"] == host && e["phase"] == "OUTPUT" &&
                   contains(e["message"].get<std::string>(), "transaction: e2e-slow-1.0-2");
        });
        CHECK(transaction_logged);
        CHECK(child["status"] == "SUCCEEDED");
        CHECK(child["target_set"] == json::array({SLOW_ID}));
        CHECK(cluster.agent(host).rpm_query("e2e-slow") == "1.0-2");
    }
    CHECK(openapi_violations(cluster.controller()) == "");
}

TEST_CASE("A failing host exhausts the error budget, and a rerun runs only the failed host",
          "[agent][e2e][work]") {
    Cluster cluster(hosts(3));
    if (!cluster.ok()) {
        return;
    }
    apply_patch(cluster, RR_ID, cluster.rpms().rr_2, "Y", 3);
    // Reboot-required: host-install's locking rule holds, so the unlocked host-0 is rejected.
    cluster.agent("host-1").lock();
    cluster.agent("host-2").lock();
    // sw-manager follows it live and says what failed and what to do.
    const CommandResult run = sw_manager(cluster.controller(),
                                         "host-install --hosts host-0,host-1,host-2 --max-concurrency 1 "
                                         "--max-errors 0 --wait");
    INFO(run.output << "\n" << cluster.logs());
    CHECK(run.status == 1);
    CHECK(contains(run.output, "INSTALL_REJECTED"));
    CHECK(contains(run.output, "sw-manager work-request rerun"));
    const json list = cluster.controller().get("/v1/work-requests?parent=none").body["items"];
    REQUIRE(list.size() == 1);
    const std::int64_t id = list[0]["id"];
    CHECK(contains(run.output, "Work request " + std::to_string(id) + ": FAILED 100%"));
    const json wr = wait_finished(cluster, id);
    CHECK(wr["status"] == "FAILED");
    CHECK(wr["outcome"] == "BUDGET_EXHAUSTED");
    CHECK(wr["counters"]["failed"] == 1);
    CHECK(wr["counters"]["canceled"] == 2);
    auto kids = children_by_host(cluster, id);
    CHECK(kids["host-0"]["failure_kind"] == "INSTALL_REJECTED");
    for (const char* h : {"host-1", "host-2"}) {
        CHECK(kids[h]["status"] == "CANCELED");
        CHECK(kids[h]["message"].get<std::string>().find("TERMINATED: the error budget is exhausted") !=
              std::string::npos);
    }
    const json errors = cluster.controller().get("/v1/work-requests/" + std::to_string(id) + "/errors").body["items"];
    REQUIRE(errors.size() == 1);
    CHECK(errors[0]["host"] == "host-0");
    CHECK(errors[0]["code"] == "INSTALL_REJECTED");
    const CommandResult logs = sw_manager(cluster.controller(), "work-request logs " + std::to_string(id));
    CHECK(logs.status == 0);
    CHECK(contains(logs.output, "install rejected"));

    cluster.agent("host-0").lock();
    cluster.wait_for_host("host-0", "locked", [](const json& e) { return e.value("locked", false); });
    const Response rerun = post_json(cluster.controller(), "/v1/work-requests/" + std::to_string(id) + "/rerun", "");
    INFO(rerun.text);
    REQUIRE(rerun.status == 202);
    CHECK(rerun.body["rerun_of"] == id);
    CHECK(rerun.body["counters"]["total"] == 1);
    const json second = wait_finished(cluster, rerun.body["id"]);
    CHECK(second["status"] == "SUCCEEDED");
    CHECK(cluster.agent("host-0").rpm_query("e2e-rr") == "1.0-2");
    CHECK(cluster.agent("host-1").rpm_query("e2e-rr") == "1.0-1");  // canceled before, not rerun
    CHECK(openapi_violations(cluster.controller()) == "");
}

TEST_CASE("A kill -9 of the controller during a fan-out loses nothing and runs nothing twice, and a "
          "cancel mid-run lets the running host finish",
          "[agent][e2e][work]") {
    Cluster cluster(hosts(3));
    if (!cluster.ok()) {
        return;
    }
    apply_patch(cluster, SLOW_ID, cluster.rpms().slow_2, "N", 3);
    const Response r = post_json(cluster.controller(), "/v1/host-installs",
                                 R"({"hosts": ["host-0", "host-1", "host-2"], "max_concurrency": "1"})");
    REQUIRE(r.status == 202);
    const std::int64_t id = r.body["id"];
    // host-0's %post is running: kill the controller, then start it again.
    REQUIRE(eventually([&] { return std::filesystem::exists(cluster.agent("host-0").in_root(SLOW_STARTED_MARKER)); },
                       30s));
    // The restarted controller listens where the agents expect it.
    const auto conf = cluster.controller().config_file();
    std::string text = read_if_exists(conf);
    const auto at = text.find("listen_port = 0\n");
    REQUIRE(at != std::string::npos);
    text.replace(at, 16, "listen_port = " + std::to_string(cluster.controller().port()) + "\n");
    write_file(conf, text);
    cluster.controller().kill9();
    cluster.controller().start();
    // host-1 starts after host-0 finished; cancel while it runs.
    INFO(cluster.controller().get("/v1/work-requests/" + std::to_string(id) + "/logs").text);
    INFO(cluster.controller().get("/v1/work-requests?parent=" + std::to_string(id)).text);
    INFO(cluster.logs());
    REQUIRE(eventually([&] { return std::filesystem::exists(cluster.agent("host-1").in_root(SLOW_STARTED_MARKER)); },
                       60s));
    const Response cancel = post_json(cluster.controller(), "/v1/work-requests/" + std::to_string(id) + "/cancel", "");
    INFO(cancel.text << "\n" << cluster.logs());
    REQUIRE(cancel.status == 202);
    CHECK(cancel.body["status"] == "CANCELING");
    const json wr = wait_finished(cluster, id);
    INFO(wr.dump(2) << "\n" << logs_of(cluster, id).dump(1));
    CHECK(wr["status"] == "CANCELED");
    CHECK(wr["outcome"] == "CANCELED_BY_USER");
    auto kids = children_by_host(cluster, id);
    CHECK(kids["host-0"]["status"] == "SUCCEEDED");
    CHECK(kids["host-1"]["status"] == "SUCCEEDED");  // inside its install at the cancel: finished
    CHECK(kids["host-2"]["status"] == "CANCELED");
    CHECK(cluster.agent("host-2").rpm_query("e2e-slow") == "1.0-1");
    for (const char* h : {"host-0", "host-1"}) {
        // Each host ran its command once, across the controller's restart.
        const std::string command = kids[h]["command_id"];
        CHECK(occurrences(cluster.agent(h).log(), "install requested (" + command) == 1);
        CHECK(cluster.agent(h).rpm_query("e2e-slow") == "1.0-2");
    }
    CHECK(openapi_violations(cluster.controller()) == "");
}

TEST_CASE("One host, one operation: a second operation on a busy host is refused naming the first, in both orders",
          "[agent][e2e][work]") {
    Cluster cluster(hosts(2));
    if (!cluster.ok()) {
        return;
    }
    apply_patch(cluster, SLOW_ID, cluster.rpms().slow_2, "N", 2);
    ControllerHarness& controller = cluster.controller();

    // A fleet install first, then host-install (our API and the operator's sw-patch) on its host.
    const Response fleet = post_json(controller, "/v1/host-installs", R"({"hosts": ["host-0"]})");
    INFO(fleet.text);
    REQUIRE(fleet.status == 202);
    const std::int64_t first = fleet.body["id"];
    REQUIRE(eventually([&] { return std::filesystem::exists(cluster.agent("host-0").in_root(SLOW_STARTED_MARKER)); },
                       30s));
    const Response second = post_json(controller, "/v1/host-installs", R"({"hosts": ["host-0"]})");
    INFO(second.text);
    CHECK(second.status == 409);
    CHECK(contains(second.text, std::to_string(first)));
    const CommandResult cli = cluster.sw_patch("host-install-async host-0");
    INFO(cli.output);
    // sw-patch keeps the reference's words for it.
    CHECK(cli.status != 0);
    CHECK(contains(cli.output, "host-0 is already installing"));
    CHECK(wait_finished(cluster, first)["status"] == "SUCCEEDED");

    // host-install first (sw-patch's one-host work request), then a fleet install naming its host.
    const CommandResult started = cluster.sw_patch("host-install-async host-1");
    INFO(started.output);
    REQUIRE(started.status == 0);
    REQUIRE(eventually([&] { return std::filesystem::exists(cluster.agent("host-1").in_root(SLOW_STARTED_MARKER)); },
                       30s));
    const Response busy = post_json(controller, "/v1/host-installs", R"({"hosts": ["host-0", "host-1"]})");
    INFO(busy.text);
    CHECK(busy.status == 409);
    CHECK(contains(busy.text, "host-1"));
    // Nothing was created for the refused requests: the two accepted ones only.
    const Response list = controller.get("/v1/work-requests?parent=none");
    INFO(list.text);
    CHECK(list.body["items"].size() == 2);
    cluster.wait_settled("host-1", true);
    CHECK(openapi_violations(cluster.controller()) == "");
}

TEST_CASE("Groups: labels agents report fill rule groups, a move is held back until accepted, rules and the "
          "release change after creation",
          "[agent][e2e][work][groups]") {
    std::vector<HostSpec> specs = hosts(3);
    specs[0].extra_config = {"labels = rack=r1, zone=a"};
    specs[1].extra_config = {"labels = rack=r2"};
    Cluster cluster(specs);
    if (!cluster.ok()) {
        return;
    }
    ControllerHarness& controller = cluster.controller();
    auto group_hosts = [&](const std::string& name) { return controller.get("/v1/groups/" + name).body["hosts"]; };
    auto wait_until = [&](const std::string& what, const std::function<bool()>& done) {
        const auto deadline = std::chrono::steady_clock::now() + 30s;
        while (!done()) {
            if (std::chrono::steady_clock::now() > deadline) {
                FAIL("timed out waiting until " << what << "\n" << cluster.logs());
            }
            std::this_thread::sleep_for(100ms);
        }
    };
    REQUIRE(post_json(controller, "/v1/groups", R"({"name": "r1", "rule": {"labels": {"rack": "r1"}}})").status == 201);
    REQUIRE(post_json(controller, "/v1/groups", R"({"name": "r2", "rule": {"labels": {"rack": "r2"}}})").status == 201);
    CHECK(group_hosts("r1") == json::array({"host-0"}));
    CHECK(group_hosts("r2") == json::array({"host-1"}));
    const Response labels = controller.get("/v1/host-labels/host-0");
    INFO(labels.text);
    CHECK(labels.body["reported"] == json({{"rack", "r1"}, {"zone", "a"}}));
    CHECK(labels.body["labels"] == json({{"rack", "r1"}, {"zone", "a"}}));

    // A host in no group joins the one its new labels match.
    cluster.agent("host-2").set_extra_config({"labels = rack=r1"});
    cluster.agent("host-2").restart();
    wait_until("host-2 joins r1", [&] { return group_hosts("r1") == json::array({"host-0", "host-2"}); });

    // A host whose new labels would move it from r2 to r1: held back and logged, not applied.
    cluster.agent("host-1").set_extra_config({"labels = rack=r1"});
    cluster.agent("host-1").restart();
    wait_until("host-1's new labels are held back",
               [&] { return controller.get("/v1/host-labels/host-1").body["held"] == json({{"rack", "r1"}}); });
    CHECK(group_hosts("r2") == json::array({"host-1"}));
    CHECK(contains(read_if_exists(controller.log_file()), "host host-1 reports labels rack=r1 that are held back"));
    const CommandResult shown = sw_manager(controller, "group label host-1");
    INFO(shown.output);
    CHECK(shown.status == 0);
    CHECK(contains(shown.output, "sw-manager group label host-1 --accept-reported"));
    // The operator agrees: the host moves.
    const CommandResult accepted = sw_manager(controller, "group label host-1 --accept-reported");
    INFO(accepted.output);
    CHECK(accepted.status == 0);
    CHECK(group_hosts("r1") == json::array({"host-0", "host-1", "host-2"}));
    CHECK(group_hosts("r2") == json::array());
    CHECK(controller.get("/v1/host-labels").body["items"].size() == 3);

    // Rules change after creation: one that would put hosts in two groups is refused naming both.
    const std::string r2 = "/v1/groups/r2";
    const Response both = http_request(controller.port(), "PATCH", r2, controller.admin_token(),
                                       Body::text(R"({"rule": {"personality": "controller"}})", "application/json"));
    INFO(both.text);
    CHECK(both.status == 409);
    CHECK(contains(both.body.value("message", ""), "would be in two groups, r1 and r2"));
    RequestOptions stale;
    stale.headers = {"If-Match: \"7\""};
    CHECK(http_request(controller.port(), "PATCH", r2, controller.admin_token(),
                       Body::text(R"({"description": "zone a"})", "application/json"), stale)
              .status == 412);
    const CommandResult updated = sw_manager(controller, "group update r2 --label zone=a --description 'zone a'");
    INFO(updated.output);
    CHECK(updated.status == 1);  // host-0 is in r1 (rack=r1) and would be in r2 (zone=a) too
    CHECK(contains(updated.output, "host host-0 would be in two groups"));
    const CommandResult moved = sw_manager(controller, "group update r1 --label zone=a");
    INFO(moved.output);
    CHECK(moved.status == 0);
    CHECK(group_hosts("r1") == json::array({"host-0"}));

    // A group's release: members must run it; a rule matches only hosts that do.
    const Response wrong = post_json(controller, "/v1/groups", R"({"name": "next", "sw_version": "23.09", "hosts": ["host-2"]})");
    INFO(wrong.text);
    CHECK(wrong.status == 409);
    CHECK(contains(wrong.body.value("message", ""), "host host-2 runs release 22.12 but group next is for release 23.09"));
    const CommandResult release = sw_manager(controller, "group update r1 --sw-version 23.09");
    INFO(release.output);
    CHECK(release.status == 0);
    CHECK(group_hosts("r1") == json::array());
    const Response empty = post_json(controller, "/v1/host-installs", R"({"group": "r1"})");
    CHECK(empty.status == 400);
    CHECK(empty.body["field"] == "group");
    CHECK(sw_manager(controller, "group update r1 --sw-version 22.12").status == 0);
    CHECK(group_hosts("r1") == json::array({"host-0"}));
    CHECK(openapi_violations(controller) == "");
}
