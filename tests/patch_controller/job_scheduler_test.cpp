// SPDX-License-Identifier: Apache-2.0
// Scheduled jobs on the real services (JobService over the WorkEngine and HostService's command
// queue), a MemoryStore and a ManualClock; agents are played by reports.
#include "patch_controller/service_fixture.hpp"

#include <jobs/recurrence.hpp>
#include <jobs/scheduler.hpp>
#include <service/errors.hpp>
#include <work/group_service.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

using namespace patching;
using namespace patching::test;
using controller::JobRun;
using controller::StoredJob;
using controller::WorkOutcome;
using controller::WorkState;

namespace {

// 2026-12-07T10:00:00Z, a Monday.
constexpr std::int64_t T0 = 1'796'637'600;

class JobFixture : public ServiceFixture {
public:
    JobFixture() {
        clock.set(T0 - 3600);
        for (int i = 1; i <= 3; ++i) {
            report(host(i));
        }
    }
    static std::string host(int i) { return "host-" + std::to_string(i); }

    /// An hourly job on host-1..n at :00 UTC from T0.
    StoredJob hourly(const std::string& name, int n = 1) {
        StoredJob j;
        j.name = name;
        j.start = "2026-12-07T10:00";
        j.time_zone = "UTC";
        j.rule = "FREQ=HOURLY";
        for (int i = 1; i <= n; ++i) {
            j.hosts.push_back(host(i));
        }
        j.max_concurrency = "1";
        return j;
    }

    void agent(const std::string& host, const std::string& id, const std::string& status) {
        core::protocol::AgentReport r;
        r.hostname = host;
        r.report_id = host + "-" + id + "-" + status + "-" + std::to_string(++reports_);
        r.op_counter = ctl().hosts().published_op_counter();
        r.sw_version = "22.12";
        r.personality = "controller";
        r.nodetype = "controller";
        r.state = status == "running" ? core::protocol::HostState::INSTALLING : core::protocol::HostState::IDLE;
        r.command = core::protocol::CommandReport{
            id, core::protocol::CommandKind::INSTALL, *core::protocol::parse_command_status(status), "", "", 0, 0};
        ctl().hosts().agent_report(r, "192.0.2.10");
    }

    /// Keeps every host fresh (as polling agents do) after the clock moved.
    void refresh() {
        for (int i = 1; i <= 3; ++i) {
            report(host(i));
        }
    }

    std::vector<JobRun> runs(const std::string& job) {
        auto out = store.job_queries().job_runs(job, 0, 1000);
        std::reverse(out.begin(), out.end());
        return out;
    }

    std::vector<controller::StoredWorkRequest> children(std::int64_t parent) {
        controller::WorkRequestFilter f;
        f.parent_id = parent;
        f.limit = 1000;
        auto out = store.work_queries().list_work_requests(f);
        std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
        return out;
    }

    /// Finishes every running child of `parent` (agents report ok) and ticks until it is done.
    void finish_all(std::int64_t parent) {
        for (int guard = 0; guard < 20; ++guard) {
            ctl().work().tick();
            for (const auto& c : children(parent)) {
                if (c.state == WorkState::IN_PROGRESS) {
                    agent(c.host, c.command_id, "ok");
                }
            }
            ctl().work().tick();
            if (controller::is_terminal(store.work_queries().work_request(parent)->state)) {
                return;
            }
        }
        FAIL("work request " << parent << " did not finish");
    }

private:
    int reports_ = 0;
};

}  // namespace

TEST_CASE_METHOD(JobFixture, "jobs: a slot fires once as a SCHEDULE work request, and only when due", "[jobs]") {
    auto v = ctl().jobs().create(hourly("nightly", 2), "admin");
    CHECK(v.state == "ACTIVE");
    CHECK(v.job.next_slot == T0);
    REQUIRE(v.next.size() == 5);
    CHECK(v.next[1] == T0 + 3600);
    CHECK(ctl().jobs().next_due() == T0);
    ctl().jobs().run_due();
    CHECK(runs("nightly").empty());

    clock.set(T0);
    refresh();
    ctl().jobs().run_due();
    auto r = runs("nightly");
    REQUIRE(r.size() == 1);
    CHECK(r[0].result == "FIRED");
    CHECK(r[0].slot == T0);
    const auto wr = store.work_queries().work_request(r[0].work_request_id);
    REQUIRE(wr);
    CHECK(wr->initiator == controller::Initiator::SCHEDULE);
    CHECK(wr->created_by == "job:nightly");
    CHECK(wr->total == 2);
    // Again at the same time: nothing (the slot is spent), and a restart does not fire it again.
    ctl().jobs().run_due();
    restart();
    clock.advance(config.agent_stale_seconds);  // the start hold
    ctl().jobs().run_due();
    CHECK(runs("nightly").size() == 1);
    CHECK(ctl().jobs().show("nightly").job.next_slot == T0 + 3600);
    CHECK(ctl().jobs().show("nightly").job.last_work_request == wr->id);
}

TEST_CASE_METHOD(JobFixture, "jobs: an old job resumes its rule at its next slot, not at its start", "[jobs]") {
    StoredJob old = hourly("old");
    old.start = "2024-12-07T10:00";  // two years of hourly slots before T0
    clock.set(T0 - 60);
    auto v = ctl().jobs().create(old, "admin");
    CHECK(v.job.next_slot == T0);
    CHECK(v.job.anchor_local == "2026-12-07T10:00:00");
    CHECK(v.job.anchor_index == 17520);  // 730 days x 24 slots came before it
    clock.set(T0 + 2 * 3600 + 60);
    refresh();
    ctl().jobs().run_due();
    const auto job = ctl().jobs().show("old").job;
    CHECK(job.next_slot == T0 + 3 * 3600);
    CHECK(job.anchor_local == "2026-12-07T13:00:00");
    CHECK(job.anchor_index == 17523);
    CHECK(runs("old").size() == 3);
}

TEST_CASE_METHOD(JobFixture, "jobs: skip-next, pause and resume are recorded per slot", "[jobs]") {
    ctl().jobs().create(hourly("h"), "admin");
    auto v = ctl().jobs().skip_next("h", std::nullopt);
    CHECK(v.job.skip_count == 1);
    CHECK_THROWS_AS(ctl().jobs().pause("h", v.job.revision - 1), controller::PreconditionFailed);
    clock.set(T0);
    ctl().jobs().run_due();
    ctl().jobs().pause("h", std::nullopt);
    clock.set(T0 + 3600);
    ctl().jobs().run_due();
    ctl().jobs().resume("h", std::nullopt);
    clock.set(T0 + 7200);
    refresh();
    ctl().jobs().run_due();
    auto r = runs("h");
    REQUIRE(r.size() == 3);
    CHECK(r[0].result == "SKIPPED");
    CHECK(r[0].reason == "SKIP_NEXT");
    CHECK(r[1].result == "SKIPPED");
    CHECK(r[1].reason == "PAUSED");
    CHECK(r[2].result == "FIRED");
    CHECK(r[2].slot == T0 + 7200);
}

TEST_CASE_METHOD(JobFixture, "jobs: missed slots fire once within the grace, and are MISSED beyond it", "[jobs]") {
    config.job_misfire_grace_seconds = 600;
    restart();
    ctl().jobs().create(hourly("within"), "admin");
    StoredJob late = hourly("beyond");
    late.hosts = {host(2)};
    ctl().jobs().create(late, "admin");
    // "Down" from before T0 to T0 + 2 h + 5 min: three slots of each passed.
    clock.set(T0 + 2 * 3600 + 300);
    restart();
    ctl().jobs().run_due();
    CHECK(runs("within").empty());  // agents get agent_stale_seconds to report after a start
    CHECK(ctl().jobs().next_due() == clock.now_seconds() + config.agent_stale_seconds);
    // A slot after the start is not held: it fires on time.
    StoredJob fresh = hourly("fresh", 3);
    fresh.rule = "";
    fresh.start = "2026-12-07T12:06";
    ctl().jobs().create(fresh, "admin");
    CHECK(ctl().jobs().next_due() == T0 + 2 * 3600 + 360);
    clock.advance(60);
    refresh();
    ctl().jobs().run_due();
    REQUIRE(runs("fresh").size() == 1);
    CHECK(runs("fresh")[0].result == "FIRED");
    CHECK(runs("within").empty());
    ctl().work().tick();
    finish_all(runs("fresh")[0].work_request_id);
    clock.advance(config.agent_stale_seconds - 60);
    refresh();
    ctl().jobs().run_due();
    auto w = runs("within");
    REQUIRE(w.size() == 3);
    CHECK(w[0].result == "MISSED");
    CHECK(w[1].result == "MISSED");
    CHECK(w[0].message.find("coalesced") != std::string::npos);
    CHECK(w[2].result == "FIRED");  // the latest, 5 min (and the hold) late: once
    CHECK(w[2].slot == T0 + 7200);

    ctl().jobs().remove("within", std::nullopt);
    finish_all(w[2].work_request_id);
    clock.set(T0 + 3 * 3600 + 900);  // 15 min after the 13:00 slot
    restart();
    clock.advance(config.agent_stale_seconds);
    refresh();
    ctl().jobs().run_due();
    auto b = runs("beyond");
    REQUIRE(b.size() == 4);
    CHECK(b[2].result == "FIRED");   // at the first restart, within its grace
    CHECK(b[3].result == "MISSED");  // 900 s > 600 s
    CHECK(b[3].message.find("job_misfire_grace_seconds") != std::string::npos);
    CHECK(store.job_queries().job("within") == std::nullopt);
}

TEST_CASE_METHOD(JobFixture, "jobs: an overlapping slot is skipped or queued by policy", "[jobs]") {
    ctl().jobs().create(hourly("skip"), "admin");
    StoredJob q = hourly("queue");
    q.hosts = {host(2)};
    q.overlap_policy = "QUEUE";
    ctl().jobs().create(q, "admin");
    clock.set(T0);
    refresh();
    ctl().jobs().run_due();
    ctl().work().tick();  // both start; nobody reports
    clock.set(T0 + 3600);
    refresh();
    ctl().jobs().run_due();
    clock.set(T0 + 7200);
    refresh();
    ctl().jobs().run_due();
    auto s = runs("skip");
    REQUIRE(s.size() == 3);
    CHECK(s[1].result == "SKIPPED");
    CHECK(s[1].reason == "OVERLAP");
    CHECK(s[2].reason == "OVERLAP");
    auto qr = runs("queue");
    REQUIRE(qr.size() == 3);
    CHECK(qr[1].result == "QUEUED");
    CHECK(qr[2].result == "SKIPPED");  // one queued slot at a time
    CHECK(ctl().jobs().next_due() <= clock.now_seconds() + 1);
    // The first run finishes: the queued slot fires (same row, now FIRED).
    finish_all(qr[0].work_request_id);
    ctl().jobs().run_due();
    qr = runs("queue");
    REQUIRE(qr.size() == 3);
    CHECK(qr[1].result == "FIRED");
    CHECK(qr[1].reason == "QUEUED");
    CHECK(qr[1].work_request_id > qr[0].work_request_id);
    CHECK(ctl().jobs().show("queue").job.queued_run == 0);
}

TEST_CASE_METHOD(JobFixture, "jobs: at the window's end no new host starts and the outcome is CUTOFF_REACHED",
                 "[jobs]") {
    StoredJob j = hourly("windowed", 3);
    j.window_seconds = 600;
    ctl().jobs().create(j, "admin");
    clock.set(T0 + 10);
    refresh();
    ctl().jobs().run_due();
    const std::int64_t id = runs("windowed").at(0).work_request_id;
    ctl().work().tick();
    auto kids = children(id);
    REQUIRE(kids.size() == 3);
    CHECK(kids[0].state == WorkState::IN_PROGRESS);
    agent(kids[0].host, kids[0].command_id, "ok");
    ctl().work().tick();
    kids = children(id);
    REQUIRE(kids[1].state == WorkState::IN_PROGRESS);
    agent(kids[1].host, kids[1].command_id, "running");
    clock.set(T0 + 600);  // the window closes while host-2 installs
    ctl().work().tick();
    kids = children(id);
    CHECK(kids[2].state == WorkState::CANCELED);
    CHECK(kids[2].message == "cutoff reached");
    CHECK(kids[1].state == WorkState::IN_PROGRESS);  // in flight: finishes
    agent(kids[1].host, kids[1].command_id, "ok");
    ctl().work().tick();
    const auto parent = *store.work_queries().work_request(id);
    CHECK(parent.state == WorkState::FAILED);
    CHECK(parent.outcome == WorkOutcome::CUTOFF_REACHED);
    CHECK(parent.succeeded == 2);
    CHECK(parent.canceled == 1);
}

TEST_CASE_METHOD(JobFixture, "jobs: the start hold does not count as lateness against the grace", "[jobs]") {
    config.job_misfire_grace_seconds = 600;
    config.agent_stale_seconds = 300;  // longer than the 200 s the slot has left of its grace
    restart();
    ctl().jobs().create(hourly("held"), "admin");
    clock.set(T0 + 400);  // down over the T0 slot: 400 s late at the start
    restart();
    ctl().jobs().run_due();
    CHECK(runs("held").empty());
    clock.advance(config.agent_stale_seconds);  // handled 700 s after the slot
    refresh();
    ctl().jobs().run_due();
    auto r = runs("held");
    REQUIRE(r.size() == 1);
    CHECK(r[0].result == "FIRED");
    CHECK(r[0].slot == T0);

    // A hold as long as the grace still lets a slot missed by less than the grace fire.
    config.agent_stale_seconds = 900;
    ctl().jobs().remove("held", std::nullopt);
    finish_all(r[0].work_request_id);
    StoredJob next = hourly("again");
    next.start = "2026-12-07T12:00";
    ctl().jobs().create(next, "admin");
    clock.set(T0 + 2 * 3600 + 100);
    restart();
    clock.advance(config.agent_stale_seconds);
    refresh();
    ctl().jobs().run_due();
    auto a = runs("again");
    REQUIRE(a.size() == 1);
    CHECK(a[0].result == "FIRED");
}

TEST_CASE_METHOD(JobFixture, "jobs: deleting a job keeps its history", "[jobs]") {
    ctl().jobs().create(hourly("gone"), "admin");
    clock.set(T0);
    refresh();
    ctl().jobs().run_due();
    REQUIRE(runs("gone").size() == 1);
    ctl().jobs().remove("gone", std::nullopt);
    CHECK_THROWS_AS(ctl().jobs().show("gone"), controller::NotFound);
    auto r = ctl().jobs().runs("gone", 0, 10);
    REQUIRE(r.size() == 1);
    CHECK(r[0].result == "FIRED");
    CHECK(r[0].slot == T0);
    CHECK_THROWS_AS(ctl().jobs().runs("never", 0, 10), controller::NotFound);
}

TEST_CASE_METHOD(JobFixture, "jobs: run-now runs at once, and on a one-time job it consumes the run", "[jobs]") {
    StoredJob once = hourly("once");
    once.rule = "";
    ctl().jobs().create(once, "admin");
    clock.set(T0 - 600);
    refresh();
    const auto wr = ctl().jobs().run_now("once", "admin");
    CHECK(wr.created_by == "job:once");
    auto v = ctl().jobs().show("once");
    CHECK(v.state == "INACTIVE");
    CHECK(v.job.next_slot == 0);
    CHECK_THROWS_AS(ctl().jobs().run_now("once", "admin"), controller::Conflict);
    clock.set(T0 + 10);
    refresh();
    ctl().jobs().run_due();
    auto r = runs("once");
    REQUIRE(r.size() == 1);
    CHECK(r[0].reason == "RUN_NOW");
    CHECK(r[0].slot == T0);

    StoredJob rec = hourly("rec", 1);
    rec.start = "2026-12-07T11:00";
    ctl().jobs().create(rec, "admin");  // host-1 is busy with "once"
    ctl().work().tick();
    CHECK_THROWS_AS(ctl().jobs().run_now("rec", "admin"), controller::Conflict);
    finish_all(wr.id);
    const auto second = ctl().jobs().run_now("rec", "admin");
    CHECK(ctl().jobs().show("rec").job.next_slot == T0 + 3600);
    CHECK(second.created_by == "job:rec");  // the schedule is unchanged
    CHECK(runs("rec").at(0).work_request_id == second.id);
}

TEST_CASE_METHOD(JobFixture, "jobs: an update keeps a spent one-time job spent unless its start changes",
                 "[jobs]") {
    StoredJob once = hourly("once");
    once.rule = "";
    ctl().jobs().create(once, "admin");
    clock.set(T0 - 600);
    refresh();
    const auto wr = ctl().jobs().run_now("once", "admin");  // uses the T0 run
    controller::JobChanges c;
    c.description = "only the description";
    auto v = ctl().jobs().update("once", c, std::nullopt);
    CHECK(v.state == "INACTIVE");
    CHECK(v.job.next_slot == 0);
    CHECK(v.job.description == "only the description");
    finish_all(wr.id);
    clock.set(T0 + 3600);  // its start is past now: still no 400
    refresh();
    c.description = "later";
    CHECK(ctl().jobs().update("once", c, std::nullopt).job.next_slot == 0);
    ctl().jobs().run_due();
    CHECK(runs("once").size() == 1);  // the run-now only
    // A new start arms it again.
    c.start = "2026-12-07T13:00";
    v = ctl().jobs().update("once", c, std::nullopt);
    CHECK(v.state == "ACTIVE");
    CHECK(v.job.next_slot == T0 + 3 * 3600);
}

TEST_CASE_METHOD(JobFixture, "jobs: a due slot an update drops is recorded SKIPPED UPDATED", "[jobs]") {
    ctl().jobs().create(hourly("moved"), "admin");
    clock.set(T0 + 3600 + 30);  // T0 and T0 + 1 h are due; the scheduler has not handled them
    controller::JobChanges c;
    c.rule = "FREQ=DAILY;BYHOUR=3;BYMINUTE=0";
    auto v = ctl().jobs().update("moved", c, std::nullopt);
    CHECK(v.job.next_slot == T0 + 17 * 3600);
    auto r = runs("moved");
    REQUIRE(r.size() == 2);
    CHECK(r[0].slot == T0);
    CHECK(r[1].slot == T0 + 3600);
    for (const auto& run : r) {
        CHECK(run.result == "SKIPPED");
        CHECK(run.reason == "UPDATED");
    }
}

TEST_CASE_METHOD(JobFixture, "jobs: an update applies its changes to the job as it is, not to an old copy",
                 "[jobs]") {
    ctl().jobs().create(hourly("busy"), "admin");
    // PATCH read the job, then a pause came in before its update.
    controller::JobChanges c;
    c.description = "new words";
    ctl().jobs().pause("busy", std::nullopt);
    auto v = ctl().jobs().update("busy", c, std::nullopt);
    CHECK(v.job.paused);
    CHECK(v.state == "PAUSED");
    CHECK(v.job.description == "new words");
    CHECK(ctl().jobs().show("busy").job.paused);
}

TEST_CASE_METHOD(JobFixture, "jobs: create and update validate every field", "[jobs]") {
    auto field = [&](StoredJob j) -> std::string {
        try {
            ctl().jobs().create(j, "admin");
        } catch (const controller::InvalidField& e) {
            return e.field();
        }
        return "(created)";
    };
    StoredJob j = hourly("bad");
    j.name = "Bad Name";
    CHECK(field(j) == "name");
    j = hourly("bad");
    j.group = "g";
    CHECK(field(j) == "hosts");  // two targets
    j = hourly("bad");
    j.hosts = {"ghost"};
    CHECK(field(j) == "hosts");
    j = hourly("bad");
    j.hosts.clear();
    j.group = "nowhere";
    CHECK(field(j) == "group");
    j = hourly("bad");
    j.max_concurrency = "101%";
    CHECK(field(j) == "max_concurrency");
    j = hourly("bad");
    j.max_errors = "200%";
    CHECK(field(j) == "max_errors");
    j = hourly("bad");
    j.window_seconds = 2 * 3600;
    CHECK(field(j) == "window_minutes");
    j = hourly("dst");  // hourly at :30 from just before New York's spring forward: an hour's window fits
    j.start = "2027-03-14T01:30";
    j.time_zone = "America/New_York";
    j.window_seconds = 3600;
    CHECK(field(j) == "(created)");
    ctl().jobs().remove("dst", std::nullopt);
    j = hourly("bad");
    j.overlap_policy = "WAIT";
    CHECK(field(j) == "overlap_policy");
    j = hourly("bad");
    j.time_zone = "Europe/Atlantis";
    CHECK(field(j) == "time_zone");
    j = hourly("bad");
    j.rule = "FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=31";
    CHECK(field(j) == "rule");
    j = hourly("bad");
    j.rule = "";
    j.start = "2026-01-01T00:00";
    CHECK(field(j) == "start");  // a one-time job in the past
    CHECK(store.job_queries().load_jobs().empty());

    // Update: the target kind stays; a stale revision is refused.
    auto v = ctl().jobs().create(hourly("good"), "admin");
    StoredJob changed = v.job;
    changed.hosts.clear();
    changed.group = "g";
    try {
        ctl().jobs().update("good", changed, std::nullopt);
        FAIL("the target kind changed");
    } catch (const controller::InvalidField& e) {
        CHECK(e.field() == "group");
        CHECK(std::string(e.what()).find("cannot change") != std::string::npos);
    }
    changed = v.job;
    changed.rule = "FREQ=DAILY;BYHOUR=3;BYMINUTE=0";
    changed.time_zone = "Europe/Berlin";
    CHECK_THROWS_AS(ctl().jobs().update("good", changed, v.job.revision + 5), controller::PreconditionFailed);
    auto updated = ctl().jobs().update("good", changed, v.job.revision);
    CHECK(updated.job.revision == v.job.revision + 1);
    CHECK(updated.next_local.at(0) == "2026-12-08T03:00:00+01:00");
}

TEST_CASE_METHOD(JobFixture, "jobs: the Scheduler sleeps until the earliest slot and fires it on time", "[jobs]") {
    controller::Scheduler scheduler(ctl().jobs(), clock);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const auto idle = scheduler.passes();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    CHECK(scheduler.passes() == idle);  // nothing scheduled: no passes at all
    ctl().jobs().create(hourly("tick"), "admin");  // wakes it once: it learns the new earliest slot
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const auto waiting = scheduler.passes();
    CHECK(waiting == idle + 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    CHECK(scheduler.passes() == waiting);
    CHECK(runs("tick").empty());
    clock.set(T0);
    refresh();
    const auto moved = std::chrono::steady_clock::now();
    while (runs("tick").empty() && std::chrono::steady_clock::now() - moved < std::chrono::seconds(2)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    REQUIRE(runs("tick").size() == 1);
    CHECK(runs("tick")[0].result == "FIRED");
    CHECK(std::chrono::steady_clock::now() - moved < std::chrono::milliseconds(500));
}
