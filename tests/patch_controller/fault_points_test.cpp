// SPDX-License-Identifier: Apache-2.0
// The daemon killed with SIGKILL at every fault point of faults::REGISTRY (issue #9): for each
// operation (upload, apply, remove, commit, delete) and each point it reaches, a fresh daemon is
// set up, restarted with PATCHING_FAULT naming the point, made to run the operation, and must die
// there. Restarted, it must show: every row's files present, no file no row owns, the published
// repository (Packages/ and its repodata) holding exactly the base feed plus the RPMs of the
// applied and committed rows, and the operation done wholly (point after the store commit) or
// not at all (before it). A point added to the registry is covered without touching this file,
// as long as it names an operation below.
#include "support/controller_harness.hpp"

#include "store/sqlite/sqlite_store.hpp"

#include <controller/faults/fault_points.hpp>

#include <catch2/catch.hpp>

#include <csignal>
#include <functional>
#include <map>
#include <set>
#include <sstream>

using namespace patching::test;
namespace fs = std::filesystem;
namespace faults = patching::controller::faults;
using namespace std::chrono_literals;

namespace {

const std::string P1 = fixture_id(1);
const std::string P2 = fixture_id(2);
const std::string P3 = fixture_id(3);
const std::string R1 = "REL_22.12_PATCH_0001";
const std::string R2 = "REL_22.12_PATCH_0002";

// What an operation changes, as the database holds it.
struct DbPatch {
    std::string sw_version;
    std::string repostate;
    std::vector<std::string> rpms;
    bool operator==(const DbPatch&) const = default;
};
using DbState = std::map<std::string, DbPatch>;

std::ostream& operator<<(std::ostream& out, const DbState& state) {
    for (const auto& [id, p] : state) {
        out << id << " " << p.sw_version << " " << p.repostate << " [";
        for (const auto& rpm : p.rpms) {
            out << " " << rpm;
        }
        out << " ]\n";
    }
    return out;
}

std::string describe(const DbState& state) {
    std::ostringstream out;
    out << state;
    return out.str();
}

// REQUIRES: the daemon is stopped (no writer while the store is opened).
DbState read_db(const ControllerHarness& h) {
    patching::controller::SqliteStore store(h.state_dir() / "patching.db");
    DbState state;
    for (const auto& p : store.load_patches()) {
        DbPatch& d = state[p.id];
        d.sw_version = p.sw_version;
        d.repostate = p.repostate;
        for (const auto& rpm : p.rpms) {
            d.rpms.push_back(rpm.file_name);
        }
        std::sort(d.rpms.begin(), d.rpms.end());
    }
    return state;
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

std::set<std::string> basenames(const std::vector<std::string>& paths) {
    std::set<std::string> out;
    for (const auto& p : paths) {
        out.insert(fs::path(p).filename().string());
    }
    return out;
}

// The package file names the release's repodata lists: the primary.xml that repomd.xml names
// (the directory also keeps older ones for clients that fetched the previous repomd.xml).
std::set<std::string> repodata_packages(const ControllerHarness& h) {
    const std::string repomd = read_file(h.release_repo() / "repodata" / "repomd.xml");
    const auto data = repomd.find("<data type=\"primary\">");
    REQUIRE(data != std::string::npos);
    const std::string href = "<location href=\"";
    const auto start = repomd.find(href, data) + href.size();
    const fs::path primary = h.release_repo() / repomd.substr(start, repomd.find('"', start) - start);
    std::string xml;
    REQUIRE(run_command("gzip -dc '" + primary.string() + "'", &xml) == 0);
    std::set<std::string> out;
    for (auto pos = xml.find(href); pos != std::string::npos; pos = xml.find(href, pos)) {
        pos += href.size();
        out.insert(fs::path(xml.substr(pos, xml.find('"', pos) - pos)).filename().string());
    }
    return out;
}

// The invariants, on a daemon that has just recovered; stops it and returns the database.
DbState check_consistent(ControllerHarness& h) {
    // The daemon's model is the database's.
    const nlohmann::json pd = h.query();
    REQUIRE(h.stop() == 0);
    const DbState db = read_db(h);
    INFO("database:\n" << db);
    std::map<std::string, std::string> served;
    for (const auto& [id, meta] : pd.items()) {
        served[id] = meta.at("repostate").get<std::string>();
    }
    std::map<std::string, std::string> stored;
    for (const auto& [id, p] : db) {
        stored[id] = p.repostate;
    }
    CHECK(served == stored);

    // Every row's files exist, and nothing else is in the store.
    std::set<std::string> owned_rpms;
    std::set<std::string> owned_metadata;
    std::set<std::string> published{"fixture-alpha-1.0-1.noarch.rpm", "fixture-beta-1.0-1.noarch.rpm",
                                    "fixture-gamma-1.0-1.noarch.rpm"};  // the base feed
    for (const auto& [id, p] : db) {
        for (const auto& rpm : p.rpms) {
            owned_rpms.insert(p.sw_version + "/" + rpm);
            if (p.repostate != "Available") {
                published.insert(rpm);
            }
        }
        owned_metadata.insert(lower(p.repostate) + "/" + id + "-metadata.xml");
    }
    const auto store_files = list_files(h.state_dir() / "packages");
    CHECK(std::set<std::string>(store_files.begin(), store_files.end()) == owned_rpms);
    const auto metadata_files = list_files(h.state_dir() / "metadata");
    CHECK(std::set<std::string>(metadata_files.begin(), metadata_files.end()) == owned_metadata);
    for (const auto& script : list_files(h.state_dir() / "semantics")) {
        INFO(script);
        CHECK(db.contains(fs::path(script).filename().string()));
    }
    CHECK(list_files(h.tmp_dir()).empty());

    // The published repository is the database's: its files and what its repodata lists.
    CHECK(basenames(list_files(h.release_repo() / "Packages")) == published);
    CHECK(repodata_packages(h) == published);
    return db;
}

struct Scenario {
    std::function<void(ControllerHarness&)> setup;
    std::function<Response(ControllerHarness&)> run;
};

void upload_all(ControllerHarness& h, const std::vector<fs::path>& patches) {
    for (const auto& p : patches) {
        Response r = h.upload(p);
        INFO(r.text);
        REQUIRE(r.status == 200);
    }
}

void post_ok(ControllerHarness& h, const std::string& path) {
    Response r = h.post(path);
    INFO(path << ": " << r.text);
    REQUIRE(r.status == 200);
    REQUIRE(r.error().empty());
}

// The REL chain commit needs (the fixtures are FIX patches, which block a commit), built once.
const std::vector<fs::path>& rel_patches() {
    static TempDir dir;
    static const std::vector<fs::path> patches = [] {
        const fs::path r1 = build_patch({.id = R1,
                                         .rpms = {{"controller", fixture_rpm("fixture-alpha-1.0-2")},
                                                  {"all-nodes", fixture_rpm("fixture-beta-1.0-2")}}},
                                        dir.path());
        const fs::path r2 = build_patch(
            {.id = R2, .required = {R1}, .rpms = {{"controller", fixture_rpm("fixture-alpha-1.0-3")}}}, dir.path());
        return std::vector<fs::path>{r1, r2};
    }();
    return patches;
}

// Each operation on two patches where it can, so a point inside its loop finds it half done.
Scenario scenario(const std::string& operation) {
    const std::vector<fs::path> fixtures = {fixture_patch(1), fixture_patch(2), fixture_patch(3)};
    if (operation == "upload") {
        return {[](ControllerHarness& h) {
                    upload_all(h, {fixture_patch(1)});
                    post_ok(h, "/v1/apply/" + P1);
                },
                [](ControllerHarness& h) { return h.upload(fixture_patch(2)); }};  // RPM + semantic script
    }
    if (operation == "apply") {
        return {[=](ControllerHarness& h) { upload_all(h, fixtures); },
                [](ControllerHarness& h) { return h.post("/v1/apply/" + P1 + "/" + P2); }};
    }
    if (operation == "remove") {
        return {[=](ControllerHarness& h) {
                    upload_all(h, fixtures);
                    post_ok(h, "/v1/apply/" + P1 + "/" + P2);
                },
                [](ControllerHarness& h) { return h.post("/v1/remove/" + P1 + "/" + P2); }};
    }
    if (operation == "commit") {
        return {[](ControllerHarness& h) {
                    upload_all(h, rel_patches());
                    post_ok(h, "/v1/apply/" + R1 + "/" + R2);
                },
                [](ControllerHarness& h) { return h.post("/v1/commit/" + R2); }};  // commits R1 too
    }
    if (operation == "delete") {
        return {[=](ControllerHarness& h) { upload_all(h, fixtures); },
                [](ControllerHarness& h) { return h.post("/v1/delete/" + P2 + "/" + P3); }};
    }
    FAIL("no scenario for the operation \"" << operation << "\"");
    return {};
}

std::vector<std::string> operations_of(const faults::FaultPointInfo& point) {
    std::vector<std::string> out;
    std::istringstream in{std::string(point.operations)};
    for (std::string op; in >> op;) {
        out.push_back(op);
    }
    return out;
}

// Every point `operation` reaches, SIGKILLed there, restarted and checked.
void crash_at_every_point(const std::string& operation) {
    const Scenario s = scenario(operation);
    // The database after the operation ran without a crash (once: Catch2 runs the case again
    // for each section).
    static std::map<std::string, DbState> done_by_operation;
    if (!done_by_operation.contains(operation)) {
        ControllerHarness h;
        s.setup(h);
        Response r = s.run(h);
        INFO(r.text);
        REQUIRE(r.status == 200);
        done_by_operation[operation] = check_consistent(h);
    }
    const DbState& done = done_by_operation.at(operation);
    int covered = 0;
    for (const auto& point : faults::REGISTRY) {
        const auto ops = operations_of(point);
        if (std::find(ops.begin(), ops.end(), operation) == ops.end()) {
            continue;
        }
        ++covered;
        const std::string name(point.name);
        DYNAMIC_SECTION(name) {
            ControllerHarness h;
            s.setup(h);
            REQUIRE(h.stop() == 0);
            const DbState before = read_db(h);
            REQUIRE(before != done);

            h.set_environment({"PATCHING_FAULT=" + name});
            h.start();
            const Response r = s.run(h);
            const auto status = h.wait_exit(10s);
            INFO("log:\n" << h.log());
            REQUIRE(status == 128 + SIGKILL);
            CHECK(r.status == 0);  // killed before it could answer
            CHECK(h.log().find("fault point " + name + " reached: SIGKILL") != std::string::npos);

            h.set_environment({});
            h.start();
            const DbState after = check_consistent(h);
            INFO("before:\n" << describe(before) << "done:\n" << describe(done) << "after the crash:\n"
                             << describe(after));
            CHECK(after == (point.stage == faults::Stage::AFTER_COMMIT ? done : before));
        }
    }
    CHECK(covered > 0);
}

}  // namespace

TEST_CASE("Every fault point names operations this test drives", "[controller][faults]") {
    const std::set<std::string> driven = {"upload", "apply", "remove", "commit", "delete"};
    std::set<std::string> names;
    for (const auto& point : faults::REGISTRY) {
        INFO(point.name);
        CHECK(names.insert(std::string(point.name)).second);
        CHECK_FALSE(operations_of(point).empty());
        for (const auto& op : operations_of(point)) {
            CHECK(driven.contains(op));
        }
    }
    CHECK(faults::compiled_in());
}

TEST_CASE("SIGKILL at every fault point of upload", "[controller][faults][e2e]") { crash_at_every_point("upload"); }
TEST_CASE("SIGKILL at every fault point of apply", "[controller][faults][e2e]") { crash_at_every_point("apply"); }
TEST_CASE("SIGKILL at every fault point of remove", "[controller][faults][e2e]") { crash_at_every_point("remove"); }
TEST_CASE("SIGKILL at every fault point of commit", "[controller][faults][e2e]") { crash_at_every_point("commit"); }
TEST_CASE("SIGKILL at every fault point of delete", "[controller][faults][e2e]") { crash_at_every_point("delete"); }

TEST_CASE("An unknown PATCHING_FAULT stops the daemon at start", "[controller][faults][e2e]") {
    ControllerHarness h({.start = false});
    h.set_environment({"PATCHING_FAULT=apply.no_such_point"});
    CHECK_THROWS_WITH(h.start(), Catch::Contains("PATCHING_FAULT=apply.no_such_point names no fault point"));
}
