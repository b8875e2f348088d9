// SPDX-License-Identifier: Apache-2.0
#include <controller/repo/base_feed.hpp>
#include <patch_core/errors.hpp>

#include <catch2/catch.hpp>

#include "support/test_support.hpp"

#include <filesystem>
#include <string>

namespace fs = std::filesystem;
using patching::controller::BaseFeed;
using patching::test::TempDir;

namespace {

fs::path fixture_rpm(const std::string& name) {
    return patching::test::fixtures_dir() / "rpms" / name;
}

// A feed root with rel-1.0/Packages/{noarch,extra/deeper}/ holding fixture RPMs.
class FeedFixture {
public:
    FeedFixture() {
        fs::create_directories(noarch_dir());
        fs::create_directories(feed_dir() / "Packages" / "extra" / "deeper");
        add("fixture-alpha-1.0-1.noarch.rpm");
        add("fixture-beta-1.0-1.noarch.rpm");
        fs::copy_file(
            fixture_rpm("fixture-gamma-1.0-1.noarch.rpm"),
            feed_dir() / "Packages" / "extra" / "deeper" / "fixture-gamma-1.0-1.noarch.rpm");
        patching::test::write_file(feed_dir() / "install_uuid", "not an rpm\n");
    }

    fs::path feed_root() const { return tmp_ / "feed"; }
    fs::path feed_dir() const { return feed_root() / "rel-1.0"; }
    fs::path noarch_dir() const { return feed_dir() / "Packages" / "noarch"; }
    fs::path cache_dir() const { return tmp_ / "cache"; }
    void add(const std::string& name) { fs::copy_file(fixture_rpm(name), noarch_dir() / name); }

protected:
    TempDir tmp_;
};

}  // namespace

TEST_CASE_METHOD(FeedFixture, "BaseFeed indexes every RPM of the release feed", "[repo]") {
    BaseFeed feed(feed_root(), cache_dir(), "1.0");
    CHECK(feed.exists());
    CHECK(BaseFeed::exists(feed_root(), "1.0"));
    CHECK_FALSE(BaseFeed::exists(feed_root(), "2.0"));
    CHECK_FALSE(BaseFeed::exists(feed_root(), "../feed/rel-1.0"));

    auto stats = feed.refresh();
    CHECK(stats.files == 3);
    CHECK(stats.headers_read == 3);
    CHECK(stats.reused == 0);
    CHECK(stats.unreadable == 0);
    REQUIRE(feed.packages().size() == 3);

    const auto* alpha = feed.lookup("fixture-alpha", "noarch");
    REQUIRE(alpha != nullptr);
    CHECK(alpha->version == "1.0");
    CHECK(alpha->release == "1");
    CHECK(alpha->epoch.empty());
    CHECK(alpha->evr() == "1.0-1");
    CHECK(alpha->path == noarch_dir() / "fixture-alpha-1.0-1.noarch.rpm");
    const auto* gamma = feed.lookup("fixture-gamma", "noarch");
    REQUIRE(gamma != nullptr);
    CHECK(gamma->path.parent_path().filename() == "deeper");
    CHECK(feed.lookup("fixture-alpha", "x86_64") == nullptr);
    CHECK(feed.lookup("fixture-delta", "noarch") == nullptr);
    CHECK(fs::exists(cache_dir() / "base-feed-1.0.json"));
}

TEST_CASE_METHOD(FeedFixture, "BaseFeed reads no header again when nothing changed", "[repo]") {
    {
        BaseFeed feed(feed_root(), cache_dir(), "1.0");
        CHECK(feed.refresh().headers_read == 3);
        SECTION("second refresh of the same object") {
            auto stats = feed.refresh();
            CHECK(stats.headers_read == 0);
            CHECK(stats.reused == 3);
            CHECK(feed.total_headers_read() == 3);
            CHECK(feed.lookup("fixture-beta", "noarch") != nullptr);
        }
    }
    SECTION("a new object (controller restart) uses the cache file") {
        auto cache_time = fs::last_write_time(cache_dir() / "base-feed-1.0.json");
        BaseFeed feed(feed_root(), cache_dir(), "1.0");
        auto stats = feed.refresh();
        CHECK(stats.headers_read == 0);
        CHECK(stats.reused == 3);
        REQUIRE(feed.lookup("fixture-alpha", "noarch") != nullptr);
        CHECK(feed.lookup("fixture-alpha", "noarch")->release == "1");
        CHECK(fs::last_write_time(cache_dir() / "base-feed-1.0.json") == cache_time);
    }
}

TEST_CASE_METHOD(FeedFixture, "BaseFeed re-reads changed files only", "[repo]") {
    BaseFeed feed(feed_root(), cache_dir(), "1.0");
    feed.refresh();

    SECTION("a file replaced under the same name") {
        // Same path, other content (size and mtime differ): must be read again.
        const fs::path path = noarch_dir() / "fixture-alpha-1.0-1.noarch.rpm";
        fs::copy_file(
            fixture_rpm("fixture-alpha-1.0-2.noarch.rpm"), path,
            fs::copy_options::overwrite_existing);
        auto stats = feed.refresh();
        CHECK(stats.headers_read == 1);
        CHECK(stats.reused == 2);
        REQUIRE(feed.lookup("fixture-alpha", "noarch") != nullptr);
        CHECK(feed.lookup("fixture-alpha", "noarch")->release == "2");
        BaseFeed restarted(feed_root(), cache_dir(), "1.0");
        CHECK(restarted.refresh().headers_read == 0);
        CHECK(restarted.lookup("fixture-alpha", "noarch")->release == "2");
    }
    SECTION("added and removed files") {
        add("fixture-delta-1.0-1.noarch.rpm");
        fs::remove(noarch_dir() / "fixture-beta-1.0-1.noarch.rpm");
        auto stats = feed.refresh();
        CHECK(stats.headers_read == 1);
        CHECK(stats.files == 3);
        CHECK(feed.lookup("fixture-delta", "noarch") != nullptr);
        CHECK(feed.lookup("fixture-beta", "noarch") == nullptr);
        BaseFeed restarted(feed_root(), cache_dir(), "1.0");
        CHECK(restarted.refresh().headers_read == 0);
        CHECK(restarted.lookup("fixture-beta", "noarch") == nullptr);
    }
}

TEST_CASE_METHOD(FeedFixture, "BaseFeed returns the highest of several versions", "[repo]") {
    add("fixture-alpha-1.0-3.noarch.rpm");
    add("fixture-alpha-1.0-2.noarch.rpm");
    BaseFeed feed(feed_root(), cache_dir(), "1.0");
    feed.refresh();
    CHECK(feed.packages().size() == 5);
    REQUIRE(feed.lookup("fixture-alpha", "noarch") != nullptr);
    CHECK(feed.lookup("fixture-alpha", "noarch")->release == "3");
}

TEST_CASE_METHOD(FeedFixture, "BaseFeed lists unreadable files and does not retry them", "[repo]") {
    patching::test::write_file(noarch_dir() / "broken-1.0-1.noarch.rpm", "this is not an rpm");
    BaseFeed feed(feed_root(), cache_dir(), "1.0");
    auto stats = feed.refresh();
    CHECK(stats.files == 4);
    CHECK(stats.unreadable == 1);
    REQUIRE(feed.unreadable().size() == 1);
    CHECK(feed.unreadable()[0].first.filename() == "broken-1.0-1.noarch.rpm");
    CHECK_FALSE(feed.unreadable()[0].second.empty());
    CHECK(feed.packages().size() == 3);

    BaseFeed restarted(feed_root(), cache_dir(), "1.0");
    stats = restarted.refresh();
    CHECK(stats.headers_read == 0);
    CHECK(stats.unreadable == 1);
}

TEST_CASE_METHOD(FeedFixture, "BaseFeed survives a damaged cache file", "[repo]") {
    fs::create_directories(cache_dir());
    patching::test::write_file(
        cache_dir() / "base-feed-1.0.json", "{\"format\": 1, \"files\": [tru");
    BaseFeed feed(feed_root(), cache_dir(), "1.0");
    auto stats = feed.refresh();
    CHECK(stats.headers_read == 3);
    CHECK(feed.lookup("fixture-alpha", "noarch") != nullptr);
    BaseFeed restarted(feed_root(), cache_dir(), "1.0");
    CHECK(restarted.refresh().headers_read == 0);
}

TEST_CASE_METHOD(FeedFixture, "BaseFeed of a release without a feed is empty", "[repo]") {
    BaseFeed feed(feed_root(), cache_dir(), "2.0");
    CHECK_FALSE(feed.exists());
    auto stats = feed.refresh();
    CHECK(stats.files == 0);
    CHECK(feed.packages().empty());
    CHECK(feed.lookup("fixture-alpha", "noarch") == nullptr);
    CHECK_THROWS_AS(BaseFeed(feed_root(), cache_dir(), "../x"), patching::core::Error);
}
