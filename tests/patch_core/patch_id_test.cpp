// SPDX-License-Identifier: Apache-2.0
#include <patch_core/patch_id.hpp>

#include <catch2/catch.hpp>

using namespace patching::core;

TEST_CASE("patch IDs must be safe file and URL names", "[core][id]") {
    CHECK_FALSE(patch_id_problem("TS_15.12_PATCH_0002"));
    CHECK_FALSE(patch_id_problem("FIX_22.12_PATCH_0001"));
    CHECK_FALSE(patch_id_problem("a+b-c.d_e"));
    CHECK(patch_id_problem(""));
    CHECK(patch_id_problem("a/b"));
    CHECK(patch_id_problem(".hidden"));
    CHECK(patch_id_problem("a..b"));
    CHECK(patch_id_problem("has space"));
    CHECK(patch_id_problem("semi;colon"));
    CHECK(patch_id_problem(std::string(101, 'a')));
    CHECK(patch_id_problem("caf\xc3\xa9"));
    CHECK(*patch_id_problem("a/b") == "patch ID contains '/'; allowed are letters, digits and ._+-");
}

TEST_CASE("releases are short version tokens", "[core][id]") {
    CHECK_FALSE(release_problem("22.12"));
    CHECK_FALSE(release_problem("21.12-rc1"));
    CHECK(release_problem(""));
    CHECK(release_problem("22 12"));
    CHECK(release_problem("../22"));
    CHECK(release_problem(std::string(33, '1')));
}

TEST_CASE("RPM file names parse like the reference, with multi-digit epochs fixed", "[core][id]") {
    auto p = parse_rpm_filename("fixture-alpha-1.0-2.noarch.rpm");
    REQUIRE(p);
    CHECK(p->name == "fixture-alpha");
    CHECK(p->version == "1.0");
    CHECK(p->release == "2");
    CHECK(p->arch == "noarch");
    CHECK(p->epoch.empty());

    auto e = parse_rpm_filename("12:foo-1-2.noarch.rpm");
    REQUIRE(e);  // the reference parsed this as name "12:foo"
    CHECK(e->epoch == "12");
    CHECK(e->name == "foo");

    auto r = parse_rpm_filename("pkgA-1.0-r2.tis.x86_64.rpm");
    REQUIRE(r);
    CHECK(r->release == "r2.tis");
    CHECK(r->arch == "x86_64");

    CHECK_FALSE(parse_rpm_filename("foo.rpm"));
    CHECK_FALSE(parse_rpm_filename("foo-1-2.noarch"));
    CHECK_FALSE(parse_rpm_filename("-1-2.noarch.rpm"));
}

TEST_CASE("safe basenames exclude traversal and control characters", "[core][id]") {
    CHECK(is_safe_basename("a.rpm"));
    CHECK_FALSE(is_safe_basename(""));
    CHECK_FALSE(is_safe_basename("."));
    CHECK_FALSE(is_safe_basename(".."));
    CHECK_FALSE(is_safe_basename("a/b"));
    CHECK_FALSE(is_safe_basename("/a"));
    CHECK_FALSE(is_safe_basename("a\nb"));
}
