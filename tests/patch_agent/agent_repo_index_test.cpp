// SPDX-License-Identifier: Apache-2.0
// Repository metadata as the agent reads it: real createrepo_c output fetched through the
// HTTP client (file:// URLs), and broken and hostile metadata. The client's own failure modes are
// tested in tests/common/http_client_test.cpp.
#include "net/http_client.hpp"
#include "repo/repo_index.hpp"

#include <patch_core/errors.hpp>

#include "support/test_support.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using Catch::Contains;
using patching::agent::fetch_repo_index;
using patching::agent::HttpClient;
using patching::agent::HttpClientOptions;
using patching::agent::parse_comps;
using patching::agent::parse_primary;
using patching::agent::parse_repomd;
using patching::agent::RepoIndex;
using patching::agent::RepoLimits;
using patching::agent::RepoPackage;
using patching::test::read_file;
using patching::test::run_command;
using patching::test::TempDir;
using patching::test::write_file;
using namespace std::chrono_literals;

namespace {

const char* const COMPS = R"(<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE comps PUBLIC "-//Red Hat, Inc.//DTD Comps info//EN" "comps.dtd">
<comps>
  <group>
    <id>updates-controller-worker</id>
    <name>updates-controller-worker</name>
    <packagelist>
      <packagereq type="mandatory">fixture-gamma</packagereq>
      <packagereq type="mandatory">fixture-alpha</packagereq>
      <packagereq type="default">fixture-gamma</packagereq>
    </packagelist>
  </group>
  <group>
    <id>updates-storage</id>
    <packagelist/>
  </group>
</comps>
)";

bool have_createrepo() {
    if (run_command("command -v createrepo_c") != 0) {
        patching::test::skip_test("createrepo_c is not installed (scripts/install-deps.sh installs it)");
        return false;
    }
    return true;
}

std::string sha256_of(const fs::path& file) {
    std::string out;
    REQUIRE(run_command("sha256sum '" + file.string() + "'", &out) == 0);
    return out.substr(0, 64);
}

std::string file_url(const fs::path& path) {
    return "file://" + path.string();
}

/// A repository built by createrepo_c over copies of the fixture RPMs.
class Repo {
public:
    /// `group`: pass comps.xml with -g (repomd "group" entry); otherwise none.
    explicit Repo(bool group = true) {
        fs::create_directories(dir());
        for (const auto& entry : fs::directory_iterator(patching::test::fixtures_dir() / "rpms")) {
            if (entry.path().extension() == ".rpm") {
                fs::copy_file(entry.path(), dir() / entry.path().filename());
            }
        }
        write_file(tmp_ / "comps.xml", COMPS);
        std::string out;
        std::string cmd = "createrepo_c --quiet " +
                          (group ? "-g '" + (tmp_ / "comps.xml").string() + "' " : std::string()) +
                          "'" + dir().string() + "'";
        if (run_command(cmd, &out) != 0) {
            throw std::runtime_error("createrepo_c failed: " + out);
        }
    }

    fs::path dir() const { return tmp_ / "repo"; }
    std::string url() const { return file_url(dir()); }
    fs::path repomd() const { return dir() / "repodata" / "repomd.xml"; }
    /// The file repomd.xml names for `type`.
    fs::path data_file(const std::string& type) const {
        auto repomd = parse_repomd(read_file(this->repomd()), "repomd.xml");
        return dir() / repomd.data.at(type).location;
    }

private:
    TempDir tmp_;
};

std::string message_of(const std::function<void()>& action) {
    try {
        action();
    } catch (const patching::core::Error& e) {
        return e.what();
    }
    FAIL("no core::Error was thrown");
    return {};
}

}  // namespace

TEST_CASE("A createrepo_c repository is read through file:// URLs", "[agent][repo]") {
    if (!have_createrepo()) {
        return;
    }
    Repo repo;
    HttpClient http;
    RepoIndex index = fetch_repo_index(http, repo.url());

    CHECK_FALSE(index.revision.empty());
    REQUIRE(index.packages.size() == 7);
    std::vector<std::string> nevras;
    for (const RepoPackage& p : index.packages) {
        nevras.push_back(p.nevra());
        CHECK(p.epoch.empty());  // createrepo_c writes epoch="0"
        CHECK(p.checksum_type == "sha256");
        CHECK(p.location == p.name + "-" + p.version + "-" + p.release + ".noarch.rpm");
        CHECK(p.checksum == sha256_of(repo.dir() / p.location));
        CHECK(p.size == fs::file_size(repo.dir() / p.location));
    }
    std::sort(nevras.begin(), nevras.end());
    CHECK(
        nevras == std::vector<std::string>{
                      "fixture-alpha-1.0-1.noarch", "fixture-alpha-1.0-2.noarch",
                      "fixture-alpha-1.0-3.noarch", "fixture-beta-1.0-1.noarch",
                      "fixture-beta-1.0-2.noarch", "fixture-delta-1.0-1.noarch",
                      "fixture-gamma-1.0-1.noarch"});
    CHECK(
        index.groups.at("updates-controller-worker") ==
        std::vector<std::string>{"fixture-gamma", "fixture-alpha"});
    CHECK(index.groups.at("updates-storage").empty());

    // createrepo_c names repodata files <sha256>-<kind>, stores the group file uncompressed
    // ("group") next to a gzipped copy ("group_gz"), and gzips primary.
    auto repomd = parse_repomd(read_file(repo.repomd()), "repomd.xml");
    CHECK(repomd.data.at("primary").location.ends_with("-primary.xml.gz"));
    CHECK(repomd.data.at("primary").checksum_type == "sha256");
    CHECK(repomd.data.at("group").location.ends_with("-comps.xml"));
    CHECK(repomd.data.contains("group_gz"));
    CHECK(repomd.revision == index.revision);

    SECTION("a trailing slash on the base URL makes no difference") {
        CHECK(fetch_repo_index(http, repo.url() + "/").packages.size() == 7);
    }
}

TEST_CASE("An unchanged repository is not fetched again, a changed one is", "[agent][repo]") {
    if (!have_createrepo()) {
        return;
    }
    Repo repo;
    HttpClient http;
    RepoIndex first = fetch_repo_index(http, repo.url(), {}, nullptr);
    CHECK_FALSE(first.primary_checksum.empty());
    CHECK_FALSE(first.group_checksum.empty());
    // Proof that primary is not read again: make it unreadable garbage. The index still comes
    // back whole, because repomd names the same checksum.
    write_file(repo.data_file("primary"), "garbage");
    RepoIndex again = fetch_repo_index(http, repo.url(), {}, &first);
    CHECK(again.packages.size() == first.packages.size());
    CHECK(again.groups == first.groups);
    // A republished repository (one package fewer) names another primary: read afresh.
    fs::remove(repo.dir() / "fixture-delta-1.0-1.noarch.rpm");
    std::string out;
    REQUIRE(run_command("createrepo_c --quiet '" + repo.dir().string() + "'", &out) == 0);
    RepoIndex changed = fetch_repo_index(http, repo.url(), {}, &first);
    CHECK(changed.packages.size() == first.packages.size() - 1);
    CHECK(changed.primary_checksum != first.primary_checksum);
}

TEST_CASE("Groups come from <base>/comps.xml when repomd has none", "[agent][repo]") {
    if (!have_createrepo()) {
        return;
    }
    Repo repo(false);
    HttpClient http;
    SECTION("no comps.xml at all: no groups") {
        RepoIndex index = fetch_repo_index(http, repo.url());
        CHECK(index.packages.size() == 7);
        CHECK(index.groups.empty());
    }
    SECTION("a plain comps.xml next to repodata") {
        write_file(repo.dir() / "comps.xml", COMPS);
        RepoIndex index = fetch_repo_index(http, repo.url());
        CHECK(
            index.groups.at("updates-controller-worker") ==
            std::vector<std::string>{"fixture-gamma", "fixture-alpha"});
    }
    SECTION("a broken comps.xml is an error naming it") {
        write_file(repo.dir() / "comps.xml", "<comps><group>");
        CHECK_THROWS_WITH(
            fetch_repo_index(http, repo.url()),
            Contains(repo.url() + "/comps.xml") && Contains("not well-formed"));
    }
}

TEST_CASE("A corrupt primary is a checksum error naming its URL", "[agent][repo]") {
    if (!have_createrepo()) {
        return;
    }
    Repo repo;
    fs::path primary = repo.data_file("primary");
    std::string data = read_file(primary);
    data[data.size() / 2] = static_cast<char>(data[data.size() / 2] ^ 0x55);
    write_file(primary, data);
    HttpClient http;
    std::string message = message_of([&] { fetch_repo_index(http, repo.url()); });
    CHECK_THAT(message, Contains(file_url(primary)) && Contains("checksum mismatch"));
}

TEST_CASE("A corrupt group file is a checksum error naming its URL", "[agent][repo]") {
    if (!have_createrepo()) {
        return;
    }
    Repo repo;
    fs::path group = repo.data_file("group");
    // Valid XML, but not the bytes repomd.xml vouches for (createrepo_c copies -g verbatim).
    write_file(group, std::string(COMPS) + "<!-- changed -->\n");
    HttpClient http;
    CHECK_THROWS_WITH(
        fetch_repo_index(http, repo.url()),
        Contains(file_url(group)) && Contains("checksum mismatch"));
}

TEST_CASE("A truncated or garbage repomd.xml is a clear error", "[agent][repo]") {
    if (!have_createrepo()) {
        return;
    }
    Repo repo;
    std::string original = read_file(repo.repomd());
    HttpClient http;
    std::string url = file_url(repo.repomd());
    SECTION("truncated") {
        write_file(repo.repomd(), original.substr(0, original.size() / 2));
        CHECK_THROWS_WITH(
            fetch_repo_index(http, repo.url()),
            Contains(url) && Contains("not well-formed") && Contains("truncated"));
    }
    SECTION("garbage") {
        write_file(repo.repomd(), "\x1f\x8b garbage \x01\x02");
        CHECK_THROWS_WITH(fetch_repo_index(http, repo.url()), Contains(url));
    }
    SECTION("another XML document") {
        write_file(repo.repomd(), "<html><body>Not here</body></html>");
        CHECK_THROWS_WITH(
            fetch_repo_index(http, repo.url()),
            Contains(url) && Contains("<html>") && Contains("expected <repomd>"));
    }
    SECTION("empty") {
        write_file(repo.repomd(), "");
        CHECK_THROWS_WITH(fetch_repo_index(http, repo.url()), Contains(url));
    }
}

TEST_CASE("Repository limits are enforced", "[agent][repo]") {
    if (!have_createrepo()) {
        return;
    }
    Repo repo;
    HttpClient http;
    SECTION("package count") {
        RepoLimits limits;
        limits.max_packages = 3;
        CHECK_THROWS_WITH(
            fetch_repo_index(http, repo.url(), limits),
            Contains("more than 3 packages") && Contains("primary.xml.gz"));
        limits.max_packages = 7;
        CHECK(fetch_repo_index(http, repo.url(), limits).packages.size() == 7);
    }
    SECTION("uncompressed primary size") {
        std::string unzipped;
        REQUIRE(
            run_command("zcat '" + repo.data_file("primary").string() + "' | wc -c", &unzipped) ==
            0);
        auto repomd_size = fs::file_size(repo.repomd());
        REQUIRE(std::stoull(unzipped) > repomd_size);
        RepoLimits limits;
        limits.max_metadata_bytes = repomd_size;
        CHECK_THROWS_WITH(
            fetch_repo_index(http, repo.url(), limits),
            Contains("uncompressed data is larger than " + std::to_string(repomd_size)) &&
                Contains("primary.xml.gz"));
    }
    SECTION("repomd.xml size") {
        RepoLimits limits;
        limits.max_metadata_bytes = 100;
        CHECK_THROWS_WITH(
            fetch_repo_index(http, repo.url(), limits),
            Contains("repomd.xml") && Contains("larger than 100 bytes"));
    }
    SECTION("the client's in-memory response bound") {
        HttpClientOptions options;
        options.max_response_bytes = 100;
        HttpClient small(options);
        CHECK_THROWS_WITH(
            fetch_repo_index(small, repo.url()),
            Contains("response from " + file_url(repo.repomd()) + " is larger than 100 bytes"));
    }
}

TEST_CASE("A missing repository is an error naming the URL", "[agent][repo]") {
    TempDir tmp;
    HttpClient http;
    std::string base = file_url(tmp / "no-such-repo");
    CHECK_THROWS_WITH(
        fetch_repo_index(http, base), Contains(base + "/repodata/repomd.xml") && Contains("404"));
}

TEST_CASE(
    "Uncompressed primary is accepted, other compressions are refused clearly", "[agent][repo]") {
    TempDir tmp;
    fs::create_directories(tmp / "repodata");
    const std::string primary = R"(<?xml version="1.0" encoding="UTF-8"?>
<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="1">
<package type="rpm">
  <name>solo</name><arch>x86_64</arch>
  <version epoch="3" ver="1.0" rel="1"/>
  <checksum type="SHA256" pkgid="YES">ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789</checksum>
  <size package="42" installed="1" archive="1"/>
  <location href="Packages/s/solo-1.0-1.x86_64.rpm"/>
</package>
</metadata>
)";
    auto write_repo = [&](const std::string& name) {
        write_file(tmp / "repodata" / name, primary);
        std::string sha = sha256_of(tmp / "repodata" / name);
        write_file(
            tmp / "repodata" / "repomd.xml",
            "<repomd xmlns=\"http://linux.duke.edu/metadata/repo\"><revision>7</revision>"
            "<data type=\"primary\"><checksum type=\"sha256\">" +
                sha + "</checksum><location href=\"repodata/" + name + "\"/></data></repomd>");
    };
    HttpClient http;
    SECTION("plain XML") {
        write_repo("primary.xml");
        RepoIndex index = fetch_repo_index(http, file_url(tmp.path()));
        CHECK(index.revision == "7");
        REQUIRE(index.packages.size() == 1);
        const RepoPackage& p = index.packages[0];
        CHECK(p.nevra() == "solo-3:1.0-1.x86_64");
        CHECK(p.checksum_type == "sha256");
        CHECK(p.checksum == "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
        CHECK(p.location == "Packages/s/solo-1.0-1.x86_64.rpm");
        CHECK(p.size == 42);
        CHECK(index.groups.empty());
    }
    SECTION("zstd") {
        write_repo("primary.xml.zst");
        CHECK_THROWS_WITH(
            fetch_repo_index(http, file_url(tmp.path())),
            Contains("primary.xml.zst") && Contains(".zst") && Contains("--compress-type=gz"));
    }
    SECTION("xz") {
        write_repo("primary.xml.xz");
        CHECK_THROWS_WITH(fetch_repo_index(http, file_url(tmp.path())), Contains(".xz"));
    }
}

TEST_CASE("repomd.xml: prefixes, hostile locations, checksum types", "[agent][repo]") {
    const std::string good_sum(64, 'a');
    auto repomd = [&](const std::string& data) {
        return "<r:repomd "
               "xmlns:r=\"http://linux.duke.edu/metadata/repo\"><r:revision>1</r:revision>" +
               data + "</r:repomd>";
    };
    auto entry = [&](const std::string& type, const std::string& href, const std::string& sum_type,
                     const std::string& sum) {
        return "<r:data type=\"" + type + "\"><r:checksum type=\"" + sum_type + "\">" + sum +
               "</r:checksum><r:location href=\"" + href + "\"/></r:data>";
    };
    auto parsed = parse_repomd(
        repomd(
            entry("primary", "repodata/p.xml.gz", "sha256", good_sum) +
            entry("other", "repodata/o.xml.gz", "sha", std::string(40, 'B'))),
        "L");
    CHECK(parsed.revision == "1");
    CHECK(parsed.data.at("primary").location == "repodata/p.xml.gz");
    CHECK(parsed.data.at("other").checksum_type == "sha1");
    CHECK(parsed.data.at("other").checksum == std::string(40, 'b'));

    for (const std::string href :
         {"../etc/passwd", "/etc/passwd", "repodata/../../x", "http://evil/x.xml",
          "repodata/./p.xml", ""}) {
        CAPTURE(href);
        CHECK_THROWS_WITH(
            parse_repomd(repomd(entry("primary", href, "sha256", good_sum)), "LABEL"),
            Contains("LABEL") && Contains("not a relative path"));
    }
    CHECK_THROWS_WITH(
        parse_repomd(repomd(entry("primary", "p", "crc32", "abcd")), "L"), Contains("crc32"));
    CHECK_THROWS_WITH(
        parse_repomd(repomd(entry("primary", "p", "sha256", "abc")), "L"),
        Contains("malformed sha256 checksum"));
    CHECK_THROWS_WITH(
        parse_repomd(
            repomd(
                entry("primary", "p", "sha256", good_sum) +
                entry("primary", "q", "sha256", good_sum)),
            "L"),
        Contains("twice"));
}

TEST_CASE("primary.xml: source packages skipped, epochs, malformed packages", "[agent][repo]") {
    auto package = [](const std::string& name, const std::string& arch, const std::string& epoch,
                      const std::string& extra = "") {
        return "<package type=\"rpm\"><name>" + name + "</name><arch>" + arch +
               "</arch><version epoch=\"" + epoch +
               "\" ver=\"1.0\" rel=\"1\"/><checksum type=\"sha256\">" + std::string(64, '0') +
               "</checksum><size package=\"10\"/><location href=\"" + name + ".rpm\"" + extra +
               "/></package>";
    };
    auto metadata = [](const std::string& body) {
        return "<metadata xmlns=\"http://linux.duke.edu/metadata/common\">" + body + "</metadata>";
    };
    auto packages = parse_primary(
        metadata(
            package("a", "x86_64", "0") + package("a", "src", "0") + package("b", "noarch", "") +
            package("c", "x86_64", "2") + "<package type=\"other\"/>"),
        "L");
    REQUIRE(packages.size() == 3);
    CHECK(packages[0].nevra() == "a-1.0-1.x86_64");
    CHECK(packages[1].nevra() == "b-1.0-1.noarch");
    CHECK(packages[2].nevra() == "c-2:1.0-1.x86_64");

    // Source packages do not count towards the limit.
    RepoLimits limits;
    limits.max_packages = 1;
    CHECK(
        parse_primary(metadata(package("a", "src", "0") + package("a", "x86_64", "0")), "L", limits)
            .size() == 1);

    CHECK_THROWS_WITH(
        parse_primary(metadata(package("a", "x86_64", "x")), "LABEL"),
        Contains("LABEL") && Contains("non-numeric epoch"));
    CHECK_THROWS_WITH(parse_primary(metadata(package("", "x86_64", "0")), "L"), Contains("<name>"));
    CHECK_THROWS_WITH(
        parse_primary(metadata(package("a b", "x86_64", "0")), "L"), Contains("<name>"));
    CHECK_THROWS_WITH(
        parse_primary(metadata(package("a", "x86_64", "0", " xml:base=\"http://x/\"")), "L"),
        Contains("xml:base"));
    CHECK_THROWS_WITH(parse_primary("<metadata><package>", "L"), Contains("not well-formed"));
}

TEST_CASE("comps.xml: every group, names once each", "[agent][repo]") {
    auto groups = parse_comps(COMPS, "L");
    CHECK(groups.size() == 2);
    CHECK(
        groups.at("updates-controller-worker") ==
        std::vector<std::string>{"fixture-gamma", "fixture-alpha"});
    CHECK(parse_comps("<comps/>", "L").empty());
    auto merged = parse_comps(
        "<comps><group><id>g</id><packagelist><packagereq>a</packagereq></packagelist></group>"
        "<group><id>g</id><packagelist><packagereq>b</packagereq><packagereq>a</packagereq>"
        "</packagelist></group></comps>",
        "L");
    CHECK(merged.at("g") == std::vector<std::string>{"a", "b"});
    CHECK_THROWS_WITH(
        parse_comps("<comps><group><packagelist/></group></comps>", "LABEL"),
        Contains("LABEL") && Contains("<id>"));
    CHECK_THROWS_WITH(parse_comps("<repomd/>", "L"), Contains("expected <comps>"));
}
