// SPDX-License-Identifier: Apache-2.0
// End to end: the agent protocol under failure and attack. Agents that go silent become stale
// within the configured interval; forged, replayed, unauthenticated, oversized and malformed
// messages are refused with the right status and leave the host table alone; hosts enrolled
// with `patch-controller enrol-host` work from their credentials file and are refused once
// revoked.
#include "patch_agent/e2e_cluster.hpp"

#include <patch_core/messages.hpp>

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <filesystem>
#include <string>

using namespace patching::test;
using namespace patching::test::e2e;
using nlohmann::json;
using namespace std::chrono_literals;
namespace proto = patching::core::protocol;

TEST_CASE(
    "Agents that stop or die are shown stale within the configured interval", "[agent][e2e]") {
    Cluster cluster(
        {{"controller-0", "controller"}, {"worker-0", "worker"}, {"storage-0", "storage"}});
    if (!cluster.ok()) {
        return;
    }
    AgentHarness& frozen = cluster.agent("worker-0");
    AgentHarness& dead = cluster.agent("storage-0");
    frozen.suspend();
    dead.kill9();
    const auto since = std::chrono::steady_clock::now();
    // The controller counts whole seconds since the last message: stale after the interval plus
    // one second at most, and a poll may have begun up to a poll period before the stop.
    const auto limit = std::chrono::seconds(E2E_AGENT_STALE_SECONDS + E2E_AGENT_POLL_SECONDS + 2);
    for (const char* host : {"worker-0", "storage-0"}) {
        const json h = cluster.wait_for_host(
            host, "stale", [](const json& e) { return e.value("stale", false); }, limit + 2s);
        CHECK(h["secs_since_ack"].get<int>() > E2E_AGENT_STALE_SECONDS);
    }
    const auto took = std::chrono::steady_clock::now() - since;
    CHECK(took <= limit);
    const json live = host_entry(cluster.controller(), "controller-0");
    CHECK(live["stale"] == false);

    const CommandResult hosts = cluster.sw_patch("query-hosts");
    INFO(hosts.output);
    CHECK(contains(table_row(hosts.output, "worker-0"), "stale"));
    CHECK(contains(table_row(hosts.output, "storage-0"), "stale"));
    CHECK_FALSE(contains(table_row(hosts.output, "controller-0"), "stale"));
    // Nothing is sent to a host nobody hears from.
    const CommandResult install = cluster.sw_patch("host-install worker-0");
    INFO(install.output);
    CHECK(install.status == 1);
    CHECK(contains(install.output, "stale"));

    // Back to life: fresh again at the next poll.
    frozen.resume();
    dead.start();
    cluster.wait_settled("worker-0", true);
    cluster.wait_settled("storage-0", true);
    CHECK_FALSE(contains(cluster.sw_patch("query-hosts").output, "stale"));
}

TEST_CASE(
    "Forged, replayed, unauthenticated, oversized and malformed agent messages are refused",
    "[agent][e2e][security]") {
    Cluster cluster({{"controller-0", "controller"}, {"worker-0", "worker"}});
    if (!cluster.ok()) {
        return;
    }
    ControllerHarness& controller = cluster.controller();
    const json a_before = host_entry(controller, "controller-0");
    // The test speaks as worker-0, with the key its agent enrolled with. One cluster for all the
    // attempts below: each is refused on its own, and none may disturb the others.
    ProtocolClient b(controller, cluster.agent("worker-0").credentials_file());
    REQUIRE(b.hello().status == 200);
    const std::string report_path(proto::PATH_REPORT);

    {
        INFO("a report for another host, in a valid session of worker-0: 403");
        const Response r = b.send(report_path, b.report_body("controller-0", "install-failed"));
        INFO(r.text);
        CHECK(r.status == 403);
        CHECK(contains(r.error(), "may not report for host controller-0"));
        CHECK(contains(controller.log(), "may not report for host controller-0"));
    }
    {
        INFO("a bad MAC: 401");
        const Response r = b.send(report_path, b.report_body(), b.next_seq(), std::string(64, '0'));
        INFO(r.text);
        CHECK(r.status == 401);
        CHECK(contains(r.error(), "bad MAC"));
        CHECK(contains(
            controller.log(), "refused agent request POST /v1/agent/report from 127.0.0.1"));
        CHECK(contains(controller.log(), "has a bad MAC"));
        // A body changed after the MAC was made is the same thing.
        const std::uint64_t seq = b.next_seq();
        const std::string body = b.report_body();
        const std::string mac =
            proto::to_hex(proto::request_mac("wrong key", "POST", report_path, seq, body));
        CHECK(b.send(report_path, body, seq, mac).status == 401);
    }
    {
        INFO("a replayed request: 401");
        const std::string body = b.report_body();
        const std::uint64_t seq = b.next_seq();
        const Response first = b.send(report_path, body, seq);
        INFO(first.text);
        REQUIRE(first.status == 200);
        const Response again = b.send(report_path, body, seq);
        INFO(again.text);
        CHECK(again.status == 401);
        CHECK(contains(again.error(), "replays sequence number"));
        CHECK(contains(controller.log(), "replays sequence number"));
    }
    {
        INFO("strangers: 401");
        // No session headers at all.
        const Response bare = controller.request(
            "POST", report_path, "", Body::text(b.report_body("controller-0"), "application/json"));
        CHECK(bare.status == 401);
        // An admin token is not an agent's credential.
        CHECK(
            controller
                .request(
                    "POST", report_path, controller.admin_token(),
                    Body::text(b.report_body("controller-0"), "application/json"))
                .status == 401);
        // A made-up session.
        RequestOptions options;
        options.headers = {
            std::string(proto::HEADER_SESSION) + ": " + std::string(32, 'a'),
            std::string(proto::HEADER_SEQ) + ": 1",
            std::string(proto::HEADER_MAC) + ": " + std::string(64, 'b')};
        CHECK(
            controller
                .request(
                    "POST", report_path, "", Body::text(b.report_body(), "application/json"),
                    options)
                .status == 401);
        // A host nobody enrolled, and an enrolled name with a key nobody issued.
        ProtocolClient intruder(controller, "intruder-0", std::string(proto::HOST_KEY_BYTES, 'k'));
        const Response unknown = intruder.hello();
        CHECK(unknown.status == 401);
        CHECK(contains(unknown.error(), "not enrolled"));
        ProtocolClient impostor(
            controller, "controller-0", std::string(proto::HOST_KEY_BYTES, 'k'));
        const Response bad_key = impostor.hello();
        CHECK(bad_key.status == 401);
        CHECK(contains(bad_key.error(), "bad MAC"));
        // Self-enrolment needs the enrolment token, and a name is enrolled only once.
        const std::string enrol = proto::to_json(proto::EnrolRequest{"intruder-0"});
        CHECK(
            controller
                .request(
                    "POST", std::string(proto::PATH_ENROL), "wrong-token",
                    Body::text(enrol, "application/json"))
                .status == 401);
        const std::string token = read_file(enrolment_token_path(controller));
        const Response taken = controller.request(
            "POST", std::string(proto::PATH_ENROL), token.substr(0, token.size() - 1),
            Body::text(proto::to_json(proto::EnrolRequest{"controller-0"}), "application/json"));
        CHECK(taken.status == 409);
        const std::string log = controller.log();
        CHECK(contains(log, "agent request without session, sequence number or MAC headers"));
        CHECK(contains(log, "unknown or expired session"));
        CHECK(contains(log, "host intruder-0 is not enrolled"));
        CHECK(contains(log, "hello from controller-0 has a bad MAC"));
        CHECK(contains(log, "enrolment needs the controller's enrolment token"));
        CHECK(contains(log, "host controller-0 is already enrolled"));
    }
    {
        INFO("an oversized body: 413");
        const Response r = b.send(report_path, std::string(proto::MAX_REPORT_MESSAGE + 1024, ' '));
        INFO(r.transport_error << " " << r.text);
        CHECK(r.status == 413);
        // Refused by the HTTP layer before any agent code sees it (not logged there).
    }
    {
        INFO("malformed JSON: 400");
        const Response garbage = b.send(report_path, "{\"protocol\": 1, \"hostname\": ");
        INFO(garbage.text);
        CHECK(garbage.status == 400);
        CHECK(contains(garbage.error(), "malformed agent message"));
        const Response wrong_type = b.send(report_path, "[1, 2, 3]");
        CHECK(wrong_type.status == 400);
        const Response hello = controller.request(
            "POST", std::string(proto::PATH_HELLO), "",
            Body::text("{not json", "application/json"));
        CHECK(hello.status == 400);
        CHECK(contains(controller.log(), "malformed agent message"));
    }

    // Whatever was sent, the controller is up and controller-0 is as its own agent last reported.
    CHECK(controller.running());
    CHECK(controller.get("/v1/query").status == 200);
    const json a_after = host_entry(controller, "controller-0");
    for (const char* key :
         {"state", "patch_current", "patch_failed", "failure_reason", "personality", "installed",
          "requires_reboot", "install_status"}) {
        INFO(key);
        CHECK(a_after[key] == a_before[key]);
    }
    // The real agents carry on.
    cluster.wait_settled("controller-0", true);
    cluster.wait_settled("worker-0", true);
}

TEST_CASE(
    "enrol-host writes credentials an agent works with, and revoke-host gets it refused",
    "[agent][e2e][security]") {
    Cluster cluster(std::vector<HostSpec>{});
    if (!cluster.ok()) {
        return;
    }
    ControllerHarness& controller = cluster.controller();
    const std::filesystem::path credentials = cluster.dir() / "compute-1.credentials";
    const CommandResult enrol =
        run_patch_controller(controller, "enrol-host compute-1 --output " + credentials.string());
    INFO(enrol.output);
    REQUIRE(enrol.status == 0);
    CHECK(contains(
        enrol.output, "Enrolled compute-1; credentials written to " + credentials.string()));
    struct stat st {};
    REQUIRE(::stat(credentials.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777U) == 0600U);
    // A second key for the same name would let a newcomer take the host over.
    const CommandResult twice = run_patch_controller(
        controller, "enrol-host compute-1 --output " + (cluster.dir() / "again").string());
    CHECK(twice.status == 1);
    CHECK(contains(twice.output, "already enrolled"));

    AgentOptions options;
    options.hostname = "compute-1";
    options.personality = "worker";
    options.self_enrol = false;  // no enrolment token: only the credentials file
    options.credentials_file = credentials;
    AgentHarness agent(controller, cluster.dir() / "compute-1", options);
    REQUIRE(agent.prepare_root(cluster.rpms().base(), cluster.dir() / "work"));
    agent.start();
    json h = cluster.wait_settled("compute-1", true);
    CHECK(h["personality"] == "worker");
    CHECK(h["subfunctions"] == json::array({"worker"}));

    const CommandResult revoke = run_patch_controller(controller, "revoke-host compute-1");
    INFO(revoke.output);
    REQUIRE(revoke.status == 0);
    CHECK(contains(revoke.output, "Revoked the key of compute-1"));
    // The key no longer opens a session...
    ProtocolClient old_key(controller, credentials);
    const Response hello = old_key.hello();
    CHECK(hello.status == 401);
    CHECK(contains(hello.error(), "not enrolled"));
    // ...so the agent, once its session is gone (here: restarted), is refused and goes stale.
    agent.restart();
    REQUIRE(
        eventually([&] { return contains(agent.log(), "refused the hello of compute-1"); }, 10s));
    h = cluster.wait_for_host(
        "compute-1", "stale after the revocation",
        [](const json& e) { return e.value("stale", false); },
        std::chrono::seconds(E2E_AGENT_STALE_SECONDS + E2E_AGENT_POLL_SECONDS + 4));
    CHECK(contains(controller.log(), "compute-1 is not enrolled"));
    CHECK(run_patch_controller(controller, "revoke-host compute-1").status == 1);
}
