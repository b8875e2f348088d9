// SPDX-License-Identifier: Apache-2.0
// End-to-end: apply, remove, delete, commit, dependencies, semantic checks and application
// dependencies on the real daemon (spec §2, §3.4, §3.5), with the published repository checked
// on disk, over HTTP and with dnf.
#include "support/controller_harness.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>

using namespace patching::test;
namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

const std::string P1 = fixture_id(1);
const std::string P2 = fixture_id(2);
const std::string P3 = fixture_id(3);

void upload_fixtures(const ControllerHarness& h) {
    for (int n = 1; n <= 3; ++n) {
        Response r = h.upload(fixture_patch(n));
        INFO(r.text);
        REQUIRE(r.info() == fixture_id(n) + " is now available\n");
    }
}

std::vector<std::string> repo_packages(const ControllerHarness& h, const std::string& release = "22.12") {
    return list_files(h.release_repo(release) / "Packages");
}

std::string repo_state(const ControllerHarness& h, const std::string& id) {
    return h.query().at(id).at("repostate").get<std::string>();
}

bool is(const ControllerHarness& h, const std::string& verb, const std::string& ids) {
    Response r = h.get("/v1/" + verb + "/" + ids);
    INFO(r.text);
    REQUIRE(r.status == 200);
    REQUIRE(r.body.is_boolean());
    return r.body.get<bool>();
}

// The <packagereq> names of one comps.xml group.
std::vector<std::string> comps_group(const std::string& comps, const std::string& group) {
    std::vector<std::string> names;
    std::size_t start = comps.find("<id>" + group + "</id>");
    if (start == std::string::npos) {
        return names;
    }
    std::size_t end = comps.find("</group>", start);
    const std::string open = "<packagereq type=\"mandatory\">";
    for (std::size_t p = comps.find(open, start); p != std::string::npos && p < end; p = comps.find(open, p + 1)) {
        std::size_t b = p + open.size();
        names.push_back(comps.substr(b, comps.find('<', b) - b));
    }
    return names;
}

bool have_tool(const std::string& tool) { return run_command("command -v " + tool + " >/dev/null") == 0; }

std::string free_message(std::uint64_t bytes) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "This commit operation would free %0.2f MiB\n",
                  static_cast<double>(bytes) / (1024.0 * 1024.0));
    return buf;
}

}  // namespace

TEST_CASE("apply refuses a patch whose required patch is not in the repo", "[controller][e2e]") {
    ControllerHarness h;
    upload_fixtures(h);
    const auto repo_before = repo_packages(h);

    Response r = h.post("/v1/apply/" + P2);
    INFO(r.text);
    CHECK(r.status == 409);
    CHECK(r.error() == P1 + " is required by: " + P2 + "\n");
    CHECK(r.info().empty());

    Response both = h.post("/v1/apply/" + P3 + "/" + P2);
    CHECK(both.status == 409);
    CHECK(both.error() == P1 + " is required by: " + P2 + ", " + P3 + "\n");

    Response unknown = h.post("/v1/apply/NOPE_1/" + P1);
    CHECK(unknown.status == 404);
    CHECK(unknown.error() == "Patch NOPE_1 does not exist\n");

    for (int n = 1; n <= 3; ++n) {
        CHECK(repo_state(h, fixture_id(n)) == "Available");
    }
    CHECK(repo_packages(h) == repo_before);
}

TEST_CASE("apply publishes the patches' RPMs in a repository that dnf installs from", "[controller][e2e]") {
    ControllerHarness h;
    upload_fixtures(h);
    // Before any apply the repository holds the base release.
    CHECK(repo_packages(h) == std::vector<std::string>{"noarch/fixture-alpha-1.0-1.noarch.rpm",
                                                       "noarch/fixture-beta-1.0-1.noarch.rpm",
                                                       "noarch/fixture-gamma-1.0-1.noarch.rpm"});

    Response r = h.post("/v1/apply/" + P2 + "/" + P1 + "/" + P1);  // order and duplicates do not matter
    INFO(r.text);
    REQUIRE(r.status == 200);
    CHECK(r.info() == P1 + " is now in the repo\n" + P2 + " is now in the repo\n");
    CHECK(r.error().empty());
    CHECK(r.warning().empty());

    json pd = h.query();
    CHECK(pd.at(P1).at("repostate") == "Applied");
    CHECK(pd.at(P2).at("repostate") == "Applied");
    CHECK(pd.at(P3).at("repostate") == "Available");
    CHECK(h.query("applied").size() == 2);
    CHECK(h.query("available").size() == 1);
    CHECK(is(h, "is_applied", P1));
    CHECK(is(h, "is_applied", P1 + "/" + P2));
    CHECK_FALSE(is(h, "is_applied", P1 + "/" + P3));
    CHECK_FALSE(is(h, "is_applied", "NOPE_1"));
    CHECK(is(h, "is_available", P3));
    CHECK_FALSE(is(h, "is_available", P1));
    CHECK_FALSE(is(h, "is_available", P3 + "/NOPE_1"));

    CHECK(list_files(h.state_dir() / "metadata") ==
          std::vector<std::string>{"applied/FIX_22.12_PATCH_0001-metadata.xml",
                                   "applied/FIX_22.12_PATCH_0002-metadata.xml",
                                   "available/FIX_22.12_PATCH_0003-metadata.xml"});

    CHECK(repo_packages(h) == std::vector<std::string>{
                                  "noarch/fixture-alpha-1.0-1.noarch.rpm", "noarch/fixture-alpha-1.0-2.noarch.rpm",
                                  "noarch/fixture-beta-1.0-1.noarch.rpm", "noarch/fixture-beta-1.0-2.noarch.rpm",
                                  "noarch/fixture-delta-1.0-1.noarch.rpm", "noarch/fixture-gamma-1.0-1.noarch.rpm"});

    // Served over HTTP without a token.
    Response repomd = h.request("GET", "/updates/rel-22.12/repodata/repomd.xml", "");
    CHECK(repomd.status == 200);
    CHECK(repomd.text.find("<repomd") != std::string::npos);
    CHECK(repomd.content_type.rfind("application/xml", 0) == 0);
    Response rpm = h.request("GET", "/updates/rel-22.12/Packages/noarch/fixture-alpha-1.0-2.noarch.rpm", "");
    CHECK(rpm.status == 200);
    CHECK(rpm.text == read_file(fixture_rpm("fixture-alpha-1.0-2")));
    Response head = h.request("HEAD", "/updates/rel-22.12/repodata/repomd.xml", "");
    CHECK(head.status == 200);
    CHECK(h.request("GET", "/updates/rel-22.12/Packages/noarch/fixture-alpha-1.0-3.noarch.rpm", "").status == 404);

    // comps.xml: one group per personality; the worker group gets delta from 0002.
    std::string comps = read_file(h.release_repo() / "comps.xml");
    CHECK(comps_group(comps, "updates-worker") == std::vector<std::string>{"fixture-beta", "fixture-delta"});
    CHECK(comps_group(comps, "updates-controller") == std::vector<std::string>{"fixture-alpha", "fixture-beta"});
    CHECK(comps_group(comps, "updates-storage") == std::vector<std::string>{"fixture-beta"});
    Response comps_http = h.request("GET", "/updates/rel-22.12/comps.xml", "");
    CHECK(comps_http.status == 200);
    CHECK(comps_http.text == comps);

    if (!have_tool("dnf") || !have_tool("rpm")) {
        skip_test("dnf or rpm is not installed, so the dnf install from the published repository is not checked");
        return;
    }
    fs::path root = h.work_dir() / "installroot";
    fs::create_directories(root);
    const std::string url = "http://127.0.0.1:" + std::to_string(h.port()) + "/updates/rel-22.12";
    std::string output;
    int rc = run_command("dnf -y -q --installroot=" + root.string() +
                             " --releasever=1 --setopt=reposdir=/dev/null --setopt=cachedir=" +
                             (root / "cache").string() + " --repofrompath=p," + url +
                             " --repo=p --nogpgcheck install fixture-alpha fixture-delta",
                         &output);
    INFO(output);
    REQUIRE(rc == 0);
    std::string installed;
    CHECK(run_command("rpm --root=" + root.string() + " -q fixture-alpha fixture-delta", &installed) == 0);
    CHECK(installed == "fixture-alpha-1.0-2.noarch\nfixture-delta-1.0-1.noarch\n");
}

TEST_CASE("apply of a patch already in the repo, and apply --all", "[controller][e2e]") {
    ControllerHarness h;
    upload_fixtures(h);

    REQUIRE(h.post("/v1/apply/" + P1).info() == P1 + " is now in the repo\n");
    Response again = h.post("/v1/apply/" + P1);
    CHECK(again.status == 200);
    CHECK(again.info() == P1 + " is already in the repo\n");
    CHECK(again.error().empty());

    Response all = h.post("/v1/apply/--all");
    INFO(all.text);
    CHECK(all.status == 200);
    CHECK(all.info() == P2 + " is now in the repo\n" + P3 + " is now in the repo\n");
    CHECK(h.query("applied").size() == 3);
    auto pkgs = repo_packages(h);
    CHECK(std::count(pkgs.begin(), pkgs.end(), "noarch/fixture-alpha-1.0-3.noarch.rpm") == 1);

    Response none = h.post("/v1/apply/--all");
    CHECK(none.status == 200);
    CHECK(none.info() == "There are no available patches to be applied.\n");
}

TEST_CASE("apply --all with nothing imported", "[controller][e2e]") {
    ControllerHarness h;
    Response none = h.post("/v1/apply/--all");
    CHECK(none.status == 200);
    CHECK(none.info() == "There are no available patches to be applied.\n");
}

TEST_CASE("remove honours required-by, unremovable and committed rules", "[controller][e2e]") {
    ControllerHarness h;
    upload_fixtures(h);
    REQUIRE(h.post("/v1/apply/" + P1 + "/" + P2 + "/" + P3).status == 200);

    SECTION("a patch that applied patches require") {
        Response r = h.post("/v1/remove/" + P1);
        INFO(r.text);
        CHECK(r.status == 409);
        CHECK(r.error() == P1 + " is required by: " + P2 + ", " + P3 + "\n");
        CHECK(repo_state(h, P1) == "Applied");

        Response r2 = h.post("/v1/remove/" + P2);
        INFO(r2.text);
        CHECK(r2.status == 200);
        CHECK(r2.info() == P2 + " has been removed from the repo\n");
        CHECK(repo_state(h, P2) == "Available");
        auto pkgs = repo_packages(h);
        CHECK(std::find(pkgs.begin(), pkgs.end(), "noarch/fixture-delta-1.0-1.noarch.rpm") == pkgs.end());
        CHECK(comps_group(read_file(h.release_repo() / "comps.xml"), "updates-worker") ==
              std::vector<std::string>{"fixture-beta"});
        // The store keeps the RPM for a later apply.
        CHECK(fs::exists(h.packages_dir() / "fixture-delta-1.0-1.noarch.rpm"));
        CHECK(fs::exists(h.state_dir() / "metadata/available/FIX_22.12_PATCH_0002-metadata.xml"));

        Response not_in_repo = h.post("/v1/remove/" + P2);
        CHECK(not_in_repo.status == 200);
        CHECK(not_in_repo.info() == P2 + " is not in the repo\n");
    }
    SECTION("an unremovable patch") {
        Response r = h.post("/v1/remove/" + P3);
        INFO(r.text);
        CHECK(r.status == 409);
        CHECK(r.error() == "Patch " + P3 + " is not removable\n");
        CHECK(repo_state(h, P3) == "Applied");

        Response forced = h.post("/v1/remove/" + P3 + "?removeunremovable=yes");
        INFO(forced.text);
        CHECK(forced.status == 200);
        CHECK(forced.warning() == "Unremovable patch " + P3 + " being removed\n");
        CHECK(forced.info() == P3 + " has been removed from the repo\n");
        CHECK(repo_state(h, P3) == "Available");
        auto pkgs = repo_packages(h);
        CHECK(std::find(pkgs.begin(), pkgs.end(), "noarch/fixture-alpha-1.0-3.noarch.rpm") == pkgs.end());
    }
    SECTION("everything at once, in any order") {
        Response r = h.post("/v1/remove/" + P3 + "/" + P1 + "/" + P2 + "?removeunremovable=yes");
        INFO(r.text);
        CHECK(r.status == 200);
        CHECK(r.info() == P1 + " has been removed from the repo\n" + P2 + " has been removed from the repo\n" + P3 +
                              " has been removed from the repo\n");
        CHECK(repo_packages(h) == std::vector<std::string>{"noarch/fixture-alpha-1.0-1.noarch.rpm",
                                                           "noarch/fixture-beta-1.0-1.noarch.rpm",
                                                           "noarch/fixture-gamma-1.0-1.noarch.rpm"});
        CHECK(h.query("available").size() == 3);
    }
    SECTION("an unknown patch") {
        Response r = h.post("/v1/remove/NOPE_1");
        CHECK(r.status == 404);
        CHECK(r.error() == "Patch NOPE_1 does not exist\n");
    }
}

TEST_CASE("delete removes an available patch and its files, and refuses an applied one", "[controller][e2e]") {
    ControllerHarness h;
    upload_fixtures(h);
    REQUIRE(h.post("/v1/apply/" + P1).status == 200);

    Response applied = h.post("/v1/delete/" + P1);
    INFO(applied.text);
    CHECK(applied.status == 409);
    CHECK(applied.error() == "Patch " + P1 + " not in Available state\n");
    CHECK(h.query().contains(P1));

    Response unknown = h.post("/v1/delete/NOPE_1");
    CHECK(unknown.status == 404);
    CHECK(unknown.error() == "Patch NOPE_1 does not exist\n");

    // A list with one bad entry deletes nothing.
    Response mixed = h.post("/v1/delete/" + P1 + "/" + P2);
    CHECK(mixed.status == 409);
    CHECK(h.query().contains(P2));

    const auto repo_before = repo_packages(h);
    Response r = h.post("/v1/delete/" + P2);
    INFO(r.text);
    CHECK(r.status == 200);
    CHECK(r.info() == P2 + " has been deleted\n");
    CHECK_FALSE(h.query().contains(P2));
    CHECK(h.get("/v1/show/" + P2).body.at("error") == P2 + " is unrecognized\n");
    CHECK_FALSE(fs::exists(h.packages_dir() / "fixture-delta-1.0-1.noarch.rpm"));
    CHECK_FALSE(fs::exists(h.state_dir() / "semantics/pre-apply" / P2));
    CHECK_FALSE(fs::exists(h.state_dir() / "semantics/pre-remove" / P2));
    CHECK_FALSE(fs::exists(h.state_dir() / "metadata/available/FIX_22.12_PATCH_0002-metadata.xml"));
    CHECK(repo_packages(h) == repo_before);  // the repository is untouched
    // The other patches' files are still there.
    CHECK(list_files(h.packages_dir()) == std::vector<std::string>{"fixture-alpha-1.0-2.noarch.rpm",
                                                                   "fixture-alpha-1.0-3.noarch.rpm",
                                                                   "fixture-beta-1.0-2.noarch.rpm"});

    // And it can be imported again.
    CHECK(h.upload(fixture_patch(2)).info() == P2 + " is now available\n");
    CHECK(fs::exists(h.packages_dir() / "fixture-delta-1.0-1.noarch.rpm"));
}

TEST_CASE("what_requires and query_dependencies", "[controller][e2e]") {
    ControllerHarness h;
    fs::path c1 = h.build({.id = "CHAIN_22.12_PATCH_0001", .rpms = {{"controller", fixture_rpm("fixture-alpha-1.0-2")}}});
    fs::path c2 = h.build({.id = "CHAIN_22.12_PATCH_0002",
                           .required = {"CHAIN_22.12_PATCH_0001"},
                           .rpms = {{"controller", fixture_rpm("fixture-alpha-1.0-3")}}});
    fs::path c3 = h.build({.id = "CHAIN_22.12_PATCH_0003",
                           .required = {"CHAIN_22.12_PATCH_0002"},
                           .rpms = {{"worker", fixture_rpm("fixture-delta-1.0-1")}}});
    for (const auto& p : {c1, c2, c3}) {
        REQUIRE(h.upload(p).status == 200);
    }

    Response wr = h.get("/v1/what_requires/CHAIN_22.12_PATCH_0001/CHAIN_22.12_PATCH_0003");
    INFO(wr.text);
    CHECK(wr.status == 200);
    CHECK(wr.info() == "CHAIN_22.12_PATCH_0001 is required by: CHAIN_22.12_PATCH_0002\n"
                       "CHAIN_22.12_PATCH_0003 is not required by any patches.\n");
    Response wr_unknown = h.get("/v1/what_requires/NOPE_1");
    CHECK(wr_unknown.status == 404);
    CHECK(wr_unknown.error().find("NOPE_1") != std::string::npos);

    Response direct = h.get("/v1/query_dependencies/CHAIN_22.12_PATCH_0003");
    INFO(direct.text);
    CHECK(direct.status == 200);
    CHECK(direct.body == json({{"patches", {"CHAIN_22.12_PATCH_0002", "CHAIN_22.12_PATCH_0003"}}, {"error", ""}}));
    Response recursive = h.get("/v1/query_dependencies/CHAIN_22.12_PATCH_0003?recursive=yes");
    CHECK(recursive.body ==
          json({{"patches", {"CHAIN_22.12_PATCH_0001", "CHAIN_22.12_PATCH_0002", "CHAIN_22.12_PATCH_0003"}},
                {"error", ""}}));
    Response leaf = h.get("/v1/query_dependencies/CHAIN_22.12_PATCH_0001?recursive=yes");
    CHECK(leaf.body.at("patches") == json({"CHAIN_22.12_PATCH_0001"}));
    Response unknown = h.get("/v1/query_dependencies/NOPE_1");
    CHECK(unknown.body.at("error") == "NOPE_1 is unrecognized\n");

    // The reference fixtures: 0001 is required by both others.
    ControllerHarness fix;
    upload_fixtures(fix);
    CHECK(fix.get("/v1/what_requires/" + P1).info() == P1 + " is required by: " + P2 + ", " + P3 + "\n");
    CHECK(fix.get("/v1/what_requires/" + P2).info() == P2 + " is not required by any patches.\n");
    CHECK(fix.get("/v1/query_dependencies/" + P2 + "/" + P3).body.at("patches") == json({P1, P2, P3}));
}

TEST_CASE("commit is refused while any non-REL patch is in the system", "[controller][e2e]") {
    ControllerHarness h;
    upload_fixtures(h);
    REQUIRE(h.post("/v1/apply/" + P1 + "/" + P2).status == 200);
    const std::string expected =
        "A commit cannot be performed with non-REL status patches in the system:\n    " + P1 + "\n";
    for (const char* verb : {"commit_dry_run", "commit"}) {
        Response r = h.post(std::string("/v1/") + verb + "/" + P2);
        INFO(verb << " " << r.text);
        CHECK(r.status == 409);
        CHECK(r.error() == expected);
    }
    CHECK(repo_state(h, P1) == "Applied");
    CHECK(repo_state(h, P2) == "Applied");
    CHECK(h.query("committed").empty());
    CHECK(fs::exists(h.packages_dir() / "fixture-alpha-1.0-2.noarch.rpm"));
}

TEST_CASE("commit of a REL chain commits its closure and frees superseded RPMs", "[controller][e2e]") {
    ControllerHarness h;
    const std::string R1 = "REL_22.12_PATCH_0001";
    const std::string R2 = "REL_22.12_PATCH_0002";
    const std::string R3 = "REL_22.12_PATCH_0003";
    fs::path r1 = h.build({.id = R1,
                           .rpms = {{"controller", fixture_rpm("fixture-alpha-1.0-2")},
                                    {"all-nodes", fixture_rpm("fixture-beta-1.0-2")}}});
    fs::path r2 = h.build({.id = R2, .required = {R1}, .rpms = {{"controller", fixture_rpm("fixture-alpha-1.0-3")}}});
    fs::path r3 = h.build({.id = R3, .rpms = {{"worker", fixture_rpm("fixture-delta-1.0-1")}}});
    for (const auto& p : {r1, r2, r3}) {
        REQUIRE(h.upload(p).status == 200);
    }

    Response unknown = h.post("/v1/commit_dry_run/NOPE_1");
    CHECK(unknown.status == 404);
    CHECK(unknown.error() == "NOPE_1 is unrecognized\n");

    Response not_applied = h.post("/v1/commit_dry_run/" + R2);
    INFO(not_applied.text);
    CHECK(not_applied.status == 409);
    CHECK(not_applied.error() ==
          "The following patches are not applied and cannot be committed:\n    " + R1 + "\n    " + R2 + "\n");

    REQUIRE(h.post("/v1/apply/" + R1 + "/" + R2 + "/" + R3).status == 200);
    const fs::path superseded_store = h.packages_dir() / "fixture-alpha-1.0-2.noarch.rpm";
    const fs::path superseded_repo = h.release_repo() / "Packages/noarch/fixture-alpha-1.0-2.noarch.rpm";
    REQUIRE(fs::exists(superseded_repo));

    Response dry = h.post("/v1/commit_dry_run/" + R2);
    INFO(dry.text);
    CHECK(dry.status == 200);
    CHECK(dry.info() == free_message(fs::file_size(superseded_store)));
    CHECK(dry.error().empty());
    CHECK(h.query("committed").empty());  // a dry run changes nothing
    CHECK(fs::exists(superseded_store));

    Response commit = h.post("/v1/commit/" + R2);
    INFO(commit.text);
    CHECK(commit.status == 200);
    CHECK(commit.info() == "The patches have been committed.\n");
    CHECK(commit.error().empty());

    json pd = h.query();
    CHECK(pd.at(R1).at("repostate") == "Committed");
    CHECK(pd.at(R1).at("patchstate") == "Committed");
    CHECK(pd.at(R2).at("repostate") == "Committed");
    CHECK(pd.at(R3).at("repostate") == "Applied");  // not in R2's closure
    CHECK(h.query("committed").size() == 2);
    CHECK_FALSE(is(h, "is_applied", R1));  // is_applied tests for Applied only
    CHECK(is(h, "is_applied", R3));

    // Superseded alpha-1.0-2 is gone from the store and the repo; beta-1.0-2 (not superseded)
    // and the base release stay.
    CHECK_FALSE(fs::exists(superseded_store));
    CHECK_FALSE(fs::exists(superseded_repo));
    auto pkgs = repo_packages(h);
    CHECK(pkgs == std::vector<std::string>{"noarch/fixture-alpha-1.0-1.noarch.rpm", "noarch/fixture-alpha-1.0-3.noarch.rpm",
                                           "noarch/fixture-beta-1.0-1.noarch.rpm", "noarch/fixture-beta-1.0-2.noarch.rpm",
                                           "noarch/fixture-delta-1.0-1.noarch.rpm",
                                           "noarch/fixture-gamma-1.0-1.noarch.rpm"});
    CHECK(h.request("GET", "/updates/rel-22.12/Packages/noarch/fixture-alpha-1.0-2.noarch.rpm", "").status == 404);
    CHECK(list_files(h.state_dir() / "metadata") ==
          std::vector<std::string>{"applied/REL_22.12_PATCH_0003-metadata.xml",
                                   "committed/REL_22.12_PATCH_0001-metadata.xml",
                                   "committed/REL_22.12_PATCH_0002-metadata.xml"});

    // Committed patches cannot be removed; re-uploading them changes nothing.
    Response remove = h.post("/v1/remove/" + R2);
    CHECK(remove.status == 409);
    CHECK(remove.error() == "Patch " + R2 + " is committed and cannot be removed\n");
    Response reupload = h.upload(r1);
    CHECK(reupload.status == 200);
    CHECK(reupload.info() == R1 + " is committed. Metadata not updated\n");
    Response del = h.post("/v1/delete/" + R1);
    CHECK(del.status == 409);
    CHECK(del.error() == "Patch " + R1 + " not in Available state\n");

    // Nothing more to free; the state survives a restart.
    CHECK(h.post("/v1/commit_dry_run/" + R2).info() == free_message(0));
    json before = h.query();
    h.restart();
    CHECK(h.query() == before);
    CHECK(repo_packages(h) == pkgs);
    CHECK_FALSE(fs::exists(superseded_store));
}

TEST_CASE("A failing pre-apply semantic check aborts apply with its output", "[controller][e2e]") {
    ControllerHarness h;
    const std::string id = "SEM_22.12_PATCH_0001";
    fs::path p = h.build({.id = id,
                          .rpms = {{"worker", fixture_rpm("fixture-delta-1.0-1")}},
                          .pre_apply = "#!/bin/sh\necho \"nope: $*\"\nexit 1\n"});
    REQUIRE(h.upload(p).status == 200);
    const auto repo_before = repo_packages(h);

    Response r = h.post("/v1/apply/" + id);
    INFO(r.text);
    CHECK(r.status == 409);
    CHECK(r.error().find("Semantic check failed for " + id) != std::string::npos);
    CHECK(r.error().find("nope") != std::string::npos);
    // The script gets "-p ID=patchstate" for every known patch.
    CHECK(r.error().find("-p " + id + "=Available") != std::string::npos);
    CHECK(r.info().empty());
    CHECK(repo_state(h, id) == "Available");
    CHECK(repo_packages(h) == repo_before);

    Response skipped = h.post("/v1/apply/" + id + "?skip-semantic=yes");
    INFO(skipped.text);
    CHECK(skipped.status == 200);
    CHECK(skipped.info() == id + " is now in the repo\n");
    CHECK(repo_state(h, id) == "Applied");
}

TEST_CASE("A failing pre-remove semantic check aborts remove", "[controller][e2e]") {
    ControllerHarness h;
    const std::string id = "SEMR_22.12_PATCH_0001";
    fs::path p = h.build({.id = id,
                          .rpms = {{"worker", fixture_rpm("fixture-delta-1.0-1")}},
                          .pre_apply = "#!/bin/sh\nexit 0\n",
                          .pre_remove = "#!/bin/sh\necho refusing to go >&2\nexit 3\n"});
    REQUIRE(h.upload(p).status == 200);
    REQUIRE(h.post("/v1/apply/" + id).status == 200);

    Response r = h.post("/v1/remove/" + id);
    INFO(r.text);
    CHECK(r.status == 409);
    CHECK(r.error().find("Semantic check failed for " + id) != std::string::npos);
    CHECK(r.error().find("refusing to go") != std::string::npos);  // stderr is captured too
    CHECK(repo_state(h, id) == "Applied");

    Response skipped = h.post("/v1/remove/" + id + "?skip-semantic=yes");
    CHECK(skipped.status == 200);
    CHECK(skipped.info() == id + " has been removed from the repo\n");
}

TEST_CASE("A semantic check that hangs is killed after semantic_timeout", "[controller][e2e]") {
    ControllerHarness h({.extra_config = {"semantic_timeout = 1"}});
    const std::string id = "HANG_22.12_PATCH_0001";
    fs::path p = h.build({.id = id,
                          .rpms = {{"worker", fixture_rpm("fixture-delta-1.0-1")}},
                          .pre_apply = "#!/bin/sh\nsleep 30\n"});
    REQUIRE(h.upload(p).status == 200);
    Response r = h.post("/v1/apply/" + id);
    INFO(r.text);
    CHECK(r.status == 409);
    CHECK(r.error().find("Semantic check failed for " + id) != std::string::npos);
    CHECK(r.error().find("timed out") != std::string::npos);
    CHECK(r.seconds < 10);
    CHECK(repo_state(h, id) == "Available");
}

TEST_CASE("A semantic check that leaves a background process and exits 0 passes at once", "[controller][e2e]") {
    // Regression (issue #9): the sleeper kept the output pipe open, and the check was reported
    // "timed out" after semantic_timeout although the script had exited 0.
    ControllerHarness h({.extra_config = {"semantic_timeout = 20"}});
    const std::string id = "BG_22.12_PATCH_0001";
    const fs::path pid_file = h.root() / "sleeper.pid";
    fs::path p = h.build({.id = id,
                          .rpms = {{"worker", fixture_rpm("fixture-delta-1.0-1")}},
                          .pre_apply = "#!/bin/sh\nsleep 30 &\necho $! > '" + pid_file.string() +
                                       "'\necho checked\nexit 0\n"});
    REQUIRE(h.upload(p).status == 200);
    Response r = h.post("/v1/apply/" + id);
    INFO(r.text);
    CHECK(r.status == 200);
    CHECK(r.info() == id + " is now in the repo\n");
    CHECK(r.seconds < 10);
    CHECK(repo_state(h, id) == "Applied");
    // The sleeper went with the script's process group.
    const std::string stat = "/proc/" + std::to_string(std::stol(read_file(pid_file))) + "/stat";
    auto alive = [&stat] {  // exists and is not a zombie
        std::ifstream in(stat);
        std::string text;
        if (!std::getline(in, text)) {
            return false;
        }
        const auto paren = text.rfind(')');
        return paren != std::string::npos && paren + 2 < text.size() && text[paren + 2] != 'Z';
    };
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (alive() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(20ms);
    }
    CHECK_FALSE(alive());
}

TEST_CASE("Application dependencies block removal unless skipappcheck=yes", "[controller][e2e]") {
    ControllerHarness h;
    upload_fixtures(h);
    REQUIRE(h.post("/v1/apply/" + P1 + "/" + P2).status == 200);

    Response empty = h.get("/v1/query_app_dependencies");
    CHECK(empty.status == 200);
    CHECK(empty.body == json::object());

    Response rep = h.post("/v1/report_app_dependencies/" + P2 + "?app=vim");
    INFO(rep.text);
    CHECK(rep.status == 200);
    CHECK(rep.body == json(true));
    REQUIRE(h.post("/v1/report_app_dependencies/" + P2 + "/" + P1 + "?app=emacs").body == json(true));
    CHECK(h.get("/v1/query_app_dependencies").body == json({{"emacs", {P1, P2}}, {"vim", {P2}}}));

    Response no_app = h.post("/v1/report_app_dependencies/" + P2);
    CHECK(no_app.status >= 400);
    CHECK(h.get("/v1/query_app_dependencies").body.size() == 2);

    Response blocked = h.post("/v1/remove/" + P2);
    INFO(blocked.text);
    CHECK(blocked.status == 409);
    CHECK(blocked.error() == P2 + " is required by application(s): emacs, vim\n");
    CHECK(repo_state(h, P2) == "Applied");

    // Survives a restart.
    h.restart();
    CHECK(h.get("/v1/query_app_dependencies").body == json({{"emacs", {P1, P2}}, {"vim", {P2}}}));

    // An empty list drops the application's entry.
    REQUIRE(h.post("/v1/report_app_dependencies?app=emacs").body == json(true));
    CHECK(h.get("/v1/query_app_dependencies").body == json({{"vim", {P2}}}));
    Response still = h.post("/v1/remove/" + P2);
    CHECK(still.error() == P2 + " is required by application(s): vim\n");

    Response skipped = h.post("/v1/remove/" + P2 + "?skipappcheck=yes");
    INFO(skipped.text);
    CHECK(skipped.status == 200);
    CHECK(skipped.info() == P2 + " has been removed from the repo\n");
}

TEST_CASE("A patch restricted to the active release cannot be applied to another release", "[controller][e2e]") {
    ControllerHarness h;
    REQUIRE(h.post("/v1/init_release/99.99").status == 200);
    const std::string id = "UPG_99.99_PATCH_0001";
    fs::path p = h.build({.id = id,
                          .release = "99.99",
                          .apply_active_release_only = true,
                          .rpms = {{"controller", fixture_rpm("fixture-alpha-1.0-2")}}});
    REQUIRE(h.upload(p).status == 200);
    Response r = h.post("/v1/apply/" + id);
    INFO(r.text);
    CHECK(r.status == 409);
    CHECK(r.error() == id + " cannot be applied in an upgrade\n");
    CHECK(repo_state(h, id) == "Available");

    // Without the flag a patch for the other release goes into that release's repository.
    const std::string other = "UPG_99.99_PATCH_0002";
    REQUIRE(h.upload(h.build({.id = other, .release = "99.99", .rpms = {{"worker", fixture_rpm("fixture-delta-1.0-1")}}}))
                .status == 200);
    REQUIRE(h.post("/v1/apply/" + other).status == 200);
    CHECK(repo_packages(h, "99.99") == std::vector<std::string>{"noarch/fixture-delta-1.0-1.noarch.rpm"});
    auto pkgs = repo_packages(h);
    CHECK(std::find(pkgs.begin(), pkgs.end(), "noarch/fixture-delta-1.0-1.noarch.rpm") == pkgs.end());
}
