// SPDX-License-Identifier: Apache-2.0
#include <controller/repo/repository.hpp>
#include <patch_core/errors.hpp>

#include <sys/stat.h>
#include <catch2/catch.hpp>

#include "support/test_support.hpp"

#include <algorithm>
#include <filesystem>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
using patching::controller::PublisherOptions;
using patching::controller::PublishResult;
using patching::controller::RepoPackage;
using patching::controller::RepositoryPublisher;
using patching::test::TempDir;

namespace {

const std::string EMPTY_COMPS = "<comps>\n</comps>\n\n";
const std::string REL = "1.0";

std::string quoted(const fs::path& path) {
    return "'" + path.string() + "'";
}

bool have_dnf() {
    return patching::test::run_command("command -v dnf") == 0;
}

std::set<std::string> lines_of(const std::string& text) {
    std::set<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (!line.empty()) {
            out.insert(line);
        }
    }
    return out;
}

// The file that repomd.xml lists for metadata `type` (e.g. "primary", "group").
fs::path metadata_file(const fs::path& repo, const std::string& type) {
    const std::string repomd = patching::test::read_file(repo / "repodata" / "repomd.xml");
    auto data = repomd.find("<data type=\"" + type + "\"");
    REQUIRE(data != std::string::npos);
    auto href = repomd.find("href=\"", data);
    REQUIRE(href != std::string::npos);
    href += 6;
    return repo / repomd.substr(href, repomd.find('"', href) - href);
}

// location hrefs of every package in the repo's primary.xml.
std::set<std::string> primary_locations(const fs::path& repo) {
    std::string out;
    REQUIRE(
        patching::test::run_command(
            "zcat " + quoted(metadata_file(repo, "primary")) +
                " | grep -o '<location href=\"[^\"]*\"' | sed 's/.*href=\"//; s/\"$//'",
            &out) == 0);
    return lines_of(out);
}

// What dnf itself sees in the repo, with a throw-away cache.
std::set<std::string> dnf_repoquery(const fs::path& repo, const fs::path& cache) {
    std::string out;
    int rc = patching::test::run_command(
        "dnf -q repoquery --releasever=1 --setopt=reposdir=/dev/null --setopt=cachedir=" +
            quoted(cache) + " --repofrompath=r,file://" + repo.string() +
            " --repo=r --qf '%{name}-%{version}-%{release}.%{arch}' 2>/dev/null",
        &out);
    INFO(out);
    REQUIRE(rc == 0);
    return lines_of(out);
}

std::set<std::string> hidden_entries(const fs::path& dir) {
    std::set<std::string> out;
    for (const auto& e : fs::directory_iterator(dir)) {
        if (e.path().filename().string().starts_with('.')) {
            out.insert(e.path().filename().string());
        }
    }
    return out;
}

class PublisherFixture {
public:
    PublisherFixture() : publisher_(tmp_ / "updates") {
        fs::create_directories(store());
        for (const char* name :
             {"fixture-alpha-1.0-1.noarch.rpm", "fixture-alpha-1.0-2.noarch.rpm",
              "fixture-alpha-1.0-3.noarch.rpm", "fixture-beta-1.0-1.noarch.rpm",
              "fixture-gamma-1.0-1.noarch.rpm", "fixture-delta-1.0-1.noarch.rpm"}) {
            fs::copy_file(patching::test::fixtures_dir() / "rpms" / name, store() / name);
        }
    }

    fs::path store() const { return tmp_ / "store"; }
    fs::path repo() const { return publisher_.release_dir(REL); }
    fs::path noarch() const { return repo() / "Packages" / "noarch"; }
    RepoPackage pkg(const std::string& name) const { return {store() / name, name, "noarch"}; }
    std::vector<RepoPackage> base_set() const {
        return {
            pkg("fixture-alpha-1.0-1.noarch.rpm"), pkg("fixture-beta-1.0-1.noarch.rpm"),
            pkg("fixture-gamma-1.0-1.noarch.rpm")};
    }
    static std::set<std::string> hrefs(std::initializer_list<const char*> names) {
        std::set<std::string> out;
        for (const char* n : names) {
            out.insert(std::string("Packages/noarch/") + n);
        }
        return out;
    }

protected:
    TempDir tmp_;
    RepositoryPublisher publisher_;
};

}  // namespace

TEST_CASE_METHOD(PublisherFixture, "publish creates a complete repository", "[repo]") {
    const std::string comps =
        "<comps>\n  <group>\n    <id>updates-controller</id>\n  </group>\n</comps>\n";
    CHECK_FALSE(publisher_.is_published(REL));
    PublishResult r = publisher_.publish(REL, base_set(), comps);

    CHECK(publisher_.is_published(REL));
    CHECK(r.regenerated);
    CHECK_FALSE(r.incremental);
    CHECK(r.linked == 3);
    CHECK(r.copied == 0);
    CHECK(r.comps_written);
    CHECK(r.packages_read.size() == 3);
    CHECK(repo() == tmp_ / "updates" / "rel-1.0");
    for (const auto& p : base_set()) {
        const fs::path published = noarch() / p.file_name;
        REQUIRE(fs::is_regular_file(published));
        CHECK(fs::equivalent(published, p.source));  // a hard link, no second copy
    }
    CHECK(patching::test::read_file(repo() / "comps.xml") == comps);
    CHECK(fs::is_symlink(repo() / "repodata"));
    CHECK(fs::is_regular_file(repo() / "repodata" / "repomd.xml"));
    CHECK(patching::test::read_file(metadata_file(repo(), "group")) == comps);
    CHECK(
        primary_locations(repo()) ==
        hrefs(
            {"fixture-alpha-1.0-1.noarch.rpm", "fixture-beta-1.0-1.noarch.rpm",
             "fixture-gamma-1.0-1.noarch.rpm"}));
}

TEST_CASE_METHOD(PublisherFixture, "publish of an empty release (init-release)", "[repo]") {
    publisher_.publish(REL, {}, EMPTY_COMPS);
    CHECK(publisher_.is_published(REL));
    CHECK(primary_locations(repo()).empty());
    CHECK(fs::is_directory(repo() / "Packages"));
}

TEST_CASE_METHOD(PublisherFixture, "publish is idempotent", "[repo]") {
    publisher_.publish(REL, base_set(), EMPTY_COMPS);
    const std::string repomd = patching::test::read_file(repo() / "repodata" / "repomd.xml");
    const auto hidden = hidden_entries(repo());

    PublishResult r = publisher_.publish(REL, base_set(), EMPTY_COMPS);
    CHECK_FALSE(r.regenerated);
    CHECK(r.linked + r.copied + r.removed == 0);
    CHECK_FALSE(r.comps_written);
    CHECK(patching::test::read_file(repo() / "repodata" / "repomd.xml") == repomd);
    CHECK(hidden_entries(repo()) == hidden);

    // Order and duplicates of the same source do not matter.
    auto shuffled = base_set();
    std::reverse(shuffled.begin(), shuffled.end());
    shuffled.push_back(shuffled.front());
    CHECK_FALSE(publisher_.publish(REL, shuffled, EMPTY_COMPS).regenerated);
}

TEST_CASE_METHOD(PublisherFixture, "adding a package reads only that package", "[repo]") {
    publisher_.publish(REL, base_set(), EMPTY_COMPS);
    auto desired = base_set();
    desired.push_back(pkg("fixture-delta-1.0-1.noarch.rpm"));
    PublishResult r = publisher_.publish(REL, desired, EMPTY_COMPS);
    CHECK(r.regenerated);
    CHECK(r.incremental);
    CHECK(r.linked == 1);
    CHECK(
        r.packages_read ==
        std::vector<std::string>{"Packages/noarch/fixture-delta-1.0-1.noarch.rpm"});
    CHECK(primary_locations(repo()).size() == 4);
    CHECK(primary_locations(repo()).contains("Packages/noarch/fixture-delta-1.0-1.noarch.rpm"));
    // One generation stays: the new one (the old one's files were carried over, then dropped).
    auto hidden = hidden_entries(repo());
    CHECK(std::count_if(hidden.begin(), hidden.end(), [](const std::string& n) {
              return n.starts_with(".gen-");
          }) == 1);
}

TEST_CASE_METHOD(PublisherFixture, "a removed package leaves Packages and the metadata", "[repo]") {
    auto desired = base_set();
    desired.push_back(pkg("fixture-alpha-1.0-2.noarch.rpm"));
    publisher_.publish(REL, desired, EMPTY_COMPS);
    desired.pop_back();
    PublishResult r = publisher_.publish(REL, desired, EMPTY_COMPS);
    CHECK(r.removed == 1);
    CHECK(r.regenerated);
    CHECK(r.incremental);
    CHECK(r.packages_read.empty());
    CHECK_FALSE(fs::exists(noarch() / "fixture-alpha-1.0-2.noarch.rpm"));
    CHECK(
        primary_locations(repo()) ==
        hrefs(
            {"fixture-alpha-1.0-1.noarch.rpm", "fixture-beta-1.0-1.noarch.rpm",
             "fixture-gamma-1.0-1.noarch.rpm"}));
    REQUIRE(have_dnf());
    CHECK(
        dnf_repoquery(repo(), tmp_ / "dnf-cache") == std::set<std::string>{
                                                         "fixture-alpha-1.0-1.noarch",
                                                         "fixture-beta-1.0-1.noarch",
                                                         "fixture-gamma-1.0-1.noarch"});
}

TEST_CASE_METHOD(PublisherFixture, "a comps.xml change regenerates the group metadata", "[repo]") {
    publisher_.publish(REL, base_set(), EMPTY_COMPS);
    const std::string comps =
        "<comps>\n  <group>\n    <id>updates-worker</id>\n  </group>\n</comps>\n";
    PublishResult r = publisher_.publish(REL, base_set(), comps);
    CHECK(r.comps_written);
    CHECK(r.regenerated);
    CHECK(r.packages_read.empty());
    CHECK(patching::test::read_file(repo() / "comps.xml") == comps);
    CHECK(patching::test::read_file(metadata_file(repo(), "group")) == comps);
}

TEST_CASE_METHOD(
    PublisherFixture, "a package changed under the same name is read again", "[repo]") {
    publisher_.publish(REL, base_set(), EMPTY_COMPS);
    // Another build with the same file name (and, within a second, possibly the same mtime):
    // createrepo_c --update alone would keep the stale metadata.
    const fs::path replacement = tmp_ / "rebuilt.rpm";
    fs::copy_file(store() / "fixture-alpha-1.0-2.noarch.rpm", replacement);
    auto desired = base_set();
    desired[0].source = replacement;
    PublishResult r = publisher_.publish(REL, desired, EMPTY_COMPS);
    CHECK(r.linked == 1);
    CHECK(r.regenerated);
    CHECK_FALSE(r.incremental);
    std::string primary;
    REQUIRE(
        patching::test::run_command("zcat " + quoted(metadata_file(repo(), "primary")), &primary) ==
        0);
    CHECK(primary.find("rel=\"2\"") != std::string::npos);
}

TEST_CASE_METHOD(
    PublisherFixture, "publish copies across file systems and keeps the mtime", "[repo]") {
    std::error_code ec;
    if (!fs::is_directory("/dev/shm", ec)) {
        patching::test::skip_test("no /dev/shm: the cross-file-system copy is not tested");
        return;
    }
    struct stat a {};
    struct stat b {};
    REQUIRE(::stat("/dev/shm", &a) == 0);
    REQUIRE(::stat(store().c_str(), &b) == 0);
    if (a.st_dev == b.st_dev) {
        patching::test::skip_test("/dev/shm is on the test file system (mount a tmpfs there): the cross-file-system copy is not tested");
        return;
    }
    TempDir shm_name;  // only for a unique name
    const fs::path shm = fs::path("/dev/shm") / shm_name.path().filename();
    fs::create_directories(shm);
    struct Cleanup {
        fs::path p;
        ~Cleanup() {
            std::error_code e;
            fs::remove_all(p, e);
        }
    } cleanup{shm};
    fs::copy_file(
        store() / "fixture-delta-1.0-1.noarch.rpm", shm / "fixture-delta-1.0-1.noarch.rpm");
    std::vector<RepoPackage> desired{
        {shm / "fixture-delta-1.0-1.noarch.rpm", "fixture-delta-1.0-1.noarch.rpm", "noarch"}};

    PublishResult r = publisher_.publish(REL, desired, EMPTY_COMPS);
    CHECK(r.copied == 1);
    CHECK(r.linked == 0);
    CHECK(
        fs::last_write_time(noarch() / "fixture-delta-1.0-1.noarch.rpm") ==
        fs::last_write_time(desired[0].source));
    CHECK(
        patching::test::read_file(noarch() / "fixture-delta-1.0-1.noarch.rpm") ==
        patching::test::read_file(desired[0].source));
    r = publisher_.publish(REL, desired, EMPTY_COMPS);
    CHECK(r.copied == 0);
    CHECK_FALSE(r.regenerated);
}

TEST_CASE_METHOD(
    PublisherFixture, "publish repairs a repository left out of step by a crash", "[repo]") {
    publisher_.publish(REL, base_set(), EMPTY_COMPS);
    const auto expected = hrefs(
        {"fixture-alpha-1.0-1.noarch.rpm", "fixture-beta-1.0-1.noarch.rpm",
         "fixture-gamma-1.0-1.noarch.rpm"});
    // Only broken metadata needs createrepo_c: when Packages/ is put back exactly as the
    // current metadata describes it (same links), the metadata is still right.
    bool metadata_broken = true;

    SECTION("repodata link gone") {
        fs::remove(repo() / "repodata");
        CHECK_FALSE(publisher_.is_published(REL));
    }
    SECTION("the current generation directory gone") {
        fs::remove_all(repo() / fs::read_symlink(repo() / "repodata").parent_path());
        CHECK_FALSE(publisher_.is_published(REL));
    }
    SECTION("metadata generation interrupted half way, temporaries and strays left behind") {
        fs::create_directories(repo() / ".gen-77" / ".repodata");
        patching::test::write_file(repo() / ".gen-77" / ".repodata" / "primary.xml.gz", "partial");
        fs::create_symlink(".gen-77/repodata", repo() / ".repodata.lnk-tmp");
        patching::test::write_file(
            noarch() / ".fixture-delta-1.0-1.noarch.rpm.tmp-link", "partial");
        patching::test::write_file(noarch() / "stray-1-1.noarch.rpm", "not wanted");
        fs::create_directories(repo() / "Packages" / "x86_64");
        fs::copy_file(
            store() / "fixture-delta-1.0-1.noarch.rpm",
            repo() / "Packages" / "x86_64" / "fixture-delta-1.0-1.noarch.rpm");
        metadata_broken = false;
    }
    SECTION("packages placed but metadata not regenerated") {
        fs::create_hard_link(
            store() / "fixture-delta-1.0-1.noarch.rpm",
            noarch() / "fixture-delta-1.0-1.noarch.rpm");
        fs::remove(noarch() / "fixture-gamma-1.0-1.noarch.rpm");
        metadata_broken = false;
    }
    SECTION("a package replaced by a copy that differs from its source") {
        fs::remove(noarch() / "fixture-beta-1.0-1.noarch.rpm");
        fs::copy_file(
            store() / "fixture-alpha-1.0-3.noarch.rpm", noarch() / "fixture-beta-1.0-1.noarch.rpm");
        metadata_broken = false;  // the link to the store comes back, as the metadata describes
    }
    SECTION("a repodata directory written in place by plain createrepo_c") {
        fs::remove(repo() / "repodata");
        REQUIRE(patching::test::run_command("createrepo_c -q " + quoted(repo())) == 0);
        REQUIRE(fs::is_directory(repo() / "repodata"));
        REQUIRE_FALSE(fs::is_symlink(repo() / "repodata"));
    }

    PublishResult r = publisher_.publish(REL, base_set(), EMPTY_COMPS);
    CHECK(r.regenerated == metadata_broken);
    CHECK(publisher_.is_published(REL));
    CHECK(fs::is_symlink(repo() / "repodata"));
    CHECK(primary_locations(repo()) == expected);
    std::set<std::string> files;
    for (const auto& e : fs::recursive_directory_iterator(repo() / "Packages")) {
        files.insert(e.path().lexically_relative(repo()).generic_string());
    }
    for (const auto& p : base_set()) {
        CHECK(fs::equivalent(noarch() / p.file_name, p.source));
    }
    CHECK(
        files == std::set<std::string>{
                     "Packages/noarch", "Packages/noarch/fixture-alpha-1.0-1.noarch.rpm",
                     "Packages/noarch/fixture-beta-1.0-1.noarch.rpm",
                     "Packages/noarch/fixture-gamma-1.0-1.noarch.rpm"});
    auto hidden = hidden_entries(repo());
    CHECK(hidden.size() == 1);
    CHECK(hidden.begin()->starts_with(".gen-"));
    // And it is stable afterwards.
    CHECK_FALSE(publisher_.publish(REL, base_set(), EMPTY_COMPS).regenerated);
}

TEST_CASE_METHOD(
    PublisherFixture, "a failed createrepo_c leaves the published metadata alone", "[repo]") {
    publisher_.publish(REL, base_set(), EMPTY_COMPS);
    const std::string repomd = patching::test::read_file(repo() / "repodata" / "repomd.xml");

    SECTION("an unreadable package") {
        patching::test::write_file(store() / "broken-1.0-1.noarch.rpm", "not an rpm");
        auto desired = base_set();
        desired.push_back(pkg("broken-1.0-1.noarch.rpm"));
        CHECK_THROWS_WITH(
            publisher_.publish(REL, desired, EMPTY_COMPS),
            Catch::StartsWith("Failed to update the repo for 1.0: createrepo_c failed") &&
                Catch::Contains("broken-1.0-1.noarch.rpm"));
    }
    SECTION("createrepo_c missing") {
        RepositoryPublisher broken(
            tmp_ / "updates", PublisherOptions{.createrepo = "/nonexistent/createrepo_c"});
        auto desired = base_set();
        desired.push_back(pkg("fixture-delta-1.0-1.noarch.rpm"));
        CHECK_THROWS_WITH(
            broken.publish(REL, desired, EMPTY_COMPS),
            Catch::StartsWith(
                "Failed to update the repo for 1.0: cannot run /nonexistent/createrepo_c"));
    }
    SECTION("createrepo_c hangs") {
        RepositoryPublisher slow(
            tmp_ / "updates",
            PublisherOptions{.createrepo = "sleep", .timeout = std::chrono::seconds(1)});
        CHECK_THROWS_WITH(
            slow.publish(REL, {}, EMPTY_COMPS),
            Catch::Contains("Failed to update the repo for 1.0: sleep "));
    }
    CHECK(publisher_.is_published(REL));
    CHECK(patching::test::read_file(repo() / "repodata" / "repomd.xml") == repomd);
    auto hidden = hidden_entries(repo());
    CHECK(std::count_if(hidden.begin(), hidden.end(), [](const std::string& n) {
              return n.starts_with(".gen-");
          }) == 1);

    // The next good publish converges.
    PublishResult r = publisher_.publish(REL, base_set(), EMPTY_COMPS);
    CHECK(primary_locations(repo()).size() == 3);
    CHECK(fs::directory_iterator(noarch()) != fs::directory_iterator());
    CHECK_FALSE(fs::exists(noarch() / "broken-1.0-1.noarch.rpm"));
    static_cast<void>(r);
}

TEST_CASE_METHOD(
    PublisherFixture, "publish rejects unsafe names and conflicting sources", "[repo]") {
    using patching::core::Error;
    CHECK_THROWS_AS(publisher_.publish("../1.0", base_set(), EMPTY_COMPS), Error);
    CHECK_THROWS_AS(publisher_.publish("", base_set(), EMPTY_COMPS), Error);
    CHECK_THROWS_AS(publisher_.release_dir("a/b"), Error);
    auto bad = base_set();
    bad[0].file_name = "../evil.rpm";
    CHECK_THROWS_AS(publisher_.publish(REL, bad, EMPTY_COMPS), Error);
    bad = base_set();
    bad[0].file_name = ".hidden.rpm";
    CHECK_THROWS_AS(publisher_.publish(REL, bad, EMPTY_COMPS), Error);
    bad = base_set();
    bad[0].file_name = "fixture-alpha-1.0-1.noarch.txt";
    CHECK_THROWS_AS(publisher_.publish(REL, bad, EMPTY_COMPS), Error);
    bad = base_set();
    bad[0].arch = "..";
    CHECK_THROWS_AS(publisher_.publish(REL, bad, EMPTY_COMPS), Error);
    bad = base_set();
    bad.push_back(
        {store() / "fixture-alpha-1.0-2.noarch.rpm", "fixture-alpha-1.0-1.noarch.rpm", "noarch"});
    CHECK_THROWS_WITH(
        publisher_.publish(REL, bad, EMPTY_COMPS),
        Catch::Contains("Two packages would be published as Packages/noarch/fixture-alpha"));
    bad = base_set();
    bad[0].source = store() / "missing.rpm";
    CHECK_THROWS_AS(publisher_.publish(REL, bad, EMPTY_COMPS), patching::core::SystemError);
    CHECK_FALSE(fs::exists(tmp_ / "evil.rpm"));
}

TEST_CASE_METHOD(PublisherFixture, "remove_release deletes the repository", "[repo]") {
    publisher_.publish(REL, base_set(), EMPTY_COMPS);
    publisher_.publish("2.0", {}, EMPTY_COMPS);
    publisher_.remove_release(REL);
    CHECK_FALSE(fs::exists(repo()));
    CHECK_FALSE(publisher_.is_published(REL));
    CHECK(publisher_.is_published("2.0"));
    CHECK_NOTHROW(publisher_.remove_release(REL));
    for (const auto& e : fs::directory_iterator(tmp_ / "updates")) {
        CHECK_FALSE(e.path().filename().string().starts_with(".removing"));
    }
    // The store is untouched: the repo held links only.
    CHECK(fs::exists(store() / "fixture-alpha-1.0-1.noarch.rpm"));
}

TEST_CASE_METHOD(PublisherFixture, "concurrent publishes of one release serialize", "[repo]") {
    auto with_delta = base_set();
    with_delta.push_back(pkg("fixture-delta-1.0-1.noarch.rpm"));
    std::vector<std::string> errors(2);
    auto run = [&](int i, const std::vector<RepoPackage>& desired) {
        try {
            RepositoryPublisher own(tmp_ / "updates");
            for (int k = 0; k < 3; ++k) {
                own.publish(REL, desired, EMPTY_COMPS);
            }
        } catch (const std::exception& e) {
            errors[static_cast<std::size_t>(i)] = e.what();
        }
    };
    std::thread a(run, 0, base_set());
    std::thread b(run, 1, with_delta);
    a.join();
    b.join();
    CHECK(errors[0].empty());
    CHECK(errors[1].empty());
    // Whichever ran last, Packages and the metadata agree.
    std::set<std::string> files;
    for (const auto& e : fs::directory_iterator(noarch())) {
        files.insert("Packages/noarch/" + e.path().filename().string());
    }
    CHECK(primary_locations(repo()) == files);
}

TEST_CASE_METHOD(
    PublisherFixture, "dnf installs and upgrades from the published repository", "[repo]") {
    if (!have_dnf()) {
        patching::test::skip_test("dnf is not installed (scripts/install-deps.sh installs it)");
        return;
    }
    auto desired = base_set();
    desired.push_back(pkg("fixture-alpha-1.0-2.noarch.rpm"));  // a patch over the base 1.0-1
    publisher_.publish(REL, desired, EMPTY_COMPS);

    const fs::path root = tmp_ / "root";
    fs::create_directories(root);
    const std::string dnf = "dnf -y --installroot=" + quoted(root) +
                            " --releasever=1 --setopt=reposdir=/dev/null --setopt=cachedir=" +
                            quoted(tmp_ / "dnf-cache") + " --setopt=install_weak_deps=False" +
                            " --repofrompath=patches,file://" + repo().string() +
                            " --repo=patches --nogpgcheck ";
    std::string out;
    int rc = patching::test::run_command(dnf + "install fixture-alpha", &out);
    INFO(out);
    REQUIRE(rc == 0);
    REQUIRE(
        patching::test::run_command("rpm --root=" + quoted(root) + " -q fixture-alpha", &out) == 0);
    CHECK(out == "fixture-alpha-1.0-2.noarch\n");

    // The next patch arrives: an incremental publish, then a client upgrade sees it.
    desired.push_back(pkg("fixture-alpha-1.0-3.noarch.rpm"));
    PublishResult r = publisher_.publish(REL, desired, EMPTY_COMPS);
    CHECK(r.incremental);
    rc = patching::test::run_command(dnf + "--refresh upgrade fixture-alpha", &out);
    INFO(out);
    REQUIRE(rc == 0);
    REQUIRE(
        patching::test::run_command("rpm --root=" + quoted(root) + " -q fixture-alpha", &out) == 0);
    CHECK(out == "fixture-alpha-1.0-3.noarch\n");
    // The host rpmdb was never touched.
    CHECK(patching::test::run_command("rpm -q fixture-alpha") != 0);
}
