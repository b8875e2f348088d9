// SPDX-License-Identifier: Apache-2.0
#include <patch_core/dependencies.hpp>
#include <patch_core/errors.hpp>

#include <catch2/catch.hpp>

using namespace patching::core;

namespace {

using Lines = std::vector<std::string>;

PatchDependencyInfo dep(
    RepoState repostate, Lines requires_ids = {}, Lines contents = {},
    std::string status = "REL", std::string sw_version = "22.12") {
    PatchDependencyInfo info;
    info.required_patches = std::move(requires_ids);
    info.repostate = repostate;
    info.status = std::move(status);
    info.sw_version = std::move(sw_version);
    info.contents = std::move(contents);
    return info;
}

// P1 <- P2 <- P3 (P3 requires P2, P2 requires P1); P4 requires P1; P5 requires an unknown ID.
DependencyTable chain() {
    return {
        {"P1", dep(RepoState::APPLIED)},
        {"P2", dep(RepoState::APPLIED, {"P1"})},
        {"P3", dep(RepoState::AVAILABLE, {"P2"})},
        {"P4", dep(RepoState::AVAILABLE, {"P1"})},
        {"P5", dep(RepoState::AVAILABLE, {"GHOST"})},
    };
}

}  // namespace

TEST_CASE("join_lines ends every line with a newline", "[deps]") {
    CHECK(join_lines({}).empty());
    CHECK(join_lines({"a", "b"}) == "a\nb\n");
}

TEST_CASE("missing_patch_errors names unknown patches, sorted and unique", "[deps]") {
    CHECK(missing_patch_errors(chain(), {"P1", "P2"}).empty());
    CHECK(missing_patch_errors(chain(), {"Z", "P1", "X", "Z"}) ==
          Lines{"Patch X does not exist", "Patch Z does not exist"});
}

TEST_CASE("apply requires check", "[deps]") {
    DependencyTable t = chain();
    SECTION("requirements in the repo or in the same request are satisfied") {
        CHECK(apply_requires_errors(t, {"P3"}).empty());  // P2 is Applied
        CHECK(apply_requires_errors(t, {"P4"}).empty());  // P1 is Applied
        t["P2"].repostate = RepoState::COMMITTED;
        CHECK(apply_requires_errors(t, {"P3"}).empty());
        t["P2"].repostate = RepoState::AVAILABLE;
        CHECK(apply_requires_errors(t, {"P3", "P2"}).empty());
    }
    SECTION("an Available requirement is reported with its requirers, sorted") {
        t["P1"].repostate = RepoState::AVAILABLE;
        t["P2"].repostate = RepoState::AVAILABLE;
        CHECK(apply_requires_errors(t, {"P4", "P2"}) == Lines{"P1 is required by: P2, P4"});
        CHECK(apply_requires_errors(t, {"P4", "P3"}) ==
              Lines{"P1 is required by: P4", "P2 is required by: P3"});
    }
    SECTION("an unknown requirement is reported too") {
        CHECK(apply_requires_errors(t, {"P5"}) == Lines{"GHOST is required by: P5"});
        CHECK(join_lines(apply_requires_errors(t, {"P5"})) == "GHOST is required by: P5\n");
    }
    SECTION("a patch listing a requirement twice is named once") {
        t["P6"] = dep(RepoState::AVAILABLE, {"P3", "P3"});
        CHECK(apply_requires_errors(t, {"P6"}) == Lines{"P3 is required by: P6"});
    }
    SECTION("unknown IDs in the request are left to missing_patch_errors") {
        CHECK(apply_requires_errors(t, {"NOPE"}).empty());
    }
}

TEST_CASE("remove required-by check", "[deps]") {
    DependencyTable t = chain();
    SECTION("an Applied requirer outside the request blocks the remove") {
        CHECK(remove_required_by_errors(t, {"P1"}) == Lines{"P1 is required by: P2"});
        t["P4"].repostate = RepoState::COMMITTED;
        CHECK(remove_required_by_errors(t, {"P1"}) == Lines{"P1 is required by: P2, P4"});
    }
    SECTION("requirers in the request or Available do not") {
        CHECK(remove_required_by_errors(t, {"P1", "P2"}).empty());
        CHECK(remove_required_by_errors(t, {"P2"}).empty());  // P3 is Available
    }
    SECTION("one line per required patch, sorted") {
        t["P3"].repostate = RepoState::APPLIED;
        CHECK(remove_required_by_errors(t, {"P2", "P1"}) == Lines{"P2 is required by: P3"});
        CHECK(remove_required_by_errors(t, {"P2", "P1", "P3"}).empty());
        t["P4"].repostate = RepoState::APPLIED;
        CHECK(remove_required_by_errors(t, {"P2", "P1"}) ==
              Lines{"P1 is required by: P4", "P2 is required by: P3"});
    }
}

TEST_CASE("what-requires", "[deps]") {
    const DependencyTable t = chain();
    WhatRequiresResult r = what_requires(t, {"P1", "P3", "P2"});
    CHECK(r.errors.empty());
    CHECK(r.info == Lines{"P1 is required by: P2, P4", "P3 is not required by any patches.",
                          "P2 is required by: P3"});
    r = what_requires(t, {"P1", "X", "Y"});
    CHECK(r.info.empty());
    CHECK(r.errors == Lines{"Patch X does not exist", "Patch Y does not exist"});
}

TEST_CASE("query-dependencies", "[deps]") {
    const DependencyTable t = chain();
    SECTION("direct requirements only") {
        const DependencyQuery q = query_dependencies(t, {"P3"}, false);
        CHECK(q.error.empty());
        CHECK(q.patches == Lines{"P2", "P3"});
    }
    SECTION("recursive closure, sorted, inputs included") {
        CHECK(query_dependencies(t, {"P3"}, true).patches == Lines{"P1", "P2", "P3"});
        CHECK(query_dependencies(t, {"P4", "P3", "P4"}, true).patches ==
              Lines{"P1", "P2", "P3", "P4"});
        CHECK(query_dependencies(t, {"P1"}, true).patches == Lines{"P1"});
    }
    SECTION("unknown inputs") {
        const DependencyQuery q = query_dependencies(t, {"P1", "ZZ", "AA"}, true);
        CHECK(q.patches.empty());
        CHECK(q.error == "AA is unrecognized\nZZ is unrecognized\n");
    }
    SECTION("fixed: an unknown required ID is listed, not followed, and does not crash") {
        CHECK(query_dependencies(t, {"P5"}, true).patches == Lines{"GHOST", "P5"});
        CHECK(query_dependencies(t, {"P5"}, false).patches == Lines{"GHOST", "P5"});
    }
    SECTION("cycles terminate") {
        DependencyTable cyc = {{"A", dep(RepoState::APPLIED, {"B"})},
                               {"B", dep(RepoState::APPLIED, {"A"})}};
        CHECK(query_dependencies(cyc, {"A"}, true).patches == Lines{"A", "B"});
    }
}

TEST_CASE("commit plan: the refusal messages", "[deps]") {
    DependencyTable t = chain();
    t.erase("P5");
    std::map<std::string, PatchState> states = {
        {"P1", PatchState::APPLIED}, {"P2", PatchState::COMMITTED},
        {"P3", PatchState::AVAILABLE}, {"P4", PatchState::PARTIAL_APPLY}};

    SECTION("non-REL patches anywhere in the system") {
        t["P3"].status = "DEV";
        t["P4"].status = "";  // absent <status>: the reference raised KeyError
        const CommitPlan plan = commit_plan(t, {"P1"}, states);
        CHECK_FALSE(plan.is_ok());
        CHECK(plan.error ==
              "A commit cannot be performed with non-REL status patches in the system:\n"
              "    P3\n"
              "    P4\n");
    }
    SECTION("unrecognized IDs") {
        const CommitPlan plan = commit_plan(t, {"Q2", "P1", "Q1"}, states);
        CHECK(plan.error == "Q1 is unrecognized\nQ2 is unrecognized\n");
    }
    SECTION("patches of the closure that are not applied") {
        const CommitPlan plan = commit_plan(t, {"P3", "P4"}, states);
        CHECK(plan.error ==
              "The following patches are not applied and cannot be committed:\n"
              "    P3\n"
              "    P4\n");
        CHECK(plan.commit_list.empty());
    }
    SECTION("an unknown required ID is not applied") {
        t["P6"] = dep(RepoState::APPLIED, {"GHOST"});
        states["P6"] = PatchState::APPLIED;
        CHECK(commit_plan(t, {"P6"}, states).error ==
              "The following patches are not applied and cannot be committed:\n"
              "    GHOST\n");
    }
    SECTION("accepted: the closure of the request") {
        const CommitPlan plan = commit_plan(t, {"P2"}, states);
        CHECK(plan.is_ok());
        CHECK(plan.commit_list == Lines{"P1", "P2"});
        CHECK(plan.cleanup.empty());
    }
}

TEST_CASE("commit plan: only the highest version of each package survives", "[deps]") {
    std::map<std::string, PatchState> states;
    DependencyTable t;
    auto add = [&](const std::string& id, Lines req, Lines contents,
                   const std::string& rel = "22.12") {
        t[id] = dep(RepoState::APPLIED, std::move(req), std::move(contents), "REL", rel);
        states[id] = PatchState::APPLIED;
    };
    add("P1", {}, {"pkgA-1.0-1.x86_64.rpm", "pkgB-1.0-1.noarch.rpm", "pkgC-1.0-9.x86_64.rpm"});
    add("P2", {"P1"},
        {"pkgA-1.0-2.x86_64.rpm", "pkgA-1.0-2.i686.rpm", "pkgC-1.0-10.x86_64.rpm"});
    add("P3", {"P2"}, {"pkgA-1.0-1.x86_64.rpm", "1:pkgB-0.5-1.noarch.rpm"});
    add("P4", {"P3"}, {"12:pkgB-0.1-1.noarch.rpm", "pkgA-0.9-1.x86_64.rpm"}, "21.12");
    add("P5", {"P4"}, {"pkgA-0.8-1.x86_64.rpm"}, "21.12");

    const CommitPlan plan = commit_plan(t, {"P5"}, states);
    REQUIRE(plan.is_ok());
    CHECK(plan.commit_list == Lines{"P1", "P2", "P3", "P4", "P5"});
    // 22.12: pkgA.x86_64 keeps 1.0-2 (P2), pkgA.i686 has one file, pkgB keeps epoch 1 (P3),
    // pkgC keeps 1.0-10 (rpm order, not string order). 21.12: pkgA keeps 0.9-1.
    // The same file named again by P3 (pkgA-1.0-1) is cleaned once.
    CHECK(plan.cleanup == std::vector<CleanupFile>{
                              {"21.12", "pkgA-0.8-1.x86_64.rpm", "x86_64"},
                              {"22.12", "pkgA-1.0-1.x86_64.rpm", "x86_64"},
                              {"22.12", "pkgB-1.0-1.noarch.rpm", "noarch"},
                              {"22.12", "pkgC-1.0-9.x86_64.rpm", "x86_64"},
                          });

    SECTION("fixed: the same RPM in two patches is kept, not deleted") {
        add("P6", {}, {"pkgD-1-1.x86_64.rpm"});
        add("P7", {"P6"}, {"pkgD-1-1.x86_64.rpm"});
        const CommitPlan dup = commit_plan(t, {"P7"}, states);
        REQUIRE(dup.is_ok());
        CHECK(dup.cleanup.empty());
    }
    SECTION("multi-digit epochs decide") {
        add("P8", {}, {"9:pkgE-5-1.x86_64.rpm", "10:pkgE-1-1.x86_64.rpm"});
        CHECK(commit_plan(t, {"P8"}, states).cleanup ==
              std::vector<CleanupFile>{{"22.12", "9:pkgE-5-1.x86_64.rpm", "x86_64"}});
    }
    SECTION("equal versions under different names: the first is kept") {
        add("P9", {}, {"pkgF-1-1.x86_64.rpm", "0:pkgF-1-1.x86_64.rpm"});
        CHECK(commit_plan(t, {"P9"}, states).cleanup ==
              std::vector<CleanupFile>{{"22.12", "0:pkgF-1-1.x86_64.rpm", "x86_64"}});
    }
    SECTION("a contents entry that is not an RPM name is an error") {
        add("PX", {}, {"not-an-rpm"});
        CHECK_THROWS_AS(commit_plan(t, {"PX"}, states), MetadataError);
    }
}

TEST_CASE("commit dry-run message", "[deps]") {
    CHECK(commit_free_message(0) == "This commit operation would free 0.00 MiB");
    CHECK(commit_free_message(1048576) == "This commit operation would free 1.00 MiB");
    CHECK(commit_free_message(5767168) == "This commit operation would free 5.50 MiB");
    CHECK(commit_free_message(123456789) == "This commit operation would free 117.74 MiB");
    CHECK(commit_free_message(5242) == "This commit operation would free 0.00 MiB");
    CHECK(commit_free_message(5243) == "This commit operation would free 0.01 MiB");
}
