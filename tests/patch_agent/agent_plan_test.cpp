// SPDX-License-Identifier: Apache-2.0
// compute_plan(): what the agent would change on a host, from the rpmdb and the repository.
#include "installer/plan.hpp"

#include <patch_core/evr.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

using patching::agent::comps_group_id;
using patching::agent::compute_plan;
using patching::agent::host_arch_of;
using patching::agent::Plan;
using patching::agent::RepoIndex;
using patching::agent::RepoPackage;
using patching::agent::report_version;
using patching::rpm::InstalledPackage;

namespace {

const std::vector<std::string> CONTROLLER_WORKER = {"controller", "worker"};

/// `evr` is "[E:]V-R".
InstalledPackage installed(
    const std::string& name,
    const std::string& evr,
    const std::string& arch = "x86_64",
    std::int64_t install_time = 0) {
    auto parsed = patching::core::parse_pkgver(evr);
    InstalledPackage p;
    p.name = name;
    p.epoch = parsed.epoch;
    p.version = parsed.version;
    p.release = parsed.release;
    p.arch = arch;
    p.install_time = install_time;
    return p;
}

RepoPackage repo_package(
    const std::string& name, const std::string& evr, const std::string& arch = "x86_64") {
    auto parsed = patching::core::parse_pkgver(evr);
    RepoPackage p;
    p.name = name;
    p.epoch = parsed.epoch == "0" ? "" : parsed.epoch;
    p.version = parsed.version;
    p.release = parsed.release;
    p.arch = arch;
    p.location = p.nevra() + ".rpm";
    p.checksum_type = "sha256";
    p.checksum = std::string(64, 'a');
    p.size = 1000;
    return p;
}

std::vector<std::string> nevras(const std::vector<RepoPackage>& packages) {
    std::vector<std::string> out;
    for (const auto& p : packages) {
        out.push_back(p.nevra());
    }
    return out;
}

std::vector<std::string> nevras(const std::vector<InstalledPackage>& packages) {
    std::vector<std::string> out;
    for (const auto& p : packages) {
        out.push_back(p.nevra());
    }
    return out;
}

using Strings = std::vector<std::string>;

}  // namespace

TEST_CASE("comps_group_id joins the subfunctions", "[agent][plan]") {
    CHECK(comps_group_id({"controller", "worker"}) == "updates-controller-worker");
    CHECK(
        comps_group_id({"controller", "worker", "lowlatency"}) ==
        "updates-controller-worker-lowlatency");
    CHECK(comps_group_id({"storage"}) == "updates-storage");
}

TEST_CASE("report_version writes the epoch only when it is not zero", "[agent][plan]") {
    CHECK(report_version("", "1.0", "2", "x86_64") == "1.0-2@x86_64");
    CHECK(report_version("0", "1.0", "2", "noarch") == "1.0-2@noarch");
    CHECK(report_version("3", "1.0", "2", "x86_64") == "3:1.0-2@x86_64");
}

TEST_CASE("A host that matches the repository has nothing to do", "[agent][plan]") {
    RepoIndex repo;
    repo.packages = {repo_package("alpha", "1.0-2"), repo_package("beta", "2.0-1", "noarch")};
    // An explicit epoch 0 in the rpmdb equals an absent one in the repo; "1.00" equals "1.0".
    std::vector<InstalledPackage> host = {
        installed("alpha", "0:1.00-2"), installed("beta", "2.0-1", "noarch")};
    Plan plan = compute_plan(host, repo, CONTROLLER_WORKER, {"alpha.x86_64"});
    CHECK_FALSE(plan.has_changes());
    CHECK(plan.installed.empty());
    CHECK(plan.to_remove_names.empty());
    CHECK(plan.missing_names.empty());
    CHECK(plan.duplicated.empty());
}

TEST_CASE("An older installed package is upgraded to the highest repo version", "[agent][plan]") {
    RepoIndex repo;
    // Several versions of a name are normal (base feed + patches), in any order.
    repo.packages = {
        repo_package("alpha", "1.0-2"), repo_package("alpha", "1.0-10"),
        repo_package("alpha", "1.0-1"), repo_package("alpha", "1.0-9")};
    Plan plan = compute_plan({installed("alpha", "1.0-1")}, repo, CONTROLLER_WORKER, {});
    CHECK(nevras(plan.to_upgrade) == Strings{"alpha-1.0-10.x86_64"});
    CHECK(plan.to_downgrade.empty());
    CHECK(plan.installed == std::map<std::string, std::string>{{"alpha", "1.0-1@x86_64"}});
    CHECK(plan.has_changes());
}

TEST_CASE("A newer installed package is downgraded to the repo version", "[agent][plan]") {
    RepoIndex repo;
    repo.packages = {repo_package("alpha", "1.0-2"), repo_package("alpha", "1.0-1")};
    Plan plan = compute_plan({installed("alpha", "1.0-3")}, repo, CONTROLLER_WORKER, {});
    CHECK(plan.to_upgrade.empty());
    CHECK(nevras(plan.to_downgrade) == Strings{"alpha-1.0-2.x86_64"});
    CHECK(plan.installed.at("alpha") == "1.0-3@x86_64");
}

TEST_CASE("The epoch decides before the version", "[agent][plan]") {
    SECTION("an installed epoch beats a higher version without one") {
        RepoIndex repo;
        repo.packages = {repo_package("alpha", "2.0-1")};
        Plan plan = compute_plan({installed("alpha", "1:1.0-1")}, repo, CONTROLLER_WORKER, {});
        CHECK(nevras(plan.to_downgrade) == Strings{"alpha-2.0-1.x86_64"});
        CHECK(plan.installed.at("alpha") == "1:1.0-1@x86_64");
    }
    SECTION("a repo epoch beats a higher installed version") {
        RepoIndex repo;
        repo.packages = {repo_package("alpha", "2:0.5-1"), repo_package("alpha", "1:9.0-1")};
        Plan plan = compute_plan({installed("alpha", "1:3.0-1")}, repo, CONTROLLER_WORKER, {});
        CHECK(nevras(plan.to_upgrade) == Strings{"alpha-2:0.5-1.x86_64"});
        CHECK(plan.installed.at("alpha") == "1:3.0-1@x86_64");
    }
    SECTION("epoch 0 is no epoch") {
        RepoIndex repo;
        repo.packages = {repo_package("alpha", "1.0-2")};
        Plan plan = compute_plan({installed("alpha", "0:1.0-1")}, repo, CONTROLLER_WORKER, {});
        CHECK(nevras(plan.to_upgrade) == Strings{"alpha-1.0-2.x86_64"});
        CHECK(plan.installed.at("alpha") == "1.0-1@x86_64");
    }
}

TEST_CASE("Group packages that are not installed are missing", "[agent][plan]") {
    RepoIndex repo;
    repo.packages = {repo_package("alpha", "1.0-1"),           repo_package("gamma", "1.0-1"),
                     repo_package("gamma", "1.0-3"),           repo_package("gamma", "1.0-2"),
                     repo_package("delta", "1.0-1", "noarch"), repo_package("extra", "1.0-1")};
    repo.groups["updates-controller-worker"] = {"gamma", "alpha", "delta", "not-in-repo"};
    repo.groups["updates-controller"] = {"extra"};
    std::vector<InstalledPackage> host = {installed("alpha", "1.0-1")};

    Plan plan = compute_plan(host, repo, CONTROLLER_WORKER, {});
    // Sorted by name; the highest version; names absent from the repo are skipped; other
    // groups' packages are not wanted here.
    CHECK(nevras(plan.missing) == Strings{"delta-1.0-1.noarch", "gamma-1.0-3.x86_64"});
    CHECK(plan.missing_names == Strings{"delta", "gamma"});
    CHECK(plan.installed.empty());
    CHECK(plan.has_changes());

    Plan controller = compute_plan(host, repo, {"controller"}, {});
    CHECK(controller.missing_names == Strings{"extra"});
}

TEST_CASE("A group package installed in any arch is not missing", "[agent][plan]") {
    RepoIndex repo;
    repo.packages = {repo_package("gamma", "1.0-1", "x86_64")};
    repo.groups["updates-controller-worker"] = {"gamma"};
    Plan plan = compute_plan(
        {installed("gamma", "1.0-1", "i686"), installed("zz", "1-1")}, repo, CONTROLLER_WORKER, {});
    CHECK(plan.missing.empty());
    CHECK_FALSE(plan.has_changes());
}

TEST_CASE("A missing comps group adds nothing and is not a crash", "[agent][plan]") {
    RepoIndex repo;
    repo.packages = {repo_package("gamma", "1.0-1")};
    repo.groups["updates-storage"] = {"gamma"};
    Plan plan = compute_plan({}, repo, CONTROLLER_WORKER, {});
    CHECK(plan.missing.empty());
    CHECK_FALSE(plan.has_changes());
    Plan no_groups = compute_plan({}, RepoIndex{}, CONTROLLER_WORKER, {});
    CHECK_FALSE(no_groups.has_changes());
}

TEST_CASE("Installed packages the patch system never installed are left alone", "[agent][plan]") {
    RepoIndex repo;
    repo.packages = {repo_package("alpha", "1.0-1")};
    std::vector<InstalledPackage> host = {
        installed("alpha", "1.0-1"), installed("bash", "5.2-1"), installed("vim", "9.0-1")};
    // Managed in another arch only: still not this (name, arch).
    Plan plan = compute_plan(host, repo, CONTROLLER_WORKER, {"bash.i686"});
    CHECK(plan.to_remove.empty());
    CHECK(plan.installed.empty());
    CHECK_FALSE(plan.has_changes());
}

TEST_CASE("Managed packages that left the repository are removed", "[agent][plan]") {
    RepoIndex repo;
    repo.packages = {repo_package("alpha", "1.0-1")};
    std::vector<InstalledPackage> host = {
        installed("zeta", "1:2.0-1"), installed("alpha", "1.0-1"),
        installed("beta", "1.0-1", "noarch"), installed("bash", "5.2-1")};
    Plan plan =
        compute_plan(host, repo, CONTROLLER_WORKER, {"zeta.x86_64", "beta.noarch", "alpha.x86_64"});
    CHECK(nevras(plan.to_remove) == Strings{"beta-1.0-1.noarch", "zeta-1:2.0-1.x86_64"});
    CHECK(plan.to_remove_names == Strings{"beta", "zeta"});
    CHECK(
        plan.installed ==
        std::map<std::string, std::string>{{"beta", "1.0-1@noarch"}, {"zeta", "1:2.0-1@x86_64"}});
    CHECK(plan.has_changes());
}

TEST_CASE("Duplicates are reported, not planned as upgrades", "[agent][plan]") {
    RepoIndex repo;
    repo.packages = {
        repo_package("alpha", "1.0-3"), repo_package("beta", "1.0-2"),
        repo_package("gamma", "1.0-1")};
    std::vector<InstalledPackage> host = {
        installed("alpha", "1.0-1", "x86_64", 100), installed("alpha", "1.0-2", "x86_64", 200),
        installed("beta", "1.0-1", "x86_64", 100), installed("beta", "1.0-2", "x86_64", 200),
        installed("gamma", "1.0-1")};
    Plan plan = compute_plan(host, repo, CONTROLLER_WORKER, {});

    REQUIRE(plan.duplicates.size() == 2);
    CHECK(plan.duplicates[0].name == "alpha");
    CHECK(
        nevras(plan.duplicates[0].installed) ==
        Strings{"alpha-1.0-1.x86_64", "alpha-1.0-2.x86_64"});
    CHECK(plan.duplicated.at("alpha").at("x86_64") == Strings{"1.0-1@x86_64", "1.0-2@x86_64"});
    CHECK(plan.duplicated.at("beta").at("x86_64") == Strings{"1.0-1@x86_64", "1.0-2@x86_64"});
    CHECK(plan.to_upgrade.empty());
    CHECK(plan.to_downgrade.empty());
    // The newest copy decides the report: alpha 1.0-2 differs from 1.0-3, beta 1.0-2 does not.
    CHECK(plan.installed == std::map<std::string, std::string>{{"alpha", "1.0-2@x86_64"}});
    CHECK(plan.has_changes());
}

TEST_CASE(
    "Duplicated managed packages that left the repository are not removed here", "[agent][plan]") {
    std::vector<InstalledPackage> host = {installed("old", "1.0-1"), installed("old", "1.0-2")};
    Plan plan = compute_plan(host, RepoIndex{}, CONTROLLER_WORKER, {"old.x86_64"});
    CHECK(plan.to_remove.empty());
    CHECK(plan.duplicates.size() == 1);
    CHECK(plan.installed.at("old") == "1.0-2@x86_64");
}

TEST_CASE("Each arch of a multi-arch package is compared with its own arch", "[agent][plan]") {
    RepoIndex repo;
    repo.packages = {
        repo_package("libfoo", "1.0-2", "x86_64"), repo_package("libfoo", "1.0-1", "i686"),
        repo_package("libfoo", "9.0-1", "noarch"), repo_package("libbar", "2.0-1", "i686")};
    std::vector<InstalledPackage> host = {
        installed("libfoo", "1.0-1", "x86_64"), installed("libfoo", "1.0-1", "i686"),
        installed("libbar", "2.0-1", "x86_64")};
    Plan plan = compute_plan(host, repo, CONTROLLER_WORKER, {});
    // libfoo.noarch 9.0 does not upgrade either arch; libbar.x86_64 has no repo package and is
    // not managed, so the i686 build does not replace it.
    CHECK(nevras(plan.to_upgrade) == Strings{"libfoo-1.0-2.x86_64"});
    CHECK(plan.to_downgrade.empty());
    CHECK(plan.duplicates.empty());
    CHECK(plan.installed == std::map<std::string, std::string>{{"libfoo", "1.0-1@x86_64"}});
}

TEST_CASE("A missing package prefers the host's arch, then noarch", "[agent][plan]") {
    RepoIndex repo;
    repo.groups["updates-controller-worker"] = {"multi", "portable", "foreign"};
    repo.packages = {
        repo_package("multi", "1.0-1", "x86_64"),     repo_package("multi", "5.0-1", "noarch"),
        repo_package("multi", "9.0-1", "aarch64"),    repo_package("multi", "1.0-2", "x86_64"),
        repo_package("portable", "1.0-1", "aarch64"), repo_package("portable", "0.5-1", "noarch"),
        repo_package("foreign", "1.0-1", "ppc64le"),  repo_package("foreign", "1.1-1", "aarch64")};
    std::vector<InstalledPackage> host = {
        installed("a", "1-1", "x86_64"), installed("b", "1-1", "x86_64"),
        installed("c", "1-1", "noarch"), installed("d", "1-1", "noarch"),
        installed("e", "1-1", "noarch"), installed("f", "1-1", "i686")};
    CHECK(host_arch_of(host) == "x86_64");
    Plan plan = compute_plan(host, repo, CONTROLLER_WORKER, {});
    CHECK(
        nevras(plan.missing) ==
        Strings{"foreign-1.1-1.aarch64", "multi-1.0-2.x86_64", "portable-0.5-1.noarch"});

    Plan explicit_arch = compute_plan({}, repo, CONTROLLER_WORKER, {}, "aarch64");
    CHECK(
        nevras(explicit_arch.missing) ==
        Strings{"foreign-1.1-1.aarch64", "multi-9.0-1.aarch64", "portable-1.0-1.aarch64"});
    CHECK(host_arch_of({}) == "");
}

TEST_CASE("The plan does not depend on the order of its inputs", "[agent][plan]") {
    RepoIndex repo;
    repo.groups["updates-controller-worker"] = {"new2", "new1"};
    repo.packages = {repo_package("b", "2-1"),    repo_package("a", "2-1"),
                     repo_package("c", "1-1"),    repo_package("new1", "1-1"),
                     repo_package("new2", "1-1"), repo_package("a", "1-1")};
    std::vector<InstalledPackage> host = {
        installed("c", "2-1"), installed("b", "1-1"), installed("a", "1-1"),
        installed("gone2", "1-1"), installed("gone1", "1-1")};
    std::set<std::string> managed = {"gone1.x86_64", "gone2.x86_64"};
    Plan forward = compute_plan(host, repo, CONTROLLER_WORKER, managed);
    std::reverse(host.begin(), host.end());
    std::reverse(repo.packages.begin(), repo.packages.end());
    Plan backward = compute_plan(host, repo, CONTROLLER_WORKER, managed);

    for (const Plan* plan : {&forward, &backward}) {
        CHECK(nevras(plan->to_upgrade) == Strings{"a-2-1.x86_64", "b-2-1.x86_64"});
        CHECK(nevras(plan->to_downgrade) == Strings{"c-1-1.x86_64"});
        CHECK(nevras(plan->missing) == Strings{"new1-1-1.x86_64", "new2-1-1.x86_64"});
        CHECK(nevras(plan->to_remove) == Strings{"gone1-1-1.x86_64", "gone2-1-1.x86_64"});
        CHECK(plan->to_remove_names == Strings{"gone1", "gone2"});
        CHECK(plan->missing_names == Strings{"new1", "new2"});
    }
    CHECK(forward.installed == backward.installed);
}

TEST_CASE("Source packages are ignored on both sides", "[agent][plan]") {
    RepoIndex repo;
    repo.packages = {repo_package("alpha", "1.0-1"), repo_package("alpha", "9.0-1", "src")};
    InstalledPackage source = installed("srconly", "1.0-1", "src");
    source.is_source = true;
    Plan plan = compute_plan(
        {installed("alpha", "1.0-1"), source}, repo, CONTROLLER_WORKER, {"srconly.src"});
    CHECK_FALSE(plan.has_changes());
}
