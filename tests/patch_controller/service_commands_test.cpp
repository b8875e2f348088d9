// SPDX-License-Identifier: Apache-2.0
// The host command queue (issue #9 item 7): order, ids, persistence across restarts, the
// agent's acknowledgements and outcomes, the boot-id rule for reboots, the bounded history,
// and the observer interface the work-request engine uses. MemoryStore and ManualClock.
#include "patch_controller/service_fixture.hpp"

#include <service/errors.hpp>

#include <catch2/catch.hpp>

using namespace patching;
using namespace patching::test;
namespace proto = patching::core::protocol;
using proto::CommandKind;
using proto::CommandStatus;

namespace {

/// Records what an observer hears.
class Recorder final : public controller::CommandObserver {
public:
    void on_command(const controller::CommandRecord& record) override { seen.push_back(record); }
    std::vector<std::string> statuses(const std::string& id) const {
        std::vector<std::string> out;
        for (const auto& r : seen) {
            if (r.id == id) {
                out.emplace_back(proto::to_string(r.status));
            }
        }
        return out;
    }
    std::vector<controller::CommandRecord> seen;
};

class CommandFixture : public ServiceFixture {
public:
    CommandFixture() {
        report("host-1");
        report_id_ = "host-1-" + std::to_string(clock.now_seconds());
        hosts().add_observer(recorder);
    }
    ~CommandFixture() { hosts().remove_observer(recorder); }

    controller::HostService& hosts() { return ctl().hosts(); }
    /// What host-1's agent hears at its next poll.
    std::optional<proto::Command> poll() { return hosts().agent_news("host-1", report_id_).command; }
    /// A report from host-1 naming `command` (or none).
    void report_command(const std::optional<proto::CommandReport>& command, const std::string& failure = "") {
        proto::AgentReport r;
        r.hostname = "host-1";
        r.report_id = report_id_;
        r.op_counter = hosts().published_op_counter();
        r.sw_version = "22.12";
        r.personality = "controller";
        r.subfunctions = {"controller"};
        r.nodetype = "controller";
        r.command = command;
        r.failure_reason = failure;
        hosts().agent_report(r, "192.0.2.10");
    }
    static proto::CommandReport status(const std::string& id, CommandStatus s, const std::string& reason = "") {
        return {id, CommandKind::INSTALL, s, reason, "", 0, 0};
    }
    CommandStatus status_of(const std::string& id) {
        auto c = hosts().command(id);
        REQUIRE(c);
        return c->status;
    }

    Recorder recorder;

private:
    std::string report_id_;
};

}  // namespace

TEST_CASE_METHOD(CommandFixture, "commands: a host's queue runs in order, one head at a time", "[service][commands]") {
    const auto a = hosts().enqueue("host-1", {CommandKind::INSTALL, false});
    const auto b = hosts().enqueue("192.0.2.10", {CommandKind::INSTALL, true});  // by address
    CHECK(a != b);
    CHECK(status_of(a) == CommandStatus::QUEUED);
    REQUIRE(store.load_commands().size() == 2);
    CHECK(store.load_commands()[0].id == a);

    // The head goes out, and again at every poll until the agent acknowledges it.
    REQUIRE(poll());
    CHECK(poll()->id == a);
    CHECK(status_of(a) == CommandStatus::SENT);
    report_command(status(a, CommandStatus::RUNNING));
    CHECK(status_of(a) == CommandStatus::RUNNING);
    CHECK_FALSE(poll());  // acknowledged: not repeated, and b waits behind it
    CHECK(hosts().list()[0].install_pending);
    CHECK(hosts().list()[0].install_status == "running");

    clock.advance(7);
    report_command(status(a, CommandStatus::OK));
    const auto done = hosts().command(a);
    REQUIRE(done);
    CHECK(done->status == CommandStatus::OK);
    CHECK(done->finished_at == clock.now_seconds());
    CHECK(store.load_commands()[0].status == CommandStatus::OK);
    REQUIRE(poll());
    CHECK(poll()->id == b);
    CHECK(poll()->force);
    CHECK(recorder.statuses(a) == std::vector<std::string>{"queued", "sent", "running", "ok"});

    // The agent repeats its report of a finished command: nothing changes, nobody is told.
    const auto heard = recorder.seen.size();
    report_command(status(a, CommandStatus::OK));
    CHECK(recorder.seen.size() == heard);
    CHECK(hosts().commands("host-1").size() == 2);
    CHECK_THROWS_AS(hosts().enqueue("nobody", {}), controller::NotFound);
}

TEST_CASE_METHOD(CommandFixture, "commands: the queue survives a controller restart", "[service][commands]") {
    const auto a = hosts().enqueue("host-1", {});
    REQUIRE(poll());
    const auto b = hosts().enqueue("host-1", {});
    restart();
    hosts().add_observer(recorder);
    CHECK(status_of(a) == CommandStatus::SENT);
    CHECK(status_of(b) == CommandStatus::QUEUED);
    CHECK(hosts().list()[0].install_pending);
    report("host-1");  // the agent reports again after the restart
    report_command(status(a, CommandStatus::FAILED, "no space left"));
    CHECK(status_of(a) == CommandStatus::FAILED);
    CHECK(hosts().command(a)->reason == "no space left");
    REQUIRE(poll());
    CHECK(poll()->id == b);
    // New ids never repeat old ones.
    const auto c = hosts().enqueue("host-1", {});
    CHECK(c != a);
    CHECK(c != b);
}

TEST_CASE_METHOD(CommandFixture, "commands: an acknowledged command the agent no longer knows has failed",
                 "[service][commands]") {
    const auto a = hosts().enqueue("host-1", {});
    REQUIRE(poll());
    report_command(status(a, CommandStatus::RUNNING));
    report_command(std::nullopt, "Install was interrupted");
    CHECK(status_of(a) == CommandStatus::FAILED);
    CHECK(hosts().command(a)->reason == "Install was interrupted");
    CHECK(hosts().list()[0].install_status == "failed");
    CHECK_FALSE(hosts().list()[0].install_pending);
}

TEST_CASE_METHOD(CommandFixture, "commands: a reboot is done when the hello carries a new boot id, never reissued",
                 "[service][commands]") {
    hosts().agent_hello("host-1", "boot-A", "192.0.2.10");
    const auto reboot = hosts().enqueue("host-1", {CommandKind::REBOOT, false});
    const auto after = hosts().enqueue("host-1", {CommandKind::INSTALL, false});

    SECTION("a new boot id before the reboot was handed out does not finish it") {
        hosts().agent_hello("host-1", "boot-B", "192.0.2.10");
        CHECK(status_of(reboot) == CommandStatus::QUEUED);
    }
    SECTION("handed out, then the same boot id, then a new one") {
        REQUIRE(poll());
        CHECK(poll()->kind == CommandKind::REBOOT);
        CHECK(hosts().command(reboot)->boot_id == "boot-A");
        report_command(proto::CommandReport{reboot, CommandKind::REBOOT, CommandStatus::RUNNING, "", "", 0, 0});
        hosts().agent_hello("host-1", "boot-A", "192.0.2.10");  // the agent restarted, no reboot
        CHECK(status_of(reboot) == CommandStatus::RUNNING);
        hosts().agent_hello("host-1", "boot-B", "192.0.2.10");
        CHECK(status_of(reboot) == CommandStatus::OK);
        CHECK_THAT(hosts().command(reboot)->reason, Catch::Contains("boot-A") && Catch::Contains("boot-B"));
        CHECK(store.load_hosts()[0].boot_id == "boot-B");
        // Never handed out again: not after the reboot, not after a controller restart.
        REQUIRE(poll());
        CHECK(poll()->id == after);
        restart();
        report("host-1");
        CHECK(status_of(reboot) == CommandStatus::OK);
        REQUIRE(poll());
        CHECK(poll()->id == after);
        hosts().agent_hello("host-1", "boot-C", "192.0.2.10");
        CHECK(status_of(reboot) == CommandStatus::OK);
    }
}

TEST_CASE_METHOD(CommandFixture, "commands: history is bounded per host, drop-host forgets the commands",
                 "[service][commands]") {
    config.host_command_history = 2;
    std::vector<std::string> ids;
    for (int i = 0; i < 3; ++i) {
        ids.push_back(hosts().enqueue("host-1", {}));
        REQUIRE(poll());
        report_command(status(ids.back(), CommandStatus::OK));
    }
    CHECK_FALSE(hosts().command(ids[0]));
    CHECK(hosts().command(ids[1]));
    CHECK(hosts().command(ids[2]));
    CHECK(store.load_commands().size() == 2);
    hosts().enqueue("host-1", {});
    hosts().drop("host-1");
    CHECK(store.load_commands().empty());
    CHECK_FALSE(hosts().command(ids[2]));
}

TEST_CASE_METHOD(CommandFixture, "commands: host-install queues one install, a second waits for the first",
                 "[service][commands]") {
    hosts().install("host-1", false);
    hosts().install("host-1", false);  // still waiting for the agent: the same request
    REQUIRE(hosts().commands("host-1").size() == 1);
    const auto id = hosts().commands("host-1")[0].id;
    REQUIRE(poll());
    report_command(status(id, CommandStatus::RUNNING));
    CHECK_THROWS_AS(hosts().install("host-1", false), controller::Conflict);
    report_command(status(id, CommandStatus::REJECTED, "Node must be locked."));
    CHECK(hosts().list()[0].install_status == "rejected");
    CHECK(hosts().list()[0].install_reject_reason == "Node must be locked.");
    hosts().install("host-1", true);
    CHECK(hosts().commands("host-1").size() == 2);
    CHECK(hosts().list()[0].install_status.empty());  // the new request waits
}
