// SPDX-License-Identifier: Apache-2.0
// End to end: what host-install does with dependencies between patches and between their RPMs,
// and how an agent killed in the middle of an install recovers.
#include "patch_agent/e2e_cluster.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <future>
#include <string>

using namespace patching::test;
using namespace patching::test::e2e;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

constexpr const char* LIB_ID = "E2E_22.12_PATCH_0010";
constexpr const char* APP_ID = "E2E_22.12_PATCH_0011";
constexpr const char* SLOW_ID = "E2E_22.12_PATCH_0020";

/// Uploads and applies a patch of e2e-slow 1.0-2, starts the operator's `host-install
/// controller-0` (its result is the future's) and returns once the package's %post has marked its
/// start: it then sleeps 5 s inside the librpm transaction.
std::future<CommandResult> start_slow_install(Cluster& cluster) {
    PatchSpec spec;
    spec.id = SLOW_ID;
    spec.rpms = {{"all-nodes", cluster.rpms().slow_2}};
    REQUIRE(cluster.sw_patch("upload " + cluster.build_patch(spec).string()).status == 0);
    REQUIRE(cluster.sw_patch("apply " + std::string(SLOW_ID)).status == 0);
    cluster.wait_settled("controller-0", false);
    auto install = std::async(std::launch::async, [&cluster] { return cluster.sw_patch("host-install controller-0"); });
    const auto started = cluster.agent("controller-0").in_root(SLOW_STARTED_MARKER);
    REQUIRE(eventually([&] { return std::filesystem::exists(started); }, 30s));
    return install;
}

/// The messages of the log of the newest work request on `host`, a line each, once it has
/// finished (the engine reads the outcome on its next tick, after host-install has returned).
std::string install_log(Cluster& cluster, const std::string& host) {
    json wrs;
    REQUIRE(eventually(
        [&] {
            wrs = cluster.controller().get("/v1/work-requests?host=" + host).body["items"];
            return !wrs.empty() && wrs[0]["status"] != "IN_PROGRESS" && wrs[0]["status"] != "WAITING" &&
                   wrs[0]["status"] != "ACCEPTED";
        },
        30s));
    const json logs =
        cluster.controller().get("/v1/work-requests/" + std::to_string(wrs[0]["id"].get<long>()) + "/logs").body;
    std::string out;
    for (const auto& e : logs["items"]) {
        out += e["message"].get<std::string>() + "\n";
    }
    return out;
}

/// Uploads and applies a patch of e2e-lib 2.0 and waits until controller-0's agent has
/// prefetched it.
AgentHarness& apply_lib_and_wait_prefetch(Cluster& cluster) {
    PatchSpec spec;
    spec.id = LIB_ID;
    spec.rpms = {{"all-nodes", cluster.rpms().lib_2}};
    REQUIRE(cluster.sw_patch("upload " + cluster.build_patch(spec).string()).status == 0);
    REQUIRE(cluster.sw_patch("apply " + std::string(LIB_ID)).status == 0);
    AgentHarness& agent = cluster.agent("controller-0");
    REQUIRE(eventually([&] { return contains(agent.log(), "prefetched 1 package(s)"); }, 30s));
    return agent;
}

}  // namespace

TEST_CASE(
    "A patch chain installs in one transaction: B requires A, RPMs require RPMs", "[agent][e2e]") {
    Cluster cluster({{"controller-0", "controller"}, {"worker-0", "worker"}});
    if (!cluster.ok()) {
        return;
    }
    const auto& rpms = cluster.rpms();
    PatchSpec a;
    a.id = LIB_ID;
    a.rpms = {{"all-nodes", rpms.lib_2}};
    PatchSpec b;
    b.id = APP_ID;
    b.required = {LIB_ID};
    // e2e-app 2.0 needs e2e-lib 2.0 (patch A); e2e-plugin, new and for controllers only, needs
    // e2e-app 2.0 from the same patch.
    b.rpms = {{"all-nodes", rpms.app_2}, {"controller", rpms.plugin_1}};
    const CommandResult up = cluster.sw_patch(
        "upload " + cluster.build_patch(a).string() + " " + cluster.build_patch(b).string());
    INFO(up.output);
    REQUIRE(up.status == 0);

    // B alone is refused: it requires A.
    const CommandResult alone = cluster.sw_patch("apply " + std::string(APP_ID));
    INFO(alone.output);
    CHECK(alone.status == 1);
    CHECK(contains(alone.output, LIB_ID));
    CHECK(patch_state(cluster.controller(), APP_ID) == "Available");

    const CommandResult apply =
        cluster.sw_patch("apply " + std::string(LIB_ID) + " " + std::string(APP_ID));
    INFO(apply.output);
    REQUIRE(apply.status == 0);
    // A cannot go while B, which requires it, is applied.
    const CommandResult remove_a = cluster.sw_patch("remove " + std::string(LIB_ID));
    INFO(remove_a.output);
    CHECK(remove_a.status == 1);
    CHECK(contains(remove_a.output, APP_ID));

    const json c = cluster.wait_settled("controller-0", false);
    CHECK(c["installed"]["e2e-lib"] == "1.0-1@noarch");
    CHECK(c["installed"]["e2e-app"] == "1.0-1@noarch");
    CHECK(c["missing_pkgs"] == json::array({"e2e-plugin"}));
    const json w = cluster.wait_settled("worker-0", false);
    CHECK(w["missing_pkgs"] == json::array());

    for (const char* host : {"controller-0", "worker-0"}) {
        AgentHarness& agent = cluster.agent(host);
        const CommandResult install = cluster.sw_patch("host-install " + std::string(host));
        INFO(install.output << "\n" << agent.log());
        REQUIRE(install.status == 0);
        cluster.wait_settled(host, true);
        CHECK(agent.rpm_query("e2e-lib") == "2.0-1");
        CHECK(agent.rpm_query("e2e-app") == "2.0-1");
        // One librpm transaction: every package carries the same transaction ID.
        const std::string tid = agent.rpm_query("e2e-lib", "%{INSTALLTID}");
        CHECK(agent.rpm_query("e2e-app", "%{INSTALLTID}") == tid);
        if (std::string(host) == "controller-0") {
            CHECK(agent.rpm_query("e2e-plugin") == "1.0-1");
            CHECK(agent.rpm_query("e2e-plugin", "%{INSTALLTID}") == tid);
        } else {
            CHECK(agent.rpm_query("e2e-plugin") == "package e2e-plugin is not installed");
        }
    }
    cluster.wait_patch_state(LIB_ID, "Applied");
    cluster.wait_patch_state(APP_ID, "Applied");
}

TEST_CASE(
    "An agent killed during an install reports it after a restart and a new install repairs the "
    "host",
    "[agent][e2e]") {
    Cluster cluster(std::vector<HostSpec>{{"controller-0", "controller"}});
    if (!cluster.ok()) {
        return;
    }
    // The operator's host-install waits while the agent installs; e2e-slow's %post marks its
    // start and sleeps, and the agent is killed (with its scriptlet) right then.
    auto first = start_slow_install(cluster);
    AgentHarness& agent = cluster.agent("controller-0");
    CHECK(host_entry(cluster.controller(), "controller-0")["state"] == "installing");
    INFO(agent.log());
    REQUIRE(std::filesystem::exists(agent.in_root("/var/run/patch_installing")));
    agent.kill9();
    agent.start();

    const json failed = cluster.wait_for_host(
        "controller-0", "install-failed after the restart", [](const json& h) {
            return h.value("state", "") == "install-failed" && !h.value("stale", true);
        });
    CHECK(failed["patch_failed"] == true);
    const std::string reason = failed.value("failure_reason", "");
    INFO(reason);
    CHECK(contains(reason, "was interrupted"));
    CHECK_FALSE(std::filesystem::exists(agent.in_root("/var/run/patch_installing")));
    CHECK(contains(agent.log(), "an install was interrupted"));
    // The operator's command learns that the install it waited for failed.
    REQUIRE(first.wait_for(30s) == std::future_status::ready);
    const CommandResult interrupted = first.get();
    INFO(interrupted.output);
    CHECK(interrupted.status == 1);
    CHECK(contains(interrupted.output, "Installation failed"));
    CHECK(contains(interrupted.output, "was interrupted"));
    const CommandResult hosts = cluster.sw_patch("query-hosts");
    INFO(hosts.output);
    CHECK(contains(table_row(hosts.output, "controller-0"), "Failed"));
    CHECK(contains(table_row(hosts.output, "controller-0"), "install-failed"));

    const CommandResult again = cluster.sw_patch("host-install controller-0");
    INFO(again.output << "\n" << agent.log());
    REQUIRE(again.status == 0);
    CHECK(contains(again.output, "Installation was successful."));
    const json h = cluster.wait_settled("controller-0", true);
    CHECK(h["patch_failed"] == false);
    CHECK(h["state"] == "idle");
    CHECK(h["duplicated_pkgs"] == json::object());
    // One copy of the package, the patched one.
    CHECK(agent.rpm_query("e2e-slow") == "1.0-2");
    cluster.wait_patch_state(SLOW_ID, "Applied");
    CHECK(contains(table_row(cluster.sw_patch("query-hosts").output, "controller-0"), "Yes"));
}

TEST_CASE(
    "SIGTERM during an install lets the librpm transaction finish and report before the agent exits",
    "[agent][e2e]") {
    // What systemd's stop does with the unit's KillMode=mixed: SIGTERM to the agent alone, never
    // to the scriptlet it runs; the unit's TimeoutStopSec leaves the transaction time to end.
    Cluster cluster(std::vector<HostSpec>{{"controller-0", "controller"}});
    if (!cluster.ok()) {
        return;
    }
    auto install = start_slow_install(cluster);
    AgentHarness& agent = cluster.agent("controller-0");
    // The scriptlet sleeps 5 s from here; stop() sends SIGTERM to the agent only and waits.
    const int status = agent.stop();
    INFO(agent.log());
    CHECK(status == 0);
    CHECK(agent.rpm_query("e2e-slow") == "1.0-2");
    CHECK_FALSE(std::filesystem::exists(agent.in_root("/var/run/patch_installing")));
    CHECK(contains(agent.log(), "stopping (signal"));
    // The report went out before the exit: the operator's command saw the install succeed.
    REQUIRE(install.wait_for(30s) == std::future_status::ready);
    const CommandResult result = install.get();
    INFO(result.output);
    CHECK(result.status == 0);
    CHECK(contains(result.output, "Installation was successful."));

    agent.start();
    const json h = cluster.wait_settled("controller-0", true);
    CHECK(h["patch_failed"] == false);
    cluster.wait_patch_state(SLOW_ID, "Applied");
}

TEST_CASE("An out-of-date host prefetches what host-install needs, and a damaged prefetched file is fetched again",
          "[agent][e2e][prefetch]") {
    Cluster cluster(std::vector<HostSpec>{{"controller-0", "controller"}, {"worker-0", "worker", {"prefetch = false"}}});
    if (!cluster.ok()) {
        return;
    }
    AgentHarness& agent = apply_lib_and_wait_prefetch(cluster);
    const auto cache = agent.state_dir() / "cache";
    std::filesystem::path file;
    for (const auto& entry : std::filesystem::directory_iterator(cache)) {
        file = entry.path();
    }
    REQUIRE(contains(file.filename().string(), "e2e-lib-2.0-1"));
    // Nothing else changed on the host: the package is only in the cache.
    CHECK(agent.rpm_query("e2e-lib") == "1.0-1");
    CHECK(cluster.wait_settled("controller-0", false)["installed"]["e2e-lib"] == "1.0-1@noarch");

    // Damaged in the cache: the install does not trust it, fetches it again and succeeds.
    std::filesystem::resize_file(file, std::filesystem::file_size(file) - 1);
    const CommandResult install = cluster.sw_patch("host-install controller-0");
    INFO(install.output << "\n" << cluster.logs());
    CHECK(install.status == 0);
    CHECK(agent.rpm_query("e2e-lib") == "2.0-1");
    const std::string logs = install_log(cluster, "controller-0");
    INFO(logs);
    CHECK(contains(logs, "download: e2e-lib-2.0-1.noarch from"));
    CHECK_FALSE(contains(logs, "already downloaded"));
    CHECK_FALSE(std::filesystem::exists(file));  // the cache is emptied after the install

    // With prefetch = false the agent waits for host-install, which finds the cache untouched.
    AgentHarness& worker = cluster.agent("worker-0");
    cluster.wait_settled("worker-0", false);
    CHECK_FALSE(contains(worker.log(), "prefetched"));
    CHECK((!std::filesystem::exists(worker.state_dir() / "cache") || std::filesystem::is_empty(worker.state_dir() / "cache")));
    const CommandResult second = cluster.sw_patch("host-install worker-0");
    INFO(second.output);
    CHECK(second.status == 0);
    CHECK(worker.rpm_query("e2e-lib") == "2.0-1");
}

TEST_CASE("host-install uses the packages the agent prefetched", "[agent][e2e][prefetch]") {
    Cluster cluster(std::vector<HostSpec>{{"controller-0", "controller"}});
    if (!cluster.ok()) {
        return;
    }
    AgentHarness& agent = apply_lib_and_wait_prefetch(cluster);
    const CommandResult install = cluster.sw_patch("host-install controller-0");
    INFO(install.output << "\n" << agent.log());
    CHECK(install.status == 0);
    CHECK(agent.rpm_query("e2e-lib") == "2.0-1");
    // The agent's install log (in the work request's log) says the cache was used.
    const std::string logs = install_log(cluster, "controller-0");
    INFO(logs);
    CHECK(contains(logs, "download: e2e-lib-2.0-1.noarch already downloaded and verified"));
}
