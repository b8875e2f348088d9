// SPDX-License-Identifier: Apache-2.0
// The work tables of the Store contract on both implementations, and a filtered list page over
// 20,000 stored work requests on SQLite (bench/work_list_bench measures 100,000).
#include "support/test_support.hpp"

#include <store/memory/memory_store.hpp>
#include <store/sqlite/sqlite_store.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <iostream>

using namespace patching;
using namespace patching::controller;

namespace {

StoredWorkRequest child(std::int64_t id, std::int64_t parent, const std::string& host, WorkState state) {
    StoredWorkRequest c;
    c.id = id;
    c.parent_id = parent;
    c.root_id = parent;
    c.state = state;
    c.host = host;
    c.sw_version = "22.12";
    c.target_set = {"P1", "P2"};
    c.command_id = "wr-" + std::to_string(id);
    c.failure_kind = state == WorkState::FAILED ? "INSTALL_FAILED" : "";
    c.retryable = state == WorkState::FAILED;
    c.time_accepted = 100;
    return c;
}

StoredWorkRequest parent(std::int64_t id, WorkState state, std::int64_t finished = 0) {
    StoredWorkRequest p;
    p.id = id;
    p.root_id = id;
    p.state = state;
    p.outcome = is_terminal(state) ? WorkOutcome::COMPLETE : WorkOutcome::NONE;
    p.target_kind = "GROUP";
    p.target = "edge";
    p.params = R"({"force":false})";
    p.initiator = Initiator::RERUN;
    p.created_by = "admin";
    p.rerun_of = 7;
    p.time_finished = finished;
    p.total = 2;
    p.succeeded = 1;
    p.failed = 1;
    p.percent_complete = 100;
    p.revision = 3;
    return p;
}

void check_work_contract(Store& store) {
    store.write([&](WriteTransaction& tx) {
        tx.work().put_work_request(parent(1, WorkState::SUCCEEDED, 1000));
        tx.work().put_work_request(child(2, 1, "h1", WorkState::SUCCEEDED));
        tx.work().put_work_request(child(3, 1, "h2", WorkState::FAILED));
        tx.work().put_work_request(parent(4, WorkState::IN_PROGRESS));
        tx.work().put_work_request(child(5, 4, "h1", WorkState::IN_PROGRESS));
        tx.work().add_work_log({0, 2, 1, 10, "h1", "INSTALL", "started"});
        tx.work().add_work_log({0, 1, 1, 11, "", "FINISH", "done"});
        tx.work().add_work_log({0, 5, 4, 12, "h1", "INSTALL", "started"});
        tx.work().add_work_error({0, 3, 1, 13, "h2", "INSTALL_FAILED", "boom", true});
    });
    WorkQueries& q = store.work_queries();
    CHECK(*q.work_request(1) == parent(1, WorkState::SUCCEEDED, 1000));
    CHECK(*q.work_request(3) == child(3, 1, "h2", WorkState::FAILED));
    CHECK_FALSE(q.work_request(99));
    CHECK(q.max_work_request_id() == 5);
    // Parents only, by (operation, state): what /metrics shows.
    const std::string op(to_string(WorkOperation::HOST_INSTALL));
    const std::map<std::pair<std::string, std::string>, std::uint64_t> expected{{{op, "IN_PROGRESS"}, 1},
                                                                                 {{op, "SUCCEEDED"}, 1}};
    CHECK(q.count_work_requests() == expected);

    WorkRequestFilter f;
    CHECK(q.list_work_requests(f).size() == 5);
    CHECK(q.list_work_requests(f)[0].id == 5);  // newest first
    f.parent_id = 0;
    CHECK(q.list_work_requests(f).size() == 2);
    f = {};
    f.host = "h1";
    CHECK(q.list_work_requests(f).size() == 2);
    f.states = {WorkState::IN_PROGRESS, WorkState::FAILED};
    REQUIRE(q.list_work_requests(f).size() == 1);
    CHECK(q.list_work_requests(f)[0].id == 5);
    f = {};
    f.limit = 2;
    f.before_id = 4;
    auto page = q.list_work_requests(f);
    REQUIRE(page.size() == 2);
    CHECK(page[0].id == 3);
    CHECK(page[1].id == 2);
    f = {};
    f.operation = WorkOperation::HOST_INSTALL;
    CHECK(q.list_work_requests(f).size() == 5);

    auto unfinished = q.unfinished_work_requests();
    REQUIRE(unfinished.size() == 2);
    CHECK(unfinished[0].id == 4);
    CHECK(unfinished[1].id == 5);

    auto logs = q.work_logs(1, 0, 100);
    REQUIRE(logs.size() == 2);
    CHECK(logs[0].message == "started");
    CHECK(logs[0].seq < logs[1].seq);
    CHECK(q.work_logs(1, logs[0].seq, 100).size() == 1);
    CHECK(q.work_logs(5, 0, 100).size() == 1);
    auto errors = q.work_errors(1, 0, 100);
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].retryable);
    CHECK(errors[0].code == "INSTALL_FAILED");

    SECTION("retention deletes finished parents with their children, logs and errors only") {
        int gone = 0;
        store.write([&](WriteTransaction& tx) { gone = tx.work().delete_finished_work_requests(1001); });
        CHECK(gone == 1);
        CHECK_FALSE(q.work_request(1));
        CHECK_FALSE(q.work_request(3));
        CHECK(q.work_logs(1, 0, 100).empty());
        CHECK(q.work_errors(1, 0, 100).empty());
        CHECK(q.work_request(4));
        CHECK(q.work_request(5));
    }
    SECTION("a throwing transaction changes nothing") {
        CHECK_THROWS(store.write([&](WriteTransaction& tx) {
            tx.work().put_work_request(parent(9, WorkState::WAITING));
            throw std::runtime_error("crash");
        }));
        CHECK_FALSE(q.work_request(9));
    }
    SECTION("groups, labels, idempotency records") {
        StoredGroup g{"edge", "sites", {"h1", "h2"}, "controller", {{"site", "north"}}, 50, 2};
        store.write([&](WriteTransaction& tx) {
            tx.work().put_group(g);
            tx.work().put_group({"empty", "", {}, "", {}, 51, 1});
            tx.work().set_host_labels("h1", {{"site", "north"}, {"rack", "3"}});
            tx.work().put_idempotency({"admin", "k1", "fp", 202, R"({"id":4})", 60});
        });
        auto groups = q.load_groups();
        REQUIRE(groups.size() == 2);
        CHECK(groups[0] == g);
        CHECK(q.load_host_labels().at("h1").at("rack") == "3");
        auto rec = q.idempotency("admin", "k1");
        REQUIRE(rec);
        CHECK(rec->status == 202);
        CHECK(rec->body == R"({"id":4})");
        CHECK_FALSE(q.idempotency("other", "k1"));
        store.write([&](WriteTransaction& tx) {
            tx.work().delete_group("empty");
            tx.work().set_host_labels("h1", {});
            tx.work().prune_idempotency(61);
        });
        CHECK(q.load_groups().size() == 1);
        CHECK(q.load_host_labels().empty());
        CHECK_FALSE(q.idempotency("admin", "k1"));
    }
}

}  // namespace

TEST_CASE("work store: the contract on MemoryStore", "[store][work]") {
    MemoryStore store;
    check_work_contract(store);
}

TEST_CASE("work store: the contract on SqliteStore, across a reopen", "[store][work]") {
    test::TempDir dir;
    {
        SqliteStore store(dir.path() / "patching.db");
        check_work_contract(store);
    }
    SqliteStore reopened(dir.path() / "patching.db");
    CHECK(reopened.work_queries().work_request(4));
}

TEST_CASE("work store: a filtered list page over 20,000 work requests", "[store][work][scale]") {
    test::TempDir dir;
    SqliteStore store(dir.path() / "patching.db");
    const WorkState states[] = {WorkState::SUCCEEDED, WorkState::FAILED, WorkState::CANCELED, WorkState::SKIPPED};
    store.write([&](WriteTransaction& tx) {
        for (std::int64_t p = 1; p <= 20'000; p += 10) {
            tx.work().put_work_request(parent(p, states[(p / 10) % 4], 1000));
            for (std::int64_t c = 1; c < 10; ++c) {
                tx.work().put_work_request(child(p + c, p, "host-" + std::to_string((p + c) % 2000),
                                                 states[(p + c) % 4]));
            }
        }
    });
    WorkRequestFilter f;
    f.states = {WorkState::FAILED};
    f.host = "host-1233";
    f.limit = 50;
    double worst_ms = 0;
    for (const auto& filter : {f, WorkRequestFilter{{WorkState::FAILED}, {}, "", 0, 0, 50},
                               WorkRequestFilter{{}, {}, "", std::int64_t{10001}, 0, 50},
                               WorkRequestFilter{{WorkState::CANCELED}, WorkOperation::HOST_INSTALL, "", {}, 12000, 50}}) {
        const auto start = std::chrono::steady_clock::now();
        auto page = store.work_queries().list_work_requests(filter);
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
        worst_ms = std::max(worst_ms, ms);
        CHECK_FALSE(page.empty());
    }
    std::cout << "work store: worst filtered list page over 20,000 work requests: " << worst_ms << " ms" << std::endl;
    CHECK(worst_ms <= 50.0);
}
