// SPDX-License-Identifier: Apache-2.0
// The catalog services (import, apply, remove, delete, commit, releases, queries) against the
// in-memory store: rules, typed errors, one store commit per operation.
#include "patch_controller/service_fixture.hpp"

#include <service/errors.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>

using namespace patching;
using namespace patching::test;
using controller::ErrorKind;
using controller::ServiceError;

namespace {

ErrorKind kind_of(const std::function<void()>& call) {
    try {
        call();
    } catch (const ServiceError& e) {
        return e.kind();
    }
    FAIL("no ServiceError thrown");
    return ErrorKind::INTERNAL;
}

}  // namespace

TEST_CASE_METHOD(ServiceFixture, "import: three fixture patches, one store commit each", "[service][catalog]") {
    const int before = store.commits();
    import_fixtures();
    CHECK(store.commits() == before + 3);
    CHECK(repostate(P1) == "Available");
    CHECK(patchstate(P1) == "Available");
    CHECK(std::filesystem::exists(config.packages_dir() / "22.12" / "fixture-alpha-1.0-2.noarch.rpm"));
    CHECK(std::filesystem::exists(config.metadata_dir() / "available" / (P1 + "-metadata.xml")));

    SECTION("re-import updates metadata only") {
        auto r = ctl().imports().upload_dir({(fixtures_dir() / "stx").string()});
        REQUIRE(r.info.size() == 3);
        CHECK(r.info[0] == P1 + " is already imported. Updated metadata only");
    }
    SECTION("a directory that is not absolute is an invalid request") {
        CHECK(kind_of([&] { ctl().imports().upload_dir({"relative/dir"}); }) == ErrorKind::INVALID);
    }
}

TEST_CASE_METHOD(ServiceFixture, "import: a release that is not installed is a conflict", "[service][catalog]") {
    std::filesystem::remove_all(config.feed_dir / "rel-22.12");
    restart();
    try {
        ctl().imports().upload_dir({(fixtures_dir() / "stx").string()});
        FAIL("imported");
    } catch (const ServiceError& e) {
        CHECK(e.kind() == ErrorKind::CONFLICT);
        REQUIRE(e.lines().size() == 3);
        CHECK(e.lines()[0] == "Patch validation failed for " + P1 + ":\nPatch " + P1 +
                                  " software release (22.12) is not installed");
    }
}

TEST_CASE_METHOD(ServiceFixture, "apply and remove: one commit, publish, agents told", "[service][catalog]") {
    import_fixtures();
    int notified = 0;
    ctl().notifier().set([&](const std::string& host) { notified += host.empty() ? 1 : 0; });
    const int before = store.commits();
    const auto counter = ctl().hosts().published_op_counter();

    auto r = ctl().lifecycle().apply({{P1}, true});
    CHECK(r.info == std::vector<std::string>{P1 + " is now in the repo"});
    CHECK(store.commits() == before + 1);
    CHECK(ctl().hosts().published_op_counter() > counter);
    CHECK(notified == 1);
    CHECK(repostate(P1) == "Applied");
    CHECK(patchstate(P1) == "Applied");  // no hosts: the repo state
    const auto published = publisher.packages("22.12");
    CHECK(std::find(published.begin(), published.end(), "fixture-alpha-1.0-2.noarch.rpm") != published.end());
    CHECK(std::filesystem::exists(config.metadata_dir() / "applied" / (P1 + "-metadata.xml")));
    CHECK_FALSE(std::filesystem::exists(config.metadata_dir() / "available" / (P1 + "-metadata.xml")));

    CHECK(ctl().lifecycle().apply({{P1}, true}).info == std::vector<std::string>{P1 + " is already in the repo"});

    r = ctl().lifecycle().remove({{P1}, false, false, true});
    CHECK(r.info == std::vector<std::string>{P1 + " has been removed from the repo"});
    CHECK(repostate(P1) == "Available");
}

TEST_CASE_METHOD(ServiceFixture, "apply: typed refusals", "[service][catalog]") {
    import_fixtures();
    SECTION("unknown IDs: not found, every one named") {
        try {
            ctl().lifecycle().apply({{"NOPE_1", "NOPE_2"}, true});
            FAIL("applied");
        } catch (const controller::NotFound& e) {
            CHECK(e.lines() == std::vector<std::string>{"Patch NOPE_1 does not exist", "Patch NOPE_2 does not exist"});
        }
    }
    SECTION("requires: conflict") {
        CHECK(kind_of([&] { ctl().lifecycle().apply({{P2}, true}); }) == ErrorKind::CONFLICT);
        CHECK(repostate(P2) == "Available");
    }
    SECTION("--all applies every available patch") {
        auto r = ctl().lifecycle().apply({{"--all"}, true});
        CHECK(r.info.size() == 3);
    }
    SECTION("a failed publish: applied in the store, reported as failed with what was done") {
        publisher.set_failing(true);
        try {
            ctl().lifecycle().apply({{P1}, true});
            FAIL("no error");
        } catch (const ServiceError& e) {
            CHECK(e.kind() == ErrorKind::INTERNAL);
            CHECK(e.partial().info == std::vector<std::string>{P1 + " is now in the repo"});
        }
        CHECK(repostate(P1) == "Applied");
    }
}

TEST_CASE_METHOD(ServiceFixture, "remove: unremovable, required, application dependencies", "[service][catalog]") {
    import_fixtures();
    ctl().lifecycle().apply({{P1, P3}, true});
    SECTION("unremovable refused; allowed with a warning") {
        CHECK(kind_of([&] { ctl().lifecycle().remove({{P3}, false, false, true}); }) == ErrorKind::CONFLICT);
        auto r = ctl().lifecycle().remove({{P3}, true, false, true});
        CHECK(r.warnings == std::vector<std::string>{"Unremovable patch " + P3 + " being removed"});
    }
    SECTION("required by an applied patch") {
        CHECK(kind_of([&] { ctl().lifecycle().remove({{P1}, false, false, true}); }) == ErrorKind::CONFLICT);
    }
    SECTION("required by an application, unless told to skip the check") {
        ctl().lifecycle().remove({{P3}, true, false, true});
        ctl().lifecycle().set_app_dependencies({"app1", {P1}});
        CHECK(store.load_app_dependencies().at("app1") == std::vector<std::string>{P1});
        try {
            ctl().lifecycle().remove({{P1}, false, false, true});
            FAIL("removed");
        } catch (const controller::Conflict& e) {
            CHECK(e.lines() == std::vector<std::string>{P1 + " is required by application(s): app1"});
        }
        CHECK_NOTHROW(ctl().lifecycle().remove({{P1}, false, true, true}));
    }
}

TEST_CASE_METHOD(ServiceFixture, "delete: only available patches, files after the commit", "[service][catalog]") {
    import_fixtures();
    ctl().lifecycle().apply({{P1}, true});
    CHECK(kind_of([&] { ctl().lifecycle().delete_patches({{P1}}); }) == ErrorKind::CONFLICT);
    CHECK(kind_of([&] { ctl().lifecycle().delete_patches({{"NOPE"}}); }) == ErrorKind::NOT_FOUND);
    const int before = store.commits();
    auto r = ctl().lifecycle().delete_patches({{P3}});
    CHECK(r.info == std::vector<std::string>{P3 + " has been deleted"});
    CHECK(store.commits() == before + 1);
    CHECK(repostate(P3).empty());
    CHECK_FALSE(std::filesystem::exists(config.packages_dir() / "22.12" / "fixture-alpha-1.0-3.noarch.rpm"));
    CHECK(store.load_patches().size() == 2);
}

TEST_CASE_METHOD(ServiceFixture, "commit: not found vs conflict is typed, not guessed from text", "[service][catalog]") {
    SECTION("unknown ID in an empty catalog: not found") {
        CHECK(kind_of([&] { ctl().lifecycle().commit({{"NOPE"}, false}); }) == ErrorKind::NOT_FOUND);
    }
    SECTION("a DEV patch in the system: conflict, even for unknown IDs") {
        import_fixtures();
        CHECK(kind_of([&] { ctl().lifecycle().commit({{"NOPE"}, false}); }) == ErrorKind::CONFLICT);
    }
}

TEST_CASE_METHOD(ServiceFixture, "queries: show, dependencies, what-requires, is-applied", "[service][queries]") {
    import_fixtures();
    auto show = ctl().queries().show({P3, "NOPE"});
    CHECK(show.metadata.at(P3).required == std::vector<std::string>{P1});
    CHECK(show.contents.at(P3) == std::vector<std::string>{"fixture-alpha-1.0-3.noarch.rpm"});
    CHECK(show.error == "NOPE is unrecognized\n");
    CHECK(ctl().queries().query_dependencies({P3}, true).patches == std::vector<std::string>{P1, P3});
    CHECK(kind_of([&] { ctl().queries().what_requires({"NOPE"}); }) == ErrorKind::NOT_FOUND);
    CHECK_FALSE(ctl().queries().all_in_state({P1}, "Applied"));
    CHECK(ctl().queries().all_in_state({P1, P2}, "Available"));
    CHECK(ctl().queries().query({"applied", ""}).pd.empty());
}

TEST_CASE_METHOD(ServiceFixture, "releases: init and delete, the running release refused", "[service][releases]") {
    CHECK(kind_of([&] { ctl().releases().init_release("22.12"); }) == ErrorKind::CONFLICT);
    CHECK(kind_of([&] { ctl().releases().init_release("../x"); }) == ErrorKind::INVALID);
    ctl().releases().init_release("23.09");
    CHECK(store.load_releases() == std::set<std::string>{"23.09"});
    CHECK(publisher.is_published("23.09"));
    auto r = ctl().releases().del_release("23.09");
    CHECK(r.info.empty());
    CHECK(store.load_releases().empty());
    CHECK_FALSE(publisher.is_published("23.09"));
}

TEST_CASE_METHOD(ServiceFixture, "restart: the catalog is rebuilt from the store", "[service][catalog]") {
    import_fixtures();
    ctl().lifecycle().apply({{P1}, true});
    restart();
    CHECK(repostate(P1) == "Applied");
    CHECK(repostate(P2) == "Available");
    CHECK(std::filesystem::exists(config.metadata_dir() / "applied" / (P1 + "-metadata.xml")));
}
