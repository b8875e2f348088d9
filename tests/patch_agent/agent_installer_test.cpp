// SPDX-License-Identifier: Apache-2.0
// The installer end to end: RPMs built with rpmbuild, a repository made by createrepo_c in a
// temporary directory and read through a file:// URL, real librpm transactions into throw-away
// roots (never the host's). Needs root, rpmbuild, createrepo_c and /bin/busybox; each case
// skips with a warning without them.
#include "installer/installer.hpp"
#include "net/http_client.hpp"

#include <patch_core/rpm/installed.hpp>
#include <patch_core/rpm/transaction.hpp>

#include "support/rpm_factory.hpp"
#include "support/test_support.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using patching::agent::HttpClient;
using patching::agent::InstallerConfig;
using patching::agent::InstallOutcome;
using patching::agent::InstallProgress;
using patching::agent::InstallRequest;
using patching::agent::InstallStatus;
using patching::test::RpmSpec;
using patching::test::TempDir;

namespace {

class RecordingProgress : public InstallProgress {
public:
    void on_progress(
        const std::string& phase,
        std::size_t done,
        std::size_t total,
        const std::string& item) override {
        events.push_back(
            phase + " " + std::to_string(done) + "/" + std::to_string(total) + " " + item);
        phases.push_back(phase);
    }
    bool saw(const std::string& event) const {
        return std::find(events.begin(), events.end(), event) != events.end();
    }
    std::vector<std::string> events;
    std::vector<std::string> phases;
};

std::string joined(const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& l : lines) {
        out += l + "\n";
    }
    return out;
}

// The group of the host in these tests: subfunctions controller + worker.
constexpr const char* GROUP = "updates-controller-worker";

// An in-service package: it ships a restart script and its %post drops it where the agent
// looks, as the reference's INSVC_* packages do.
RpmSpec in_service_package(
    const std::string& name, const std::string& release, const std::string& script_body) {
    const std::string shipped = "/usr/share/patch-scripts/" + name + "-restart";
    RpmSpec spec(name);
    spec.set_version("1.0", release)
        .add_file(shipped, "#!/bin/sh\n" + script_body, 0700)
        .set_post("cp " + shipped + " /run/patching/patch-scripts/");
    return spec;
}

class InstallerFixture {
public:
    InstallerFixture() {
        config_.root = root_.path();
        config_.state_dir = state_.path();
        config_.repo_url = "file://" + repo_.path().string();
        config_.subfunctions = {"controller", "worker"};
        config_.personality = "controller";
        config_.script_timeout = std::chrono::seconds(20);
    }

    /// Root, rpmbuild, createrepo_c, busybox; prepares the root so scriptlets can run.
    bool ready() {
        if (::geteuid() != 0) {
            patching::test::skip_test("installing RPMs into a root directory needs root (CI runs as root)");
            return false;
        }
        if (patching::test::run_command("command -v createrepo_c") != 0) {
            patching::test::skip_test("createrepo_c is not installed (scripts/install-deps.sh installs it)");
            return false;
        }
        return patching::test::prepare_scriptlet_root(root_.path(), work_.path());
    }

    fs::path build(const RpmSpec& spec) {
        auto rpm = patching::test::build_rpm(work_.path(), spec);
        REQUIRE(rpm);
        return *rpm;
    }
    fs::path build(const std::string& name, const std::string& release) {
        return build(RpmSpec(name).set_version("1.0", release));
    }

    /// Replaces the repository's content with `rpms` and a comps group listing `group`.
    void publish(const std::vector<fs::path>& rpms, const std::vector<std::string>& group = {}) {
        fs::remove_all(repo_.path() / "Packages");
        fs::remove_all(repo_.path() / "repodata");
        fs::create_directories(repo_.path() / "Packages");
        for (const auto& rpm : rpms) {
            fs::copy_file(rpm, repo_.path() / "Packages" / rpm.filename());
        }
        std::string comps = "<?xml version=\"1.0\" ?>\n<comps>\n  <group>\n    <id>" +
                            std::string(GROUP) + "</id>\n    <name>" + GROUP +
                            "</name>\n    <packagelist>\n";
        for (const auto& name : group) {
            comps += "      <packagereq type=\"mandatory\">" + name + "</packagereq>\n";
        }
        comps += "    </packagelist>\n  </group>\n</comps>\n";
        const fs::path comps_file = work_.path() / "comps.xml";
        patching::test::write_file(comps_file, comps);
        std::string output;
        const int rc = patching::test::run_command(
            "createrepo_c -q -g " + comps_file.string() + " " + repo_.path().string(), &output);
        INFO(output);
        REQUIRE(rc == 0);
    }

    fs::path served(const fs::path& rpm) const {
        return repo_.path() / "Packages" / rpm.filename();
    }

    /// What the host had before the patch system: installed straight with librpm.
    void base_install(const std::vector<fs::path>& rpms) {
        patching::rpm::Transaction tx(root_.path());
        for (const auto& rpm : rpms) {
            tx.add_install(rpm);
        }
        const auto result = tx.run();
        INFO(joined(result.problems));
        REQUIRE(result.ok);
    }

    /// A second copy in the rpmdb, as an interrupted transaction leaves it: rpm -i keeps the
    /// installed version and --force lets the new copy take over the shared file.
    void install_side_by_side(const fs::path& rpm) {
        std::string output;
        const int rc = patching::test::run_command(
            "rpm --root " + root_.path().string() + " -i --force --nosignature " + rpm.string(),
            &output);
        INFO(output);
        REQUIRE(rc == 0);
    }

    std::vector<std::string> installed() const {
        std::vector<std::string> out;
        for (const auto& p : patching::rpm::list_installed(root_.path())) {
            out.push_back(p.nevra());
        }
        return out;
    }

    std::string data_of(const std::string& name) const {
        return patching::test::read_file(
            root_.path() / "usr/share/patch-fixtures" / (name + ".dat"));
    }

    InstallOutcome install(patching::agent::Installer& installer, InstallRequest request = {}) {
        InstallOutcome outcome = installer.install(request, progress);
        UNSCOPED_INFO("reason: " << outcome.reason << "\nlog:\n" << joined(outcome.log));
        return outcome;
    }

    TempDir work_;
    TempDir root_;
    TempDir repo_;
    TempDir state_;
    InstallerConfig config_;
    HttpClient http_;
    RecordingProgress progress;
};

}  // namespace

TEST_CASE_METHOD(
    InstallerFixture,
    "an install upgrades to the patch version and downgrades back when the repository loses it",
    "[agent][installer]") {
    if (!ready()) {
        return;
    }
    const fs::path base = build("foo", "1");
    const fs::path patched = build("foo", "2");
    base_install({base});
    publish({base, patched});
    patching::agent::Installer installer(config_, http_);
    installer.flags().set_locked(true);

    const auto query = installer.query();
    REQUIRE(query.plan.to_upgrade.size() == 1);
    CHECK(query.plan.to_upgrade[0].nevra() == "foo-1.0-2.noarch");

    InstallOutcome outcome = install(installer);
    REQUIRE(outcome.status == InstallStatus::OK);
    CHECK(outcome.changed);
    CHECK_FALSE(outcome.reboot_required);
    CHECK(
        installed() == std::vector<std::string>{"fixture-shell-1.0-1.noarch", "foo-1.0-2.noarch"});
    CHECK(data_of("foo") == "foo 1.0-2\n");
    // No scripts, so the in-service handling succeeded: nothing requires a reboot.
    CHECK_FALSE(installer.flags().is_node_patched());
    CHECK_FALSE(installer.flags().install_failed());
    CHECK_FALSE(installer.flags().installing());
    CHECK_FALSE(fs::exists(installer.flags().scripts_dir()));
    CHECK(installer.managed_packages() == std::set<std::string>{"foo.noarch"});
    CHECK(patching::test::read_file(state_.path() / "managed-packages") == "foo.noarch\n");
    CHECK(progress.saw("query 1/1 " + config_.repo_url));
    CHECK(progress.saw("download 0/1 foo-1.0-2.noarch"));
    CHECK(progress.saw("download 1/1 "));
    // The upgrade is two librpm elements: the install and the erasure of 1.0-1.
    CHECK(progress.saw("transaction 2/2 foo-1.0-1.noarch"));
    CHECK(progress.saw("scripts 0/0 "));

    publish({base});
    outcome = install(installer);
    REQUIRE(outcome.status == InstallStatus::OK);
    CHECK(outcome.changed);
    CHECK(
        installed() == std::vector<std::string>{"fixture-shell-1.0-1.noarch", "foo-1.0-1.noarch"});
    CHECK(data_of("foo") == "foo 1.0-1\n");

    // In step with the repository: nothing more to do.
    outcome = install(installer);
    REQUIRE(outcome.status == InstallStatus::OK);
    CHECK_FALSE(outcome.changed);
    CHECK_FALSE(installer.query().plan.has_changes());
}

TEST_CASE_METHOD(
    InstallerFixture,
    "a group package is installed, and removed once gone from the repository, unknown ones stay",
    "[agent][installer]") {
    if (!ready()) {
        return;
    }
    const fs::path local = build("local-tool", "1");
    const fs::path bar = build("bar", "1");
    base_install({local});
    publish({bar}, {"bar"});
    patching::agent::Installer installer(config_, http_);
    installer.flags().set_locked(true);

    InstallOutcome outcome = install(installer);
    REQUIRE(outcome.status == InstallStatus::OK);
    CHECK(
        installed() ==
        std::vector<std::string>{
            "bar-1.0-1.noarch", "fixture-shell-1.0-1.noarch", "local-tool-1.0-1.noarch"});
    CHECK(installer.managed_packages() == std::set<std::string>{"bar.noarch"});

    publish({});
    outcome = install(installer);
    REQUIRE(outcome.status == InstallStatus::OK);
    CHECK(outcome.changed);
    // bar came from the repository and left it; local-tool and the shell never were the
    // patch system's.
    CHECK(
        installed() ==
        std::vector<std::string>{"fixture-shell-1.0-1.noarch", "local-tool-1.0-1.noarch"});
    CHECK_FALSE(fs::exists(root_.path() / "usr/share/patch-fixtures/bar.dat"));
    CHECK(installer.managed_packages().empty());
}

TEST_CASE_METHOD(
    InstallerFixture,
    "an unlocked host is refused unless forced, and a refusal touches nothing",
    "[agent][installer]") {
    if (!ready()) {
        return;
    }
    base_install({build("foo", "1")});
    publish({build("foo", "2")});
    patching::agent::Installer installer(config_, http_);
    const auto before = installed();

    InstallOutcome outcome = install(installer);
    CHECK(outcome.status == InstallStatus::REJECTED);
    CHECK(outcome.reason == "Node must be locked.");
    CHECK_FALSE(outcome.changed);
    CHECK(installed() == before);
    CHECK_FALSE(installer.flags().install_failed());
    CHECK_FALSE(installer.flags().installing());
    CHECK_FALSE(fs::exists(root_.path() / "run/patching"));
    CHECK(fs::is_empty(state_.path()));
    CHECK(progress.events.empty());

    InstallRequest forced;
    forced.force = true;
    outcome = install(installer, forced);
    REQUIRE(outcome.status == InstallStatus::OK);
    CHECK(
        installed() == std::vector<std::string>{"fixture-shell-1.0-1.noarch", "foo-1.0-2.noarch"});
}

TEST_CASE_METHOD(
    InstallerFixture,
    "the controller's administrative state decides the locking rule, not a flag changed by hand",
    "[agent][installer][lifecycle]") {
    if (!ready()) {
        return;
    }
    base_install({build("foo", "1")});
    publish({build("foo", "2")});
    patching::agent::Installer installer(config_, http_);
    installer.flags().set_locked(true);  // written by hand: the controller says unlocked
    InstallRequest request;
    request.locked = false;
    InstallOutcome outcome = install(installer, request);
    CHECK(outcome.status == InstallStatus::REJECTED);
    CHECK(outcome.reason == "Node must be locked.");
    installer.flags().set_locked(false);  // removed by hand: the controller says locked
    request.locked = true;
    outcome = install(installer, request);
    CHECK(outcome.status == InstallStatus::OK);
}

TEST_CASE_METHOD(
    InstallerFixture,
    "a package that does not match the repository's checksum fails the install untouched",
    "[agent][installer]") {
    if (!ready()) {
        return;
    }
    const fs::path base = build("foo", "1");
    const fs::path patched = build("foo", "2");
    base_install({base});
    publish({base, patched});
    std::string bytes = patching::test::read_file(served(patched));
    SECTION("same size, other bytes") {
        bytes[bytes.size() - 10] = static_cast<char>(bytes[bytes.size() - 10] ^ 0x5a);
    }
    SECTION("longer") {
        bytes += "trailing garbage";
    }
    patching::test::write_file(served(patched), bytes);
    patching::agent::Installer installer(config_, http_);
    installer.flags().set_locked(true);

    const InstallOutcome outcome = install(installer);
    REQUIRE(outcome.status == InstallStatus::FAILED);
    CHECK_THAT(outcome.reason, Catch::Contains("foo-1.0-2.noarch"));
    CHECK_THAT(
        outcome.reason, Catch::Contains(config_.repo_url + "/Packages/foo-1.0-2.noarch.rpm"));
    CHECK_THAT(outcome.reason, Catch::Contains("does not match the repository"));
    CHECK_THAT(outcome.reason, Catch::Contains("Nothing was changed"));
    CHECK_FALSE(outcome.changed);
    CHECK(
        installed() == std::vector<std::string>{"fixture-shell-1.0-1.noarch", "foo-1.0-1.noarch"});
    CHECK(installer.flags().install_failed() == outcome.reason);
    CHECK_FALSE(installer.flags().installing());
    CHECK_FALSE(installer.flags().is_node_patched());
    CHECK(installer.managed_packages().empty());
    // The bad download is gone: a retry fetches it again.
    for (const auto& entry : fs::recursive_directory_iterator(state_.path())) {
        CHECK_FALSE(entry.path().filename().string().starts_with("foo-1.0-2"));
    }

    // Once the repository serves the right file, the next install succeeds and clears the flag.
    fs::copy_file(patched, served(patched), fs::copy_options::overwrite_existing);
    const InstallOutcome retry = install(installer);
    REQUIRE(retry.status == InstallStatus::OK);
    CHECK_FALSE(installer.flags().install_failed());
}

TEST_CASE_METHOD(
    InstallerFixture,
    "an unsatisfied dependency fails the install with the problem listed",
    "[agent][installer]") {
    if (!ready()) {
        return;
    }
    const fs::path base = build("foo", "1");
    base_install({base});
    publish(
        {base, build(RpmSpec("foo")
                         .set_version("1.0", "2")
                         .add_preamble("Requires: fixture-nonexistent"))});
    patching::agent::Installer installer(config_, http_);
    installer.flags().set_locked(true);

    const InstallOutcome outcome = install(installer);
    REQUIRE(outcome.status == InstallStatus::FAILED);
    CHECK_THAT(
        outcome.reason, Catch::Contains("fixture-nonexistent is needed by foo-1.0-2.noarch"));
    CHECK_THAT(outcome.reason, Catch::Contains("Nothing was changed"));
    CHECK_THAT(joined(outcome.log), Catch::Contains("dependency problem: fixture-nonexistent"));
    CHECK(
        installed() == std::vector<std::string>{"fixture-shell-1.0-1.noarch", "foo-1.0-1.noarch"});
    CHECK(installer.flags().install_failed() == outcome.reason);
    CHECK_FALSE(installer.flags().is_node_patched());
    CHECK(installer.managed_packages().empty());
}

TEST_CASE_METHOD(
    InstallerFixture,
    "an in-service script dropped by a %post runs in the root and clears node_is_patched",
    "[agent][installer]") {
    if (!ready()) {
        return;
    }
    const fs::path base = build("insvc", "1");
    base_install({base});
    publish(
        {base, build(in_service_package(
                   "insvc", "2",
                   "echo restarting insvc\n"
                   "echo \"$PATCH_SCRIPTDIR $PATCH_FLAGDIR $PATCH_STATUS_OK\" > /insvc-marker\n"
                   "touch \"$PATCH_FLAGDIR/insvc.restarted\"\n"))});
    patching::agent::Installer installer(config_, http_);
    installer.flags().set_locked(true);

    const InstallOutcome outcome = install(installer);
    REQUIRE(outcome.status == InstallStatus::OK);
    CHECK(outcome.changed);
    CHECK_FALSE(outcome.reboot_required);
    CHECK(
        patching::test::read_file(root_.path() / "insvc-marker") ==
        "/run/patching/patch-scripts /run/patching/patch-flags 0\n");
    CHECK_THAT(joined(outcome.log), Catch::Contains("script insvc-restart: restarting insvc"));
    CHECK(progress.saw("scripts 0/1 insvc-restart"));
    CHECK_FALSE(installer.flags().is_node_patched());
    CHECK_FALSE(installer.flags().is_reboot_required_by_rpm());
    CHECK_FALSE(fs::exists(installer.flags().scripts_dir()));
    CHECK_FALSE(fs::exists(installer.flags().flags_dir()));
}

TEST_CASE_METHOD(
    InstallerFixture,
    "a package that demands a reboot leaves node_is_patched and skips the scripts",
    "[agent][installer]") {
    if (!ready()) {
        return;
    }
    const fs::path base = build("rr", "1");
    base_install({base});
    RpmSpec rr = in_service_package("rr", "2", "touch /rr-script-ran\n");
    rr.post += "\ntouch /var/run/node_is_patched_rr";
    publish({base, build(rr)});
    patching::agent::Installer installer(config_, http_);
    installer.flags().set_locked(true);

    const InstallOutcome outcome = install(installer);
    REQUIRE(outcome.status == InstallStatus::OK);
    CHECK(outcome.changed);
    CHECK(outcome.reboot_required);
    CHECK(installer.flags().is_node_patched());
    CHECK(installer.flags().is_reboot_required_by_rpm());
    CHECK_FALSE(fs::exists(root_.path() / "rr-script-ran"));
    CHECK(installed() == std::vector<std::string>{"fixture-shell-1.0-1.noarch", "rr-1.0-2.noarch"});
}

TEST_CASE_METHOD(
    InstallerFixture,
    "a boot-time install sets the reboot flag instead of running scripts",
    "[agent][installer]") {
    if (!ready()) {
        return;
    }
    const fs::path base = build("insvc", "1");
    base_install({base});
    publish({base, build(in_service_package("insvc", "2", "touch /insvc-script-ran\n"))});
    patching::agent::Installer installer(config_, http_);
    installer.flags().set_locked(true);

    InstallRequest boot;
    boot.boot_time = true;
    const InstallOutcome outcome = install(installer, boot);
    REQUIRE(outcome.status == InstallStatus::OK);
    CHECK(outcome.reboot_required);
    CHECK(installer.flags().is_node_patched());
    CHECK(installer.flags().is_reboot_required_by_rpm());
    CHECK_FALSE(fs::exists(root_.path() / "insvc-script-ran"));
}

TEST_CASE_METHOD(
    InstallerFixture,
    "a failing in-service script fails the install and sets the failed flag",
    "[agent][installer]") {
    if (!ready()) {
        return;
    }
    const fs::path base = build("insvc", "1");
    base_install({base});
    std::string expected;
    SECTION("non-zero exit") {
        publish(
            {base, build(in_service_package("insvc", "2", "echo cannot restart >&2\nexit 3\n"))});
        expected = "insvc-restart failed with exit code 3";
    }
    SECTION("timeout") {
        // A shell loop: the root's busybox runs no external applets such as sleep.
        config_.script_timeout = std::chrono::seconds(1);
        publish({base, build(in_service_package("insvc", "2", "while :; do :; done\n"))});
        expected = "insvc-restart did not finish within 1 s and was killed";
    }
    patching::agent::Installer installer(config_, http_);
    installer.flags().set_locked(true);

    const InstallOutcome outcome = install(installer);
    REQUIRE(outcome.status == InstallStatus::FAILED);
    CHECK_THAT(outcome.reason, Catch::Contains(expected));
    CHECK_THAT(outcome.reason, Catch::Contains("requires a reboot"));
    CHECK(outcome.changed);
    CHECK(outcome.reboot_required);
    CHECK(installer.flags().install_failed() == outcome.reason);
    CHECK(installer.flags().is_node_patched());
    CHECK_FALSE(installer.flags().installing());
    CHECK(
        installed() ==
        std::vector<std::string>{"fixture-shell-1.0-1.noarch", "insvc-1.0-2.noarch"});
}

TEST_CASE_METHOD(
    InstallerFixture,
    "an unreadable repository fails the install and names the URL",
    "[agent][installer]") {
    if (!ready()) {
        return;
    }
    config_.repo_url = "file://" + (repo_.path() / "missing").string();
    patching::agent::Installer installer(config_, http_);
    installer.flags().set_locked(true);
    const InstallOutcome outcome = install(installer);
    REQUIRE(outcome.status == InstallStatus::FAILED);
    CHECK_THAT(outcome.reason, Catch::Contains("Cannot find out what to install"));
    CHECK_THAT(outcome.reason, Catch::Contains(config_.repo_url));
    CHECK(installer.flags().install_failed() == outcome.reason);
}

TEST_CASE_METHOD(
    InstallerFixture,
    "an install cut short is reported at the next start and the next install repairs duplicates",
    "[agent][installer]") {
    if (!ready()) {
        return;
    }
    const fs::path v1 = build("foo", "1");
    const fs::path v2 = build("foo", "2");
    base_install({v1});
    install_side_by_side(v2);
    REQUIRE(
        installed() == std::vector<std::string>{
                           "fixture-shell-1.0-1.noarch", "foo-1.0-1.noarch", "foo-1.0-2.noarch"});
    patching::agent::Installer installer(config_, http_);
    installer.flags().set_locked(true);
    installer.flags().set_installing();  // as a killed agent leaves it
    installer.flags().reset_in_service_dirs();

    const auto reason = installer.recover_interrupted_install();
    REQUIRE(reason);
    CHECK_THAT(*reason, Catch::Contains("pid " + std::to_string(::getpid())));
    CHECK_THAT(*reason, Catch::Contains("was interrupted"));
    CHECK_THAT(*reason, Catch::Contains("foo-1.0-1.noarch and foo-1.0-2.noarch"));
    CHECK_THAT(*reason, Catch::Contains("host-install"));
    CHECK(installer.flags().install_failed() == *reason);
    CHECK_FALSE(installer.flags().installing());
    CHECK_FALSE(fs::exists(installer.flags().scripts_dir()));
    CHECK_FALSE(installer.recover_interrupted_install());  // reported once

    std::string expected_nevra;
    SECTION("the repository's version is the newer copy: the older copy is erased") {
        publish({v1, v2});
        expected_nevra = "foo-1.0-2.noarch";
    }
    SECTION("the repository's version is the older copy: it is kept and its files rewritten") {
        // rpm recorded 1.0-1's file as replaced by 1.0-2: erasing 1.0-2 alone would delete it.
        publish({v1});
        expected_nevra = "foo-1.0-1.noarch";
    }
    SECTION("the repository has a newer version: both copies are replaced") {
        publish({v1, v2, build("foo", "3")});
        expected_nevra = "foo-1.0-3.noarch";
    }
    CHECK(installer.query().plan.duplicates.size() == 1);
    const InstallOutcome outcome = install(installer);
    REQUIRE(outcome.status == InstallStatus::OK);
    CHECK(outcome.changed);
    CHECK(installed() == std::vector<std::string>{"fixture-shell-1.0-1.noarch", expected_nevra});
    CHECK(data_of("foo") == "foo " + expected_nevra.substr(4, 5) + "\n");
    CHECK_FALSE(installer.flags().install_failed());
    CHECK_FALSE(installer.query().plan.has_changes());
}

TEST_CASE_METHOD(
    InstallerFixture,
    "a duplicate of a package unknown to the repository keeps its newest copy",
    "[agent][installer]") {
    if (!ready()) {
        return;
    }
    base_install({build("local-tool", "1")});
    install_side_by_side(build("local-tool", "2"));
    publish({});
    patching::agent::Installer installer(config_, http_);
    installer.flags().set_locked(true);
    const InstallOutcome outcome = install(installer);
    REQUIRE(outcome.status == InstallStatus::OK);
    CHECK(
        installed() ==
        std::vector<std::string>{"fixture-shell-1.0-1.noarch", "local-tool-1.0-2.noarch"});
    CHECK(data_of("local-tool") == "local-tool 1.0-2\n");
}
