// SPDX-License-Identifier: Apache-2.0
// Work requests on the real services (HostService's command queue through
// HostServiceCommands), a MemoryStore and a ManualClock: agents are played by reports.
#include "patch_controller/service_fixture.hpp"

#include <service/errors.hpp>
#include <work/rate_limits.hpp>

#include <catch2/catch.hpp>

#include <algorithm>

using namespace patching;
using namespace patching::test;
using controller::WorkOutcome;
using controller::WorkState;

namespace {

class WorkFixture : public ServiceFixture {
public:
    /// Hosts that have reported (idle, current).
    void hosts(int n) {
        for (int i = 1; i <= n; ++i) {
            report(host(i));
        }
    }
    static std::string host(int i) { return "host-" + std::to_string(i); }

    /// The agent on `host` reports command `id` with `status` ("running", "ok", "failed", "rejected").
    void agent(const std::string& host, const std::string& id, const std::string& status,
               const std::string& reason = "") {
        core::protocol::AgentReport r;
        r.hostname = host;
        r.report_id = host + "-" + id + "-" + status + "-" + std::to_string(++reports_);
        r.op_counter = ctl().hosts().published_op_counter();
        r.sw_version = "22.12";
        r.personality = "controller";
        r.nodetype = "controller";
        r.state = status == "running" ? core::protocol::HostState::INSTALLING : core::protocol::HostState::IDLE;
        r.command = core::protocol::CommandReport{
            id, core::protocol::CommandKind::INSTALL, *core::protocol::parse_command_status(status), reason, "", 0, 0};
        ctl().hosts().agent_report(r, "192.0.2.10");
    }

    controller::StoredWorkRequest wr(std::int64_t id) { return *store.work_queries().work_request(id); }

    std::vector<controller::StoredWorkRequest> children(std::int64_t parent) {
        controller::WorkRequestFilter f;
        f.parent_id = parent;
        f.limit = 1000;
        auto out = store.work_queries().list_work_requests(f);
        std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
        return out;
    }

    std::vector<controller::StoredWorkRequest> running(std::int64_t parent) {
        std::vector<controller::StoredWorkRequest> out;
        for (const auto& c : children(parent)) {
            if (c.state == WorkState::IN_PROGRESS || c.state == WorkState::CANCELING) {
                out.push_back(c);
            }
        }
        return out;
    }

    controller::StoredWorkRequest install(std::vector<std::string> hs, std::string conc, std::string errors,
                                          std::vector<int> retry = {}) {
        controller::InstallRequest r;
        r.hosts = std::move(hs);
        r.max_concurrency = std::move(conc);
        r.max_errors = std::move(errors);
        r.retry_intervals = std::move(retry);
        r.created_by = "admin";
        return ctl().work().submit_install(r);
    }

    bool log_mentions(std::int64_t id, const std::string& text) {
        for (const auto& e : store.work_queries().work_logs(id, 0, 10000)) {
            if (e.message.find(text) != std::string::npos) {
                return true;
            }
        }
        return false;
    }

private:
    int reports_ = 0;
};

}  // namespace

TEST_CASE("work: max-concurrency and max-errors parse and round as written down", "[work]") {
    using namespace controller;
    CHECK(resolve_max_concurrency(*parse_max_concurrency("10%"), 50) == 5);
    CHECK(resolve_max_concurrency(*parse_max_concurrency("10%"), 5) == 1);  // floor 0, at least 1
    CHECK(resolve_max_concurrency(*parse_max_concurrency("100%"), 7) == 7);
    CHECK(resolve_max_concurrency(*parse_max_concurrency("3"), 2) == 3);
    CHECK(resolve_max_errors(*parse_max_errors("10%"), 50) == 5);  // exhausted at the sixth failure
    CHECK(resolve_max_errors(*parse_max_errors("10%"), 9) == 0);
    CHECK(resolve_max_errors(*parse_max_errors("0"), 9) == 0);
    CHECK(resolve_max_errors(*parse_max_errors("0%"), 9) == 0);
    for (const char* bad : {"0", "0%", "101%", "05", "-1", "", "%", "1.5", "abc", "1000000000"}) {
        CHECK_FALSE(parse_max_concurrency(bad));
    }
    for (const char* bad : {"101%", "05", "-1", "", "%", "x%"}) {
        CHECK_FALSE(parse_max_errors(bad));
    }
}

TEST_CASE_METHOD(WorkFixture, "work: an install over 5 hosts runs at most and at least 2 at once", "[work]") {
    hosts(5);
    auto parent = install({host(1), host(2), host(3), host(4), host(5)}, "2", "0");
    CHECK(parent.state == WorkState::WAITING);
    CHECK(parent.total == 5);
    CHECK(children(parent.id).size() == 5);
    int finished = 0;
    while (finished < 5) {
        ctl().work().tick();
        auto now_running = running(parent.id);
        const int left = 5 - finished;
        CHECK(static_cast<int>(now_running.size()) == std::min(2, left));
        REQUIRE_FALSE(now_running.empty());
        // The first of them finishes; the agent reports running, then ok.
        agent(now_running[0].host, now_running[0].command_id, "running");
        CHECK(ctl().hosts().list().size() == 5);
        agent(now_running[0].host, now_running[0].command_id, "ok");
        ++finished;
        clock.advance(2);
    }
    ctl().work().tick();
    parent = wr(parent.id);
    CHECK(parent.state == WorkState::SUCCEEDED);
    CHECK(parent.outcome == WorkOutcome::COMPLETE);
    CHECK(parent.succeeded == 5);
    CHECK(parent.percent_complete == 100);
    CHECK(parent.time_finished != 0);
    CHECK(log_mentions(parent.id, "install succeeded"));
    for (const auto& c : children(parent.id)) {
        CHECK(c.target_set.empty());  // nothing applied: the frozen set is the empty applied set
        CHECK(c.state == WorkState::SUCCEEDED);
    }
}

TEST_CASE_METHOD(WorkFixture, "work: a failure past max-errors stops dispatch and cancels the rest", "[work]") {
    hosts(4);
    auto parent = install({host(1), host(2), host(3), host(4)}, "1", "0");
    ctl().work().tick();
    auto r = running(parent.id);
    REQUIRE(r.size() == 1);
    agent(r[0].host, r[0].command_id, "failed", "scriptlet exited 1");
    ctl().work().tick();
    parent = wr(parent.id);
    CHECK(parent.state == WorkState::FAILED);
    CHECK(parent.outcome == WorkOutcome::BUDGET_EXHAUSTED);
    CHECK(parent.failed == 1);
    CHECK(parent.canceled == 3);
    for (const auto& c : children(parent.id)) {
        if (c.state == WorkState::CANCELED) {
            CHECK(c.message.find("TERMINATED: the error budget is exhausted") != std::string::npos);
        }
    }
    auto errors = store.work_queries().work_errors(parent.id, 0, 100);
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].code == "INSTALL_FAILED");
    CHECK(errors[0].host == r[0].host);
    CHECK(errors[0].retryable);
    CHECK(errors[0].message.find("scriptlet exited 1") != std::string::npos);
}

TEST_CASE_METHOD(WorkFixture, "work: in-flight children finish after exhaustion and the overshoot is reported",
                 "[work]") {
    hosts(3);
    auto parent = install({host(1), host(2), host(3)}, "2", "0");
    ctl().work().tick();
    auto r = running(parent.id);
    REQUIRE(r.size() == 2);
    agent(r[0].host, r[0].command_id, "failed", "boom");
    ctl().work().tick();
    CHECK(wr(parent.id).state == WorkState::IN_PROGRESS);  // the second is still installing
    CHECK(running(parent.id).size() == 1);
    agent(r[1].host, r[1].command_id, "failed", "boom too");
    ctl().work().tick();
    parent = wr(parent.id);
    CHECK(parent.outcome == WorkOutcome::BUDGET_EXHAUSTED);
    CHECK(parent.failed == 2);
    CHECK(parent.canceled == 1);
    CHECK(parent.message.find("overshoot") != std::string::npos);
}

TEST_CASE_METHOD(WorkFixture, "work: a rejected install (not locked) is not retryable", "[work]") {
    hosts(1);
    auto parent = install({host(1)}, "1", "0", {5});
    ctl().work().tick();
    auto r = running(parent.id);
    agent(r[0].host, r[0].command_id, "rejected", "host is not locked");
    ctl().work().tick();
    auto c = children(parent.id)[0];
    CHECK(c.failure_kind == "INSTALL_REJECTED");
    CHECK_FALSE(c.retryable);
    CHECK(ctl().work().busy_with(host(1)) == 0);  // no automatic retry was made
}

TEST_CASE_METHOD(WorkFixture, "work: cancel ends waiting children, and running ones report their real outcome",
                 "[work]") {
    hosts(3);
    auto parent = install({host(1), host(2), host(3)}, "1", "0");
    ctl().work().tick();
    auto r = running(parent.id);
    REQUIRE(r.size() == 1);
    parent = ctl().work().cancel(parent.id, "alice");
    CHECK(parent.state == WorkState::CANCELING);
    CHECK(parent.canceled == 2);
    CHECK(running(parent.id)[0].state == WorkState::CANCELING);
    ctl().work().tick();
    CHECK(running(parent.id).size() == 1);  // never a half-installed host, nothing new sent
    agent(r[0].host, r[0].command_id, "ok");
    ctl().work().tick();
    parent = wr(parent.id);
    CHECK(parent.state == WorkState::CANCELED);
    CHECK(parent.outcome == WorkOutcome::CANCELED_BY_USER);
    CHECK(parent.succeeded == 1);
    CHECK(parent.canceled == 2);
    CHECK_THROWS_AS(ctl().work().cancel(parent.id, "alice"), controller::Conflict);
    CHECK_THROWS_AS(ctl().work().cancel(999, "alice"), controller::NotFound);
}

TEST_CASE_METHOD(WorkFixture, "work: rerun runs only the failed children, on their frozen targets", "[work]") {
    hosts(3);
    auto parent = install({host(1), host(2), host(3)}, "3", "3");
    ctl().work().tick();
    auto r = running(parent.id);
    REQUIRE(r.size() == 3);
    agent(r[0].host, r[0].command_id, "ok");
    agent(r[1].host, r[1].command_id, "failed", "disk full");
    agent(r[2].host, r[2].command_id, "failed", "disk full");
    ctl().work().tick();
    parent = wr(parent.id);
    CHECK(parent.outcome == WorkOutcome::INCOMPLETE);
    CHECK_THROWS_AS(ctl().work().rerun(children(parent.id)[0].id, "bob"), controller::Conflict);

    SECTION("same target: the failed hosts run again") {
        auto again = ctl().work().rerun(parent.id, "bob");
        CHECK(again.rerun_of == parent.id);
        CHECK(again.initiator == controller::Initiator::RERUN);
        auto kids = children(again.id);
        REQUIRE(kids.size() == 2);
        CHECK(kids[0].host == r[1].host);
        CHECK(kids[1].host == r[2].host);
        ctl().work().tick();
        CHECK(running(again.id).size() == 2);
    }
    SECTION("target changed since accept: FAILED naming both sets, nothing sent") {
        import_fixtures();
        ctl().lifecycle().apply({{P1}, true});
        auto again = ctl().work().rerun(parent.id, "bob");
        ctl().work().tick();
        again = wr(again.id);
        CHECK(again.state == WorkState::FAILED);
        for (const auto& c : children(again.id)) {
            CHECK(c.failure_kind == "TARGET_CHANGED");
            CHECK(c.message.find("patches (none)") != std::string::npos);
            CHECK(c.message.find("patches " + P1) != std::string::npos);
            CHECK(c.command_id.empty());
        }
    }
}

TEST_CASE_METHOD(WorkFixture, "work: one host, one operation, in either order", "[work]") {
    hosts(2);
    ctl().groups().create({"edge", "", {host(1), host(2)}, "", {}, 0, 0});
    SECTION("a group install first, then a single install is refused naming it") {
        auto first = install(ctl().groups().resolve("edge"), "1", "0");
        try {
            ctl().work().install_now(host(2), false, "admin");
            FAIL("not refused");
        } catch (const controller::Conflict& e) {
            CHECK(std::string(e.what()).find("work request " + std::to_string(first.id)) != std::string::npos);
        }
    }
    SECTION("a single install first, then the group install is refused naming it") {
        auto first = ctl().work().install_now(host(2), false, "admin");
        CHECK(first.state == WorkState::IN_PROGRESS);
        try {
            install(ctl().groups().resolve("edge"), "1", "0");
            FAIL("not refused");
        } catch (const controller::ServiceError& e) {
            // host-2 is installing: host-install's own rule or the work request's, both name it.
            CHECK(std::string(e.what()).find(std::to_string(first.id)) != std::string::npos);
        }
    }
}

TEST_CASE_METHOD(WorkFixture, "work: host-install-async keeps host-install's errors and sends at once", "[work]") {
    hosts(1);
    CHECK_THROWS_AS(ctl().work().install_now("nobody", false, "admin"), controller::NotFound);
    auto parent = ctl().work().install_now(host(1), false, "admin");
    auto news = ctl().hosts().agent_news(host(1), "stale-report");
    auto kids = children(parent.id);
    REQUIRE(kids.size() == 1);
    CHECK(kids[0].command_id == "wr-" + std::to_string(kids[0].id) + "-" + std::to_string(kids[0].time_accepted));
    agent(host(1), kids[0].command_id, "running");
    CHECK_THROWS_AS(ctl().work().install_now(host(1), false, "admin"), controller::Conflict);
    clock.advance(config.agent_stale_seconds + 1);
    CHECK_THROWS_AS(ctl().hosts().install_command(host(1), false), controller::Conflict);  // stale
}

TEST_CASE_METHOD(WorkFixture, "work: bad input names the field", "[work]") {
    hosts(1);
    auto field_of = [&](std::vector<std::string> hs, std::string c, std::string e) {
        try {
            install(std::move(hs), std::move(c), std::move(e));
        } catch (const controller::InvalidField& err) {
            return err.field();
        }
        return std::string("(accepted)");
    };
    CHECK(field_of({host(1)}, "101%", "0") == "max_concurrency");
    CHECK(field_of({host(1)}, "1", "200%") == "max_errors");
    CHECK(field_of({}, "1", "0") == "hosts");
    CHECK(field_of({"ghost"}, "1", "0") == "hosts");
    ctl().groups().create({"empty", "", {}, "", {}, 0, 0});
    try {
        ctl().groups().resolve("empty");
        FAIL("empty group resolved");
    } catch (const controller::InvalidField& e) {
        CHECK(e.field() == "group");
        CHECK(std::string(e.what()).find("empty") != std::string::npos);
    }
    CHECK_THROWS_AS(ctl().groups().resolve("nope"), controller::InvalidField);
}

TEST_CASE_METHOD(WorkFixture, "work: an unreachable host is SKIPPED at once and costs no budget", "[work]") {
    hosts(2);
    clock.advance(config.agent_stale_seconds + 1);
    report(host(2));
    auto parent = install({host(1), host(2)}, "2", "0");
    auto kids = children(parent.id);
    CHECK(kids[0].state == WorkState::SKIPPED);
    CHECK(kids[0].message.find("UNREACHABLE") != std::string::npos);
    ctl().work().tick();
    auto r = running(parent.id);
    REQUIRE(r.size() == 1);
    agent(r[0].host, r[0].command_id, "ok");
    ctl().work().tick();
    parent = wr(parent.id);
    CHECK(parent.state == WorkState::SUCCEEDED);
    CHECK(parent.skipped == 1);
}

TEST_CASE_METHOD(WorkFixture, "work: after a restart nothing is lost, nothing runs twice, nothing hangs", "[work]") {
    hosts(3);
    auto parent = install({host(1), host(2), host(3)}, "3", "0");
    ctl().work().tick();
    auto r = running(parent.id);
    REQUIRE(r.size() == 3);
    agent(r[0].host, r[0].command_id, "running");  // host-1 got it and runs it
    restart();                                       // kill -9: the queues come back from the store
    // host-1's agent reports its outcome for the command it ran.
    agent(r[0].host, r[0].command_id, "ok");
    // host-2's agent had not polled yet: its command still waits in its queue, once.
    report(r[1].host);
    ctl().work().tick();
    auto kids = children(parent.id);
    CHECK(kids[0].state == WorkState::SUCCEEDED);
    CHECK(kids[1].state == WorkState::IN_PROGRESS);
    const auto waiting = ctl().hosts().commands(r[1].host);
    REQUIRE(waiting.size() == 1);
    CHECK(waiting[0].id == r[1].command_id);
    CHECK(waiting[0].status == core::protocol::CommandStatus::QUEUED);
    CHECK(ctl().hosts().commands(r[0].host).size() == 1);
    // host-3 never reports again: its child fails after the install timeout, never hangs.
    clock.advance(3601);
    report(r[1].host);
    ctl().work().tick();
    kids = children(parent.id);
    CHECK(kids[2].state == WorkState::FAILED);
    CHECK(kids[2].failure_kind == "STALL");
}

TEST_CASE_METHOD(WorkFixture,
                 "work: a child's finished command outlives the host's command history until the engine has read it, "
                 "across a restart",
                 "[work]") {
    config.host_command_history = 2;
    hosts(1);
    auto parent = install({host(1)}, "1", "0");
    ctl().work().tick();
    auto r = running(parent.id);
    REQUIRE(r.size() == 1);
    const std::string work_command = r[0].command_id;
    agent(host(1), work_command, "ok");
    // Before the engine reads the outcome, three more commands finish on the host: the history
    // keeps 2, yet the work command stays.
    for (int i = 0; i < 3; ++i) {
        const std::string id = ctl().hosts().enqueue(host(1), {core::protocol::CommandKind::INSTALL, false, "other-" + std::to_string(i)});
        agent(host(1), id, "ok");
    }
    CHECK(ctl().hosts().command(work_command));
    CHECK_FALSE(ctl().hosts().command("other-0"));
    restart();  // the outcome the engine had not read is only in the store now
    report(host(1));
    CHECK(ctl().hosts().command(work_command));
    ctl().work().tick();
    CHECK(wr(parent.id).state == WorkState::SUCCEEDED);
    CHECK_FALSE(log_mentions(parent.id, "sent again"));
    // Read and committed: the next finished command prunes it like any other.
    agent(host(1), ctl().hosts().enqueue(host(1), {core::protocol::CommandKind::INSTALL, false, "other-3"}), "ok");
    CHECK_FALSE(ctl().hosts().command(work_command));
}

TEST_CASE_METHOD(WorkFixture, "work: a command id recorded but not yet queued (killed in between) is queued once",
                 "[work]") {
    hosts(1);
    auto parent = install({host(1)}, "1", "0");
    ctl().work().tick();
    auto r = running(parent.id);
    REQUIRE(r.size() == 1);
    // The controller recorded this id in the child and was killed before the queue had it.
    controller::StoredWorkRequest child = r[0];
    child.command_id = "wr-" + std::to_string(child.id) + "-killed";
    store.write([&](controller::WriteTransaction& tx) { tx.work().put_work_request(child); });
    restart();
    report(host(1));
    auto queued = [&] {
        int n = 0;
        for (const auto& c : ctl().hosts().commands(host(1))) {
            n += c.id == child.command_id ? 1 : 0;
        }
        return n;
    };
    CHECK(queued() == 0);
    ctl().work().tick();
    CHECK(log_mentions(parent.id, "command " + child.command_id + " sent again"));
    CHECK(queued() == 1);
    // Sending the id again (another tick, another restart) queues nothing more.
    ctl().work().tick();
    restart();
    report(host(1));
    ctl().work().tick();
    CHECK(ctl().hosts().enqueue(host(1), {core::protocol::CommandKind::INSTALL, false, child.command_id}) ==
          child.command_id);
    CHECK(queued() == 1);
    // The id is the command's key: another host may not take it.
    agent(host(1), child.command_id, "ok");
    ctl().work().tick();
    CHECK(wr(parent.id).state == WorkState::SUCCEEDED);
    CHECK_THROWS_AS(ctl().hosts().enqueue(host(1), {core::protocol::CommandKind::INSTALL, false, "bad id"}),
                    controller::InvalidField);
}

TEST_CASE_METHOD(WorkFixture, "work: a rejected install keeps host-install's reason", "[work]") {
    hosts(1);
    auto parent = ctl().work().install_now(host(1), false, "admin");
    auto kids = children(parent.id);
    REQUIRE(kids.size() == 1);
    auto queued = ctl().hosts().command(kids[0].command_id);
    REQUIRE(queued);
    CHECK(queued->kind == core::protocol::CommandKind::INSTALL);
    agent(host(1), kids[0].command_id, "rejected", "host is not locked and a reboot is required");
    ctl().work().tick();
    kids = children(parent.id);
    CHECK(kids[0].state == WorkState::FAILED);
    CHECK(kids[0].failure_kind == "INSTALL_REJECTED");
    CHECK(kids[0].message.find("host is not locked and a reboot is required") != std::string::npos);
    CHECK(ctl().hosts().list().at(0).install_status == "rejected");
}

TEST_CASE_METHOD(WorkFixture, "work: automatic retries run retryable failures after the interval", "[work]") {
    hosts(1);
    auto parent = install({host(1)}, "1", "0", {5});
    ctl().work().tick();
    auto r = running(parent.id);
    agent(r[0].host, r[0].command_id, "failed", "mirror unreachable");
    ctl().work().tick();
    CHECK(wr(parent.id).state == WorkState::FAILED);
    controller::WorkRequestFilter f;
    f.parent_id = 0;
    auto parents = store.work_queries().list_work_requests(f);
    REQUIRE(parents.size() == 2);
    auto retry = parents[0];
    CHECK(retry.retry_of == parent.id);
    CHECK(retry.initiator == controller::Initiator::RETRY);
    CHECK(retry.time_scheduled == clock.now_seconds() + 300);
    ctl().work().tick();
    CHECK(running(retry.id).empty());  // not before its time
    clock.advance(300);
    report(host(1));  // still alive
    ctl().work().tick();
    r = running(retry.id);
    REQUIRE(r.size() == 1);
    agent(r[0].host, r[0].command_id, "failed", "mirror unreachable");
    ctl().work().tick();
    CHECK(wr(retry.id).state == WorkState::FAILED);
    CHECK(store.work_queries().list_work_requests(f).size() == 2);  // one interval: one retry
}

TEST_CASE_METHOD(WorkFixture, "work: retention deletes finished work requests only", "[work]") {
    hosts(2);
    auto done = install({host(1)}, "1", "0");
    ctl().work().tick();
    agent(host(1), running(done.id)[0].command_id, "ok");
    ctl().work().tick();
    auto open = install({host(2)}, "1", "0");
    clock.advance(181LL * 86400);
    CHECK(ctl().work().purge() == 1);
    CHECK_FALSE(store.work_queries().work_request(done.id));
    CHECK(store.work_queries().work_logs(done.id, 0, 10).empty());
    CHECK(store.work_queries().work_request(open.id));
}

TEST_CASE_METHOD(WorkFixture, "groups: one group per host, labels, persistence", "[work][groups]") {
    hosts(3);
    auto edge = ctl().groups().create({"edge", "edge sites", {host(1)}, "", {{"site", "north"}}, 0, 0});
    CHECK(edge.hosts == std::vector<std::string>{host(1)});
    CHECK_THROWS_AS(ctl().groups().create({"other", "", {host(1)}, "", {}, 0, 0}), controller::Conflict);
    CHECK_THROWS_AS(ctl().groups().create({"bad name", "", {}, "", {}, 0, 0}), controller::InvalidField);
    ctl().groups().label(host(2), {{"site", "north"}});  // joins edge by its rule
    CHECK(ctl().groups().show("edge").hosts == std::vector<std::string>{host(1), host(2)});
    ctl().groups().create({"core", "", {host(3)}, "", {}, 0, 0});
    // host-3 labelled into edge would be in two groups: refused, naming both.
    try {
        ctl().groups().label(host(3), {{"site", "north"}});
        FAIL("label applied");
    } catch (const controller::Conflict& e) {
        CHECK(std::string(e.what()).find("host-3") != std::string::npos);
    }
    // host-2 unlabelled would leave edge: refused, not applied silently.
    CHECK_THROWS_AS(ctl().groups().label(host(2), {{"site", ""}}), controller::Conflict);
    CHECK_THROWS_AS(ctl().groups().add_hosts("edge", {host(3)}, 99), controller::PreconditionFailed);
    auto g = ctl().groups().remove_hosts("edge", {host(1)}, ctl().groups().show("edge").group.revision);
    CHECK(g.hosts == std::vector<std::string>{host(2)});
    restart();
    CHECK(ctl().groups().list().size() == 2);
    CHECK(ctl().groups().show("edge").hosts == std::vector<std::string>{host(2)});
    ctl().groups().remove("core");
    CHECK_THROWS_AS(ctl().groups().show("core"), controller::NotFound);
}
