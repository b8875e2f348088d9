// SPDX-License-Identifier: Apache-2.0
// End to end: the host lifecycle (issue #14) over real agents, each in its own root: lock with a
// failing pre-lock hook, lock, lock drift, a reboot that never comes back, unlock, the alarm
// gate of full-flow installs, and the full flow on a reboot-required patch across 3 hosts where
// the reboot command makes the test restart the agent with a new boot id.
#include "patch_agent/e2e_cluster.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <string>
#include <thread>

using namespace patching::test;
using namespace patching::test::e2e;
using nlohmann::json;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

constexpr const char* RR_ID = "E2E_22.12_PATCH_0041";

Response call(const ControllerHarness& h, const std::string& method, const std::string& path,
              const std::string& body = "") {
    return http_request(h.port(), method, path, h.admin_token(), Body::text(body, "application/json"));
}

void write_hook(const fs::path& dir, const std::string& phase, const std::string& script) {
    fs::create_directories(dir);
    write_file(dir / phase, "#!/bin/sh\n" + script + "\n");
    fs::permissions(dir / phase, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                     fs::perms::others_read | fs::perms::others_exec);
}

/// The log of a work request (a parent's includes its children's) as "PHASE host: message" lines.
std::string log_text(Cluster& cluster, std::int64_t id) {
    std::string out;
    const Response r = cluster.controller().get("/v1/work-requests/" + std::to_string(id) + "/logs");
    for (const auto& e : r.body["items"]) {
        out += e["phase"].get<std::string>() + " " + e["host"].get<std::string>() + ": " +
               e["message"].get<std::string>() + "\n";
    }
    return out;
}

std::int64_t child_of(Cluster& cluster, std::int64_t parent) {
    const Response r = cluster.controller().get("/v1/work-requests?parent=" + std::to_string(parent));
    REQUIRE(r.body["items"].size() == 1);
    return r.body["items"][0]["id"].get<std::int64_t>();
}

json host(Cluster& cluster, const std::string& name) { return cluster.controller().get("/v1/hosts/" + name).body; }

bool alarm_raised(Cluster& cluster, const std::string& id, const std::string& entity) {
    const Response r = cluster.controller().get("/v1/alarms");
    for (const auto& a : r.body["items"]) {
        if (a["alarm_id"] == id && a["entity"] == entity) {
            return true;
        }
    }
    return false;
}

std::int64_t post_action(Cluster& cluster, const std::string& host_name, const std::string& action,
                         const std::string& reason) {
    const Response r =
        call(cluster.controller(), "POST", "/v1/hosts/" + host_name + "/" + action, json{{"reason", reason}}.dump());
    INFO(r.text);
    REQUIRE(r.status == 202);
    return r.body["id"].get<std::int64_t>();
}

bool running_as_root() {
    if (::geteuid() != 0) {
        patching::test::skip_test("the host lifecycle's hooks must be owned by root: run as root");
        return false;
    }
    return true;
}

}  // namespace

TEST_CASE("Lock with a failing pre-lock hook, lock, drift, a reboot that never comes back, unlock, the alarm gate",
          "[agent][e2e][lifecycle]") {
    if (!running_as_root()) {
        return;
    }
    TempDir hooks;
    Cluster cluster({{"host-0", "controller"}},
                    ClusterOptions{{"host_reboot_timeout_seconds = 3", "host_hook_retry_seconds = 0"}, {},
                                         {"hook_dir = " + hooks.path().string(), "requery_seconds = 1",
                                          "health_interval_seconds = 1", "reboot_command = /bin/true",
                                          "hook_timeout_seconds = 20"}});
    if (!cluster.ok()) {
        return;
    }
    const std::string h = "host-0";
    const std::string entity = "host=" + h;

    // A pre-lock hook that fails fails the lock with its output; the host stays unlocked.
    write_hook(hooks.path(), "pre-lock", "echo \"database refuses to stop on $PATCH_HOST\"; exit 1");
    std::int64_t wr = post_action(cluster, h, "lock", "maintenance window 1");
    json done = wait_finished(cluster, wr);
    CHECK(done["status"] == "FAILED");
    const json child = cluster.controller().get("/v1/work-requests/" + std::to_string(child_of(cluster, wr))).body;
    CHECK(child["failure_kind"] == "HOOK");
    const std::string failed_log = log_text(cluster, wr);
    INFO(failed_log);
    CHECK(contains(failed_log, "database refuses to stop on host-0"));
    CHECK(contains(failed_log, "PRE_LOCK"));
    CHECK(host(cluster, h)["administrative"] == "unlocked");
    CHECK(!fs::exists(cluster.agent(h).in_root("/var/run/.node_locked")));
    CHECK(eventually([&] { return alarm_raised(cluster, "900.203", entity); }, 10s));

    // With a working hook the lock goes through: the controller records who and why, the agent
    // writes the flag.
    write_hook(hooks.path(), "pre-lock", "echo stopping services; exit 0");
    wr = post_action(cluster, h, "lock", "maintenance window 2");
    done = wait_finished(cluster, wr);
    CHECK(done["status"] == "SUCCEEDED");
    CHECK(contains(log_text(cluster, wr), "stopping services"));
    CHECK(!alarm_raised(cluster, "900.203", entity));  // the hook works again: the controller cleared it
    json v = host(cluster, h);
    CHECK(v["administrative"] == "locked");
    CHECK(v["administrative_reason"] == "maintenance window 2");
    CHECK(v["administrative_work_request"] == wr);
    CHECK(fs::exists(cluster.agent(h).in_root("/var/run/.node_locked")));
    CHECK(call(cluster.controller(), "POST", "/v1/hosts/" + h + "/lock").status == 409);

    // Someone removes the flag by hand: drift, reported and alarmed, not obeyed silently.
    cluster.agent(h).unlock();
    CHECK(eventually([&] { return host(cluster, h)["lock_drift"] == true; }, 15s));
    CHECK(eventually([&] { return alarm_raised(cluster, "900.205", entity); }, 10s));
    CHECK(host(cluster, h)["administrative"] == "locked");

    // A reboot whose host never comes back: the step fails after the timeout, an alarm is
    // raised, the host stays locked with the reason recorded.
    wr = post_action(cluster, h, "reboot", "kernel update");
    done = wait_finished(cluster, wr, 30s);
    CHECK(done["status"] == "FAILED");
    const json reboot_child = cluster.controller().get("/v1/work-requests/" + std::to_string(child_of(cluster, wr))).body;
    CHECK(reboot_child["failure_kind"] == "REBOOT_TIMEOUT");
    CHECK(alarm_raised(cluster, "900.204", entity));
    v = host(cluster, h);
    CHECK(v["administrative"] == "locked");
    CHECK(contains(v["administrative_reason"].get<std::string>(), "left locked"));

    // Unlock: the post-unlock hook runs; the drift is gone with the administrative state.
    write_hook(hooks.path(), "post-unlock", "echo starting services");
    CommandResult cli = sw_manager(cluster.controller(), "host-unlock " + h + " --reason 'window over' --wait");
    INFO(cli.output);
    CHECK(cli.status == 0);
    CHECK(contains(cli.output, "SUCCEEDED"));
    wr = host(cluster, h)["administrative_work_request"].get<std::int64_t>();
    CHECK(contains(log_text(cluster, wr), "starting services"));
    CHECK(host(cluster, h)["administrative"] == "unlocked");
    cli = sw_manager(cluster.controller(), "host-show " + h);
    CHECK(contains(cli.output, "window over"));
    CHECK(eventually([&] { return !alarm_raised(cluster, "900.205", entity); }, 15s));

    // The alarm gate: management-affecting alarms on the host refuse a full-flow install.
    const std::string install = json{{"hosts", {h}}, {"flow", "full"}}.dump();
    Response refused = call(cluster.controller(), "POST", "/v1/host-installs", install);
    CHECK(refused.status == 409);
    CHECK(contains(refused.text, "900.204"));
    CHECK(!contains(refused.text, "900.203"));
    CHECK(call(cluster.controller(), "DELETE", "/v1/alarms/900.204?entity=" + entity).status == 204);
    // Monitoring raises a system-wide alarm through the API: refused, naming it; cleared: accepted.
    cli = sw_manager(cluster.controller(), "alarm raise 100.101 --severity major --reason 'CPU threshold'");
    CHECK(cli.status == 0);
    CHECK(contains(sw_manager(cluster.controller(), "alarm list").output, "CPU threshold"));
    refused = call(cluster.controller(), "POST", "/v1/host-installs", install);
    CHECK(refused.status == 409);
    CHECK(contains(refused.text, "'100.101'"));
    cli = sw_manager(cluster.controller(), "host-install --hosts " + h + " --flow full");
    CHECK(cli.status == 1);
    CHECK(contains(cli.output, "'100.101'"));
    CHECK(call(cluster.controller(), "POST", "/v1/alarms", json{{"alarm_id", "1.1"}, {"severity", "major"},
                                                                 {"reason", "x"}}.dump())
              .body["field"] == "alarm_id");
    CHECK(sw_manager(cluster.controller(), "alarm clear 100.101").status == 0);
    CHECK(!alarm_raised(cluster, "100.101", "system"));
    const Response accepted = call(cluster.controller(), "POST", "/v1/host-installs", install);
    INFO(accepted.text);
    REQUIRE(accepted.status == 202);
    done = wait_finished(cluster, accepted.body["id"].get<std::int64_t>());
    INFO(log_text(cluster, accepted.body["id"].get<std::int64_t>()));
    CHECK(done["status"] == "SUCCEEDED");
    const std::string list = sw_manager(cluster.controller(), "host-list").output;
    INFO(list);
    CHECK(contains(list, "host-0  unlocked  available"));

    // A failing health hook shows the host degraded (with its output), and available again.
    write_hook(hooks.path(), "health", "echo disk almost full; exit 1");
    CHECK(eventually([&] { return host(cluster, h)["availability"] == "degraded"; }, 15s));
    CHECK(contains(host(cluster, h)["health_output"].get<std::string>(), "disk almost full"));
    CHECK(eventually([&] { return alarm_raised(cluster, "900.206", entity); }, 10s));
    write_hook(hooks.path(), "health", "exit 0");
    CHECK(eventually([&] { return host(cluster, h)["availability"] == "available"; }, 15s));
    CHECK(host(cluster, h)["health"] == "ok");
    CHECK(openapi_violations(cluster.controller()) == "");
}

TEST_CASE("The full flow on a reboot-required patch across 3 hosts: lock, install, reboot (a new boot id), unlock, "
          "postcheck retried",
          "[agent][e2e][lifecycle]") {
    if (!running_as_root()) {
        return;
    }
    TempDir work;
    const fs::path hooks = work / "hooks";
    std::vector<std::string> names = {"host-0", "host-1", "host-2"};
    for (const auto& n : names) {
        write_file(work / ("boot-" + n), "boot-1-" + n + "\n");
    }
    write_hook(hooks, "pre-lock", "echo \"stopping services on $PATCH_HOST\"");
    write_hook(hooks, "post-unlock", "echo \"starting services on $PATCH_HOST\"");
    // The postcheck is not ready the first time (3: retryable), then passes.
    write_hook(hooks, "postcheck",
               "m=" + (work / "postcheck-").string() +
                   "$PATCH_HOST; if [ ! -e \"$m\" ]; then touch \"$m\"; echo not ready yet; exit 3; fi; echo "
                   "postcheck ok");
    Cluster cluster({{"host-0", "controller"}, {"host-1", "controller"}, {"host-2", "controller"}},
                    ClusterOptions{{"host_reboot_timeout_seconds = 60", "host_hook_retry_seconds = 0"}, {},
                                         {"hook_dir = " + hooks.string(),
                                          "boot_id_file = " + (work / "boot-{host}").string(),
                                          "reboot_command = /usr/bin/touch " + (work / "reboot-{host}").string(),
                                          "hook_timeout_seconds = 20"}});
    if (!cluster.ok()) {
        return;
    }
    // The "machine": a reboot request takes the agent down (kill -9), gives the host a new boot
    // id, clears the run-time flags (tmpfs at boot) and starts the agent again.
    std::atomic<bool> stop{false};
    std::map<std::string, int> reboots;
    std::thread machine([&] {
        int boot = 1;
        while (!stop) {
            for (const auto& n : names) {
                const fs::path request = work / ("reboot-" + n);
                if (!fs::exists(request)) {
                    continue;
                }
                fs::remove(request);
                AgentHarness& agent = cluster.agent(n);
                agent.kill9();
                write_file(work / ("boot-" + n), "boot-" + std::to_string(++boot) + "-" + n + "\n");
                for (const char* flag : {"/var/run/node_is_patched", "/var/run/node_is_patched_rr"}) {
                    fs::remove(agent.in_root(flag));
                }
                agent.start();
                ++reboots[n];
            }
            std::this_thread::sleep_for(50ms);
        }
    });
    struct Join {
        std::atomic<bool>& stop;
        std::thread& t;
        ~Join() {
            stop = true;
            t.join();
        }
    } join{stop, machine};

    PatchSpec spec;
    spec.id = RR_ID;
    spec.reboot_required = "Y";
    spec.rpms = {{"all-nodes", cluster.rpms().rr_2}};
    REQUIRE(cluster.sw_patch("upload " + cluster.build_patch(spec).string()).status == 0);
    REQUIRE(cluster.sw_patch("apply " + std::string(RR_ID)).status == 0);
    for (const auto& n : names) {
        cluster.wait_settled(n, false);
    }
    const Response r = call(cluster.controller(), "POST", "/v1/host-installs",
                            json{{"hosts", names}, {"flow", "full"}, {"max_concurrency", "2"}}.dump());
    INFO(r.text);
    REQUIRE(r.status == 202);
    const std::int64_t id = r.body["id"].get<std::int64_t>();
    const json done = wait_finished(cluster, id, 120s);
    const std::string text = log_text(cluster, id);
    INFO(text << cluster.logs());
    CHECK(done["status"] == "SUCCEEDED");
    for (const auto& n : names) {
        for (const char* phase : {"PRECHECK", "PRE_LOCK", "LOCK", "INSTALL", "POST_INSTALL", "REBOOT", "WAIT_HOST",
                                  "POST_REBOOT", "UNLOCK", "POST_UNLOCK", "POSTCHECK", "VERIFY"}) {
            CHECK(contains(text, std::string(phase) + " " + n + ":"));
        }
        CHECK(contains(text, "stopping services on " + n));
        CHECK(contains(text, "starting services on " + n));
        CHECK(contains(text, "host " + n + ": postcheck hook exited 3 (retryable): retry 1"));
        CHECK(reboots[n] == 1);
        const json v = host(cluster, n);
        CHECK(v["administrative"] == "unlocked");
        CHECK(v["patch_current"] == true);
        CHECK(!fs::exists(cluster.agent(n).in_root("/var/run/.node_locked")));
        CHECK(cluster.agent(n).rpm_query("e2e-rr") == "1.0-2");
    }
    CHECK(openapi_violations(cluster.controller()) == "");
}

TEST_CASE("kill -9 of the controller while a full-flow host reboots: the flow resumes, the lock has its record",
          "[agent][e2e][lifecycle]") {
    if (!running_as_root()) {
        return;
    }
    TempDir work;
    const std::string h = "host-0";
    write_file(work / ("boot-" + h), "boot-1\n");
    Cluster cluster({{h, "controller"}},
                    ClusterOptions{{"host_reboot_timeout_seconds = 60", "host_hook_retry_seconds = 0"}, {},
                                         {"hook_dir = " + (work / "hooks").string(),
                                          "boot_id_file = " + (work / "boot-{host}").string(),
                                          "reboot_command = /usr/bin/touch " + (work / "reboot-{host}").string(),
                                          "hook_timeout_seconds = 20"}});
    if (!cluster.ok()) {
        return;
    }
    PatchSpec spec;
    spec.id = "E2E_22.12_PATCH_0042";
    spec.reboot_required = "Y";
    spec.rpms = {{"all-nodes", cluster.rpms().rr_2}};
    REQUIRE(cluster.sw_patch("upload " + cluster.build_patch(spec).string()).status == 0);
    REQUIRE(cluster.sw_patch("apply " + spec.id).status == 0);
    cluster.wait_settled(h, false);
    const Response r = call(cluster.controller(), "POST", "/v1/host-installs",
                            json{{"hosts", {h}}, {"flow", "full"}, {"max_concurrency", "1"}}.dump());
    REQUIRE(r.status == 202);
    const std::int64_t id = r.body["id"].get<std::int64_t>();

    // The host asks to reboot: it is locked, and the controller knows who locked it and why.
    REQUIRE(eventually([&] { return fs::exists(work / ("reboot-" + h)); }, 60s));
    const json locked = host(cluster, h);
    CHECK(locked["administrative"] == "locked");
    CHECK(!locked["administrative_reason"].get<std::string>().empty());
    CHECK(locked["administrative_work_request"] == id);
    // The controller dies; meanwhile the host reboots (a new boot id, run-time flags gone).
    const auto conf = cluster.controller().config_file();
    std::string text = read_if_exists(conf);
    const auto at = text.find("listen_port = 0\n");
    REQUIRE(at != std::string::npos);
    text.replace(at, 16, "listen_port = " + std::to_string(cluster.controller().port()) + "\n");
    write_file(conf, text);
    cluster.controller().kill9();
    AgentHarness& agent = cluster.agent(h);
    agent.kill9();
    fs::remove(work / ("reboot-" + h));
    write_file(work / ("boot-" + h), "boot-2\n");
    for (const char* flag : {"/var/run/node_is_patched", "/var/run/node_is_patched_rr"}) {
        fs::remove(agent.in_root(flag));
    }
    agent.start();
    cluster.controller().start();

    const json done = wait_finished(cluster, id, 90s);
    const std::string log = log_text(cluster, id);
    INFO(log << cluster.logs());
    CHECK(done["status"] == "SUCCEEDED");
    CHECK(contains(log, "WAIT_HOST " + h + ": host " + h + ": REBOOT ok: the host rebooted (boot id boot-1 -> boot-2)"));
    for (const char* phase : {"POST_REBOOT", "UNLOCK", "POSTCHECK", "VERIFY"}) {
        CHECK(contains(log, std::string(phase) + " " + h + ":"));
    }
    CHECK(host(cluster, h)["administrative"] == "unlocked");
    CHECK(!fs::exists(work / ("reboot-" + h)));  // rebooted once
    CHECK(agent.rpm_query("e2e-rr") == "1.0-2");
    CHECK(openapi_violations(cluster.controller()) == "");
}
