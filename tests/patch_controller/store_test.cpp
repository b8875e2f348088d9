// SPDX-License-Identifier: Apache-2.0
// The Store contract on both implementations, and the SQLite schema migrations.
#include "support/test_support.hpp"

#include <store/memory/memory_store.hpp>
#include <store/sqlite/sqlite_store.hpp>

#include <catch2/catch.hpp>

#include <filesystem>
#include <memory>

using namespace patching;
using namespace patching::controller;

namespace {

StoredPatch patch(const std::string& id, const std::string& release = "22.12") {
    return {id, release, "Available", "<patch/>", {{id + ".rpm", "pkg", "", "1.0", "1", "noarch", 10}}, 100};
}

void check_contract(Store& store) {
    const auto counter = store.op_counter();
    store.write([&](WriteTransaction& tx) {
        tx.put_patch(patch("A"));
        tx.put_patch(patch("B", "23.09"));
        tx.add_release("23.09");
        tx.set_app_dependencies("app", {"B", "A"});
        tx.put_host({"h1", "192.0.2.1", 5, "22.12", "controller", "controller", {"controller", "worker"}, "boot-1"});
        CHECK(tx.bump_op_counter() == counter + 1);
    });
    REQUIRE(store.load_patches().size() == 2);
    CHECK(store.load_patches()[0] == patch("A"));
    CHECK(store.load_app_dependencies().at("app") == std::vector<std::string>{"A", "B"});
    REQUIRE(store.load_hosts().size() == 1);
    CHECK(store.load_hosts()[0].subfunctions == std::vector<std::string>{"controller", "worker"});
    CHECK(store.load_hosts()[0].boot_id == "boot-1");

    SECTION("a throwing transaction changes nothing") {
        CHECK_THROWS(store.write([&](WriteTransaction& tx) {
            tx.delete_patch("A");
            tx.bump_op_counter();
            throw std::runtime_error("crash in the middle");
        }));
        CHECK(store.load_patches().size() == 2);
        CHECK(store.op_counter() == counter + 1);
    }
    SECTION("repostate, rpms, release deletion, hosts") {
        store.write([&](WriteTransaction& tx) {
            tx.set_repostate("A", "Committed");
            StoredPatch b = patch("B", "23.09");
            b.rpms.clear();
            tx.put_patch(b);
        });
        auto patches = store.load_patches();
        CHECK(patches[0].repostate == "Committed");
        CHECK(patches[1].rpms.empty());
        store.write([&](WriteTransaction& tx) {
            tx.delete_release("23.09");
            tx.delete_host("h1");
            tx.set_app_dependencies("app", {});
        });
        CHECK(store.load_patches().size() == 1);
        CHECK(store.load_releases().empty());
        CHECK(store.load_hosts().empty());
        CHECK(store.load_app_dependencies().empty());
    }
    SECTION("host commands: put replaces by id, load orders by seq, drop-host deletes them") {
        using core::protocol::CommandKind;
        using core::protocol::CommandStatus;
        const StoredCommand second{"2-b", 2, "h1", CommandKind::REBOOT, false, CommandStatus::QUEUED, "", "boot-1", 20, 0};
        StoredCommand first{"1-a", 1, "h1", CommandKind::INSTALL, true, CommandStatus::SENT, "", "boot-1", 10, 0};
        store.write([&](WriteTransaction& tx) {
            tx.put_command(second);
            tx.put_command(first);
        });
        REQUIRE(store.load_commands().size() == 2);
        CHECK(store.load_commands()[0] == first);
        CHECK(store.load_commands()[1] == second);
        first.status = CommandStatus::FAILED;
        first.reason = "why\nand\ttabs";
        first.finished_at = 30;
        store.write([&](WriteTransaction& tx) { tx.put_command(first); });
        CHECK(store.load_commands()[0] == first);
        store.write([&](WriteTransaction& tx) { tx.delete_command("1-a"); });
        CHECK(store.load_commands() == std::vector<StoredCommand>{second});
        store.write([&](WriteTransaction& tx) { tx.delete_host("h1"); });
        CHECK(store.load_commands().empty());
    }
    SECTION("host keys and audit") {
        CHECK(store.add_host_key("h1", "ab"));
        CHECK_FALSE(store.add_host_key("h1", "cd"));
        CHECK(store.host_key("h1") == "ab");
        CHECK(store.remove_host_key("h1"));
        CHECK_FALSE(store.host_key("h1"));
        store.audit({0, 7, "admin", "admin", "127.0.0.1:1", "apply", "A", "ok"});
        REQUIRE(store.audit_log(0, 10).size() == 1);
        CHECK(store.audit_log(0, 10)[0].action == "apply");
    }
}

}  // namespace

TEST_CASE("MemoryStore keeps the Store contract", "[store]") {
    MemoryStore store;
    check_contract(store);
}

TEST_CASE("SqliteStore keeps the Store contract", "[store]") {
    test::TempDir dir;
    SqliteStore store(dir.path() / "patching.db");
    CHECK(store.schema_version() == SqliteStore::SCHEMA_VERSION);
    check_contract(store);
}

TEST_CASE("SqliteStore migrates a database written before schema versions", "[store]") {
    test::TempDir dir;
    const auto db = dir.path() / "patching.db";
    std::filesystem::copy_file(std::filesystem::path(PATCHING_TESTDATA_DIR) / "patching-schema0.db", db);
    {
        SqliteStore store(db);
        CHECK(store.schema_version() == SqliteStore::SCHEMA_VERSION);
        auto patches = store.load_patches();
        REQUIRE(patches.size() == 3);
        CHECK(patches[0].id == "FIX_22.12_PATCH_0001");
        CHECK(patches[0].repostate == "Applied");
        CHECK(patches[1].repostate == "Available");
        CHECK(patches[0].rpms.size() == 2);
        CHECK(store.load_releases() == std::set<std::string>{"23.09"});
        CHECK(store.load_app_dependencies().at("fixture-app") == std::vector<std::string>{"FIX_22.12_PATCH_0001"});
        CHECK(store.host_key("fixture-host-1").has_value());
        CHECK(store.load_hosts().empty());
        CHECK(store.load_commands().empty());  // migration 2: the command table
        CHECK(store.op_counter() == 6);
        CHECK(store.audit_log(0, 100).size() == 6);
        store.write([](WriteTransaction& tx) { tx.put_host({"h1", "ip", 1, "22.12", "", "", {}, ""}); });
    }
    SqliteStore reopened(db);  // already migrated: opens as is
    CHECK(reopened.load_hosts().size() == 1);
}
