// SPDX-License-Identifier: Apache-2.0
// End to end, as an operator sees it: a controller and three agents (controller, worker and
// storage personalities) on loopback, each managing its own root. Upload, apply, host-install
// host by host, remove and install back, with the host table and the patch state checked at
// every step; an in-service patch whose restart script runs; a reboot-required patch that
// needs a locked host.
#include "patch_agent/e2e_cluster.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

using namespace patching::test;
using namespace patching::test::e2e;
using nlohmann::json;

namespace {

constexpr const char* INSVC_ID = "E2E_22.12_PATCH_0001";
constexpr const char* RR_ID = "E2E_22.12_PATCH_0002";

// Checks the columns of the host's row in a `sw-patch query-hosts` table ("" state: any).
void check_row(
    const std::string& table,
    const std::string& host,
    const std::string& current,
    const std::string& reboot,
    const std::string& state) {
    const std::string row = table_row(table, host);
    INFO("query-hosts:\n" << table);
    REQUIRE_FALSE(row.empty());
    // Columns: hostname, IP, Patch Current, Reboot Required, Release, State.
    std::istringstream in(row);
    std::vector<std::string> cells;
    for (std::string cell; in >> cell;) {
        cells.push_back(cell);
    }
    REQUIRE(cells.size() >= 6);
    CHECK(cells[0] == host);
    CHECK(cells[1] == "127.0.0.1");
    CHECK(cells[2] == current);
    CHECK(cells[3] == reboot);
    CHECK(cells[4] == "22.12");
    if (!state.empty()) {
        CHECK(cells[5] == state);
    }
}

}  // namespace

TEST_CASE(
    "Upload, apply, host-install on every host, then remove and install back", "[agent][e2e]") {
    Cluster cluster(three_hosts());
    if (!cluster.ok()) {
        return;
    }
    const auto& rpms = cluster.rpms();
    PatchSpec spec;
    spec.id = INSVC_ID;
    spec.reboot_required = "N";
    spec.summary = "in-service fix for e2e-insvc";
    spec.rpms = {{"all-nodes", rpms.insvc_2}};
    const auto patch = cluster.build_patch(spec);

    const CommandResult before = cluster.sw_patch("query-hosts");
    REQUIRE(before.status == 0);
    for (const auto& a : cluster.agents()) {
        check_row(before.output, a->hostname(), "Yes", "No", "idle");
    }

    // Upload: the patch is known, nothing changes on the hosts.
    const CommandResult up = cluster.sw_patch("upload " + patch.string());
    INFO(up.output);
    REQUIRE(up.status == 0);
    CHECK(contains(up.output, std::string(INSVC_ID) + " is now available"));
    CHECK(patch_state(cluster.controller(), INSVC_ID) == "Available");

    // Apply while storage-0's agent is frozen: it stays in the interim list (Pending) until it
    // has looked at the new repository; the others report at once that they are behind.
    AgentHarness& storage = cluster.agent("storage-0");
    storage.suspend();
    const CommandResult apply = cluster.sw_patch("apply " + std::string(INSVC_ID));
    INFO(apply.output);
    REQUIRE(apply.status == 0);
    CHECK(contains(apply.output, std::string(INSVC_ID) + " is now in the repo"));
    for (const char* host : {"controller-0", "worker-0"}) {
        const json h = cluster.wait_settled(host, false);
        CHECK(h["installed"]["e2e-insvc"] == "1.0-1@noarch");
        CHECK(h["requires_reboot"] == false);
        CHECK(h["allow_insvc_patching"] == true);
    }
    {
        const json s = host_entry(cluster.controller(), "storage-0");
        CHECK(s["interim_state"] == true);
        CHECK(patch_state(cluster.controller(), INSVC_ID) == "Partial-Apply");
        const CommandResult hosts = cluster.sw_patch("query-hosts");
        // (Its state may already read "stale (idle)" on a slow machine.)
        check_row(hosts.output, "storage-0", "Pending", "No", "");
        check_row(hosts.output, "controller-0", "No", "No", "idle");
        check_row(hosts.output, "worker-0", "No", "No", "idle");
    }
    storage.resume();
    cluster.wait_settled("storage-0", false);
    CHECK(patch_state(cluster.controller(), INSVC_ID) == "Partial-Apply");

    // Install host by host: Partial-Apply until the last one, then Applied.
    const std::vector<std::string> order = {"controller-0", "worker-0", "storage-0"};
    for (std::size_t i = 0; i < order.size(); ++i) {
        const std::string& host = order[i];
        AgentHarness& agent = cluster.agent(host);
        INFO("host-install " << host);
        CHECK(read_if_exists(agent.in_root(INSVC_MARKER)).empty());
        const CommandResult install = cluster.sw_patch("host-install " + host);
        INFO(install.output << "\n" << agent.log());
        REQUIRE(install.status == 0);
        CHECK(contains(install.output, "Installation was successful."));
        const json h = cluster.wait_settled(host, true);
        CHECK(h["requires_reboot"] == false);
        CHECK(h["patch_failed"] == false);
        CHECK(h["state"] == "idle");
        CHECK(h["install_status"] == "ok");
        CHECK(agent.rpm_query("e2e-insvc") == "1.0-2");
        // The in-service restart script ran inside the root, once, and nothing asks for a reboot.
        CHECK(
            read_if_exists(agent.in_root(INSVC_MARKER)) ==
            "restarted on " + cluster.agents()[i]->options().personality + "\n");
        CHECK_FALSE(std::filesystem::exists(agent.in_root("/var/run/node_is_patched")));
        CHECK_FALSE(std::filesystem::exists(agent.in_root("/run/patching/patch-scripts")));
        for (std::size_t j = i + 1; j < order.size(); ++j) {
            CHECK(host_entry(cluster.controller(), order[j])["patch_current"] == false);
            CHECK(cluster.agent(order[j]).rpm_query("e2e-insvc") == "1.0-1");
        }
        if (i + 1 < order.size()) {
            CHECK(patch_state(cluster.controller(), INSVC_ID) == "Partial-Apply");
        } else {
            cluster.wait_patch_state(INSVC_ID, "Applied");
        }
        const CommandResult hosts = cluster.sw_patch("query-hosts");
        check_row(hosts.output, host, "Yes", "No", "idle");
    }
    const CommandResult query = cluster.sw_patch("query");
    INFO(query.output);
    CHECK(contains(query.output, std::string(INSVC_ID) + "  N    22.12     Applied"));

    // Remove: the repository goes back to the base feed; hosts install back to base versions.
    const CommandResult remove = cluster.sw_patch("remove " + std::string(INSVC_ID));
    INFO(remove.output);
    REQUIRE(remove.status == 0);
    CHECK(contains(remove.output, std::string(INSVC_ID) + " has been removed from the repo"));
    for (const auto& host : order) {
        const json h = cluster.wait_settled(host, false);
        CHECK(h["installed"]["e2e-insvc"] == "1.0-2@noarch");
    }
    CHECK(patch_state(cluster.controller(), INSVC_ID) == "Partial-Remove");
    for (std::size_t i = 0; i < order.size(); ++i) {
        const std::string& host = order[i];
        AgentHarness& agent = cluster.agent(host);
        const CommandResult install = cluster.sw_patch("host-install " + host);
        INFO(install.output << "\n" << agent.log());
        REQUIRE(install.status == 0);
        CHECK(contains(install.output, "Installation was successful."));
        const json h = cluster.wait_settled(host, true);
        CHECK(h["requires_reboot"] == false);
        CHECK(agent.rpm_query("e2e-insvc") == "1.0-1");
        // The old package's %preun dropped the script again: it ran after the removal too.
        CHECK(line_count(read_if_exists(agent.in_root(INSVC_MARKER))) == 2);
        if (i + 1 < order.size()) {
            CHECK(patch_state(cluster.controller(), INSVC_ID) == "Partial-Remove");
        }
    }
    cluster.wait_patch_state(INSVC_ID, "Available");
    for (const auto& a : cluster.agents()) {
        CHECK(a->rpm_query("e2e-insvc") == "1.0-1");
        CHECK(a->rpm_query("e2e-lib") == "1.0-1");
    }
    const CommandResult after = cluster.sw_patch("query-hosts");
    for (const auto& host : order) {
        check_row(after.output, host, "Yes", "No", "idle");
    }
}

TEST_CASE(
    "A reboot-required patch is refused on an unlocked host and installed once it is locked",
    "[agent][e2e]") {
    Cluster cluster({{"controller-0", "controller"}, {"worker-0", "worker"}});
    if (!cluster.ok()) {
        return;
    }
    PatchSpec spec;
    spec.id = RR_ID;
    spec.reboot_required = "Y";
    spec.rpms = {{"all-nodes", cluster.rpms().rr_2}};
    REQUIRE(cluster.sw_patch("upload " + cluster.build_patch(spec).string()).status == 0);
    const CommandResult apply = cluster.sw_patch("apply " + std::string(RR_ID));
    INFO(apply.output);
    REQUIRE(apply.status == 0);
    for (const char* host : {"controller-0", "worker-0"}) {
        const json h = cluster.wait_settled(host, false);
        // Behind on a reboot-required patch: no in-service patching, and a reboot is needed.
        CHECK(h["allow_insvc_patching"] == false);
        CHECK(h["requires_reboot"] == true);
    }
    AgentHarness& agent = cluster.agent("controller-0");

    const CommandResult refused = cluster.sw_patch("host-install controller-0");
    INFO(refused.output << "\n" << agent.log());
    CHECK(refused.status == 1);
    CHECK(contains(refused.output, "Installation rejected. Node must be locked"));
    json h = host_entry(cluster.controller(), "controller-0");
    CHECK(h["state"] == "install-rejected");
    CHECK(h["install_status"] == "rejected");
    CHECK(h["install_reject_reason"] == "Node must be locked.");
    CHECK(h["patch_current"] == false);
    CHECK(agent.rpm_query("e2e-rr") == "1.0-1");
    check_row(
        cluster.sw_patch("query-hosts").output, "controller-0", "No", "Yes", "install-rejected");

    agent.lock();
    cluster.wait_for_host(
        "controller-0", "locked and no longer install-rejected",
        [](const json& e) { return e.value("locked", false) && e.value("state", "") == "idle"; });
    const CommandResult accepted = cluster.sw_patch("host-install controller-0");
    INFO(accepted.output << "\n" << agent.log());
    REQUIRE(accepted.status == 0);
    CHECK(contains(accepted.output, "Installation was successful."));
    h = cluster.wait_settled("controller-0", true);
    CHECK(h["requires_reboot"] == true);
    CHECK(h["patch_failed"] == false);
    CHECK(agent.rpm_query("e2e-rr") == "1.0-2");
    CHECK(std::filesystem::exists(agent.in_root("/var/run/node_is_patched_rr")));
    CHECK(std::filesystem::exists(agent.in_root("/var/run/node_is_patched")));
    const CommandResult hosts = cluster.sw_patch("query-hosts");
    check_row(hosts.output, "controller-0", "Yes", "Yes", "idle");
    check_row(hosts.output, "worker-0", "No", "Yes", "idle");
    CHECK(patch_state(cluster.controller(), RR_ID) == "Partial-Apply");
    // The other host is untouched until it is locked and installed too.
    CHECK(cluster.agent("worker-0").rpm_query("e2e-rr") == "1.0-1");
    cluster.agent("worker-0").lock();
    REQUIRE(cluster.sw_patch("host-install worker-0").status == 0);
    cluster.wait_patch_state(RR_ID, "Applied");
}
