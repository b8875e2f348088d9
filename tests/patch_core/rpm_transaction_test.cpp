// SPDX-License-Identifier: Apache-2.0
// Real librpm transactions, each in a throw-away root directory; the host rpmdb is never
// touched (one test checks this with the host's rpm). They need root (CI runs as root).
#include <patch_core/rpm/installed.hpp>
#include <patch_core/rpm/transaction.hpp>

#include "support/rpm_factory.hpp"
#include "support/test_support.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace fs = std::filesystem;
using patching::rpm::DuplicatePackage;
using patching::rpm::InstalledPackage;
using patching::rpm::RpmError;
using patching::rpm::RpmProblem;
using patching::rpm::Transaction;
using patching::rpm::TransactionCallbacks;
using patching::rpm::TransactionOptions;
using patching::rpm::TransactionResult;
using patching::test::RpmSpec;
using patching::test::TempDir;

namespace {

bool running_as_root() {
    if (::geteuid() != 0) {
        patching::test::skip_test("installing RPMs into a root directory needs root (CI runs as root)");
        return false;
    }
    return true;
}

fs::path fixture_rpm(const std::string& nvr) {
    return patching::test::fixtures_dir() / "rpms" / (nvr + ".noarch.rpm");
}

std::vector<std::string> nevras(const std::vector<InstalledPackage>& packages) {
    std::vector<std::string> out;
    for (const auto& p : packages) {
        out.push_back(p.nevra());
    }
    return out;
}

std::vector<std::string> installed_nevras(const fs::path& root) {
    return nevras(patching::rpm::list_installed(root));
}

std::string joined(const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& l : lines) {
        out += l + "\n";
    }
    return out;
}

int host_package_count() {
    std::string out;
    patching::test::run_command("rpm -qa 2>/dev/null | wc -l", &out);
    return std::stoi(out);
}

// Records every callback, as the agent's progress reporter would.
class Recorder : public TransactionCallbacks {
public:
    void on_progress(const std::string& nevra, std::uint64_t amount, std::uint64_t total) override {
        last_progress[nevra] = {amount, total};
    }
    void on_scriptlet_error(
        const std::string& nevra, const std::string& scriptlet, bool fatal) override {
        scriptlet_errors.push_back(nevra + " " + scriptlet + (fatal ? " fatal" : " non-fatal"));
    }
    void on_element_done(const std::string& nevra, bool ok) override {
        done.emplace_back(nevra, ok);
    }

    std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> last_progress;
    std::vector<std::string> scriptlet_errors;
    std::vector<std::pair<std::string, bool>> done;
};

}  // namespace

TEST_CASE(
    "find_duplicates reports each name and arch installed more than once", "[rpm][transaction]") {
    auto pkg = [](const std::string& name, const std::string& release, const std::string& arch) {
        InstalledPackage p;
        p.name = name;
        p.version = "1.0";
        p.release = release;
        p.arch = arch;
        return p;
    };
    const std::vector<InstalledPackage> installed = {
        pkg("kernel", "1", "x86_64"), pkg("bash", "1", "x86_64"), pkg("kernel", "2", "x86_64"),
        pkg("glibc", "1", "x86_64"),  pkg("glibc", "1", "i686"),  pkg("bash", "2", "x86_64"),
        pkg("bash", "3", "x86_64")};
    const std::vector<DuplicatePackage> duplicates = patching::rpm::find_duplicates(installed);
    REQUIRE(duplicates.size() == 2);
    CHECK(duplicates[0].name == "bash");
    CHECK(duplicates[0].arch == "x86_64");
    CHECK(
        nevras(duplicates[0].installed) ==
        std::vector<std::string>{"bash-1.0-1.x86_64", "bash-1.0-2.x86_64", "bash-1.0-3.x86_64"});
    CHECK(duplicates[1].name == "kernel");
    CHECK(duplicates[1].installed.size() == 2);
    CHECK(patching::rpm::find_duplicates({}).empty());
}

TEST_CASE("the install root must be absolute", "[rpm][transaction]") {
    CHECK_THROWS_AS(Transaction("relative/root"), RpmError);
    CHECK_THROWS_AS(patching::rpm::list_installed("relative/root"), RpmError);
}

TEST_CASE(
    "a root without an rpmdb has nothing installed and reading it creates nothing",
    "[rpm][transaction]") {
    TempDir root;
    CHECK(patching::rpm::list_installed(root.path()).empty());
    const fs::path db = patching::rpm::rpmdb_directory(root.path());
    CHECK(db.string().starts_with(root.path().string() + "/"));
    CHECK_FALSE(fs::exists(db));
    CHECK(fs::is_empty(root.path()));
}

TEST_CASE(
    "install then upgrade then downgrade then erase in a throw-away root", "[rpm][transaction]") {
    if (!running_as_root()) {
        return;
    }
    const int host_packages_before = host_package_count();
    TempDir root;
    const fs::path alpha_dat = root / "usr/share/patch-fixtures/fixture-alpha.dat";
    const fs::path beta_dat = root / "usr/share/patch-fixtures/fixture-beta.dat";

    {
        Transaction tx(root.path());
        tx.add_install(fixture_rpm("fixture-alpha-1.0-1"));
        tx.add_install(fixture_rpm("fixture-beta-1.0-1"));
        CHECK(tx.check().empty());
        Recorder recorder;
        const TransactionResult result = tx.run(recorder);
        INFO(joined(result.problems));
        REQUIRE(result.ok);
        CHECK(result.problems.empty());
        CHECK(result.warnings.empty());
        std::sort(recorder.done.begin(), recorder.done.end());
        CHECK(
            recorder.done ==
            std::vector<std::pair<std::string, bool>>{
                {"fixture-alpha-1.0-1.noarch", true}, {"fixture-beta-1.0-1.noarch", true}});
        REQUIRE(recorder.last_progress.contains("fixture-alpha-1.0-1.noarch"));
        const auto [done, total] = recorder.last_progress["fixture-alpha-1.0-1.noarch"];
        CHECK(total > 0);
        CHECK(done == total);
    }
    const auto installed = patching::rpm::list_installed(root.path());
    CHECK(
        nevras(installed) ==
        std::vector<std::string>{"fixture-alpha-1.0-1.noarch", "fixture-beta-1.0-1.noarch"});
    CHECK(installed.front().install_time > 0);
    CHECK(fs::is_regular_file(alpha_dat));
    CHECK(fs::is_regular_file(beta_dat));
    CHECK(fs::is_directory(patching::rpm::rpmdb_directory(root.path())));

    SECTION("upgrade, then downgrade back") {
        {
            Transaction tx(root.path());
            tx.add_install(fixture_rpm("fixture-alpha-1.0-2"));
            Recorder recorder;
            const TransactionResult result = tx.run(recorder);
            INFO(joined(result.problems));
            REQUIRE(result.ok);
            // The upgrade erases the old version as an element of its own.
            std::sort(recorder.done.begin(), recorder.done.end());
            CHECK(
                recorder.done ==
                std::vector<std::pair<std::string, bool>>{
                    {"fixture-alpha-1.0-1.noarch", true}, {"fixture-alpha-1.0-2.noarch", true}});
        }
        CHECK(
            installed_nevras(root.path()) ==
            std::vector<std::string>{"fixture-alpha-1.0-2.noarch", "fixture-beta-1.0-1.noarch"});
        CHECK(fs::is_regular_file(alpha_dat));

        {
            Transaction tx(root.path());
            CHECK_THROWS_WITH(
                tx.add_install(fixture_rpm("fixture-alpha-1.0-1")), Catch::Contains("downgrade"));
            tx.add_downgrade(fixture_rpm("fixture-alpha-1.0-1"));
            const TransactionResult result = tx.run();
            INFO(joined(result.problems));
            REQUIRE(result.ok);
        }
        CHECK(
            installed_nevras(root.path()) ==
            std::vector<std::string>{"fixture-alpha-1.0-1.noarch", "fixture-beta-1.0-1.noarch"});
        CHECK(fs::is_regular_file(alpha_dat));
    }

    SECTION("erase") {
        Transaction tx(root.path());
        CHECK_THROWS_WITH(
            tx.add_erase("fixture-gamma", "noarch"), Catch::Contains("not installed"));
        CHECK_THROWS_WITH(tx.add_erase("fixture-beta", "x86_64"), Catch::Contains("not installed"));
        tx.add_erase("fixture-beta", "noarch");
        Recorder recorder;
        const TransactionResult result = tx.run(recorder);
        INFO(joined(result.problems));
        REQUIRE(result.ok);
        CHECK(
            recorder.done ==
            std::vector<std::pair<std::string, bool>>{{"fixture-beta-1.0-1.noarch", true}});
        CHECK(
            installed_nevras(root.path()) ==
            std::vector<std::string>{"fixture-alpha-1.0-1.noarch"});
        CHECK_FALSE(fs::exists(beta_dat));
        CHECK(fs::exists(alpha_dat));
    }

    SECTION("one Transaction runs again after it ran") {
        Transaction tx(root.path());
        tx.add_install(fixture_rpm("fixture-beta-1.0-2"));
        REQUIRE(tx.run().ok);
        tx.add_erase("fixture-alpha", "noarch");
        const TransactionResult result = tx.run();
        INFO(joined(result.problems));
        REQUIRE(result.ok);
        CHECK(
            installed_nevras(root.path()) == std::vector<std::string>{"fixture-beta-1.0-2.noarch"});
    }

    CHECK(host_package_count() == host_packages_before);
    CHECK_FALSE(fs::exists("/usr/share/patch-fixtures/fixture-alpha.dat"));
}

TEST_CASE("a dry run checks everything and installs nothing", "[rpm][transaction]") {
    if (!running_as_root()) {
        return;
    }
    TempDir root;
    {
        Transaction tx(root.path(), TransactionOptions{.test = true});
        tx.add_install(fixture_rpm("fixture-alpha-1.0-1"));
        Recorder recorder;
        const TransactionResult result = tx.run(recorder);
        INFO(joined(result.problems));
        CHECK(result.ok);
        CHECK(
            recorder.done ==
            std::vector<std::pair<std::string, bool>>{{"fixture-alpha-1.0-1.noarch", true}});
    }
    CHECK(patching::rpm::list_installed(root.path()).empty());
    CHECK(fs::is_empty(root.path()));

    {
        Transaction tx(root.path());
        tx.add_install(fixture_rpm("fixture-alpha-1.0-1"));
        REQUIRE(tx.run().ok);
    }
    {
        Transaction tx(root.path(), TransactionOptions{.test = true});
        tx.add_install(fixture_rpm("fixture-alpha-1.0-3"));
        tx.add_install(fixture_rpm("fixture-beta-1.0-1"));
        const TransactionResult result = tx.run();
        INFO(joined(result.problems));
        CHECK(result.ok);
    }
    CHECK(installed_nevras(root.path()) == std::vector<std::string>{"fixture-alpha-1.0-1.noarch"});
    CHECK_FALSE(fs::exists(root / "usr/share/patch-fixtures/fixture-beta.dat"));
}

TEST_CASE("two versions installed side by side are duplicates", "[rpm][transaction]") {
    if (!running_as_root()) {
        return;
    }
    if (patching::test::run_command("command -v rpm") != 0) {
        patching::test::skip_test("the rpm tool is needed to install side by side");
        return;
    }
    TempDir root;
    {
        Transaction tx(root.path());
        tx.add_install(fixture_rpm("fixture-alpha-1.0-1"));
        tx.add_install(fixture_rpm("fixture-beta-1.0-1"));
        REQUIRE(tx.run().ok);
    }
    CHECK(patching::rpm::find_duplicates(patching::rpm::list_installed(root.path())).empty());
    // rpm -i (not -U) keeps the installed version: the state a manual or interrupted install
    // leaves behind. --force lets the second copy replace the shared file.
    std::string output;
    const int rc = patching::test::run_command(
        "rpm --root " + root.path().string() + " -i --force --nosignature " +
            fixture_rpm("fixture-alpha-1.0-2").string(),
        &output);
    INFO(output);
    REQUIRE(rc == 0);

    const auto duplicates =
        patching::rpm::find_duplicates(patching::rpm::list_installed(root.path()));
    REQUIRE(duplicates.size() == 1);
    CHECK(duplicates[0].name == "fixture-alpha");
    CHECK(duplicates[0].arch == "noarch");
    CHECK(
        nevras(duplicates[0].installed) ==
        std::vector<std::string>{"fixture-alpha-1.0-1.noarch", "fixture-alpha-1.0-2.noarch"});
}

TEST_CASE("an unsatisfied dependency is a problem and nothing is installed", "[rpm][transaction]") {
    if (!running_as_root()) {
        return;
    }
    TempDir work;
    auto needy = patching::test::build_rpm(
        work.path(), RpmSpec("fixture-needy").add_preamble("Requires: fixture-nonexistent"));
    if (!needy) {
        return;
    }
    TempDir root;
    Transaction tx(root.path());
    tx.add_install(fixture_rpm("fixture-alpha-1.0-1"));
    tx.add_install(*needy);
    const std::vector<RpmProblem> problems = tx.check();
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].kind == RpmProblem::Kind::MISSING_DEPENDENCY);
    CHECK(problems[0].package == "fixture-needy-1.0-1.noarch");
    CHECK_THAT(problems[0].text, Catch::Contains("fixture-nonexistent"));

    Recorder recorder;
    const TransactionResult result = tx.run(recorder);
    CHECK_FALSE(result.ok);
    CHECK_THAT(
        joined(result.problems), Catch::Contains("fixture-nonexistent is needed by fixture-needy"));
    std::sort(recorder.done.begin(), recorder.done.end());
    CHECK(
        recorder.done ==
        std::vector<std::pair<std::string, bool>>{
            {"fixture-alpha-1.0-1.noarch", false}, {"fixture-needy-1.0-1.noarch", false}});
    CHECK(patching::rpm::list_installed(root.path()).empty());
    CHECK(fs::is_empty(root.path()));  // not even an empty rpmdb
}

TEST_CASE("scriptlets run chroot()ed into the root", "[rpm][transaction]") {
    if (!running_as_root()) {
        return;
    }
    TempDir work;
    TempDir root;
    if (!patching::test::prepare_scriptlet_root(root.path(), work.path())) {
        return;
    }
    auto post = patching::test::build_rpm(
        work.path(), RpmSpec("fixture-post")
                         .set_post("echo \"post ran with $1\" > /post-marker\necho hello-from-post")
                         .set_preun("echo \"preun ran with $1\" > /preun-marker"));
    if (!post) {
        return;
    }
    REQUIRE_FALSE(fs::exists("/post-marker"));
    {
        Transaction tx(root.path());
        tx.add_install(*post);
        const TransactionResult result = tx.run();
        INFO(joined(result.problems));
        REQUIRE(result.ok);
        CHECK(result.warnings.empty());
        CHECK_THAT(result.scriptlet_output, Catch::Contains("hello-from-post"));
    }
    CHECK(patching::test::read_file(root / "post-marker") == "post ran with 1\n");
    CHECK_FALSE(fs::exists("/post-marker"));
    {
        Transaction tx(root.path());
        tx.add_erase("fixture-post", "noarch");
        const TransactionResult result = tx.run();
        INFO(joined(result.problems));
        REQUIRE(result.ok);
    }
    CHECK(patching::test::read_file(root / "preun-marker") == "preun ran with 0\n");
}

TEST_CASE(
    "a failing %pre scriptlet fails its package while the others go on", "[rpm][transaction]") {
    if (!running_as_root()) {
        return;
    }
    TempDir work;
    TempDir root;
    if (!patching::test::prepare_scriptlet_root(root.path(), work.path())) {
        return;
    }
    auto bad_pre = patching::test::build_rpm(
        work.path(), RpmSpec("fixture-badpre").set_pre("echo 'pre refuses' >&2\nexit 3"));
    if (!bad_pre) {
        return;
    }
    Transaction tx(root.path());
    tx.add_install(*bad_pre);
    tx.add_install(fixture_rpm("fixture-beta-1.0-1"));
    Recorder recorder;
    const TransactionResult result = tx.run(recorder);
    CHECK_FALSE(result.ok);
    INFO(joined(result.problems));
    CHECK_THAT(
        joined(result.problems),
        Catch::Contains("%pre scriptlet of fixture-badpre-1.0-1.noarch failed"));
    CHECK_THAT(joined(result.problems), Catch::Contains("exit status 3"));
    CHECK_THAT(result.scriptlet_output, Catch::Contains("pre refuses"));
    CHECK(
        recorder.scriptlet_errors ==
        std::vector<std::string>{"fixture-badpre-1.0-1.noarch %pre fatal"});
    std::sort(recorder.done.begin(), recorder.done.end());
    CHECK(
        recorder.done ==
        std::vector<std::pair<std::string, bool>>{
            {"fixture-badpre-1.0-1.noarch", false}, {"fixture-beta-1.0-1.noarch", true}});
    CHECK(
        installed_nevras(root.path()) ==
        std::vector<std::string>{"fixture-beta-1.0-1.noarch", "fixture-shell-1.0-1.noarch"});
    CHECK_FALSE(fs::exists(root / "usr/share/patch-fixtures/fixture-badpre.dat"));
}

TEST_CASE("a failing %preun scriptlet keeps the package installed", "[rpm][transaction]") {
    if (!running_as_root()) {
        return;
    }
    TempDir work;
    TempDir root;
    if (!patching::test::prepare_scriptlet_root(root.path(), work.path())) {
        return;
    }
    auto bad_preun =
        patching::test::build_rpm(work.path(), RpmSpec("fixture-badpreun").set_preun("exit 1"));
    if (!bad_preun) {
        return;
    }
    {
        Transaction tx(root.path());
        tx.add_install(*bad_preun);
        REQUIRE(tx.run().ok);
    }
    Transaction tx(root.path());
    tx.add_erase("fixture-badpreun", "noarch");
    Recorder recorder;
    const TransactionResult result = tx.run(recorder);
    CHECK_FALSE(result.ok);
    CHECK_THAT(joined(result.problems), Catch::Contains("%preun scriptlet of fixture-badpreun"));
    CHECK(
        recorder.scriptlet_errors ==
        std::vector<std::string>{"fixture-badpreun-1.0-1.noarch %preun fatal"});
    CHECK(
        recorder.done ==
        std::vector<std::pair<std::string, bool>>{{"fixture-badpreun-1.0-1.noarch", false}});
    CHECK(
        installed_nevras(root.path()) ==
        std::vector<std::string>{"fixture-badpreun-1.0-1.noarch", "fixture-shell-1.0-1.noarch"});
    CHECK(fs::exists(root / "usr/share/patch-fixtures/fixture-badpreun.dat"));
}

TEST_CASE(
    "a failing %post scriptlet is a warning and the package stays installed",
    "[rpm][transaction]") {
    if (!running_as_root()) {
        return;
    }
    TempDir work;
    TempDir root;
    if (!patching::test::prepare_scriptlet_root(root.path(), work.path())) {
        return;
    }
    auto bad_post =
        patching::test::build_rpm(work.path(), RpmSpec("fixture-badpost").set_post("exit 4"));
    if (!bad_post) {
        return;
    }
    Transaction tx(root.path());
    tx.add_install(*bad_post);
    Recorder recorder;
    const TransactionResult result = tx.run(recorder);
    INFO(joined(result.problems));
    CHECK(result.ok);
    CHECK_THAT(
        joined(result.warnings),
        Catch::Contains("%post scriptlet of fixture-badpost-1.0-1.noarch failed"));
    CHECK(
        recorder.scriptlet_errors ==
        std::vector<std::string>{"fixture-badpost-1.0-1.noarch %post non-fatal"});
    CHECK(
        recorder.done ==
        std::vector<std::pair<std::string, bool>>{{"fixture-badpost-1.0-1.noarch", true}});
    CHECK(
        installed_nevras(root.path()) ==
        std::vector<std::string>{"fixture-badpost-1.0-1.noarch", "fixture-shell-1.0-1.noarch"});
}

TEST_CASE("a corrupt package is refused with its file name", "[rpm][transaction]") {
    if (!running_as_root()) {
        return;
    }
    TempDir work;
    TempDir root;
    Transaction tx(root.path());

    SECTION("not an RPM at all") {
        const fs::path junk = work / "fixture-junk-1.0-1.noarch.rpm";
        patching::test::write_file(junk, std::string(4096, 'x'));
        CHECK_THROWS_WITH(
            tx.add_install(junk),
            Catch::Contains(junk.string()) && Catch::Contains("not a valid RPM"));
        CHECK_THROWS_WITH(
            tx.add_install(work / "missing.rpm"), Catch::Contains((work / "missing.rpm").string()));
    }

    SECTION("a damaged payload fails verification when the transaction runs") {
        const fs::path damaged = work / "fixture-alpha-1.0-1.noarch.rpm";
        std::string bytes = patching::test::read_file(fixture_rpm("fixture-alpha-1.0-1"));
        REQUIRE(bytes.size() > 200);
        for (size_t i = bytes.size() - 64; i < bytes.size(); ++i) {
            bytes[i] = static_cast<char>(bytes[i] ^ 0x5a);
        }
        patching::test::write_file(damaged, bytes);
        {
            Transaction dry_run(root.path(), TransactionOptions{.test = true});
            dry_run.add_install(damaged);
            const TransactionResult result = dry_run.run();
            CHECK_FALSE(result.ok);
            CHECK_THAT(joined(result.problems), Catch::Contains("does not verify"));
        }
        tx.add_install(damaged);  // the header is intact
        Recorder recorder;
        const TransactionResult result = tx.run(recorder);
        INFO(joined(result.problems));
        CHECK_FALSE(result.ok);
        CHECK_THAT(
            joined(result.problems), Catch::Contains("fixture-alpha-1.0-1.noarch does not verify"));
        CHECK_THAT(joined(result.problems), Catch::Contains(damaged.string()));
        CHECK_THAT(joined(result.problems), Catch::Contains("digest", Catch::CaseSensitive::No));
        CHECK(
            recorder.done ==
            std::vector<std::pair<std::string, bool>>{{"fixture-alpha-1.0-1.noarch", false}});
        CHECK(patching::rpm::list_installed(root.path()).empty());
        CHECK_FALSE(fs::exists(root / "usr/share/patch-fixtures/fixture-alpha.dat"));
    }
}

TEST_CASE("an exception from a callback is rethrown after librpm finishes", "[rpm][transaction]") {
    if (!running_as_root()) {
        return;
    }
    struct Throwing : TransactionCallbacks {
        void on_element_done(const std::string& /*nevra*/, bool /*ok*/) override {
            ++calls;
            throw std::runtime_error("progress sink is gone");
        }
        int calls = 0;
    };
    TempDir root;
    Transaction tx(root.path());
    tx.add_install(fixture_rpm("fixture-alpha-1.0-1"));
    tx.add_install(fixture_rpm("fixture-beta-1.0-1"));
    Throwing callbacks;
    CHECK_THROWS_WITH(tx.run(callbacks), "progress sink is gone");
    CHECK(callbacks.calls == 1);  // no callback after the first exception
    CHECK(
        installed_nevras(root.path()) ==
        std::vector<std::string>{"fixture-alpha-1.0-1.noarch", "fixture-beta-1.0-1.noarch"});
}

TEST_CASE(
    "one copy of a duplicate is erased by its rpmdb instance and the other keeps its files",
    "[rpm][transaction]") {
    if (!running_as_root()) {
        return;
    }
    if (patching::test::run_command("command -v rpm") != 0) {
        patching::test::skip_test("the rpm tool is needed to install side by side");
        return;
    }
    TempDir root;
    const fs::path alpha_dat = root / "usr/share/patch-fixtures/fixture-alpha.dat";
    {
        Transaction tx(root.path());
        tx.add_install(fixture_rpm("fixture-alpha-1.0-1"));
        REQUIRE(tx.run().ok);
    }
    // As in "two versions installed side by side": 1.0-2 takes over the shared file, which the
    // rpmdb then records as "replaced" for 1.0-1.
    std::string output;
    REQUIRE(
        patching::test::run_command(
            "rpm --root " + root.path().string() + " -i --force --nosignature " +
                fixture_rpm("fixture-alpha-1.0-2").string(),
            &output) == 0);
    const auto installed = patching::rpm::list_installed(root.path());
    REQUIRE(installed.size() == 2);
    CHECK(installed[0].db_instance != 0);
    CHECK(installed[0].db_instance != installed[1].db_instance);
    auto instance_of = [&](const std::string& nevra) {
        for (const auto& p : installed) {
            if (p.nevra() == nevra) {
                return p.db_instance;
            }
        }
        FAIL("not installed: " << nevra);
        return 0U;
    };

    SECTION("erasing the older copy leaves the newer one and the file") {
        Transaction tx(root.path());
        tx.add_erase_instance(instance_of("fixture-alpha-1.0-1.noarch"));
        Recorder recorder;
        const TransactionResult result = tx.run(recorder);
        INFO(joined(result.problems));
        REQUIRE(result.ok);
        CHECK(
            recorder.done ==
            std::vector<std::pair<std::string, bool>>{{"fixture-alpha-1.0-1.noarch", true}});
        CHECK(
            installed_nevras(root.path()) ==
            std::vector<std::string>{"fixture-alpha-1.0-2.noarch"});
        CHECK(fs::is_regular_file(alpha_dat));
    }

    SECTION("keeping the older copy: erase the newer one and reinstall the older") {
        // Erasing 1.0-2 alone would delete the file, since 1.0-1's copy is "replaced"; the
        // reinstall writes it again in the same transaction.
        Transaction tx(root.path());
        tx.add_erase_instance(instance_of("fixture-alpha-1.0-2.noarch"));
        tx.add_reinstall(fixture_rpm("fixture-alpha-1.0-1"));
        const TransactionResult result = tx.run();
        INFO(joined(result.problems));
        REQUIRE(result.ok);
        CHECK(
            installed_nevras(root.path()) ==
            std::vector<std::string>{"fixture-alpha-1.0-1.noarch"});
        CHECK(fs::is_regular_file(alpha_dat));
        CHECK(patching::rpm::find_duplicates(patching::rpm::list_installed(root.path())).empty());
    }

    SECTION("an unknown instance is refused") {
        Transaction tx(root.path());
        CHECK_THROWS_WITH(tx.add_erase_instance(999999), Catch::Contains("no such package"));
        CHECK_THROWS_AS(tx.add_erase_instance(0), RpmError);
    }
}
