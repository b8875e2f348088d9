// SPDX-License-Identifier: Apache-2.0
// End to end (issue #9 items 6 and 7): a daemon's clock moved by a test through the clock file;
// an agent of the previous protocol version refused with both versions named; a command id the
// controller sends again acknowledged by the real agent without running it again; the boot id
// of the agent's hello recorded on the host.
#include "patch_agent/e2e_cluster.hpp"

#include <patch_core/clock.hpp>
#include <patch_core/fs.hpp>
#include <patch_core/messages.hpp>

#include <catch2/catch.hpp>

#include <future>

using namespace patching;
using namespace patching::test;
using namespace patching::test::e2e;
using nlohmann::json;
using namespace std::chrono_literals;
namespace proto = patching::core::protocol;

namespace {

/// Runs a python3 sqlite3 statement on the controller's database; returns its printed rows.
std::string sql(const ControllerHarness& controller, const std::string& statement) {
    const std::filesystem::path script = controller.root() / "sql.py";
    write_file(script,
               "import sqlite3, sys\n"
               "db = sqlite3.connect(sys.argv[1])\n"
               "rows = db.execute(sys.argv[2]).fetchall()\n"
               "db.commit()\n"
               "for row in rows: print('|'.join(str(c) for c in row))\n");
    std::string out;
    const int status = run_command("python3 " + script.string() + " " + (controller.state_dir() / "patching.db").string() +
                                       " \"" + statement + "\"",
                                   &out);
    INFO(out);
    REQUIRE(status == 0);
    while (!out.empty() && out.back() == '\n') {
        out.pop_back();
    }
    return out;
}

std::size_t occurrences(const std::string& text, const std::string& needle) {
    std::size_t n = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
        ++n;
    }
    return n;
}

}  // namespace

TEST_CASE(
    "Moving the controller's clock file makes a silent host stale and ends a held poll at once",
    "[agent][e2e][clock]") {
    if (!core::test_clock_compiled_in()) {
        skip_test("the clock file is compiled out of this build (PATCHING_TEST_CLOCK=OFF)");
        return;
    }
    ControllerHarness::Options options = agent_controller_options();
    // Nothing here may happen in real time: a host goes stale after an hour, a poll is held a minute.
    options.extra_config = {"agent_poll_seconds = 60", "agent_stale_seconds = 3600"};
    ControllerHarness controller(options);
    const std::filesystem::path clock_file = controller.root() / "clock";
    const std::int64_t t0 = core::SystemClock::instance().now_seconds();
    core::write_file_atomically(clock_file, std::to_string(t0) + "\n");
    controller.set_environment({std::string(core::CLOCK_FILE_ENV) + "=" + clock_file.string()});
    controller.start();
    const std::filesystem::path credentials = controller.root() / "h1.credentials";
    REQUIRE(run_patch_controller(controller, "enrol-host h1 --output " + credentials.string()).status == 0);

    ProtocolClient agent(controller, credentials);
    REQUIRE(agent.hello().status == 200);
    const std::string report = agent.report_body("h1", "idle");
    const Response ack = agent.send(std::string(proto::PATH_REPORT), report);
    INFO(ack.text);
    REQUIRE(ack.status == 200);
    CHECK(host_entry(controller, "h1")["stale"] == false);

    // An hour and a bit later by the controller's clock: stale, though only moments passed.
    const auto real_start = std::chrono::steady_clock::now();
    core::write_file_atomically(clock_file, std::to_string(t0 + 3700) + "\n");
    const json stale = wait_for_host(
        controller, "h1", "stale after the clock moved", [](const json& h) { return h.value("stale", false); },
        5s);
    CHECK(stale["secs_since_ack"].get<std::int64_t>() >= 3600);
    CHECK(std::chrono::steady_clock::now() - real_start < 5s);
    CHECK(contains(run_sw_patch(controller, "query-hosts").output, "stale"));

    // A poll with nothing new is held for a minute of controller time; moving the clock past
    // that answers it at once ("nothing new"), long before a real minute.
    proto::PollRequest poll;
    poll.op_counter = proto::parse_poll_reply(ack.text).op_counter;
    poll.report_id = json::parse(report)["report_id"].get<std::string>();
    poll.wait_ms = 60000;
    auto held = std::async(std::launch::async, [&] { return agent.send(std::string(proto::PATH_POLL), proto::to_json(poll)); });
    REQUIRE(held.wait_for(1500ms) == std::future_status::timeout);
    const auto moved = std::chrono::steady_clock::now();
    core::write_file_atomically(clock_file, std::to_string(t0 + 3700 + 120) + "\n");
    REQUIRE(held.wait_for(5s) == std::future_status::ready);
    CHECK(std::chrono::steady_clock::now() - moved < 5s);
    const Response answer = held.get();
    INFO(answer.text);
    CHECK(answer.status == 200);
    CHECK_FALSE(proto::parse_poll_reply(answer.text).command);
    // The poll was a sign of life: fresh again.
    CHECK(host_entry(controller, "h1")["stale"] == false);
}

TEST_CASE("An agent of protocol version 1 is refused, naming both versions and what to do", "[agent][e2e][protocol]") {
    ControllerHarness controller;
    const std::string v1_hello = R"({"protocol":1,"hostname":"old-agent","client_nonce":"00112233445566778899aabbccddeeff","mac":")" +
                                 std::string(64, '0') + "\"}";
    const Response r = controller.request(
        "POST", std::string(proto::PATH_HELLO), "", Body::text(v1_hello, "application/json"));
    INFO(r.text);
    CHECK(r.status == 400);
    const std::string error = json::parse(r.text).value("error", "");
    CHECK(contains(error, "agent protocol version 1 refused"));
    CHECK(contains(error, "this controller speaks version 2"));
    CHECK(contains(error, "upgrade patch-agent on old-agent"));
    CHECK(contains(controller.log(), "agent protocol version 1 refused"));
    // The host table is untouched.
    CHECK(host_entry(controller, "old-agent").is_null());
}

TEST_CASE(
    "A command id the controller sends again is acknowledged by the agent and not run again",
    "[agent][e2e][commands]") {
    Cluster cluster(std::vector<HostSpec>{{"controller-0", "controller"}});
    if (!cluster.ok()) {
        return;
    }
    AgentHarness& agent = cluster.agent("controller-0");
    ControllerHarness& controller = cluster.controller();
    // Two installs, X then Y: both finish (the host is current, so quickly).
    for (int i = 0; i < 2; ++i) {
        const CommandResult install = cluster.sw_patch("host-install controller-0");
        INFO(install.output << "\n" << agent.log());
        REQUIRE(install.status == 0);
    }
    const std::string ids = sql(controller, "SELECT id FROM host_commands ORDER BY seq");
    const auto newline = ids.find('\n');
    REQUIRE(newline != std::string::npos);
    const std::string x = ids.substr(0, newline);
    CHECK(sql(controller, "SELECT status FROM host_commands WHERE id = '" + x + "'") == "ok");
    // The agent's durable record holds both ids.
    CHECK(contains(read_if_exists(agent.state_dir() / "commands"), x + "\tinstall\tok"));
    CHECK(occurrences(agent.log(), "install requested (" + x) == 1);

    // The controller loses X's outcome (as a crash before its commit would) and sends X again.
    const int stopped = controller.stop();
    INFO(controller.log());
    REQUIRE(stopped == 0);
    sql(controller, "UPDATE host_commands SET status = 'queued', finished_at = 0 WHERE id = '" + x + "'");
    controller.start();
    agent.restart();  // the controller listens on a new port: the agent's configuration follows
    REQUIRE(eventually(
        [&] { return sql(controller, "SELECT status FROM host_commands WHERE id = '" + x + "'") == "ok"; }, 30s));
    INFO(agent.log());
    CHECK(contains(agent.log(), "install " + x + " already ran (ok): acknowledged, not run again"));
    CHECK(occurrences(agent.log(), "install requested (" + x) == 1);
    const json h = cluster.wait_settled("controller-0", true);
    CHECK(h["install_status"] == "ok");
}

TEST_CASE("The agent's hello carries its boot id, and a new one after a reboot replaces it", "[agent][e2e][commands]") {
    Cluster cluster(std::vector<HostSpec>{{"controller-0", "controller"}});
    if (!cluster.ok()) {
        return;
    }
    ControllerHarness& controller = cluster.controller();
    // The real agent's boot id is the kernel's.
    std::string kernel = core::read_small_file("/proc/sys/kernel/random/boot_id", 256);
    kernel.erase(kernel.find_last_not_of("\n") + 1);
    CHECK_FALSE(kernel.empty());
    CHECK(sql(controller, "SELECT boot_id FROM hosts WHERE hostname = 'controller-0'") == kernel);

    AgentOptions options;
    options.hostname = "worker-7";
    options.personality = "worker";
    const std::filesystem::path boot_id = cluster.dir() / "worker-7-boot_id";
    write_file(boot_id, "11111111-aaaa-4bbb-8ccc-000000000001\n");
    options.extra_config = {"boot_id_file = " + boot_id.string()};
    AgentHarness agent(controller, cluster.dir() / "worker-7", options);
    REQUIRE(agent.prepare_root(cluster.rpms().base(), cluster.dir() / "work"));
    agent.start();
    cluster.wait_settled("worker-7", true);
    const std::string query = "SELECT boot_id FROM hosts WHERE hostname = 'worker-7'";
    CHECK(sql(controller, query) == "11111111-aaaa-4bbb-8ccc-000000000001");

    // "Reboot": a new boot id, a new agent process.
    agent.stop();
    write_file(boot_id, "22222222-aaaa-4bbb-8ccc-000000000002\n");
    agent.start();
    REQUIRE(eventually([&] { return sql(controller, query) == "22222222-aaaa-4bbb-8ccc-000000000002"; }, 30s));

    // An unreadable boot id file is a clear error in the agent's log, naming the file.
    agent.stop();
    std::filesystem::remove(boot_id);
    agent.start();
    REQUIRE(eventually([&] { return contains(agent.log(), "cannot read the boot id from " + boot_id.string()); },
                       30s));
}
