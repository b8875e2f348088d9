// SPDX-License-Identifier: Apache-2.0
// The host lifecycle in-process (issue #14): the store's administrative state and alarms on both
// implementations, the §8 alarm filter, the alarm service, and lock / reboot / unlock work
// requests run by work/host_flow on the real services (HostService's queue, the WorkEngine, a
// MemoryStore and a ManualClock), agents played by reports and hellos.
#include "patch_controller/service_fixture.hpp"

#include <alarms/alarm_filter.hpp>
#include <alarms/alarm_service.hpp>
#include <service/errors.hpp>
#include <store/memory/memory_store.hpp>
#include <store/sqlite/sqlite_store.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <optional>

using namespace patching;
using namespace patching::test;
using namespace patching::controller;
namespace proto = patching::core::protocol;

namespace {

void check_lifecycle_tables(Store& store) {
    const StoredHostAdmin admin{"h1", true, "alice", "kernel update", 100, 7};
    const StoredAlarm a{"900.205", "host=h1", "major", "drift", 50, true, "controller"};
    const StoredAlarm b{"100.101", "system", "minor", "cpu", 60, false, "monitoring"};
    StoredCommand hook{"w.prelock.0", 1, "h1", proto::CommandKind::HOOK, false, proto::CommandStatus::FAILED,
                       "the pre-lock hook exited 3", "boot-1", 10, 20};
    hook.hook = "pre-lock";
    hook.exit_code = 3;
    hook.output = "not yet\n";
    store.write([&](WriteTransaction& tx) {
        tx.put_host({"h1", "192.0.2.1", 5, "22.12", "controller", "controller", {"controller"}, "boot-1"});
        tx.put_host_admin(admin);
        tx.put_alarm(a);
        tx.put_alarm(b);
        tx.put_command(hook);
    });
    CHECK(store.load_host_admin() == std::vector<StoredHostAdmin>{admin});
    CHECK(store.load_alarms().size() == 2);
    CHECK(store.load_commands() == std::vector<StoredCommand>{hook});
    StoredHostAdmin unlocked = admin;
    unlocked.locked = false;
    store.write([&](WriteTransaction& tx) {
        tx.put_host_admin(unlocked);
        tx.delete_alarm("900.205", "host=h1");
        tx.delete_alarm("900.205", "host=nobody");  // no-op
    });
    CHECK(store.load_host_admin() == std::vector<StoredHostAdmin>{unlocked});
    CHECK(store.load_alarms() == std::vector<StoredAlarm>{b});
}

StoredAlarm alarm(const std::string& id, bool mgmt = true, std::int64_t raised_at = 0) {
    return {id, "system", "major", "r", raised_at, mgmt, "test"};
}

std::vector<std::string> ids(const std::vector<StoredAlarm>& alarms) {
    std::vector<std::string> out;
    for (const auto& a : alarms) {
        out.push_back(a.alarm_id);
    }
    return out;
}

/// A host that has reported; the agent answers the head of its queue.
class LifecycleFixture : public ServiceFixture {
public:
    LifecycleFixture() {
        config.host_reboot_timeout_seconds = 100;
        config.host_hook_retry_seconds = 5;
        restart();
        hello("boot-1");
        report(HOST);
    }
    inline static const std::string HOST = "host-1";

    void hello(const std::string& boot_id) { ctl().hosts().agent_hello(HOST, boot_id, "192.0.2.10"); }

    /// The head of the host's queue (unfinished), after a poll hands it out.
    StoredCommand head() {
        const auto report_id = ctl().hosts().list().at(0).agent->report_id;
        ctl().hosts().agent_news(HOST, report_id);
        for (const auto& c : ctl().hosts().commands(HOST)) {
            if (!proto::is_finished(c.status)) {
                return c;
            }
        }
        FAIL("no command waits on " << HOST);
        return {};
    }

    /// The agent reports the head finished with `status` (and a hook's exit code and output).
    StoredCommand answer(proto::CommandStatus status, int exit_code = 0, const std::string& output = "") {
        const StoredCommand c = head();
        proto::AgentReport r;
        r.hostname = HOST;
        r.report_id = "r-" + std::to_string(++reports_);
        r.op_counter = ctl().hosts().published_op_counter();
        r.sw_version = "22.12";
        r.personality = "controller";
        r.nodetype = "controller";
        r.locked = locked_flag_;
        r.command = proto::CommandReport{c.id, c.kind, status, exit_code == 0 ? "" : "exit " + std::to_string(exit_code)};
        r.command->exit_code = static_cast<std::uint64_t>(exit_code);
        r.command->output = output;
        if (c.kind == proto::CommandKind::LOCK && status == proto::CommandStatus::OK) {
            locked_flag_ = true;
            r.locked = true;
        }
        ctl().hosts().agent_report(r, "192.0.2.10");
        ctl().work().tick();
        return c;
    }

    std::size_t unfinished() {
        const auto all = ctl().hosts().commands(HOST);
        return static_cast<std::size_t>(
            std::count_if(all.begin(), all.end(), [](const auto& c) { return !proto::is_finished(c.status); }));
    }

    StoredWorkRequest wr(std::int64_t id) { return *store.work_queries().work_request(id); }

    StoredWorkRequest child_of(std::int64_t parent) {
        WorkRequestFilter f;
        f.parent_id = parent;
        return store.work_queries().list_work_requests(f).at(0);
    }

    std::string log_of(std::int64_t id) {
        std::string out;
        for (const auto& e : store.work_queries().work_logs(id, 0, 1000)) {
            out += e.phase + ": " + e.message + "\n";
        }
        return out;
    }

private:
    int reports_ = 0;
    bool locked_flag_ = false;
};

}  // namespace

TEST_CASE("Both stores keep the administrative state, alarms and hook outcomes", "[lifecycle][store]") {
    SECTION("memory") {
        MemoryStore store;
        check_lifecycle_tables(store);
    }
    SECTION("sqlite") {
        TempDir dir;
        {
            SqliteStore store(dir.path() / "patching.db");
            check_lifecycle_tables(store);
        }
        SqliteStore reopened(dir.path() / "patching.db");
        CHECK(reopened.load_host_admin().size() == 1);
        CHECK(reopened.load_commands().at(0).output == "not yet\n");
    }
}

TEST_CASE("The alarm filter of stx-orchestration-spec §8", "[lifecycle][alarms]") {
    const std::vector<StoredAlarm> raised = {alarm("900.001"), alarm("200.001"), alarm("100.101"),
                                             alarm("100.102", false), alarm("750.006", true, 1000),
                                             alarm("900.701"), alarm("280.002")};
    SECTION("strict: every alarm blocks but the always-ignored ones") {
        CHECK(ids(blocking_alarms(raised, AlarmRestrictions::STRICT, {})) ==
              std::vector<std::string>{"100.101", "100.102"});
    }
    SECTION("relaxed: alarms that are not management-affecting do not block") {
        CHECK(ids(blocking_alarms(raised, AlarmRestrictions::RELAXED, {})) == std::vector<std::string>{"100.101"});
    }
    SECTION("the caller's ignore list") {
        CHECK(blocking_alarms(raised, AlarmRestrictions::STRICT, {"100.101", "100.102"}).empty());
    }
    SECTION("750.006 blocks a wait for alarms to clear until it is older than 1800 s") {
        CHECK(ids(blocking_alarms(raised, AlarmRestrictions::RELAXED, {}, AlarmCheck::WAIT_CLEAR, 2000)) ==
              std::vector<std::string>{"100.101", "750.006"});
        CHECK(ids(blocking_alarms(raised, AlarmRestrictions::RELAXED, {}, AlarmCheck::WAIT_CLEAR, 2801)) ==
              std::vector<std::string>{"100.101"});
    }
    CHECK(alarm_id_list({alarm("100.101"), alarm("900.205")}) == "['100.101', '900.205']");
}

TEST_CASE("Alarms: raised through the service with checked fields, own alarms written on change", "[lifecycle][alarms]") {
    MemoryStore store;
    core::ManualClock clock;
    AlarmService alarms(store, clock);
    auto field_of = [&](StoredAlarm a) {
        try {
            alarms.raise(std::move(a));
        } catch (const InvalidField& e) {
            return e.field();
        }
        return std::string("(accepted)");
    };
    CHECK(field_of({"1.1", "system", "major", "r", 0, true, ""}) == "alarm_id");
    CHECK(field_of({"100.101", "system", "loud", "r", 0, true, ""}) == "severity");
    CHECK(field_of({"100.101", "nowhere", "major", "r", 0, true, ""}) == "entity");
    CHECK(field_of({"100.101", "system", "major", "", 0, true, ""}) == "reason");
    CHECK(field_of({"100.101", "system", "major", "r", 0, true, "api"}) == "(accepted)");
    CHECK_THROWS_AS(refuse_if_alarmed(alarms, {"h1"}), Conflict);
    alarms.clear("100.101", "system");
    CHECK_THROWS_AS(alarms.clear("100.101", "system"), NotFound);
    CHECK_NOTHROW(refuse_if_alarmed(alarms, {"h1"}));

    const int commits = store.commits();
    alarms.ensure(ALARM_LOCK_DRIFT, host_entity("h1"), true, "drift");
    alarms.ensure(ALARM_LOCK_DRIFT, host_entity("h1"), true, "drift");
    alarms.ensure(ALARM_HOST_LOCKED, host_entity("h2"), true, "locked");
    CHECK(store.commits() == commits + 2);
    CHECK_THROWS_WITH(refuse_if_alarmed(alarms, {"h1", "h2"}), Catch::Contains("['900.205']"));
    CHECK_NOTHROW(refuse_if_alarmed(alarms, {"h2"}));  // 200.001 is always ignored; h1's is not h2's
    alarms.ensure(ALARM_LOCK_DRIFT, host_entity("h1"), false);
    CHECK(alarms.list().size() == 1);
    AlarmService reloaded(store, clock);
    reloaded.load();
    CHECK(reloaded.list() == alarms.list());
}

TEST_CASE("Lock runs the pre-lock hook (exit 3 retried), then writes the flag, and the state survives a restart",
          "[lifecycle][work]") {
    LifecycleFixture f;
    const auto wr = f.ctl().work().submit_host_action(WorkOperation::HOST_LOCK, f.HOST, "window", "alice");
    StoredCommand c = f.answer(proto::CommandStatus::FAILED, 3, "services busy\n");
    CHECK(c.kind == proto::CommandKind::HOOK);
    CHECK(c.hook == "pre-lock");
    f.ctl().work().tick();
    CHECK(f.unfinished() == 0);  // the retry waits host_hook_retry_seconds
    f.clock.advance(5);
    f.ctl().work().tick();
    CHECK(f.head().id != c.id);
    c = f.answer(proto::CommandStatus::OK, 0, "stopped\n");
    CHECK(c.hook == "pre-lock");
    // A restart between the lock command and its outcome: the flow resumes from the store.
    f.restart();
    f.hello("boot-1");
    f.report(f.HOST);
    c = f.answer(proto::CommandStatus::OK);
    CHECK(c.kind == proto::CommandKind::LOCK);
    const auto child = f.child_of(wr.id);
    INFO(f.log_of(wr.id));
    CHECK(child.state == WorkState::SUCCEEDED);
    CHECK(f.log_of(wr.id).find("exited 3 (retryable): retry 1 of 2") != std::string::npos);
    CHECK(f.log_of(wr.id).find("stopped") != std::string::npos);
    const StoredHostAdmin admin = f.ctl().host_admin().admin(f.HOST);
    CHECK(admin.locked);
    CHECK(admin.by == "alice");
    CHECK(admin.reason == "window");
    CHECK(admin.work_request == wr.id);
    f.ctl().host_admin().audit();
    CHECK(f.ctl().host_admin().show(f.HOST).lock_drift == false);
}

TEST_CASE("A reboot is done at a hello with a new boot id, and one that never comes back fails and stays locked",
          "[lifecycle][work]") {
    LifecycleFixture f;
    f.ctl().host_admin().set({f.HOST, true, "alice", "window", 1, 0});
    auto wr = f.ctl().work().submit_host_action(WorkOperation::HOST_REBOOT, f.HOST, "kernel", "alice");
    StoredCommand c = f.head();
    CHECK(c.kind == proto::CommandKind::REBOOT);
    CHECK(f.ctl().host_admin().show(f.HOST).availability == "rebooting");
    f.hello("boot-2");
    f.ctl().work().tick();
    c = f.answer(proto::CommandStatus::OK);
    CHECK(c.hook == "post-reboot");
    INFO(f.log_of(wr.id));
    CHECK(f.child_of(wr.id).state == WorkState::SUCCEEDED);
    CHECK(f.log_of(wr.id).find("WAIT_HOST: host host-1: REBOOT ok: the host rebooted (boot id boot-1 -> boot-2)") !=
          std::string::npos);

    wr = f.ctl().work().submit_host_action(WorkOperation::HOST_REBOOT, f.HOST, "again", "alice");
    c = f.head();
    f.clock.advance(101);
    f.ctl().work().tick();
    const auto child = f.child_of(wr.id);
    CHECK(child.state == WorkState::FAILED);
    CHECK(child.failure_kind == "REBOOT_TIMEOUT");
    CHECK(f.ctl().hosts().command(c.id)->status == proto::CommandStatus::FAILED);  // abandoned: never handed out
    const StoredHostAdmin admin = f.ctl().host_admin().admin(f.HOST);
    CHECK(admin.locked);
    CHECK(admin.reason.find("left locked") != std::string::npos);
    const auto alarms = f.ctl().alarms().list();
    CHECK(std::any_of(alarms.begin(), alarms.end(), [](const auto& a) { return a.alarm_id == ALARM_REBOOT_TIMEOUT; }));
}

TEST_CASE("Unlock reboots a host that needs it first, then unlocks and runs post-unlock", "[lifecycle][work]") {
    LifecycleFixture f;
    f.ctl().host_admin().set({f.HOST, true, "alice", "window", 1, 0});
    // The agent says the host must reboot.
    proto::AgentReport r;
    r.hostname = f.HOST;
    r.report_id = "rr";
    r.sw_version = "22.12";
    r.requires_reboot = true;
    r.locked = true;
    f.ctl().hosts().agent_report(r, "192.0.2.10");
    const auto wr = f.ctl().work().submit_host_action(WorkOperation::HOST_UNLOCK, f.HOST, "done", "bob");
    CHECK(f.head().kind == proto::CommandKind::REBOOT);
    f.hello("boot-9");
    f.ctl().work().tick();
    CHECK(f.answer(proto::CommandStatus::OK).hook == "post-reboot");
    CHECK(f.answer(proto::CommandStatus::OK).kind == proto::CommandKind::UNLOCK);
    CHECK(f.answer(proto::CommandStatus::OK).hook == "post-unlock");
    INFO(f.log_of(wr.id));
    CHECK(f.child_of(wr.id).state == WorkState::SUCCEEDED);
    CHECK_FALSE(f.ctl().host_admin().admin(f.HOST).locked);
    CHECK(f.ctl().host_admin().admin(f.HOST).by == "bob");
}

TEST_CASE("A canceled lock stops after its pre-lock hook: nothing is locked", "[lifecycle][work]") {
    LifecycleFixture f;
    const auto wr = f.ctl().work().submit_host_action(WorkOperation::HOST_LOCK, f.HOST, "window", "alice");
    CHECK(f.head().hook == "pre-lock");
    f.ctl().work().cancel(wr.id, "bob");
    CHECK(f.child_of(wr.id).state == WorkState::CANCELING);  // the hook runs to its end
    f.answer(proto::CommandStatus::OK);
    INFO(f.log_of(wr.id));
    CHECK(f.child_of(wr.id).state == WorkState::CANCELED);
    CHECK(f.unfinished() == 0);
    CHECK_FALSE(f.ctl().host_admin().admin(f.HOST).locked);
    CHECK(f.wr(wr.id).state == WorkState::CANCELED);
}

TEST_CASE("The full flow: a precheck that exits 2 skips the host, a failing hook after the lock unlocks it again",
          "[lifecycle][work]") {
    LifecycleFixture f;
    InstallRequest request;
    request.hosts = {f.HOST};
    request.target_kind = "HOST";
    request.flow = "full";
    request.lock = true;
    request.created_by = "alice";

    auto wr = f.ctl().work().submit_install(request);
    f.ctl().work().tick();
    CHECK(f.answer(proto::CommandStatus::FAILED, 2, "end-of-life kernel\n").hook == "precheck");
    INFO(f.log_of(wr.id));
    CHECK(f.child_of(wr.id).state == WorkState::SKIPPED);
    CHECK(f.log_of(wr.id).find("end-of-life kernel") != std::string::npos);

    wr = f.ctl().work().submit_install(request);
    f.ctl().work().tick();
    CHECK(f.answer(proto::CommandStatus::OK).hook == "precheck");
    CHECK(f.answer(proto::CommandStatus::OK).hook == "pre-lock");
    CHECK(f.answer(proto::CommandStatus::OK).kind == proto::CommandKind::LOCK);
    CHECK(f.ctl().host_admin().admin(f.HOST).locked);
    CHECK(f.answer(proto::CommandStatus::OK).kind == proto::CommandKind::INSTALL);
    CHECK(f.answer(proto::CommandStatus::FAILED, 1, "service did not start\n").hook == "post-install");
    // The flow locked the host: it unlocks it before the child fails.
    CHECK(f.answer(proto::CommandStatus::OK).kind == proto::CommandKind::UNLOCK);
    const auto child = f.child_of(wr.id);
    INFO(f.log_of(wr.id));
    CHECK(child.state == WorkState::FAILED);
    CHECK(child.failure_kind == "HOOK");
    CHECK(child.message.find("unlocked again") != std::string::npos);
    CHECK_FALSE(f.ctl().host_admin().admin(f.HOST).locked);
    CHECK(f.log_of(wr.id).find("service did not start") != std::string::npos);
}

TEST_CASE("The full flow's alarm gate sees a host given by address, and guards reruns and automatic retries",
          "[lifecycle][work][alarms]") {
    LifecycleFixture f;
    const StoredAlarm fan{"100.101", host_entity(f.HOST), "major", "fan failed", 0, true, "monitoring"};
    InstallRequest request;
    request.hosts = {"192.0.2.10"};  // host-1's address: its alarms are on host=host-1
    request.target_kind = "HOST";
    request.flow = "full";
    request.created_by = "alice";
    request.retry_intervals = {1};

    f.ctl().alarms().raise(fan);
    CHECK_THROWS_AS(f.ctl().work().submit_install(request), Conflict);
    CHECK_THROWS_WITH(f.ctl().work().submit_install(request), Catch::Contains("100.101"));
    f.ctl().alarms().clear("100.101", host_entity(f.HOST));

    // A retryable install failure; the alarm is raised before its automatic retry starts.
    const auto wr = f.ctl().work().submit_install(request);
    f.ctl().work().tick();
    CHECK(f.answer(proto::CommandStatus::OK).hook == "precheck");
    CHECK(f.answer(proto::CommandStatus::FAILED).kind == proto::CommandKind::INSTALL);
    INFO(f.log_of(wr.id));
    REQUIRE(f.wr(wr.id).state == WorkState::FAILED);
    f.ctl().alarms().raise(fan);
    f.clock.advance(60);
    f.ctl().work().tick();
    CHECK(f.unfinished() == 0);  // the retry never started the flow
    WorkRequestFilter parents;
    parents.parent_id = 0;
    std::optional<StoredWorkRequest> retry;
    for (const auto& p : f.store.work_queries().list_work_requests(parents)) {
        if (p.retry_of == wr.id) {
            retry = p;
        }
    }
    REQUIRE(retry);
    const auto skipped = f.child_of(retry->id);
    CHECK(skipped.state == WorkState::SKIPPED);
    CHECK(skipped.message.find("ALARMED") != std::string::npos);
    CHECK(skipped.message.find("100.101") != std::string::npos);

    // A rerun of the failed full flow passes the same gate (the API answers 409 Conflict).
    CHECK_THROWS_AS(f.ctl().work().rerun(wr.id, "alice"), Conflict);
    CHECK_THROWS_WITH(f.ctl().work().rerun(wr.id, "alice"), Catch::Contains("100.101"));
    f.ctl().alarms().clear("100.101", host_entity(f.HOST));
    CHECK_NOTHROW(f.ctl().work().rerun(wr.id, "alice"));
}

TEST_CASE("The controller clears its hook-failed alarm when a later hook on that host succeeds", "[lifecycle][work]") {
    LifecycleFixture f;
    auto hook_failed = [&] {
        const auto alarms = f.ctl().alarms().list();
        return std::any_of(alarms.begin(), alarms.end(), [&](const auto& a) {
            return a.alarm_id == ALARM_HOOK_FAILED && a.entity == host_entity(f.HOST);
        });
    };
    auto wr = f.ctl().work().submit_host_action(WorkOperation::HOST_LOCK, f.HOST, "window", "alice");
    CHECK(f.answer(proto::CommandStatus::FAILED, 1, "database refuses to stop\n").hook == "pre-lock");
    CHECK(f.child_of(wr.id).state == WorkState::FAILED);
    CHECK(hook_failed());
    wr = f.ctl().work().submit_host_action(WorkOperation::HOST_LOCK, f.HOST, "window", "alice");
    CHECK(f.answer(proto::CommandStatus::OK).hook == "pre-lock");
    CHECK_FALSE(hook_failed());
}

TEST_CASE("A lock that times out leaves the host recorded locked with the reason, never locked without a record",
          "[lifecycle][work]") {
    LifecycleFixture f;
    const auto wr = f.ctl().work().submit_host_action(WorkOperation::HOST_LOCK, f.HOST, "window", "alice");
    CHECK(f.answer(proto::CommandStatus::OK).hook == "pre-lock");
    CHECK(f.head().kind == proto::CommandKind::LOCK);  // handed out; the agent never answers
    f.clock.advance(f.config.work_install_timeout_seconds + 1);
    f.ctl().work().tick();
    const auto child = f.child_of(wr.id);
    INFO(f.log_of(wr.id));
    CHECK(child.state == WorkState::FAILED);
    CHECK(child.failure_kind == "TIMEOUT");
    const StoredHostAdmin admin = f.ctl().host_admin().admin(f.HOST);
    CHECK(admin.locked);
    CHECK(admin.reason.find("lock timed out; state unknown") != std::string::npos);
    CHECK(admin.work_request == wr.id);
}
