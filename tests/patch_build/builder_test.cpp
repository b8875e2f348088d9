// SPDX-License-Identifier: Apache-2.0
#include "builder.hpp"

#include <patch_core/errors.hpp>
#include <patch_core/rpm/package.hpp>

#include <catch2/catch.hpp>

#include "support/test_support.hpp"

using namespace patching;
using patching::test::fixtures_dir;
using patching::test::TempDir;

namespace {

struct BuilderFixture {
    TempDir out;
    build::BuildRequest request;
    BuilderFixture() {
        request.id = "B_22.12_PATCH_0001";
        request.release = "22.12";
        request.sign_key = fixtures_dir() / "keys" / "fixture-signing-key.pem";
        request.output_dir = out.path();
        request.other_rpms = {fixtures_dir() / "rpms" / "fixture-alpha-1.0-2.noarch.rpm"};
    }
    void expect_refused(const std::string& fragment) {
        CHECK_THROWS_WITH(build::build_patch(request), Catch::Contains(fragment));
        CHECK(std::filesystem::is_empty(out.path()));  // nothing half written
    }
};

}  // namespace

TEST_CASE_METHOD(BuilderFixture, "builder validates every input before writing", "[build]") {
    SECTION("bad ID") {
        request.id = "bad/id";
        expect_refused("invalid --id");
    }
    SECTION("missing release") {
        request.release = "";
        expect_refused("release version must be specified");
    }
    SECTION("bad release") {
        request.release = "22 12";
        expect_refused("invalid --release");
    }
    SECTION("empty patch") {
        request.other_rpms.clear();
        expect_refused("Cannot generate empty patch");
    }
    SECTION("missing RPM") {
        request.other_rpms.push_back(out.path() / "nope-1-1.noarch.rpm");
        expect_refused("does not exist");
    }
    SECTION("a file that is not an RPM") {
        TempDir src;
        test::write_file(src / "fake-1.0-1.noarch.rpm", "not an rpm at all");
        request.other_rpms.push_back(src / "fake-1.0-1.noarch.rpm");
        expect_refused("is not a valid RPM");
    }
    SECTION("a directory") {
        request.other_rpms.push_back(fixtures_dir() / "rpms");
        expect_refused("not a regular file");
    }
    SECTION("file name disagreeing with the header") {
        TempDir src;
        std::filesystem::copy_file(fixtures_dir() / "rpms" / "fixture-beta-1.0-2.noarch.rpm", src / "beta.rpm");
        request.other_rpms.push_back(src / "beta.rpm");
        expect_refused("rename the file to fixture-beta-1.0-2.noarch.rpm");
    }
    SECTION("two versions of one package") {
        request.other_rpms.push_back(fixtures_dir() / "rpms" / "fixture-alpha-1.0-3.noarch.rpm");
        expect_refused("duplicate package fixture-alpha.noarch");
    }
    SECTION("same package from two places") {
        TempDir src;
        std::filesystem::copy_file(fixtures_dir() / "rpms" / "fixture-alpha-1.0-2.noarch.rpm",
                                   src / "fixture-alpha-1.0-2.noarch.rpm");
        request.other_rpms.push_back(src / "fixture-alpha-1.0-2.noarch.rpm");
        expect_refused("duplicate package fixture-alpha-1.0-2.noarch.rpm");
    }
    SECTION("bad reboot-required value") {
        request.reboot_required = "maybe";
        expect_refused("requires either Y or N");
    }
    SECTION("control characters in text") {
        request.summary = std::string("bell\a");
        expect_refused("control character");
    }
    SECTION("invalid UTF-8 in text") {
        request.description = std::string("\xff\xfe");
        expect_refused("not valid UTF-8");
    }
    SECTION("self requirement") {
        request.required_patches = {request.id};
        expect_refused("cannot require itself");
    }
    SECTION("missing semantic script") {
        request.pre_apply = out.path() / "nope.sh";
        expect_refused("--pre-apply script");
    }
    SECTION("missing key") {
        request.sign_key = out.path() / "nokey.pem";
        CHECK_THROWS_WITH(build::build_patch(request), Catch::Contains("nokey.pem"));
    }
    SECTION("certificate of another key") {
        request.cert = fixtures_dir() / "keys" / "untrusted-cert.pem";
        expect_refused("does not belong to --sign-key");
    }
    SECTION("missing output directory") {
        request.output_dir = out.path() / "missing";
        expect_refused("does not exist");
    }
}

TEST_CASE_METHOD(BuilderFixture, "the same path twice is one package, as in the reference", "[build]") {
    request.personality_rpms["controller"] = {fixtures_dir() / "rpms" / "fixture-alpha-1.0-2.noarch.rpm"};
    build::BuildPlan plan = build::plan_build(request);
    CHECK(plan.rpms.size() == 1);
    CHECK(plan.metadata.personalities.at("controller") == std::vector<std::string>{"fixture-alpha"});
}
