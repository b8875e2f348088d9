// SPDX-License-Identifier: Apache-2.0
// The job tables of the Store contract (jobs, job_runs) on both implementations.
#include "support/test_support.hpp"

#include <store/memory/memory_store.hpp>
#include <store/sqlite/sqlite_store.hpp>

#include <catch2/catch.hpp>

#include <stdexcept>

using namespace patching;
using namespace patching::controller;

namespace {

StoredJob job(const std::string& name, const std::string& group) {
    StoredJob j;
    j.name = name;
    j.description = "d " + name;
    j.start = "2026-12-08T02:00:00";
    j.time_zone = "Europe/Berlin";
    j.rule = "FREQ=MONTHLY;BYDAY=2TU";
    j.target_kind = group.empty() ? "HOSTS" : "GROUP";
    j.group = group;
    j.hosts = group.empty() ? std::vector<std::string>{"h1", "h2"} : std::vector<std::string>{};
    j.max_concurrency = "2";
    j.max_errors = "10%";
    j.force = true;
    j.retry_intervals = {5, 10};
    j.window_seconds = 7200;
    j.overlap_policy = "QUEUE";
    j.paused = true;
    j.skip_count = 2;
    j.next_slot = 1'796'700'000;
    j.anchor_local = "2026-12-08T02:00:00";
    j.anchor_index = 7;
    j.queued_run = 4;
    j.last_work_request = 17;
    j.last_fired_at = 1'796'600'000;
    j.created_by = "admin";
    j.created_at = 100;
    j.updated_at = 200;
    j.revision = 3;
    return j;
}

JobRun run(const std::string& job, std::int64_t slot, const std::string& result) {
    return {0, job, slot, slot + 1, result, result == "FIRED" ? "" : "PAUSED", "m", result == "FIRED" ? 9 : 0};
}

void check_job_contract(Store& store) {
    std::int64_t first = 0;
    std::int64_t second = 0;
    store.write([&](WriteTransaction& tx) {
        tx.work().jobs().put_job(job("b-edge", "edge"));
        tx.work().jobs().put_job(job("a-hosts", ""));
        tx.work().jobs().put_job(job("c-edge", "edge"));
        first = tx.work().jobs().put_job_run(run("b-edge", 1000, "FIRED"));
        second = tx.work().jobs().put_job_run(run("b-edge", 2000, "QUEUED"));
        tx.work().jobs().put_job_run(run("a-hosts", 1000, "SKIPPED"));
    });
    CHECK(second > first);
    CHECK(store.job_queries().job("b-edge") == job("b-edge", "edge"));  // every field round-trips
    CHECK(store.job_queries().job("a-hosts") == job("a-hosts", ""));
    CHECK_FALSE(store.job_queries().job("zzz"));
    CHECK(store.job_queries().load_jobs().size() == 3);

    JobFilter page;
    page.limit = 2;
    auto jobs = store.job_queries().list_jobs(page);
    REQUIRE(jobs.size() == 2);
    CHECK(jobs[0].name == "a-hosts");
    CHECK(jobs[1].name == "b-edge");
    page.after_name = "b-edge";
    jobs = store.job_queries().list_jobs(page);
    REQUIRE(jobs.size() == 1);
    CHECK(jobs[0].name == "c-edge");
    JobFilter by_group;
    by_group.group = "edge";
    CHECK(store.job_queries().list_jobs(by_group).size() == 2);
    JobFilter by_kind;
    by_kind.target_kind = "HOSTS";
    CHECK(store.job_queries().list_jobs(by_kind).size() == 1);

    // Runs: newest first, paged by id; a run is replaced by its id (QUEUED -> FIRED).
    auto runs = store.job_queries().job_runs("b-edge", 0, 10);
    REQUIRE(runs.size() == 2);
    CHECK(runs[0].id == second);
    CHECK(runs[0].result == "QUEUED");
    CHECK(store.job_queries().job_runs("b-edge", second, 10).size() == 1);
    JobRun fired = runs[0];
    fired.result = "FIRED";
    fired.work_request_id = 44;
    store.write([&](WriteTransaction& tx) { CHECK(tx.work().jobs().put_job_run(fired) == second); });
    CHECK(store.job_queries().job_run(second) == fired);
    CHECK(store.job_queries().job_runs("b-edge", 0, 10).size() == 2);

    // A throwing transaction leaves nothing behind.
    CHECK_THROWS_AS(store.write([&](WriteTransaction& tx) {
        tx.work().jobs().put_job(job("d-lost", ""));
        tx.work().jobs().put_job_run(run("d-lost", 5, "FIRED"));
        throw std::runtime_error("rolled back");
    }),
                    std::runtime_error);
    CHECK_FALSE(store.job_queries().job("d-lost"));
    CHECK(store.job_queries().job_runs("d-lost", 0, 10).empty());

    // Delete takes the job, not its history.
    store.write([&](WriteTransaction& tx) { tx.work().jobs().delete_job("b-edge"); });
    CHECK_FALSE(store.job_queries().job("b-edge"));
    CHECK(store.job_queries().job_runs("b-edge", 0, 10).size() == 2);
    CHECK(store.job_queries().job_run(second) == fired);
    CHECK(store.job_queries().job_runs("a-hosts", 0, 10).size() == 1);
}

}  // namespace

TEST_CASE("job store: the contract on MemoryStore", "[store][jobs]") {
    MemoryStore store;
    check_job_contract(store);
}

TEST_CASE("job store: the contract on SqliteStore, across a reopen", "[store][jobs]") {
    test::TempDir dir;
    {
        SqliteStore store(dir.path() / "patching.db");
        CHECK(store.schema_version() == SqliteStore::SCHEMA_VERSION);
        check_job_contract(store);
    }
    SqliteStore reopened(dir.path() / "patching.db");
    CHECK(reopened.job_queries().job("a-hosts") == job("a-hosts", ""));
    CHECK(reopened.job_queries().load_jobs().size() == 2);
}
